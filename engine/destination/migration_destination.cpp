#include "engine/destination/migration_destination.h"

#include "engine/common/migration_error.h"
#include "engine/destination/destination_errors.h"
#include "engine/wire/multifd_wire.h"
#include "engine/wire/wire.h"

#include <cstdio>
#include <cstring>

namespace migrascope {

namespace {

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
            loader_.switchoverAckAfterRounds = fault.count;
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
    devices_->abandon();
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
    reportRejections(true);
}

MigrationDestination::State MigrationDestination::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

std::optional<Uuid> MigrationDestination::migration() const {
    std::lock_guard lock(mutex_);
    return session_.mainSeen ? std::optional<Uuid>(session_.uuid) : std::nullopt;
}

std::string MigrationDestination::sourcePeer() const {
    std::lock_guard lock(mutex_);
    return session_.sourcePeer;
}

std::string MigrationDestination::sourceCertificateDn() const {
    std::lock_guard lock(mutex_);
    return session_.sourceDn;
}

bool MigrationDestination::abandonPausedPostcopy(const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        if (state_ != State::PostcopyPaused)
            return false;
        setState(State::Failed);
        error_ = why;
        failReason_ = ShutReason::ChannelFailure;
        for (auto& incoming : incoming_)
            if (incoming.connection)
                incoming.connection->shutdown();
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Error, Side::Destination, "incoming migration failed: " + why);
    return true;
}

void MigrationDestination::reportDueRejections() {
    std::lock_guard lock(mutex_);
    reportRejections(false);
}

std::size_t MigrationDestination::openConnections() const {
    std::lock_guard lock(mutex_);
    std::size_t open = 0;
    for (const auto& incoming : incoming_)
        open += incoming.finished ? 0 : 1;
    return open;
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
    devices_->abandon();
    if (sourceCancelled_.load())
        telemetry_.event(EventLevel::Warning, Side::Destination,
                         "incoming migration ended: the source cancelled it (" + error + ")");
    else
        telemetry_.event(EventLevel::Error, Side::Destination,
                         "incoming migration failed: " + error);
}

std::string MigrationDestination::recover() {
    {
        std::lock_guard lock(mutex_);
        if (state_ != State::PostcopyPaused)
            return std::string("recover refused: the destination is ") + toString(state_) +
                   ", not postcopy-paused";
        if (session_.recoverArmed)
            return "recover refused: already waiting for the source to resume";
        session_.recoverArmed = true;
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
        {
            // A connection is taken only when a slot to identify it is free; the rest wait in
            // the kernel's backlog, so a flood cannot take a thread and a descriptor each, and
            // a real channel behind it is served once the flood's silent ones time out.
            std::unique_lock lock(mutex_);
            changed_.wait(lock,
                          [this] { return unidentified_ < options_.maxUnidentified || stopping_; });
            if (stopping_)
                return;
        }
        std::string peer;
        int error = 0;
        UniqueFd fd = listener_.accept(peer, error);
        if (!fd.valid() &&
            (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM)) {
            backOff(error);
            continue;
        }
        std::lock_guard lock(mutex_);
        if (!fd.valid() || stopping_)
            return;
        backingOff_ = false;
        reapFinished();
        ++unidentified_;
        auto incoming = incoming_.emplace(incoming_.end());
        incoming->connection = std::make_unique<Connection>(std::move(fd), peer);
        incoming->thread = std::thread([this, incoming, peer] {
            serve(incoming, peer);
            release(incoming);
        });
    }
}

void MigrationDestination::backOff(int error) {
    std::unique_lock lock(mutex_);
    if (!backingOff_) {
        backingOff_ = true;
        lock.unlock();
        telemetry_.event(EventLevel::Warning, Side::Destination,
                         "cannot accept connections: " + errnoText(error) +
                             "; retrying every 100 ms until descriptors are free");
        lock.lock();
    }
    // The pending connection stays in the kernel's backlog; it is taken once one is free.
    changed_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
}

void MigrationDestination::identified(std::list<Incoming>::iterator incoming) {
    {
        std::lock_guard lock(mutex_);
        leaveUnidentified(*incoming);
    }
    changed_.notify_all(); // the acceptor may take the next connection
}

void MigrationDestination::leaveUnidentified(Incoming& incoming) {
    if (incoming.identified)
        return;
    incoming.identified = true;
    --unidentified_;
}

void MigrationDestination::release(std::list<Incoming>::iterator incoming) {
    std::unique_ptr<Connection> closing;
    {
        std::lock_guard lock(mutex_);
        closing = std::move(incoming->connection);
        incoming->finished = true;
        leaveUnidentified(*incoming);
    }
    changed_.notify_all();
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
        // The first refusal is the cause; later ones are usually its consequences, or a
        // flood: counted, and reported together.
        if (!firstRejection_.empty()) {
            ++unreportedRejections_[why];
            reportRejections(false);
            return;
        }
        firstRejection_ = why;
        lastRejectionReport_ = std::chrono::steady_clock::now();
    }
    telemetry_.event(EventLevel::Error, Side::Destination,
                     "rejected connection from " + peer + ": " + why);
}

void MigrationDestination::reportRejections(bool force) {
    constexpr auto kReportEvery = std::chrono::seconds(5);
    const auto now = std::chrono::steady_clock::now();
    if (unreportedRejections_.empty() || (!force && now - lastRejectionReport_ < kReportEvery))
        return;
    unsigned total = 0;
    std::string reasons;
    for (const auto& [why, count] : unreportedRejections_) {
        total += count;
        reasons += (reasons.empty() ? "" : "; ") + std::to_string(count) + " x " + why;
    }
    unreportedRejections_.clear();
    lastRejectionReport_ = now;
    telemetry_.event(EventLevel::Warning, Side::Destination,
                     "rejected " + std::to_string(total) + " more connections: " + reasons);
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

void MigrationDestination::serve(std::list<Incoming>::iterator incoming, std::string peer) {
    Connection& connection = *incoming->connection;
    std::uint8_t first4[4];
    try {
        // Bounded: a connection that says nothing, or stalls in its handshake, is dropped.
        const auto timeout = options_.handshakeTimeout;
        const std::string within = std::to_string(timeout.count()) + " ms (handshake-timeout)";
        if (!connection.waitReadable(timeout))
            throw MigrationError("it sent nothing within " + within);
        if (credentials_) {
            classifyBeforeTls(connection);
            // Any connection may turn out to be the main channel, read and written at once.
            connection.setProtection(TlsProtection::SessionLock);
            connection.setHandshakeTimeout(timeout);
            connection.startTlsServer(*credentials_, options_.tls.priority, options_.tls.authz);
        }
        if (!connection.waitReadable(timeout))
            throw MigrationError("it named no channel within " + within + " of its handshake");
        connection.recvExact(first4, sizeof first4);
        if (!credentials_ && first4[0] == 0x16 && first4[1] == 0x03)
            throw MigrationError("a TLS handshake arrived at a plain-text destination (is TLS on "
                                 "at the source and off here?)");
    } catch (const std::exception& error) {
        reject(peer, error.what());
        connection.shutdown();
        return;
    }
    identified(incoming);
    const std::uint32_t magic = wire::get32(first4);
    const bool mainChannel = magic == kVmFileMagic;
    std::optional<ReturnPathSender> returnPath;
    try {
        if (mainChannel) {
            connection.setName("main");
            recognised(connection, ChannelKind::Main, sizeof first4);
            returnPath.emplace(connection);
            serveMain(connection, *returnPath, peer);
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
            drainUntilTheSourceHangsUp(connection);
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
                reportToSource(*returnPath, true, MigrationStatus::Failed);
                returnPath->shut(reason);
                drainUntilTheSourceHangsUp(connection);
            } catch (const std::exception&) {
            }
        }
        connection.shutdown();
    }
}

void MigrationDestination::drainUntilTheSourceHangsUp(Connection& connection) {
    // Closing a socket with unread bytes makes the kernel send RST, and a RST discards what
    // the source had not read yet: the verdict just sent. So read until the source, having
    // read it, hangs up; bounded, for a source that does not.
    constexpr auto kBound = std::chrono::seconds(2);
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    std::vector<std::uint8_t> sink(64 * 1024);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !connection.waitReadable(left) ||
            connection.recvSome(sink.data(), sink.size()) == 0)
            return;
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
        session_.recoverArmed = false;
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Warning, Side::Destination,
                     std::string("postcopy-paused: ") + error.what() + "; " +
                         std::to_string(postcopy_->missingPages()) +
                         " pages still missing, the guest waits on any it touches");
    return true;
}

void MigrationDestination::serveMain(Connection& connection, ReturnPathSender& returnPath,
                                     const std::string& peer) {
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
        acceptResume(header, connection.peerCertificateDn());
    } else {
        acceptFirstMain(header, peer, connection.peerCertificateDn());
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

} // namespace migrascope
