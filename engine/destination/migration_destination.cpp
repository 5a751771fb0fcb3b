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
    : options_(std::move(options)), telemetry_(telemetry), rejections_(telemetry_),
      devices_(std::make_unique<DestinationDevices>(
          DestinationDevices::Options{options_.vfioExplicitResumingStop, options_.faults},
          telemetry_)) {
    for (const auto& fault : options_.faults)
        if (fault.kind == FaultSpec::Kind::SwitchoverAckAfter)
            loader_.switchoverAckAfterRounds = fault.count;
    if (options_.listen && options_.tls.enabled)
        credentials_ = std::make_unique<TlsCredentials>(options_.tls.credsDir,
                                                        TlsCredentials::Endpoint::Server);
    if (options_.listen) {
        ConnectionGate::Options gate{options_.listenHost, options_.port, options_.tls,
                                     options_.handshakeTimeout, options_.maxUnidentified};
        gate_ = std::make_unique<ConnectionGate>(
            std::move(gate), credentials_.get(), rejections_, telemetry_,
            [this](Connection&, const std::string& peer, std::chrono::steady_clock::time_point) {
                return [this, peer](std::unique_ptr<Connection> connection) {
                    adopt(std::move(connection), peer);
                };
            });
    }
}

MigrationDestination::~MigrationDestination() {
    stop();
    // The guest's workload reads received_ through the postcopy gate: join it before
    // any member goes.
    stopGuest();
}

void MigrationDestination::start() {
    if (gate_)
        gate_->start();
}

void MigrationDestination::adopt(std::unique_ptr<Connection> connection, const std::string& peer) {
    std::lock_guard lock(mutex_);
    if (stopping_)
        return; // closed as it goes
    reapFinished();
    auto incoming = incoming_.emplace(incoming_.end());
    incoming->connection = std::move(connection);
    incoming->thread = std::thread([this, incoming, peer] {
        serve(incoming, peer);
        release(incoming);
    });
}

void MigrationDestination::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& incoming : incoming_)
            if (incoming.connection)
                incoming.connection->shutdown();
    }
    changed_.notify_all();
    devices_->abandon();
    if (gate_)
        gate_->stop();
    // Stopping, adopt() adds no thread from here on; the list itself changes only under the
    // lock, and a thread's own entry is never erased before it is joined.
    for (auto& incoming : incoming_)
        if (incoming.thread.joinable())
            incoming.thread.join();
    {
        std::lock_guard lock(mutex_);
        incoming_.clear();
    }
    rejections_.report(true);
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
    rejections_.report(false);
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
        // on the return path (SHUT) before it closes. The others did nothing wrong: their
        // end says so, and the first cause stays the only failure on screen.
        const Termination consequence =
            sourceCancelled_.load() ? Termination::Cancelled : Termination::AfterFailure;
        for (auto& incoming : incoming_)
            if (incoming.connection && incoming.connection->name() != "main")
                incoming.connection->shutdown(consequence);
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

std::string MigrationDestination::cancel(const std::string& why) {
    std::int64_t historyId = 0;
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::Completed || state_ == State::Failed)
            return std::string("migrate_cancel refused: the incoming migration is already ") +
                   toString(state_);
        if (state_ != State::Listening && state_ != State::Loading)
            return "migrate_cancel refused: postcopy has started, so the guest runs here and is "
                   "the only current one; the migration can only finish";
        historyId = session_.historyId;
    }
    fail(why, ShutReason::Cancelled);
    tellTheSourceNow(why, ShutReason::Cancelled, historyId);
    return {};
}

void MigrationDestination::tellTheSourceNow(const std::string& why, ShutReason reason,
                                            std::int64_t historyId) {
    std::lock_guard lock(returnPathMutex_);
    if (!mainReturnPath_ || !mainReturnPath_->isOpen())
        return;
    try {
        TelemetrySnapshot view;
        view.status = MigrationStatus::Failed;
        view.errorDesc = why;
        mainReturnPath_->destinationReport(view, 0, telemetry_.elapsedMs(), historyId);
        mainReturnPath_->shut(reason);
    } catch (const std::exception&) {
        // The source also sees its channels close.
    }
}

void MigrationDestination::stopGuest() {
    if (guest_)
        guest_->stop();
}

void MigrationDestination::release(std::list<Incoming>::iterator incoming) {
    std::unique_ptr<Connection> closing;
    {
        std::lock_guard lock(mutex_);
        closing = std::move(incoming->connection);
        incoming->finished = true;
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

std::string MigrationDestination::firstRejection() const {
    return rejections_.first();
}

void MigrationDestination::serve(std::list<Incoming>::iterator incoming, std::string peer) {
    Connection& connection = *incoming->connection;
    std::uint8_t first4[4];
    try {
        connection.recvExact(first4, sizeof first4); // put back by the gate
    } catch (const std::exception& error) {
        rejections_.reject(peer, error.what());
        return;
    }
    const std::uint32_t magic = wire::get32(first4);
    const bool mainChannel = magic == kVmFileMagic;
    std::optional<ReturnPathSender> returnPath;
    // Declared after it, so gone before it: cancel() stops reaching it first.
    struct ForgetReturnPath {
        MigrationDestination& destination;
        const std::optional<ReturnPathSender>& returnPath;
        ~ForgetReturnPath() {
            std::lock_guard lock(destination.returnPathMutex_);
            if (returnPath && destination.mainReturnPath_ == &*returnPath)
                destination.mainReturnPath_ = nullptr;
        }
    } forgetReturnPath{*this, returnPath};
    try {
        if (mainChannel) {
            connection.setName("main");
            recognised(connection, ChannelKind::Main, sizeof first4);
            returnPath.emplace(connection);
            {
                std::lock_guard lock(returnPathMutex_);
                mainReturnPath_ = &*returnPath;
            }
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
        rejections_.reject(peer, refused.what());
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
        const bool failedElsewhere = state_ == State::Failed;
        const ShutReason elsewhereReason = failReason_;
        const std::int64_t recordId = session_.historyId;
        lock.unlock();
        if (ChannelCounters* counters = telemetry_.findChannel(connection.name());
            counters && counters->termination.load() == Termination::None) {
            // Once the migration failed elsewhere, whatever ends a channel follows from that
            // failure; a device or the integrity check failing on this channel's thread is no
            // failure of the channel either. Otherwise the connection's own end, else this
            // host's error on the channel (a stream it could not read), ended it.
            const bool notTheChannel = dynamic_cast<const DeviceError*>(&error) ||
                                       dynamic_cast<const IntegrityError*>(&error);
            const Termination end = failedElsewhere || notTheChannel ? Termination::AfterFailure
                                    : connection.termination() != Termination::None
                                        ? connection.termination()
                                        : Termination::Local;
            counters->markEnded(end);
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
        if (ourChannel && !completed && !endedElsewhere) {
            fail(error.what(), mainChannel ? reason : ShutReason::ChannelFailure);
            // The main channel's thread may be waiting for the source's next command, which
            // does not come while the source waits for this channel: the verdict goes now,
            // so the source fails at once and names this cause, not what follows from it.
            if (!mainChannel)
                tellTheSourceNow(error.what(), ShutReason::ChannelFailure, recordId);
        } else if (!ourChannel)
            rejections_.reject(peer, error.what());
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
    const Termination told = sourceInterrupt_.exchange(Termination::None);
    const Termination end = told != Termination::None ? told
                            : connection.termination() != Termination::None
                                ? connection.termination()
                                : Termination::Local;
    if (ChannelCounters* counters = telemetry_.findChannel(connection.name())) {
        counters->markEnded(end);
    }
    connection.shutdown();
    postcopy_->detach(returnPath);
    {
        std::lock_guard lock(mutex_);
        setState(State::PostcopyPaused);
        session_.recoverArmed = false;
    }
    changed_.notify_all();
    const std::string why = end == Termination::Paused
                                ? "the source paused the migration (migrate-pause)"
                            : told == Termination::Network
                                ? "the network under the main channel failed (a trainer's fault "
                                  "at the source)"
                                : std::string(describe(end)) + ": " + error.what();
    telemetry_.event(EventLevel::Warning, Side::Destination,
                     "postcopy-paused: " + why + "; " + std::to_string(postcopy_->missingPages()) +
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
    const StreamStart header = readHeader(in);
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
                                 ? Termination::Local
                                 : connection.termination());
    }
}

} // namespace migrascope
