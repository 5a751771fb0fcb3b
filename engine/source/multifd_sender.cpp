#include "engine/source/multifd_sender.h"

#include "engine/common/migration_error.h"
#include "engine/common/migration_threads.h"
#include "engine/wire/multifd_wire.h"

#include <algorithm>

namespace migrascope {

MultifdSender::MultifdSender(std::vector<Channel> channels, RateLimiter& limiter,
                             Telemetry& telemetry, PageHashes& sentHashes)
    : limiter_(limiter), telemetry_(telemetry), sentHashes_(sentHashes) {
    for (auto& channel : channels) {
        auto worker = std::make_unique<Worker>();
        worker->channel = std::move(channel);
        worker->header.resize(kMultifdHeaderSize);
        worker->job.offsets.reserve(kMultifdPagesPerPacket);
        workers_.push_back(std::move(worker));
    }
    current_.offsets.reserve(kMultifdPagesPerPacket);
    for (std::size_t i = 0; i < workers_.size(); ++i)
        workers_[i]->thread = std::thread([this, i, w = workers_[i].get()] {
            const MigrationThreadName name("multifdsend_" + std::to_string(i));
            run(*w);
        });
}

MultifdSender::~MultifdSender() {
    shutdownAll();
    stopThreads();
}

void MultifdSender::stopThreads() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
        for (auto& worker : workers_)
            worker->wake.notify_one();
    }
    for (auto& worker : workers_)
        if (worker->thread.joinable())
            worker->thread.join();
}

void MultifdSender::shutdownAll() {
    // The kernel's last count of each socket first: a run that fails early can end before
    // the sampler ever read it.
    for (auto& worker : workers_) {
        worker->channel.connection->recordKernelView(std::chrono::milliseconds(0));
        worker->channel.connection->shutdown();
    }
    std::lock_guard lock(mutex_);
    slotFreed_.notify_all();
}

void MultifdSender::throwIfFailed() {
    if (!error_.empty())
        throw MigrationError(error_);
}

void MultifdSender::queuePage(std::size_t blockIndex, RamBlock& block, std::uint64_t offset) {
    if (current_.block != &block || current_.offsets.size() == kMultifdPagesPerPacket)
        flush();
    current_.block = &block;
    current_.blockIndex = blockIndex;
    current_.offsets.push_back(offset);
}

void MultifdSender::Job::clear() {
    offsets.clear();
    block = nullptr;
    sync = false;
    deviceIdstr.clear();
    deviceState.clear();
}

void MultifdSender::queueDeviceState(const std::string& idstr, std::uint32_t instanceId) {
    flush();
    deviceJob_.deviceIdstr = idstr;
    deviceJob_.deviceInstance = instanceId;
    dispatch(deviceJob_);
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
        // An idle channel first, then one still sending, round robin in both.
        for (const bool wantIdle : {true, false})
            for (std::size_t tried = 0; tried < workers_.size(); ++tried) {
                Worker& worker = *workers_[(nextWorker_ + tried) % workers_.size()];
                if (worker.hasQueued || (wantIdle && worker.busy))
                    continue;
                nextWorker_ = (nextWorker_ + tried + 1) % workers_.size();
                std::swap(worker.queued, job);
                job.clear();
                worker.hasQueued = true;
                worker.wake.notify_one();
                return;
            }
        slotFreed_.wait(lock);
    }
}

void MultifdSender::syncAll() {
    flush();
    std::unique_lock lock(mutex_);
    for (auto& worker : workers_) {
        slotFreed_.wait(lock, [&] { return worker->idle() || !error_.empty(); });
        throwIfFailed();
        worker->queued.clear();
        worker->queued.sync = true;
        worker->hasQueued = true;
        worker->wake.notify_one();
    }
    for (auto& worker : workers_) {
        slotFreed_.wait(lock, [&] { return worker->idle() || !error_.empty(); });
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

void MultifdSender::recordFinalKernelViews() {
    for (auto& worker : workers_)
        worker->channel.connection->recordKernelView(kFinalAckWait);
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
        worker.wake.wait(lock, [&] { return worker.hasQueued || quit_; });
        // Work still queued at quit belongs to a migration that is being torn down.
        if (quit_)
            return;
        std::swap(worker.job, worker.queued);
        worker.hasQueued = false;
        worker.busy = true;
        slotFreed_.notify_one();
        lock.unlock();
        std::uint64_t zero = 0;
        std::uint64_t normal = 0;
        std::string failure;
        try {
            if (worker.job.deviceIdstr.empty())
                send(worker, worker.job, zero, normal);
            else
                sendDeviceState(worker, worker.job);
        } catch (const std::exception& error) {
            failure = error.what();
        }
        lock.lock();
        worker.zeroPages += zero;
        worker.normalPages += normal;
        worker.busy = false;
        if (!failure.empty()) {
            worker.channel.counters->state.store(ChannelState::Failed);
            if (error_.empty())
                error_ = failure;
            slotFreed_.notify_one();
            return;
        }
        slotFreed_.notify_one();
    }
}

namespace {

// The first page of a packet's data (pieces[1] onwards; pieces[0] is the header) is sent from
// `replacement` instead.
void splitFirstPage(std::vector<iovec>& pieces, std::uint8_t* replacement) {
    iovec& first = pieces[1];
    if (first.iov_len > kPageSize)
        pieces.insert(pieces.begin() + 2, {static_cast<std::uint8_t*>(first.iov_base) + kPageSize,
                                           first.iov_len - kPageSize});
    pieces[1] = {replacement, kPageSize};
}

} // namespace

void MultifdSender::acquireBandwidth(Worker& worker, std::uint64_t bytes) {
    Connection& connection = *worker.channel.connection;
    const ChannelCounters& counters = *worker.channel.counters;
    if (!limiter_.acquire(bytes))
        throw MigrationError("channel " + connection.name() + ": cancelled");
    if (const FaultSpec* cut = worker.channel.cut;
        cut && counters.bytes.load(std::memory_order_relaxed) + bytes > cut->afterBytes &&
        !connection.wasShutDown()) {
        telemetry_.event(EventLevel::Warning, Side::Source,
                         "fault injected: " + cut->text + " (channel " + connection.name() +
                             " cut after " + std::to_string(counters.bytes.load()) + " bytes)");
        connection.failNetwork();
    }
}

void MultifdSender::sendDeviceState(Worker& worker, Job& job) {
    Connection& connection = *worker.channel.connection;
    MultifdDeviceStatePacket packet;
    packet.idstr = job.deviceIdstr;
    packet.instanceId = job.deviceInstance;
    packet.payloadSize = static_cast<std::uint32_t>(job.deviceState.size());
    encodeDeviceStateHeader(packet, worker.header.data());
    iovec pieces[2] = {{worker.header.data(), kMultifdDeviceStateHeaderSize},
                       {job.deviceState.data(), job.deviceState.size()}};
    acquireBandwidth(worker, kMultifdDeviceStateHeaderSize + job.deviceState.size());
    connection.sendv(pieces, 2);
    worker.channel.counters->packets.fetch_add(1, std::memory_order_relaxed);
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
        // The integrity digest is of the pages as sent: hashed here, while they are in this
        // core's cache, so that switchover only combines the hashes. A page the guest writes
        // meanwhile is dirty and sent (and hashed) again.
        std::vector<std::uint64_t>& hashes = sentHashes_[job.blockIndex];
        for (std::size_t i = 0; i < job.offsets.size(); ++i)
            hashes[job.offsets[i] / kPageSize] =
                i < packet.normalPages ? hashPage(block.data() + job.offsets[i]) : zeroPageHash();
        for (std::uint32_t i = 0; i < packet.normalPages; ++i) {
            std::uint8_t* page = block.data() + job.offsets[i];
            // Adjacent pages become one piece, so bulk runs go to TLS as full records.
            if (pieces.size() > 1 &&
                static_cast<std::uint8_t*>(pieces.back().iov_base) + pieces.back().iov_len == page)
                pieces.back().iov_len += kPageSize;
            else
                pieces.push_back({page, kPageSize});
        }
    }
    encodePacketHeader(packet, worker.header.data());
    const std::uint64_t bytes = kMultifdHeaderSize + packet.normalPages * kPageSize;
    if (const FaultSpec* corrupt = worker.channel.corrupt;
        corrupt && packet.normalPages > 0 &&
        counters.bytes.load(std::memory_order_relaxed) + bytes > corrupt->afterBytes) {
        // The page was hashed as it should be; a copy with one bit flipped goes out instead.
        const std::uint8_t* page = job.block->data() + job.offsets[0];
        worker.corrupted.assign(page, page + kPageSize);
        worker.corrupted[kPageSize / 2] ^= 0x10;
        splitFirstPage(pieces, worker.corrupted.data());
        worker.channel.corrupt = nullptr;
        telemetry_.event(EventLevel::Warning, Side::Source,
                         "fault injected: " + corrupt->text + " (a bit of page " +
                             std::to_string(job.offsets[0] / kPageSize) + " of " +
                             job.block->name() + " flipped on " + connection.name() + ")");
    }
    acquireBandwidth(worker, bytes);
    connection.sendv(pieces.data(), pieces.size());
    // Counted once sent, as the channel's own counters are: a packet the failure cut is not.
    zero = packet.zeroPages;
    normal = packet.normalPages;
    counters.packets.fetch_add(1, std::memory_order_relaxed);
    counters.pages.fetch_add(packet.normalPages, std::memory_order_relaxed);
}

} // namespace migrascope
