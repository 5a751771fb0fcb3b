// A trainer's "stop at each phase": the migration thread holds at phase boundaries until
// Continue. One gate, under the control mutex that cancel() also notifies, so a held
// migration still cancels at once.
#include "engine/source/migration_source.h"

#include <cmath>

namespace migrascope {

std::string MigrationSource::setStepping(bool on) {
    {
        std::lock_guard lock(controlMutex_);
        if (isFinal(telemetry_.status()))
            return "the migration has ended";
        stepping_ = on;
    }
    controlChanged_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Source,
                     on ? "stepping: the migration stops at each phase until Continue"
                        : "stepping off: the migration runs on");
    return {};
}

std::string MigrationSource::continueFromHold() {
    {
        std::lock_guard lock(controlMutex_);
        if (heldAt_.empty())
            return "the migration is not held at a phase";
        holdReleased_ = true;
    }
    controlChanged_.notify_all();
    return {};
}

double MigrationSource::holdAt(const std::string& phase) {
    std::unique_lock lock(controlMutex_);
    if (!stepping_ || cancelRequested_.load())
        return 0;
    const double from = telemetry_.elapsedMs();
    heldAt_ = phase;
    holdReleased_ = false;
    telemetry_.setHeldAt(phase);
    // Nothing is sent while held: the current rate (QEMU's mbps while migrating) is 0 until
    // the next round publishes its own, not the last window's figure.
    MigrationStats whileHeld = telemetry_.stats();
    whileHeld.mbps = 0;
    telemetry_.updateStats(whileHeld);
    telemetry_.event(EventLevel::Info, Side::Source,
                     "held at " + phase + " (stepping): Continue goes on" +
                         (guest_.running() ? "; the guest keeps running"
                                           : "; the guest stays stopped, and the hold is not "
                                             "counted in the downtime"));
    // The reason for this wait is on screen (the held phase), and it ends with Continue,
    // stepping off, or a cancel.
    controlChanged_.wait(lock,
                         [this] { return holdReleased_ || !stepping_ || cancelRequested_.load(); });
    heldAt_.clear();
    telemetry_.setHeldAt({});
    const double held = telemetry_.elapsedMs() - from;
    lock.unlock();
    telemetry_.event(EventLevel::Info, Side::Source,
                     "continued from " + phase + " after " + std::to_string(std::llround(held)) +
                         " ms");
    return held;
}

} // namespace migrascope
