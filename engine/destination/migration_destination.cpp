#include "engine/destination/migration_destination.h"

#include "engine/common/migration_error.h"
#include "engine/wire/multifd_wire.h"
#include "engine/wire/wire.h"

#include <cstdio>
#include <cstring>

namespace migrascope {

namespace {

// A resume connection this destination will not take. The paused migration goes on
// waiting; only the connection is turned away.
class ResumeRefused : public MigrationError {
public:
    using MigrationError::MigrationError;
};

// A resume for a migration this destination has already verified and completed: the
// connection broke after its SHUT 0 left. It answers SHUT 0 again.
class AlreadyCompleted : public MigrationError {
public:
    using MigrationError::MigrationError;
};

class IntegrityError : public MigrationError {
public:
    using MigrationError::MigrationError;
};

MigrationStatus asStatus(MigrationDestination::State state) {
    switch (state) {
    case MigrationDestination::State::Listening:
        return MigrationStatus::Setup;
    case MigrationDestination::State::Loading:
        return MigrationStatus::Active;
    case MigrationDestination::State::PostcopyActive:
        return MigrationStatus::PostcopyActive;
    case MigrationDestination::State::PostcopyPaused:
        return MigrationStatus::PostcopyPaused;
    case MigrationDestination::State::PostcopyRecover:
        return MigrationStatus::PostcopyRecover;
    case MigrationDestination::State::Completed:
        return MigrationStatus::Completed;
    case MigrationDestination::State::Failed:
        return MigrationStatus::Failed;
    }
    return MigrationStatus::None;
}

} // namespace

const char* toString(MigrationDestination::State state) {
    return toString(asStatus(state));
}

MigrationDestination::MigrationDestination(Options options, Telemetry& telemetry)
    : options_(std::move(options)), telemetry_(telemetry),
      listener_(options_.listenHost, options_.port),
      devices_(std::make_unique<DestinationDevices>(
          DestinationDevices::Options{options_.vfioExplicitResumingStop, options_.faults},
          telemetry_)) {
    for (const auto& fault : options_.faults)
        if (fault.kind == FaultSpec::Kind::SwitchoverAckAfter)
            switchoverAckAfterRounds_ = fault.count;
    if (options_.tls.enabled)
        credentials_ = std::make_unique<TlsCredentials>(options_.tls.credsDir,
                                                        TlsCredentials::Endpoint::Server);
}

MigrationDestination::~MigrationDestination() {
    stop();
    // The guest's workload reads received_ through the postcopy gate: join it before
    // any member goes.
    stopGuest();
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

void MigrationDestination::setState(State state) {
    state_ = state;
    telemetry_.setStatus(asStatus(state));
}

void MigrationDestination::fail(const std::string& error, ShutReason reason) {
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::Completed || state_ == State::Failed)
            return;
        setState(State::Failed);
        error_ = error;
        failReason_ = reason;
        // The main channel stays up: its thread wakes, and reports the error to the source
        // on the return path (SHUT) before it closes.
        for (auto& incoming : incoming_)
            if (incoming.connection && incoming.connection->name() != "main")
                incoming.connection->shutdown();
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Error, Side::Destination, "incoming migration failed: " + error);
}

std::string MigrationDestination::recover() {
    {
        std::lock_guard lock(mutex_);
        if (state_ != State::PostcopyPaused)
            return std::string("recover refused: the destination is ") + toString(state_) +
                   ", not postcopy-paused";
        if (recoverArmed_)
            return "recover refused: already waiting for the source to resume";
        recoverArmed_ = true;
    }
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "migrate-recover: listening for the source's resume on port " +
                         std::to_string(port()));
    return {};
}

void MigrationDestination::stopGuest() {
    if (guest_)
        guest_->stop();
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
    telemetry_.event(EventLevel::Error, Side::Destination,
                     "rejected connection from " + peer + ": " + why);
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
    const bool mainChannel = magic == kVmFileMagic;
    std::optional<ReturnPathSender> returnPath;
    try {
        if (mainChannel) {
            connection.setName("main");
            recognised(connection, ChannelKind::Main);
            returnPath.emplace(connection);
            serveMain(connection, *returnPath);
        } else if (magic == kMultifdMagic) {
            receiveMultifd(connection, first4);
        } else {
            char text[16];
            std::snprintf(text, sizeof text, "0x%08x", magic);
            throw MigrationError(std::string("unknown channel magic ") + text +
                                 " (not a migration stream)");
        }
    } catch (const ResumeRefused& refused) {
        reject(peer, refused.what());
        connection.shutdown();
    } catch (const AlreadyCompleted& completed) {
        telemetry_.event(EventLevel::Info, Side::Destination, completed.what());
        try {
            returnPath->shut(ShutReason::Success);
            std::uint8_t rest;
            while (connection.recvSome(&rest, 1) > 0) {
            }
        } catch (const std::exception&) {
        }
        connection.shutdown();
    } catch (const std::exception& error) {
        if (mainChannel && pauseIfPostcopy(connection, *returnPath, error))
            return;
        const bool ourChannel = mainChannel || connection.name().rfind("multifd-", 0) == 0;
        std::unique_lock lock(mutex_);
        const bool completed = state_ == State::Completed;
        const bool endedElsewhere = state_ == State::Failed || stopping_;
        const ShutReason elsewhereReason = failReason_;
        lock.unlock();
        if (ChannelCounters* counters = telemetry_.findChannel(connection.name());
            counters && counters->termination.load() == Termination::None) {
            counters->termination.store(connection.termination() == Termination::Premature
                                            ? Termination::Premature
                                            : Termination::Error);
            counters->state.store(ChannelState::Failed);
        }
        ShutReason reason = ShutReason::StreamError;
        if (dynamic_cast<const IntegrityError*>(&error))
            reason = ShutReason::IntegrityMismatch;
        else if (dynamic_cast<const DeviceError*>(&error))
            reason = ShutReason::DeviceFailure;
        else if (endedElsewhere)
            reason = elsewhereReason;
        else if (dynamic_cast<const ConnectionError*>(&error))
            reason = ShutReason::ChannelFailure;
        // Our verdict is recorded before the source hears it: once it has SHUT, it closes
        // the multifd channels, and their ends must not pass for the cause.
        if (ourChannel && !completed && !endedElsewhere)
            fail(error.what(), mainChannel ? reason : ShutReason::ChannelFailure);
        else if (!ourChannel)
            reject(peer, error.what());
        if (mainChannel && !completed) {
            // Best effort: the error that brought us here may be this very channel's.
            try {
                returnPath->shut(reason);
            } catch (const std::exception&) {
            }
        }
        connection.shutdown();
    }
}

bool MigrationDestination::pauseIfPostcopy(Connection& connection, ReturnPathSender& returnPath,
                                           const std::exception& error) {
    if (!dynamic_cast<const ConnectionError*>(&error))
        return false;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || (state_ != State::PostcopyActive && state_ != State::PostcopyRecover))
            return false;
    }
    // QEMU's postcopy_pause_incoming: close the connection, stop asking on it, then wait
    // for migrate-recover. The guest keeps running; a fault on a missing page waits.
    connection.shutdown();
    postcopy_->detach(returnPath);
    {
        std::lock_guard lock(mutex_);
        setState(State::PostcopyPaused);
        recoverArmed_ = false;
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Warning, Side::Destination,
                     std::string("postcopy-paused: ") + error.what() + "; " +
                         std::to_string(postcopy_->missingPages()) +
                         " pages still missing, the guest waits on any it touches");
    return true;
}

void MigrationDestination::serveMain(Connection& connection, ReturnPathSender& returnPath) {
    // The return path dies with this connection: whatever happens, the guest's page faults
    // stop asking on it before it is freed.
    struct DetachOnExit {
        MigrationDestination& destination;
        ReturnPathSender& returnPath;
        ~DetachOnExit() {
            PostcopyIncoming* postcopy = nullptr;
            {
                std::lock_guard lock(destination.mutex_);
                postcopy = destination.postcopy_.get();
            }
            if (postcopy)
                postcopy->detach(returnPath);
        }
    } detachOnExit{*this, returnPath};

    StreamReader in(connection);
    const StreamHeader header = readHeader(in);
    if (header.resume) {
        acceptResume(header);
    } else {
        acceptFirstMain(header);
    }
    try {
        loadSections(in, returnPath);
    } catch (const ConnectionError&) {
        // Shut down before the detach: a page request blocked in a send on this connection
        // holds the sender, and only the shutdown frees it.
        connection.shutdown();
        throw;
    }
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

MigrationDestination::StreamHeader MigrationDestination::readHeader(StreamReader& in) {
    if (const auto version = in.get32(); version != kVmFileVersion)
        throw MigrationError("main channel: stream version " + std::to_string(version) +
                             " is not supported (expected " + std::to_string(kVmFileVersion) + ")");
    if (in.get8() != static_cast<std::uint8_t>(Section::Configuration) ||
        in.getString8() != "migrascope")
        throw MigrationError("main channel: the stream has no Migrascope configuration section");
    StreamHeader header;
    in.getBytes(header.uuid.data(), header.uuid.size());
    header.channels = in.get32();
    if (const auto pageSize = in.get32(); pageSize != kPageSize)
        throw MigrationError("main channel: source page size " + std::to_string(pageSize) +
                             " differs from ours (" + std::to_string(kPageSize) + ")");
    header.capabilities = in.get32();
    header.resume = in.get8() != 0;
    if (header.channels > 255)
        throw MigrationError("main channel: " + std::to_string(header.channels) +
                             " multifd channels announced; at most 255 are possible");
    return header;
}

void MigrationDestination::acceptFirstMain(const StreamHeader& header) {
    {
        std::lock_guard lock(mutex_);
        if (mainSeen_)
            throw ResumeRefused("a second main channel arrived for migration " +
                                uuidToString(header.uuid) + " (a resume must say so)");
        if (options_.expectedUuid && *options_.expectedUuid != header.uuid)
            throw MigrationError("main channel belongs to migration " + uuidToString(header.uuid) +
                                 ", expected " + uuidToString(*options_.expectedUuid));
        mainSeen_ = true;
        uuid_ = header.uuid;
        expectedChannels_ = header.channels;
        capabilities_ = header.capabilities;
        channelSeen_.assign(header.channels, false);
        setState(State::Loading);
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "main channel from the source of migration " + uuidToString(header.uuid) +
                         ", " + std::to_string(header.channels) + " multifd channels announced");
}

void MigrationDestination::acceptResume(const StreamHeader& header) {
    {
        std::lock_guard lock(mutex_);
        if (!mainSeen_ || header.uuid != uuid_)
            throw ResumeRefused("resume refused: this destination has no paused migration " +
                                uuidToString(header.uuid));
        if (state_ == State::Completed)
            throw AlreadyCompleted("a resume arrived for migration " + uuidToString(uuid_) +
                                   ", which was already verified and completed here; "
                                   "answering SHUT 0 again");
        if (state_ != State::PostcopyPaused)
            throw ResumeRefused(std::string("resume refused: the destination is ") +
                                toString(state_) + ", not postcopy-paused");
        if (!recoverArmed_)
            throw ResumeRefused("resume refused: the destination is postcopy-paused but was not "
                                "told to recover (migrate-recover)");
        recoverArmed_ = false;
        setState(State::PostcopyRecover);
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "postcopy-recover: the source reconnected to resume migration " +
                         uuidToString(header.uuid));
}

void MigrationDestination::loadRamSetup(StreamReader& in) {
    {
        std::lock_guard lock(mutex_);
        if (guestReady_)
            throw MigrationError("main channel: a second RAM setup section");
    }
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
    auto guest = std::make_unique<Guest>(layout, GuestConfig{0, 0, 2}, Guest::Content::Empty);
    {
        std::lock_guard lock(mutex_);
        for (const auto& block : guest->blocks())
            received_.emplace_back(block->pageCount());
        guest_ = std::move(guest);
        guestReady_ = true;
    }
    changed_.notify_all();
    loadRamItems(in);
}

std::size_t MigrationDestination::blockIndex(const RamBlock* block) const {
    std::size_t index = 0;
    while (guest_->blocks()[index].get() != block)
        ++index;
    return index;
}

void MigrationDestination::loadSections(StreamReader& in, ReturnPathSender& returnPath) {
    for (;;) {
        const auto section = in.get8();
        if (section == static_cast<std::uint8_t>(Section::Eof))
            break;
        if (section == static_cast<std::uint8_t>(Section::Command)) {
            handleCommand(in, returnPath);
        } else if (section == static_cast<std::uint8_t>(Section::Start)) {
            const std::uint32_t id = in.get32();
            const std::string name = in.getString8();
            in.get32(); // instance
            in.get32(); // version
            if (id == kRamSectionId && name == "ram") {
                loadRamSetup(in);
            } else if (name.size() > 5 && name.compare(name.size() - 5, 5, "/vfio") == 0) {
                if (capabilities_ & capability_bit::kPostcopyRam)
                    throw MigrationError("main channel: device " + name +
                                         " in a postcopy migration; VFIO devices cannot "
                                         "migrate in postcopy");
                devices_->loadSetup(in, id, name);
                if (in.get8() != static_cast<std::uint8_t>(Section::Footer) || in.get32() != id)
                    throw MigrationError("main channel: device section '" + name +
                                         "' has a bad footer");
            } else {
                throw MigrationError("main channel: unknown section '" + name + "'");
            }
        } else if (section == static_cast<std::uint8_t>(Section::Part) ||
                   section == static_cast<std::uint8_t>(Section::End)) {
            const std::uint32_t id = in.get32();
            const bool final = section == static_cast<std::uint8_t>(Section::End);
            if (devices_->owns(id)) {
                devices_->loadData(in, id, final);
                if (in.get8() != static_cast<std::uint8_t>(Section::Footer) || in.get32() != id)
                    throw MigrationError("main channel: device section " + std::to_string(id) +
                                         " has a bad footer");
                continue;
            }
            if (!guestReady_)
                throw MigrationError("main channel: RAM pages before the RAM setup section");
            if (id != kRamSectionId)
                throw MigrationError("main channel: unknown section id " + std::to_string(id));
            {
                std::lock_guard lock(mutex_);
                inFinalSection_ = final;
            }
            loadRamItems(in);
            ++roundsLoaded_;
            if (returnPathOpen_ && !switchoverAckSent_ &&
                (capabilities_ & capability_bit::kSwitchoverAck) &&
                roundsLoaded_ >= switchoverAckAfterRounds_) {
                returnPath.switchoverAck();
                switchoverAckSent_ = true;
            }
            // After the last RAM section every page is here (its flush was a barrier): hash
            // now, while the source hashes its own copy, rather than after its digest arrives.
            if (final) {
                if (postcopy_) {
                    if (const auto missing = postcopy_->missingPages(); missing > 0)
                        throw MigrationError("main channel: RAM ended with " +
                                             std::to_string(missing) + " pages never received");
                    ourDigest_ = guest_->digestOf(postcopy_->arrivalHashes());
                } else {
                    ourDigest_ = guest_->digest();
                }
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
            DeviceDigests deviceDigests(in.get32());
            if (deviceDigests.size() > 255)
                throw MigrationError("main channel: integrity section lists " +
                                     std::to_string(deviceDigests.size()) + " devices");
            for (auto& [deviceName, deviceDigest] : deviceDigests) {
                deviceName = in.getString8();
                deviceDigest = in.get64();
            }
            if (in.get8() != static_cast<std::uint8_t>(Section::Footer) || in.get32() != id)
                throw MigrationError("main channel: integrity section has a bad footer");
            verifyAndComplete(sourceDigest, deviceDigests, returnPath);
        } else {
            throw MigrationError("main channel: unknown section type " + std::to_string(section));
        }
    }
    std::lock_guard lock(mutex_);
    if (state_ != State::Completed)
        throw MigrationError("main channel: the stream ended without an integrity section");
}

void MigrationDestination::verifyAndComplete(const Digest& sourceDigest,
                                             const DeviceDigests& deviceDigests,
                                             ReturnPathSender& returnPath) {
    if (!ourDigest_)
        throw MigrationError("main channel: integrity section before the end of RAM");
    if (*ourDigest_ != sourceDigest)
        throw IntegrityError("integrity check failed: destination RAM digest " +
                             toHex(*ourDigest_) + " differs from the source's " +
                             toHex(sourceDigest));
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "RAM verified: XXH3-128 " + toHex(*ourDigest_) + " matches the source" +
                         (postcopy_ ? " (pages hashed as they arrived, before the running "
                                      "guest wrote them)"
                                    : ""));
    if (devices_->count() > 0 || !deviceDigests.empty()) {
        if (options_.vfioExplicitResumingStop) {
            if (const std::string differs = devices_->verify(deviceDigests); !differs.empty())
                throw IntegrityError("integrity check failed: " + differs);
            telemetry_.event(EventLevel::Info, Side::Destination,
                             "device state verified: " + std::to_string(devices_->count()) +
                                 " devices match the source");
        } else {
            telemetry_.event(EventLevel::Warning, Side::Destination,
                             "device state not checked (legacy VFIO resume: the devices only "
                             "load their state when they start)");
        }
        // Only now the devices run; a device that will not start keeps the guest stopped
        // and fails the migration (QEMU's VFIO destination started the guest after a failed
        // load).
        devices_->start();
    }
    returnPath.shut(ShutReason::Success);
    guest_->start();
    {
        std::lock_guard lock(mutex_);
        setState(State::Completed);
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "incoming migration completed; guest running");
}

void MigrationDestination::handleCommand(StreamReader& in, ReturnPathSender& returnPath) {
    const auto raw = in.get16();
    const auto length = in.get16();
    std::vector<std::uint8_t> payload(length);
    in.getBytes(payload.data(), payload.size());
    const auto command = static_cast<StreamCommand>(raw);
    auto expectLength = [&](std::size_t expected) {
        if (length != expected)
            throw MigrationError(std::string("main channel: command ") + toString(command) +
                                 " has length " + std::to_string(length) + ", expected " +
                                 std::to_string(expected));
    };
    auto currentState = [&] {
        std::lock_guard lock(mutex_);
        return state_;
    };
    switch (command) {
    case StreamCommand::OpenReturnPath:
        expectLength(0);
        returnPathOpen_ = true;
        if ((capabilities_ & capability_bit::kSwitchoverAck) && !switchoverAckSent_ &&
            switchoverAckAfterRounds_ == 0) {
            // No device here needs its precopy data before it can approve.
            returnPath.switchoverAck();
            switchoverAckSent_ = true;
        }
        return;
    case StreamCommand::Ping:
        expectLength(4);
        returnPath.pong(wire::get32(payload.data()));
        return;
    case StreamCommand::PostcopyAdvise:
        expectLength(16);
        if (wire::get64(payload.data() + 8) != kPageSize)
            throw MigrationError("main channel: POSTCOPY_ADVISE announces target pages of " +
                                 std::to_string(wire::get64(payload.data() + 8)) + " bytes");
        return;
    case StreamCommand::PostcopyRamDiscard:
        discardPages(payload);
        return;
    case StreamCommand::PostcopyListen: {
        expectLength(0);
        if (!guestReady_ || !(capabilities_ & capability_bit::kPostcopyRam) ||
            devices_->count() > 0)
            throw MigrationError("main channel: POSTCOPY_LISTEN without postcopy-ram, before "
                                 "the RAM setup, or with VFIO devices");
        auto postcopy = std::make_unique<PostcopyIncoming>(*guest_, received_, telemetry_);
        guest_->setPageGate(postcopy.get());
        postcopy->attach(returnPath);
        {
            std::lock_guard lock(mutex_);
            postcopy_ = std::move(postcopy);
            postcopyListening_ = true;
        }
        changed_.notify_all();
        telemetry_.event(EventLevel::Info, Side::Destination,
                         "postcopy listen: the guest's page faults will be served from the "
                         "source");
        return;
    }
    case StreamCommand::PostcopyRun:
        expectLength(0);
        if (!postcopy_)
            throw MigrationError("main channel: POSTCOPY_RUN before POSTCOPY_LISTEN");
        guest_->setDirtyRate(options_.postcopyDirtyRate);
        guest_->start();
        {
            std::lock_guard lock(mutex_);
            setState(State::PostcopyActive);
        }
        changed_.notify_all();
        telemetry_.event(EventLevel::Info, Side::Destination,
                         "postcopy-active: the guest runs here with " +
                             std::to_string(postcopy_->missingPages()) + " pages still missing");
        return;
    case StreamCommand::RecvBitmap: {
        if (length < 1 || length != 1u + payload[0])
            throw MigrationError("main channel: RECV_BITMAP has a bad length");
        if (currentState() != State::PostcopyRecover)
            throw MigrationError("main channel: RECV_BITMAP outside postcopy-recover");
        const std::string name(reinterpret_cast<const char*>(payload.data() + 1), payload[0]);
        RamBlock* block = guest_->findBlock(name);
        if (!block)
            throw MigrationError("main channel: RECV_BITMAP for unknown RAM block '" + name + "'");
        returnPath.recvBitmap(name, received_[blockIndex(block)].copy());
        return;
    }
    case StreamCommand::PostcopyResume:
        expectLength(0);
        if (currentState() != State::PostcopyRecover || !postcopy_)
            throw MigrationError("main channel: POSTCOPY_RESUME outside postcopy-recover");
        {
            std::lock_guard lock(mutex_);
            setState(State::PostcopyActive);
        }
        changed_.notify_all();
        returnPath.resumeAck();
        postcopy_->attach(returnPath); // and ask again for what the guest still waits on
        telemetry_.event(EventLevel::Info, Side::Destination,
                         "postcopy-active again: RESUME_ACK sent, pending page requests "
                         "re-sent");
        return;
    case StreamCommand::Invalid:
        break;
    }
    throw MigrationError("main channel: unknown command " + std::to_string(raw) + " (length " +
                         std::to_string(length) + ")");
}

void MigrationDestination::discardPages(const std::vector<std::uint8_t>& payload) {
    if (payload.size() < 3 || payload[0] != 0 || payload.size() < 3u + payload[1] ||
        payload[2u + payload[1]] != 0 || (payload.size() - 3 - payload[1]) % 16 != 0)
        throw MigrationError("main channel: malformed POSTCOPY_RAM_DISCARD");
    const std::string name(reinterpret_cast<const char*>(payload.data() + 2), payload[1]);
    RamBlock* block = guest_ ? guest_->findBlock(name) : nullptr;
    if (!block || postcopy_)
        throw MigrationError("main channel: POSTCOPY_RAM_DISCARD for '" + name +
                             "' is unknown or too late");
    const std::size_t index = blockIndex(block);
    for (std::size_t at = 3u + payload[1]; at < payload.size(); at += 16) {
        const std::uint64_t start = wire::get64(payload.data() + at);
        const std::uint64_t length = wire::get64(payload.data() + at + 8);
        if (start % kPageSize != 0 || length % kPageSize != 0 || start > block->size() ||
            length > block->size() - start)
            throw MigrationError("main channel: POSTCOPY_RAM_DISCARD range outside '" + name + "'");
        // These pages changed after they were sent: not here until they come again.
        for (std::uint64_t page = start / kPageSize; page < (start + length) / kPageSize; ++page)
            received_[index].reset(page, std::memory_order_relaxed);
    }
}

void MigrationDestination::loadRamItems(StreamReader& in) {
    RamBlock* block = nullptr;
    std::size_t index = 0;
    std::vector<std::uint8_t> duplicate;
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
            index = blockIndex(block);
        } else if (!block) {
            throw MigrationError("main channel: CONTINUE page without a block");
        }
        if (offset % kPageSize != 0 || offset + kPageSize > block->size())
            throw MigrationError("main channel: page offset " + std::to_string(offset) +
                                 " is outside RAM block '" + block->name() + "'");
        const std::uint64_t page = offset / kPageSize;
        if (postcopy_) {
            // Postcopy: a page is placed once. A second copy (asked for and also pushed)
            // is dropped: the running guest may have written the page since.
            const bool already = postcopy_->isReceived(index, page);
            if (flags & ram_flag::kZero) {
                if (in.get8() != 0)
                    throw MigrationError("main channel: zero page with a non-zero fill");
                if (!already)
                    std::memset(block->data() + offset, 0, kPageSize);
            } else if (already) {
                duplicate.resize(kPageSize);
                in.getBytes(duplicate.data(), kPageSize);
            } else {
                in.getBytes(block->data() + offset, kPageSize);
            }
            if (!already)
                postcopy_->arrived(index, page);
            continue;
        }
        AtomicPageBitmap& received = received_[index];
        if (flags & ram_flag::kZero) {
            const std::uint8_t fill = in.get8();
            // A zero page never received is already zero here (QEMU skips it too).
            if (fill != 0 || received.test(page, std::memory_order_relaxed))
                std::memset(block->data() + offset, fill, kPageSize);
        } else {
            in.getBytes(block->data() + offset, kPageSize);
        }
        received.set(page, std::memory_order_relaxed);
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

void MigrationDestination::recognised(Connection& connection, ChannelKind kind) {
    ChannelCounters& counters = telemetry_.channel(connection.name(), kind);
    // A resume's main connection reuses the entry; one that already ended keeps its end.
    if (counters.termination.load() == Termination::None)
        counters.state.store(ChannelState::Open);
    counters.bidirectional.store(kind == ChannelKind::Main);
    if (connection.isTls())
        counters.setTlsInfo(connection.tlsVersion(), connection.tlsCipher(),
                            toString(connection.protection()));
}

void MigrationDestination::channelEnded(const std::string& channel, Termination termination) {
    if (ChannelCounters* counters = telemetry_.findChannel(channel)) {
        counters->termination.store(termination);
        counters->state.store(termination == Termination::Error ? ChannelState::Failed
                                                                : ChannelState::Closed);
    }
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
        recognised(connection, ChannelKind::Multifd);
        changed_.wait(lock, [this] { return guestReady_ || stopping_ || state_ == State::Failed; });
        if (!guestReady_)
            return;
    }
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "channel " + connection.name() + " accepted");

    std::vector<std::uint8_t> header(kMultifdHeaderSize);
    for (;;) {
        std::size_t got = 0;
        try {
            got = connection.recvSome(header.data(), header.size());
        } catch (const PrematureTermination& error) {
            // A source before the close_notify fix ends like this after its last packet.
            std::unique_lock lock(mutex_);
            if (!(finalSyncDone_ || postcopyListening_) || options_.cleanTlsTermination)
                throw;
            lock.unlock();
            telemetry_.event(EventLevel::Warning, Side::Destination,
                             std::string(error.what()) +
                                 "; tolerated after the last packet because "
                                 "multifd-clean-tls-termination is off");
            channelEnded(connection.name(), Termination::Premature);
            return;
        }
        if (got == 0) {
            std::unique_lock lock(mutex_);
            if (!finalSyncDone_ && !postcopyListening_)
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
        const std::size_t index = blockIndex(block);
        for (const std::uint64_t offset : packet.offsets)
            if (offset % kPageSize != 0 || offset + kPageSize > block->size())
                throw MigrationError("channel " + connection.name() + ": page offset " +
                                     std::to_string(offset) + " is outside RAM block '" +
                                     block->name() + "'");
        for (std::uint32_t i = 0; i < packet.normalPages; ++i)
            connection.recvExact(block->data() + packet.offsets[i], kPageSize);
        for (std::size_t i = 0; i < packet.offsets.size(); ++i) {
            const std::uint64_t page = packet.offsets[i] / kPageSize;
            AtomicPageBitmap& received = received_[index];
            // A zero page that was never received is already zero here (QEMU skips it too).
            if (i >= packet.normalPages && received.test(page, std::memory_order_relaxed))
                std::memset(block->data() + packet.offsets[i], 0, kPageSize);
            received.set(page, std::memory_order_relaxed);
        }
    }
}

} // namespace migrascope
