// The source's return-path thread (QEMU's source_return_path_thread, once it was joined
// before its file was released): one thread per main connection. It exits on SHUT, on a
// broken connection and on a bad message, and is joined before its connection is released;
// a resumed migration starts a new thread on the new connection. Nothing of one thread
// survives into the next, so the race of the return-path thread reused across a postcopy
// pause (a quick resume's new file closed by the old thread) cannot happen.
#include "engine/common/migration_error.h"
#include "engine/source/migration_source.h"
#include "engine/wire/wire.h"

#include <algorithm>

namespace migrascope {

std::vector<RamBlockLayout> MigrationSource::ramLayout() const {
    std::vector<RamBlockLayout> layout;
    for (const auto& block : guest_.blocks())
        layout.push_back(RamBlockLayout{block->name(), block->size()});
    return layout;
}

void MigrationSource::openReturnPath() {
    closeReturnPath(); // only ever a finished thread by now; never two at once
    {
        std::lock_guard lock(controlMutex_);
        returnPathState_ = ReturnPathState{};
    }
    const unsigned generation = ++returnPathGeneration_;
    Connection& connection = *main_;
    returnPath_ =
        std::thread([this, &connection, generation] { returnPathLoop(connection, generation); });
}

void MigrationSource::closeReturnPath() {
    if (returnPath_.joinable())
        returnPath_.join();
}

void MigrationSource::returnPathLoop(Connection& connection, unsigned generation) {
    std::string error;
    bool lost = false;
    try {
        ReturnPathReader reader(connection, ramLayout());
        bool sawShut = false;
        while (auto message = reader.next()) {
            // A destination's reports feed its view (channels, devices), not the message log.
            if (!isDestinationReport(message->type))
                telemetry_.returnPathMessage(message->type, message->value, message->describe(),
                                             generation);
            handleReturnPathMessage(*message);
            if (message->type == ReturnPathType::Shut) {
                sawShut = true; // the destination is done with this return path
                break;
            }
        }
        if (!sawShut) {
            lost = true;
            error = "return path: the destination closed the main channel without SHUT";
        }
    } catch (const ConnectionError& broken) {
        lost = true;
        error = std::string("return path: ") + broken.what();
    } catch (const std::exception& bad) {
        error = bad.what();
    }
    // Recorded before the shutdown below: the migration thread's send then fails, and it
    // must find this verdict rather than take the failure for a network outage.
    {
        std::lock_guard lock(controlMutex_);
        returnPathState_.ended = true;
        returnPathState_.lost = lost;
        returnPathState_.error = error;
    }
    controlChanged_.notify_all();
    const bool fatal = !lost && !error.empty();
    const bool failedThere = returnPathState_.shut.value_or(0) != 0; // written by this thread
    if (fatal || failedThere)
        connection.shutdown(); // unblock the migration thread: this migration cannot go on
    if (!error.empty() && !cancelRequested_.load())
        telemetry_.event(lost ? EventLevel::Warning : EventLevel::Error, Side::Source,
                         error + " (return-path thread " + std::to_string(generation) + " exits)");
}

void MigrationSource::handleReturnPathMessage(const ReturnPathMessage& message) {
    std::unique_lock lock(controlMutex_);
    const MigrationStatus status = telemetry_.status();
    ReturnPathState& state = returnPathState_;
    switch (message.type) {
    case ReturnPathType::Shut:
        state.shut = message.value;
        break;
    case ReturnPathType::Pong:
        state.lastPong = message.value;
        state.lastPongAtMs = telemetry_.elapsedMs();
        if (state.firstPongAtMs < 0)
            state.firstPongAtMs = state.lastPongAtMs;
        break;
    case ReturnPathType::ReqPagesId:
    case ReturnPathType::ReqPages: {
        if (status == MigrationStatus::Cancelling)
            break; // asked before the cancel reached the destination
        if (!isPostcopy(status) && status != MigrationStatus::Device)
            throw ReturnPathError("return path: " + message.describe() + " arrived during " +
                                  toString(status) + "; pages are requested only in postcopy");
        std::size_t block = 0;
        while (guest_.blocks()[block]->name() != message.block)
            ++block; // the reader checked that the block exists
        for (std::uint64_t offset = message.start; offset < message.start + message.length;
             offset += kPageSize)
            urgentPages_.push_back(PageRef{block, offset});
        break;
    }
    case ReturnPathType::RecvBitmap:
        if (status != MigrationStatus::PostcopyRecover)
            throw ReturnPathError("return path: RECV_BITMAP arrived during " +
                                  std::string(toString(status)) +
                                  "; it answers a resume (postcopy-recover) only");
        state.bitmaps[message.block] = message.received;
        break;
    case ReturnPathType::ResumeAck:
        if (status != MigrationStatus::PostcopyRecover)
            throw ReturnPathError("return path: RESUME_ACK arrived during " +
                                  std::string(toString(status)) +
                                  "; it answers a resume (postcopy-recover) only");
        state.resumeAcked = true;
        break;
    case ReturnPathType::SwitchoverAck:
        if (!config_.capabilities.switchoverAck)
            throw ReturnPathError("return path: SWITCHOVER_ACK arrived, but the switchover-ack "
                                  "capability is off");
        state.switchoverAcked = true;
        lock.unlock();
        telemetry_.event(EventLevel::Info, Side::Source,
                         "the destination approved switchover (SWITCHOVER_ACK)");
        lock.lock();
        break;
    case ReturnPathType::DestinationStatus:
        telemetry_.destinationReported(message.status, message.historyId, message.error);
        break;
    case ReturnPathType::DestinationChannel:
        telemetry_.destinationReported(message.channel);
        break;
    case ReturnPathType::DestinationArc: {
        DeviceTransition arc = message.arc;
        arc.timeMs = std::max(0.0, telemetry_.elapsedMs() - arc.timeMs); // it was an age
        telemetry_.destinationReported(std::move(arc));
        break;
    }
    case ReturnPathType::Invalid:
        break;
    }
    lock.unlock();
    controlChanged_.notify_all();
}

void MigrationSource::throwIfReturnPathEnded() {
    std::lock_guard lock(controlMutex_);
    const ReturnPathState& state = returnPathState_;
    if (!state.ended)
        return;
    if (state.shut && *state.shut != 0)
        throw MigrationError("the destination reported an error (SHUT " +
                             describeShut(*state.shut) + ")");
    if (state.shut)
        throw ReturnPathError("return path: the destination sent SHUT 0 (success) before the "
                              "migration was complete");
    if (state.lost)
        throw ConnectionError(state.error);
    throw ReturnPathError(state.error);
}

void MigrationSource::sendPing(std::uint32_t value) {
    stream_->putCommand(StreamCommand::Ping, wire::Payload().add32(value).bytes);
}

bool MigrationSource::waitForPong(std::uint32_t value,
                                  std::optional<std::chrono::milliseconds> bound) {
    stream_->flush();
    std::unique_lock lock(controlMutex_);
    const auto done = [&] {
        return returnPathState_.lastPong >= value || returnPathState_.ended ||
               cancelRequested_.load();
    };
    if (bound)
        controlChanged_.wait_for(lock, *bound, done);
    else
        controlChanged_.wait(lock, done);
    const bool answered = returnPathState_.lastPong >= value;
    lock.unlock();
    throwIfCancelled();
    if (!answered)
        throwIfReturnPathEnded();
    return answered;
}

void MigrationSource::waitForShut() {
    std::unique_lock lock(controlMutex_);
    controlChanged_.wait(lock, [&] { return returnPathState_.ended || cancelRequested_.load(); });
    const std::optional<std::uint32_t> shut = returnPathState_.shut;
    lock.unlock();
    throwIfCancelled();
    if (shut && *shut == 0)
        return;
    throwIfReturnPathEnded(); // it has ended: this throws
}

bool MigrationSource::switchoverAcked() {
    std::lock_guard lock(controlMutex_);
    return returnPathState_.switchoverAcked;
}

void MigrationSource::waitForSwitchoverAck(std::chrono::milliseconds timeout) {
    std::unique_lock lock(controlMutex_);
    controlChanged_.wait_for(lock, timeout, [&] {
        return returnPathState_.switchoverAcked || returnPathState_.ended ||
               cancelRequested_.load();
    });
}

} // namespace migrascope
