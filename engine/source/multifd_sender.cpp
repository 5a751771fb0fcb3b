#include "engine/source/multifd_sender.h"

#include "engine/common/migration_error.h"
#include "engine/wire/multifd_wire.h"

#include <algorithm>

namespace migrascope {

MultifdSender::MultifdSender(std::vector<Channel> channels, RateLimiter& limiter,
                             Telemetry& telemetry)
    : limiter_(limiter), telemetry_(telemetry) {
    for (auto& channel : channels) {
        auto worker = std::make_unique<Worker>();
        worker->channel = std::move(channel);
        worker->header.resize(kMultifdHeaderSize);
        worker->job.offsets.reserve(kMultifdPagesPerPacket);
        workers_.push_back(std::move(worker));
    }
    current_.offsets.reserve(kMultifdPagesPerPacket);
    for (auto& worker : workers_)
        worker->thread = std::thread([this, w = worker.get()] { run(*w); });
}

MultifdSender::~MultifdSender() {
    shutdownAll();
    stopThreads();
}

void MultifdSender::stopThreads() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    changed_.notify_all();
    for (auto& worker : workers_)
        if (worker->thread.joinable())
            worker->thread.join();
}

void MultifdSender::shutdownAll() {
    for (auto& worker : workers_)
        worker->channel.connection->shutdown();
    std::lock_guard lock(mutex_);
    changed_.notify_all();
}

void MultifdSender::throwIfFailed() {
    if (!error_.empty())
        throw MigrationError(error_);
}

void MultifdSender::queuePage(RamBlock& block, std::uint64_t offset) {
    if (current_.block != &block || current_.offsets.size() == kMultifdPagesPerPacket)
        flush();
    current_.block = &block;
    current_.offsets.push_back(offset);
}

void MultifdSender::flush() {
    if (current_.offsets.empty())
        return;
    dispatch(current_);
}

void MultifdSender::dispatch(Job& job) {
    std::unique_lock lock(mutex_);
    for (;;) {
        throwIfFailed();
        for (std::size_t tried = 0; tried < workers_.size(); ++tried) {
            Worker& worker = *workers_[nextWorker_];
            nextWorker_ = (nextWorker_ + 1) % workers_.size();
            if (!worker.pending) {
                std::swap(worker.job, job);
                job.offsets.clear();
                job.block = nullptr;
                job.sync = false;
                worker.pending = true;
                changed_.notify_all();
                return;
            }
        }
        changed_.wait(lock);
    }
}

void MultifdSender::syncAll() {
    flush();
    std::unique_lock lock(mutex_);
    for (auto& worker : workers_) {
        changed_.wait(lock, [&] { return !worker->pending || !error_.empty(); });
        throwIfFailed();
        worker->job.offsets.clear();
        worker->job.block = nullptr;
        worker->job.sync = true;
        worker->pending = true;
    }
    changed_.notify_all();
    for (auto& worker : workers_) {
        changed_.wait(lock, [&] { return !worker->pending || !error_.empty(); });
        throwIfFailed();
    }
}

void MultifdSender::finish(bool legacyClose) {
    // The last round ended with a sync, so every channel is idle here, and once the threads
    // are joined this thread is the only user of each session.
    stopThreads();
    for (auto& worker : workers_) {
        if (legacyClose)
            worker->channel.connection->closeWithoutBye();
        else
            worker->channel.connection->endSession();
        worker->channel.counters->state.store(ChannelState::Closed);
    }
}

std::uint64_t MultifdSender::zeroPages() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = 0;
    for (const auto& worker : workers_)
        total += worker->zeroPages;
    return total;
}

std::uint64_t MultifdSender::normalPages() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = 0;
    for (const auto& worker : workers_)
        total += worker->normalPages;
    return total;
}

void MultifdSender::run(Worker& worker) {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return worker.pending || quit_; });
        // Work still pending at quit belongs to a migration that is being torn down.
        if (quit_)
            return;
        lock.unlock();
        std::uint64_t zero = 0;
        std::uint64_t normal = 0;
        std::string failure;
        try {
            send(worker, worker.job, zero, normal);
        } catch (const std::exception& error) {
            failure = error.what();
        }
        lock.lock();
        worker.zeroPages += zero;
        worker.normalPages += normal;
        worker.pending = false;
        if (!failure.empty()) {
            worker.channel.counters->state.store(ChannelState::Failed);
            if (error_.empty())
                error_ = failure;
            changed_.notify_all();
            return;
        }
        changed_.notify_all();
    }
}

void MultifdSender::send(Worker& worker, Job& job, std::uint64_t& zero, std::uint64_t& normal) {
    Connection& connection = *worker.channel.connection;
    ChannelCounters& counters = *worker.channel.counters;
    MultifdPacket packet;
    packet.packetNumber = packetNumber_.fetch_add(1, std::memory_order_relaxed);
    std::vector<iovec> pieces;
    pieces.push_back({worker.header.data(), kMultifdHeaderSize});
    if (job.sync) {
        packet.flags = kMultifdFlagSync;
    } else {
        RamBlock& block = *job.block;
        packet.ramBlock = block.name();
        // Zero pages travel as offsets only; normal pages first, as the receiver expects.
        auto zeroBegin = std::stable_partition(
            job.offsets.begin(), job.offsets.end(),
            [&](std::uint64_t offset) { return !isZeroPage(block.data() + offset); });
        packet.normalPages = static_cast<std::uint32_t>(zeroBegin - job.offsets.begin());
        packet.zeroPages = static_cast<std::uint32_t>(job.offsets.end() - zeroBegin);
        packet.offsets = job.offsets;
        for (std::uint32_t i = 0; i < packet.normalPages; ++i) {
            std::uint8_t* page = block.data() + job.offsets[i];
            // Adjacent pages become one piece, so bulk runs go to TLS as full records.
            if (pieces.size() > 1 &&
                static_cast<std::uint8_t*>(pieces.back().iov_base) + pieces.back().iov_len == page)
                pieces.back().iov_len += kPageSize;
            else
                pieces.push_back({page, kPageSize});
        }
        zero = packet.zeroPages;
        normal = packet.normalPages;
    }
    encodePacketHeader(packet, worker.header.data());
    const std::uint64_t bytes = kMultifdHeaderSize + packet.normalPages * kPageSize;
    if (!limiter_.acquire(bytes))
        throw MigrationError("channel " + connection.name() + ": cancelled");
    if (const FaultSpec* cut = worker.channel.cut;
        cut && counters.bytes.load(std::memory_order_relaxed) + bytes > cut->afterBytes &&
        !connection.wasShutDown()) {
        telemetry_.event(EventLevel::Warning, Side::Source,
                         "fault injected: " + cut->text + " (channel " + connection.name() +
                             " cut after " + std::to_string(counters.bytes.load()) + " bytes)");
        connection.shutdown();
    }
    connection.sendv(pieces.data(), pieces.size());
    counters.packets.fetch_add(1, std::memory_order_relaxed);
    counters.pages.fetch_add(packet.normalPages, std::memory_order_relaxed);
}

} // namespace migrascope
