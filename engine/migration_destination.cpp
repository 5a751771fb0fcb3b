#include "migration_destination.h"

#include "migration_error.h"
#include "multifd_wire.h"
#include "wire.h"

#include <cstdio>
#include <cstring>

namespace migrascope {

const char* toString(MigrationDestination::State state) {
    switch (state) {
    case MigrationDestination::State::Listening:
        return "listening";
    case MigrationDestination::State::Loading:
        return "loading";
    case MigrationDestination::State::Completed:
        return "completed";
    case MigrationDestination::State::Failed:
        return "failed";
    }
    return "unknown";
}

MigrationDestination::MigrationDestination(Options options, Telemetry& telemetry)
    : options_(std::move(options)), telemetry_(telemetry),
      listener_(options_.listenHost, options_.port) {
    if (options_.tls.enabled)
        credentials_ = std::make_unique<TlsCredentials>(options_.tls.credsDir,
                                                        TlsCredentials::Endpoint::Server);
}

MigrationDestination::~MigrationDestination() {
    stop();
}

void MigrationDestination::start() {
    acceptor_ = std::thread([this] { acceptLoop(); });
}

void MigrationDestination::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !acceptor_.joinable())
            return;
        stopping_ = true;
        for (auto& incoming : incoming_)
            if (incoming.connection)
                incoming.connection->shutdown();
    }
    changed_.notify_all();
    listener_.shutdown();
    if (acceptor_.joinable())
        acceptor_.join();
    // The acceptor has stopped, so no worker is added from here on; the list itself changes
    // only under the lock, and a thread's own entry is never erased before it is joined.
    for (auto& incoming : incoming_)
        if (incoming.thread.joinable())
            incoming.thread.join();
    std::lock_guard lock(mutex_);
    incoming_.clear();
}

MigrationDestination::State MigrationDestination::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

std::string MigrationDestination::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

bool MigrationDestination::waitUntilFinished(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(
        lock, timeout, [this] { return state_ == State::Completed || state_ == State::Failed; });
}

void MigrationDestination::fail(const std::string& error) {
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::Completed || state_ == State::Failed)
            return;
        state_ = State::Failed;
        error_ = error;
        // The main channel stays up: its thread wakes, and reports the error to the source
        // on the return path (SHUT) before it closes.
        for (auto& incoming : incoming_)
            if (incoming.connection && incoming.connection->name() != "main")
                incoming.connection->shutdown();
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Error, "dst", "incoming migration failed: " + error);
}

void MigrationDestination::sendShut(Connection& connection, bool failed) {
    std::uint8_t shut[8];
    wire::put16(shut, static_cast<std::uint16_t>(ReturnPathMessage::Shut));
    wire::put16(shut + 2, 4);
    wire::put32(shut + 4, failed ? 1 : 0);
    if (!failed) {
        connection.sendAll(shut, sizeof shut);
        return;
    }
    // Best effort: the error that brought us here may be this very channel's.
    try {
        connection.sendAll(shut, sizeof shut);
    } catch (const std::exception&) {
    }
}

void MigrationDestination::acceptLoop() {
    for (;;) {
        std::string peer;
        UniqueFd fd = listener_.accept(peer);
        std::lock_guard lock(mutex_);
        if (!fd.valid() || stopping_)
            return;
        reapFinished();
        auto incoming = incoming_.emplace(incoming_.end());
        incoming->connection = std::make_unique<Connection>(std::move(fd), peer);
        incoming->thread = std::thread([this, incoming, peer] {
            serve(*incoming->connection, peer);
            release(incoming);
        });
    }
}

void MigrationDestination::release(std::list<Incoming>::iterator incoming) {
    std::unique_ptr<Connection> closing;
    {
        std::lock_guard lock(mutex_);
        closing = std::move(incoming->connection);
        incoming->finished = true;
    }
    // Out of the list, no other thread can reach it: close it now, not at stop().
}

void MigrationDestination::reapFinished() {
    for (auto it = incoming_.begin(); it != incoming_.end();) {
        if (!it->finished) {
            ++it;
            continue;
        }
        it->thread.join(); // past release(): it only has to return
        it = incoming_.erase(it);
    }
}

void MigrationDestination::reject(const std::string& peer, const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        // The first refusal is the cause; later ones are usually its consequences.
        if (firstRejection_.empty())
            firstRejection_ = why;
    }
    telemetry_.event(EventLevel::Error, "dst", "rejected connection from " + peer + ": " + why);
}

std::string MigrationDestination::firstRejection() const {
    std::lock_guard lock(mutex_);
    return firstRejection_;
}

void MigrationDestination::classifyBeforeTls(Connection& connection) {
    std::uint8_t first[4] = {};
    const std::size_t got = connection.peek(first, sizeof first);
    if (got == 0)
        throw MigrationError("the connection closed before sending anything");
    if (first[0] == 0x16) // a TLS handshake record
        return;
    if (got == 4 && (wire::get32(first) == kVmFileMagic || wire::get32(first) == kMultifdMagic))
        throw MigrationError("a plain-text migration channel arrived at a TLS destination (is "
                             "TLS off at the source?)");
    char text[32];
    std::snprintf(text, sizeof text, "0x%02x%02x%02x%02x", first[0], first[1], first[2], first[3]);
    throw MigrationError(std::string("not a TLS handshake: the first bytes are ") +
                         std::string(text, 2 + 2 * got));
}

void MigrationDestination::serve(Connection& connection, std::string peer) {
    std::uint8_t first4[4];
    try {
        if (credentials_) {
            classifyBeforeTls(connection);
            // Any connection may turn out to be the main channel, read and written at once.
            connection.setProtection(TlsProtection::SessionLock);
            connection.startTlsServer(*credentials_, options_.tls.priority, options_.tls.authz);
        }
        connection.recvExact(first4, sizeof first4);
        if (!credentials_ && first4[0] == 0x16 && first4[1] == 0x03)
            throw MigrationError("a TLS handshake arrived at a plain-text destination (is TLS on "
                                 "at the source and off here?)");
    } catch (const std::exception& error) {
        reject(peer, error.what());
        connection.shutdown();
        return;
    }
    const std::uint32_t magic = wire::get32(first4);
    try {
        if (magic == kVmFileMagic) {
            loadMainStream(connection);
        } else if (magic == kMultifdMagic) {
            receiveMultifd(connection, first4);
        } else {
            char text[16];
            std::snprintf(text, sizeof text, "0x%08x", magic);
            throw MigrationError(std::string("unknown channel magic ") + text +
                                 " (not a migration stream)");
        }
    } catch (const std::exception& error) {
        const bool mainChannel = magic == kVmFileMagic;
        const bool ourChannel = mainChannel || connection.name().rfind("multifd-", 0) == 0;
        std::unique_lock lock(mutex_);
        const bool completed = state_ == State::Completed;
        const bool endedElsewhere = state_ == State::Failed || stopping_;
        lock.unlock();
        if (ChannelCounters* counters = telemetry_.findChannel(connection.name());
            counters && counters->termination.load() == Termination::None)
            counters->termination.store(connection.termination() == Termination::Premature
                                            ? Termination::Premature
                                            : Termination::Error);
        if (mainChannel && !completed)
            sendShut(connection, true);
        if (ourChannel && !completed && !endedElsewhere)
            fail(error.what());
        else if (!ourChannel)
            reject(peer, error.what());
        connection.shutdown();
    }
}

void MigrationDestination::loadMainStream(Connection& connection) {
    connection.setName("main");
    StreamReader in(connection);
    if (const auto version = in.get32(); version != kVmFileVersion)
        throw MigrationError("main channel: stream version " + std::to_string(version) +
                             " is not supported (expected " + std::to_string(kVmFileVersion) + ")");
    if (in.get8() != static_cast<std::uint8_t>(Section::Configuration) ||
        in.getString8() != "migrascope")
        throw MigrationError("main channel: the stream has no Migrascope configuration section");
    Uuid uuid;
    in.getBytes(uuid.data(), uuid.size());
    const std::uint32_t channels = in.get32();
    if (const auto pageSize = in.get32(); pageSize != kPageSize)
        throw MigrationError("main channel: source page size " + std::to_string(pageSize) +
                             " differs from ours (" + std::to_string(kPageSize) + ")");
    if (channels > 255)
        throw MigrationError("main channel: " + std::to_string(channels) +
                             " multifd channels announced; at most 255 are possible");
    {
        std::lock_guard lock(mutex_);
        if (mainSeen_)
            throw MigrationError("a second main channel arrived for migration " +
                                 uuidToString(uuid));
        if (options_.expectedUuid && *options_.expectedUuid != uuid)
            throw MigrationError("main channel belongs to migration " + uuidToString(uuid) +
                                 ", expected " + uuidToString(*options_.expectedUuid));
        mainSeen_ = true;
        uuid_ = uuid;
        expectedChannels_ = channels;
        channelSeen_.assign(channels, false);
        state_ = State::Loading;
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, "dst",
                     "main channel from the source of migration " + uuidToString(uuid) + ", " +
                         std::to_string(channels) + " multifd channels announced");

    if (in.get8() != static_cast<std::uint8_t>(Section::Start) || in.get32() != kRamSectionId ||
        in.getString8() != "ram")
        throw MigrationError("main channel: expected the RAM setup section");
    in.get32(); // instance
    in.get32(); // version
    const std::uint64_t memSize = in.get64();
    if ((memSize & ram_flag::kMask) != ram_flag::kMemSize)
        throw MigrationError("main channel: RAM setup does not start with MEM_SIZE");
    const std::uint64_t total = memSize & ~ram_flag::kMask;
    std::vector<Guest::BlockLayout> layout;
    std::uint64_t announced = 0;
    while (announced < total) {
        Guest::BlockLayout block{in.getString8(), in.get64()};
        if (block.size == 0 || block.size % kPageSize != 0 || announced + block.size > total)
            throw MigrationError("main channel: RAM block '" + block.name +
                                 "' has an invalid size");
        announced += block.size;
        layout.push_back(block);
    }
    auto guest = std::make_unique<Guest>(layout, GuestConfig{0, 0, 0}, Guest::Content::Empty);
    {
        std::lock_guard lock(mutex_);
        for (const auto& block : guest->blocks())
            received_.push_back(
                std::make_unique<std::atomic<std::uint64_t>[]>((block->pageCount() + 63) / 64));
        guest_ = std::move(guest);
        guestReady_ = true;
    }
    changed_.notify_all();
    loadRamItems(in);

    bool verified = false;
    std::optional<Digest> ourDigest;
    for (;;) {
        const auto section = in.get8();
        if (section == static_cast<std::uint8_t>(Section::Eof))
            break;
        if (section == static_cast<std::uint8_t>(Section::Part) ||
            section == static_cast<std::uint8_t>(Section::End)) {
            if (const auto id = in.get32(); id != kRamSectionId)
                throw MigrationError("main channel: unknown section id " + std::to_string(id));
            {
                std::lock_guard lock(mutex_);
                inFinalSection_ = section == static_cast<std::uint8_t>(Section::End);
            }
            loadRamItems(in);
            // After the last RAM section every page is here (its flush was a barrier): hash
            // now, while the source hashes its own copy, rather than after its digest arrives.
            if (section == static_cast<std::uint8_t>(Section::End)) {
                ourDigest = guest_->digest();
                waitForChannelsEnded();
            }
        } else if (section == static_cast<std::uint8_t>(Section::Full)) {
            const auto id = in.get32();
            const std::string name = in.getString8();
            in.get32();
            in.get32();
            if (id != kIntegritySectionId || name != kIntegritySectionName)
                throw MigrationError("main channel: unknown device section '" + name + "'");
            Digest sourceDigest;
            in.getBytes(sourceDigest.data(), sourceDigest.size());
            if (in.get8() != static_cast<std::uint8_t>(Section::Footer) || in.get32() != id)
                throw MigrationError("main channel: integrity section has a bad footer");
            if (!ourDigest)
                throw MigrationError("main channel: integrity section before the end of RAM");
            const Digest ours = *ourDigest;
            if (ours != sourceDigest)
                throw MigrationError("integrity check failed: destination RAM digest " +
                                     toHex(ours) + " differs from the source's " +
                                     toHex(sourceDigest));
            verified = true;
            telemetry_.event(EventLevel::Info, "dst",
                             "RAM verified: XXH3-128 " + toHex(ours) + " matches the source");
        } else {
            throw MigrationError("main channel: unknown section type " + std::to_string(section));
        }
    }
    if (!verified)
        throw MigrationError("main channel: the stream ended without an integrity section");
    sendShut(connection, false);
    guest_->start();
    {
        std::lock_guard lock(mutex_);
        state_ = State::Completed;
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, "dst", "incoming migration completed; guest running");
    // The source ends the main session after our SHUT; see how it did.
    try {
        std::uint8_t rest;
        if (connection.recvSome(&rest, 1) == 0)
            channelEnded("main", connection.termination());
    } catch (const std::exception&) {
        channelEnded("main", connection.termination() == Termination::None
                                 ? Termination::Error
                                 : connection.termination());
    }
}

void MigrationDestination::loadRamItems(StreamReader& in) {
    RamBlock* block = nullptr;
    std::size_t blockIndex = 0;
    for (;;) {
        const std::uint64_t item = in.get64();
        const std::uint64_t flags = item & ram_flag::kMask;
        const std::uint64_t offset = item & ~ram_flag::kMask;
        if (flags & ram_flag::kMultifdFlush)
            waitForChannelsSynced();
        if (flags & ram_flag::kEos)
            break;
        if (!(flags & (ram_flag::kPage | ram_flag::kZero))) {
            if (flags & ~(ram_flag::kMultifdFlush))
                throw MigrationError("main channel: unknown RAM flags " + std::to_string(flags));
            continue;
        }
        if (!(flags & ram_flag::kContinue)) {
            const std::string name = in.getString8();
            block = guest_->findBlock(name);
            if (!block)
                throw MigrationError("main channel: unknown RAM block '" + name + "'");
            for (blockIndex = 0; guest_->blocks()[blockIndex].get() != block; ++blockIndex) {
            }
        } else if (!block) {
            throw MigrationError("main channel: CONTINUE page without a block");
        }
        if (offset % kPageSize != 0 || offset + kPageSize > block->size())
            throw MigrationError("main channel: page offset " + std::to_string(offset) +
                                 " is outside RAM block '" + block->name() + "'");
        const std::uint64_t page = offset / kPageSize;
        auto& word = received_[blockIndex][page / 64];
        const std::uint64_t bit = std::uint64_t{1} << (page % 64);
        if (flags & ram_flag::kZero) {
            const std::uint8_t fill = in.get8();
            if (fill != 0 || (word.load(std::memory_order_relaxed) & bit))
                std::memset(block->data() + offset, fill, kPageSize);
        } else {
            in.getBytes(block->data() + offset, kPageSize);
        }
        word.fetch_or(bit, std::memory_order_relaxed);
    }
    if (in.get8() != static_cast<std::uint8_t>(Section::Footer) || in.get32() != kRamSectionId)
        throw MigrationError("main channel: RAM section has a bad footer");
}

void MigrationDestination::waitForChannelsSynced() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
        return syncArrived_ == expectedChannels_ || state_ == State::Failed || stopping_;
    });
    if (state_ == State::Failed || stopping_)
        throw MigrationError("main channel: stopped while waiting for multifd channels to sync");
    syncArrived_ = 0;
    ++syncGeneration_;
    if (inFinalSection_)
        finalSyncDone_ = true;
    changed_.notify_all();
}

void MigrationDestination::channelEnded(const std::string& channel, Termination termination) {
    if (ChannelCounters* counters = telemetry_.findChannel(channel))
        counters->termination.store(termination);
    if (channel == "main")
        return;
    {
        std::lock_guard lock(mutex_);
        ++channelsEnded_;
    }
    changed_.notify_all();
}

void MigrationDestination::waitForChannelsEnded() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
        return channelsEnded_ == expectedChannels_ || state_ == State::Failed || stopping_;
    });
    if (channelsEnded_ != expectedChannels_)
        throw MigrationError("main channel: stopped while waiting for multifd channels to end");
}

void MigrationDestination::arriveAtSync() {
    std::unique_lock lock(mutex_);
    const std::uint64_t generation = syncGeneration_;
    ++syncArrived_;
    changed_.notify_all();
    changed_.wait(lock, [&] {
        return syncGeneration_ != generation || state_ == State::Failed || stopping_;
    });
}

void MigrationDestination::receiveMultifd(Connection& connection, const std::uint8_t* first4) {
    std::uint8_t helloBytes[kMultifdInitSize];
    std::memcpy(helloBytes, first4, 4);
    connection.recvExact(helloBytes + 4, sizeof helloBytes - 4);
    const MultifdHello hello = decodeHello(helloBytes);
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return mainSeen_ || stopping_ || state_ == State::Failed; });
        if (!mainSeen_)
            return;
        if (hello.uuid != uuid_)
            throw MigrationError("multifd channel " + std::to_string(hello.channel) +
                                 " names migration " + uuidToString(hello.uuid) +
                                 ", but this destination is receiving " + uuidToString(uuid_));
        if (hello.channel >= expectedChannels_)
            throw MigrationError("multifd channel id " + std::to_string(hello.channel) +
                                 " is out of range: the source announced " +
                                 std::to_string(expectedChannels_) + " channels");
        if (channelSeen_[hello.channel])
            throw MigrationError("multifd channel id " + std::to_string(hello.channel) +
                                 " is already connected (duplicate id)");
        channelSeen_[hello.channel] = true;
        connection.setName("multifd-" + std::to_string(hello.channel));
        changed_.wait(lock, [this] { return guestReady_ || stopping_ || state_ == State::Failed; });
        if (!guestReady_)
            return;
    }
    telemetry_.event(EventLevel::Info, "dst", "channel " + connection.name() + " accepted");

    std::vector<std::uint8_t> header(kMultifdHeaderSize);
    for (;;) {
        std::size_t got = 0;
        try {
            got = connection.recvSome(header.data(), header.size());
        } catch (const PrematureTermination& error) {
            // A source before the close_notify fix ends like this after its last packet.
            std::unique_lock lock(mutex_);
            if (!finalSyncDone_ || options_.cleanTlsTermination)
                throw;
            lock.unlock();
            telemetry_.event(EventLevel::Warning, "dst",
                             std::string(error.what()) +
                                 "; tolerated after the last packet because "
                                 "multifd-clean-tls-termination is off");
            channelEnded(connection.name(), Termination::Premature);
            return;
        }
        if (got == 0) {
            std::unique_lock lock(mutex_);
            if (!finalSyncDone_)
                throw MigrationError("channel " + connection.name() +
                                     ": the source closed it before the migration finished");
            lock.unlock();
            channelEnded(connection.name(), connection.termination());
            return;
        }
        connection.recvExact(header.data() + got, header.size() - got);
        const MultifdPacket packet = decodePacketHeader(header.data());
        if (packet.flags & kMultifdFlagSync) {
            arriveAtSync();
            continue;
        }
        RamBlock* block = guest_->findBlock(packet.ramBlock);
        if (!block)
            throw MigrationError("channel " + connection.name() + ": unknown RAM block '" +
                                 packet.ramBlock + "'");
        std::size_t blockIndex = 0;
        while (guest_->blocks()[blockIndex].get() != block)
            ++blockIndex;
        for (const std::uint64_t offset : packet.offsets)
            if (offset % kPageSize != 0 || offset + kPageSize > block->size())
                throw MigrationError("channel " + connection.name() + ": page offset " +
                                     std::to_string(offset) + " is outside RAM block '" +
                                     block->name() + "'");
        for (std::uint32_t i = 0; i < packet.normalPages; ++i)
            connection.recvExact(block->data() + packet.offsets[i], kPageSize);
        for (std::size_t i = 0; i < packet.offsets.size(); ++i) {
            const std::uint64_t page = packet.offsets[i] / kPageSize;
            auto& word = received_[blockIndex][page / 64];
            const std::uint64_t bit = std::uint64_t{1} << (page % 64);
            // A zero page that was never received is already zero here (QEMU skips it too).
            if (i >= packet.normalPages && (word.load(std::memory_order_relaxed) & bit))
                std::memset(block->data() + packet.offsets[i], 0, kPageSize);
            word.fetch_or(bit, std::memory_order_relaxed);
        }
    }
}

} // namespace migrascope
