// One migration to the in-process destination, from guest boot to the history row.
// Owns every engine thread of the run: the migration thread (coordinator), the sampler,
// and through its members the workload, multifd and destination threads.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/telemetry_snapshot.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace migrascope {

class DestinationEndpoint;
class Guest;
class HistoryStore;
class KernelTcpReader;
class MigrationSource;
class RunView;
class SourceDevices;
class Telemetry;

// The steps of a postcopy pause, in order. Tests act at each one: a quick resume during a
// pause is where QEMU's return-path thread, reused across the pause, closed the new return
// path.
enum class PauseStep { ChannelShutDown, ReturnPathJoined, ChannelReleased, Paused };
const char* toString(PauseStep step);

struct RunOptions {
    RunOptions() = default;
    RunOptions(std::string history, bool record = true)
        : historyPath(std::move(history)), recordHistory(record) {}

    std::string historyPath; // empty = HistoryStore::defaultPath()
    bool recordHistory = true;
    double sampleIntervalMs = 100;
    // Tests: called on the migration thread after each step of a postcopy pause.
    std::function<void(PauseStep)> pauseStepHook;
};

// The parameters QEMU lets an operator change while a migration runs (migrate-set-parameters).
struct LiveParameters {
    std::uint64_t maxBandwidth = 0; // bytes per second; 0 = unlimited
    std::uint64_t downtimeLimitMs = 300;
};
struct LiveParameterChange {
    std::optional<std::uint64_t> maxBandwidth;
    std::optional<std::uint64_t> downtimeLimitMs;
};
// A trainer's slow motion: 1/N of normal speed, N one of these (1 is normal speed).
inline constexpr unsigned kSlowMotionDivisors[] = {1, 2, 5, 10};
// Why a change cannot be made ("" when it can): the bounds QEMU and the command line apply.
std::string checkLiveParameters(const LiveParameterChange& change);

class MigrationRun {
public:
    explicit MigrationRun(MigrationConfig config, RunOptions options = {});
    // Cancels a run still in flight and joins all of its threads.
    ~MigrationRun();
    MigrationRun(const MigrationRun&) = delete;
    MigrationRun& operator=(const MigrationRun&) = delete;

    // Returns at once; the run proceeds on its own thread.
    void start();
    // migrate_cancel, any thread: "" when accepted (the run ends in `cancelled` unless it
    // already ended), or why it was refused. Once postcopy has started the destination holds
    // the only current guest, so cancelling is refused, as libvirt refuses to abort a
    // post-copy migration: resuming the source would run a stale guest.
    std::string cancel();
    // Operator actions (QEMU's names), any thread. Each returns "" when accepted, or why
    // it was refused.
    std::string startPostcopy(); // migrate-start-postcopy
    std::string pause();         // migrate-pause on the source
    std::string recover();       // migrate-recover on the destination
    // migrate resume=true on the source; `uri` ("tcp:HOST:PORT", as QEMU spells it; "" = the
    // same address) is where the destination's migrate-recover listens: a remote one only.
    std::string resume(const std::string& uri = {});
    std::string cutNetwork(); // a trainer's fault: the main channel's network fails
    // A trainer's stepping: while on (it may be set before the run starts), the migration
    // holds at each phase boundary (setup, bulk copy, each dirty sync, switchover, device
    // stop-copy, verification, postcopy start, postcopy recovery) until continueFromHold();
    // the snapshot's heldAt names
    // the phase. "" when accepted, or why not.
    std::string setStepping(bool on);
    std::string continueFromHold();
    // A trainer's slow motion, 1/`divisor` (2, 5 or 10; 1 is normal speed): the link
    // (max-bandwidth, or the rate the link reached while unlimited), the guest's workload and
    // the downtime limit scaled together, so the migration takes that many times as long
    // through the same rounds. What the screen shows is the slowed migration as it is; the
    // snapshot's slowMotion says by how much. May be set before the run starts.
    std::string setSlowMotion(unsigned divisor);
    // migrate-set-parameters: takes effect at once, is logged as an event (so in history),
    // and is what liveParameters() and the snapshot's statistics report from then on.
    std::string setParameters(const LiveParameterChange& change);
    LiveParameters liveParameters() const;
    bool finished() const;
    void wait() const;
    bool waitFor(std::chrono::milliseconds timeout) const;

    const MigrationConfig& config() const { return config_; }
    TelemetrySnapshot snapshot(std::size_t eventCursor = 0, std::size_t sampleCursor = 0,
                               std::size_t returnPathCursor = 0) const;
    // The source's own telemetry; tests and demos read its status directly.
    Telemetry& telemetry() { return *telemetry_; }
    // The destination's status (None before it exists), without a whole snapshot.
    MigrationStatus destinationStatus() const;
    // 0 until the history row exists, or when history is off or could not be written.
    std::int64_t historyId() const;
    // After the run: why its end could not be recorded (its row still says "active"), or "".
    std::string historyError() const;

    // Valid once finished(): the guests, for checks a test or trainer wants to make.
    Guest* sourceGuest() { return sourceGuest_.get(); }
    Guest* destinationGuest();

private:
    void coordinate();
    std::unique_ptr<DestinationEndpoint> makeDestination() const;
    bool openHistory(std::chrono::milliseconds busyTimeout);
    void sampleLoop();
    void flushHistory(HistoryStore& history);
    void advanceHistoryCursors(const TelemetrySnapshot& snap);
    void recordEnd(HistoryStore& history);
    void recoverByItself(double& pausedSinceMs);

    MigrationConfig config_;
    LiveParameters live_; // under mutex_
    RunOptions options_;
    std::unique_ptr<Telemetry> telemetry_;
    std::unique_ptr<RunView> view_; // the source's telemetry with the destination's merged in
    std::thread coordinator_;
    std::thread sampler_;
    // Used by the sampler, then (once it is joined) by the coordinator for the last read.
    std::unique_ptr<KernelTcpReader> kernelTcp_;

    std::unique_ptr<Guest> sourceGuest_;
    std::unique_ptr<SourceDevices> sourceDevices_; // the source guest's VFIO devices
    std::unique_ptr<DestinationEndpoint> destination_;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::unique_ptr<MigrationSource> source_;  // guarded by mutex_ for the operator's actions
    std::atomic<bool> cancelRequested_{false}; // written under mutex_, read also without it
    bool postcopyRequested_ = false;           // asked before the source existed
    bool stepping_ = false;                    // under mutex_, handed to the source
    unsigned slowMotion_ = 1;                  // under mutex_
    std::uint64_t slowMotionLinkRate_ = 0;     // B/s an unlimited link ran at; under mutex_
    void applyLiveParameters();                // under mutex_: to the source and its guest
    void measureLinkForSlowMotion();           // the sampler's, once data flows
    bool finished_ = false;
    bool samplerStop_ = false;
    std::int64_t historyId_ = 0;
    std::string historyError_; // why the end of the run is not in the history
    // Opened by the coordinator, or by the sampler when the coordinator could not (another
    // process's lock at the start); used by the sampler, then by the coordinator after the
    // sampler's join.
    std::unique_ptr<HistoryStore> history_;
    std::string historyOpenProblem_;
    std::size_t historyEventCursor_ = 0;
    std::size_t historySampleCursor_ = 0;
    std::size_t historyReturnPathCursor_ = 0;
};

} // namespace migrascope
