// The outgoing side: connects the channels, runs precopy (bulk pass, dirty iterations),
// switches over, and ends in a named state. The source guest is running again after any
// failure or cancel.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/migration_run.h"
#include "engine/memory/guest.h"
#include "engine/memory/page_bitmap.h"
#include "engine/source/switchover.h"
#include "engine/telemetry/telemetry.h"
#include "engine/transport/connection.h"
#include "engine/transport/rate_limiter.h"
#include "engine/wire/main_stream.h"
#include "engine/wire/return_path.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace migrascope {

class MultifdSender;
class SourceDevices;

class MigrationSource {
public:
    MigrationSource(const MigrationConfig& config, Guest& guest, Telemetry& telemetry);
    ~MigrationSource();

    // Runs the whole migration on the calling thread (the migration thread) and returns
    // its final status. Never throws.
    MigrationStatus run(std::uint16_t destinationPort);
    // Any thread. The migration thread ends in `cancelled` soon after.
    void cancel();
    // The operator's cancel: "" when accepted, or why not (refused once postcopy started).
    // `accepted` runs once the cancel is certain, before any connection is shut down.
    std::string requestCancel(const std::function<void()>& accepted);

    // Operator actions, any thread. Each returns "" when accepted, or why it was refused.
    std::string startPostcopy(); // migrate-start-postcopy
    // migrate-pause: postcopy-active or postcopy-recover only. `accepted` runs once the pause
    // is certain, before the main channel is shut down (the in-process destination is told).
    std::string pause(const std::function<void()>& accepted = {});
    // migrate resume=true: postcopy-paused only. A `host` (with its port) is QEMU's uri: the
    // destination armed migrate-recover on another address, and the source dials it from now on.
    std::string resume(const std::string& host = {}, std::uint16_t port = 0);
    // A trainer's fault: the network under the main channel fails during postcopy.
    std::string cutNetwork(const std::function<void()>& accepted = {});
    // migrate-set-parameters while the migration runs (any thread): the cap applies to the
    // next bytes sent, the limit to the next switchover decision.
    void setMaxBandwidth(std::uint64_t bytesPerSecond) { limiter_.setRate(bytesPerSecond); }
    void setDowntimeLimit(std::uint64_t milliseconds) { downtimeLimitMs_.store(milliseconds); }
    // A trainer's slow motion: time-based settings (postcopy after N ms) stretch with it.
    void setSlowMotion(unsigned divisor) { slowMotion_.store(divisor); }

    // Stepping through the phases, for a class (any thread): while on, the migration thread
    // holds at each phase boundary until continueFromHold(). Holds where the guest runs keep
    // it running; a hold inside the downtime keeps the guest stopped and is not counted in
    // the downtime. Each returns "" when accepted, or why not.
    std::string setStepping(bool on);
    std::string continueFromHold();

    // Set before run(): the guest's VFIO devices, migrated with its RAM (nullptr = none).
    void setDevices(SourceDevices* devices) { devices_ = devices; }
    // Set before run(); called on the migration thread after each step of a pause.
    void setPauseStepHook(std::function<void(PauseStep)> hook) { pauseStepHook_ = std::move(hook); }

private:
    struct PageRef {
        std::size_t block = 0;
        std::uint64_t offset = 0;
    };
    // What the return-path thread of the current connection has told the migration thread.
    struct ReturnPathState {
        bool ended = false;
        bool lost = false; // ended by a broken connection (pauses postcopy), not a bad message
        std::string error;
        std::optional<std::uint32_t> shut;
        std::uint32_t lastPong = 0;
        double firstPongAtMs = -1; // when the first PONG (to the setup PING) arrived
        double lastPongAtMs = -1;  // when the PONG for lastPong arrived
        bool switchoverAcked = false;
        bool resumeAcked = false;
        std::map<std::string, PageBitmap> bitmaps;
    };

    // The return path: one thread per main connection, joined before that connection is
    // released, never reused for the next one (QEMU's thread, reused across a postcopy pause,
    // closed a quick resume's new return path and then dereferenced NULL).
    void openReturnPath();
    void closeReturnPath();
    void returnPathLoop(Connection& connection, unsigned generation);
    void handleReturnPathMessage(const ReturnPathMessage& message);
    // Throws if the current return path has ended: ConnectionError when it was lost.
    void throwIfReturnPathEnded();
    void sendPing(std::uint32_t value);
    // Until the destination answered PING `value` (true), the return path ended (throws), or
    // the bound, if any, passed (false).
    bool waitForPong(std::uint32_t value,
                     std::optional<std::chrono::milliseconds> bound = std::nullopt);
    // Returns when the destination answered SHUT 0; throws for anything else.
    void waitForShut();
    bool switchoverAcked();
    void waitForSwitchoverAck(std::chrono::milliseconds timeout);
    std::vector<RamBlockLayout> ramLayout() const;

    // Holds at `phase` while stepping is on, until Continue, stepping off or a cancel;
    // returns how long it held (ms).
    double holdAt(const std::string& phase);

    // Postcopy.
    bool postcopyWanted() const;
    void switchToPostcopy(std::vector<PageBitmap>& dirty);
    void sendDiscards();
    void runPostcopy();
    void sendPostcopyPages();
    void finishPostcopy();
    bool takeUrgentPage(PageRef& page);
    void maybeCutNetworkForFault();
    std::string interrupt(const std::string& reason, Termination how,
                          const std::function<void()>& accepted);
    void pauseUntilResumed(std::string reason);
    void pauseSequence(const std::string& reason);
    void resumeHandshake();
    void releaseMainChannel();
    void pauseStep(PauseStep step);
    void sendIntegritySectionAndEof(const Digest& ramDigest);
    void finishMultifd();
    void endMainSessionAfterVerdict();
    std::uint64_t pagesToSend() const;

    void connectChannels(std::uint16_t port);
    std::unique_ptr<Connection> openChannel(std::uint16_t port, ChannelCounters& counters);
    void sendHeader(bool resume);
    // The statistics as they stand once the migration completed (average mbps).
    void publishCompletedStats();
    void sendSetup();
    // Sends every page dirty in `dirty` and returns true, or false when postcopy is to start
    // now (the pages not sent stay in `dirty`). Throws on failure.
    bool sendRound(std::vector<PageBitmap>& dirty);
    void sendPageOnMainChannel(std::size_t block, std::uint64_t offset, bool& continued,
                               bool urgent = false);
    void endRound();
    std::uint64_t harvest(std::vector<PageBitmap>& dirty);
    // `ramRemaining`: RAM still to send; the devices' remaining state is added to it.
    void publishStats(std::uint64_t ramRemaining, bool roundEnded = false);
    // The downtime switching now would cause, from what is left and what was measured.
    switchover::DowntimeEstimate estimateDowntime(std::uint64_t ramRemaining);
    // Between two dirty syncs that found nothing to send while switchover cannot happen:
    // waits a little (or until cancelled) instead of spinning.
    void backOff();
    // auto-converge at a dirty sync (QEMU's migration_trigger_throttle): when the guest
    // dirtied more than half of what was sent since the last sync, twice running, throttle
    // its vCPUs a step further.
    void maybeThrottle(std::uint64_t dirtiedBytes);
    // How long switchover waits for the destination to load what was sent (a round's PONG).
    std::uint64_t catchUpBoundMs() const;
    // At a dirty sync: the downtime switching now would cause and whether it fits, said in
    // words to the telemetry (its convergence).
    struct Assessment {
        switchover::DowntimeEstimate downtime;
        bool converged = false;
        std::string why;
    };
    Assessment assessSwitchover(std::uint64_t ramRemaining);
    // Converged: waits, guest running, until the destination has loaded round `roundPing`,
    // then counts what the guest wrote meanwhile. True when switching over still fits.
    bool stillFitsOnceCaughtUp(std::vector<PageBitmap>& dirty, std::uint32_t roundPing);
    // Once caught up: one PING on the drained links sets idleRoundTripMs_.
    void measureIdleRoundTrip();
    void complete(std::vector<PageBitmap>& dirty);
    void throwIfCancelled() const;
    void checkMainChannelFault();
    void warnAboutFaultsThatNeverFired();
    std::uint64_t transferredBytes() const;

    MigrationConfig config_;
    Guest& guest_;
    Telemetry& telemetry_;
    RateLimiter limiter_;
    std::atomic<std::uint64_t> downtimeLimitMs_; // config_'s, until migrate-set-parameters
    std::atomic<unsigned> slowMotion_{1};
    std::unique_ptr<TlsCredentials> credentials_;

    std::atomic<bool> cancelRequested_{false};
    std::mutex connectionsMutex_; // guards the list cancel() walks while channels are opened
    std::vector<Connection*> connections_;
    Connection* liveMain_ = nullptr; // guarded by connectionsMutex_: what pause() shuts down
    // Where the channels are dialled; a resume on another address changes them. Migration
    // thread only, except resumeHost_/resumePort_ (under controlMutex_) that hand one over.
    std::string host_;
    std::uint16_t port_ = 0;

    // Guards the return-path state and the operator's requests; the migration thread waits
    // on controlChanged_ for any of them.
    std::mutex controlMutex_;
    std::condition_variable controlChanged_;
    ReturnPathState returnPathState_;
    std::deque<PageRef> urgentPages_;
    bool resumeRequested_ = false;
    std::string resumeHost_; // "" = where it was
    std::uint16_t resumePort_ = 0;
    std::string interruptReason_;
    Termination interruptHow_ = Termination::Network; // with interruptReason_
    std::thread returnPath_;
    unsigned returnPathGeneration_ = 0; // migration thread only
    std::uint32_t nextPing_ = 1;

    SourceDevices* devices_ = nullptr;
    std::atomic<bool> postcopyRequested_{false};
    bool switchedToPostcopy_ = false;   // migration thread only
    bool destinationCompleted_ = false; // migration thread only: SHUT 0 came on a resume
    bool finishing_ = false;            // guarded by controlMutex_: EOF is on its way
    // Phase stepping, under controlMutex_ (notified on controlChanged_).
    bool stepping_ = false;
    bool holdReleased_ = false;
    std::string heldAt_;
    std::function<void(PauseStep)> pauseStepHook_;
    std::vector<PageBitmap> toSend_; // postcopy: pages the destination lacks
    std::uint64_t postcopyStartBytes_ = 0;
    double activeStartMs_ = 0;
    std::vector<bool> faultFired_;

    std::unique_ptr<Connection> main_;
    ChannelCounters* mainCounters_ = nullptr;
    std::vector<ChannelCounters*> multifdCounters_;
    // The hash of each page as it was last sent ([block][page]), by whichever thread sent it;
    // before multifd_, whose send threads write it.
    PageHashes sentHashes_;
    std::unique_ptr<MultifdSender> multifd_;
    std::unique_ptr<StreamWriter> stream_;

    // Measurements of the current iteration window (QEMU's migration_update_counters).
    double windowStartMs_ = 0;
    std::uint64_t windowStartBytes_ = 0;
    double bandwidthBytesPerMs_ = 0; // what went out in the last window (QEMU's mbps)
    // The link's rate for the switchover estimate, measured only while a round was sending:
    // the gaps between rounds and rounds of a few pages would make a fast link look slow.
    double linkWindowStartMs_ = 0;
    std::uint64_t linkWindowStartBytes_ = 0;
    double linkBytesPerMs_ = 0;
    bool roundSending_ = false;
    std::uint64_t dirtySyncCount_ = 0;
    std::uint64_t mainNormalPages_ = 0;
    std::uint64_t mainZeroPages_ = 0;
    struct {
        std::uint64_t zero = 0;
        std::uint64_t normal = 0;
    } endedMultifdPages_; // of a multifd sender torn down by a failure or cancel
    double lastSyncMs_ = 0;
    double dirtyPagesRate_ = 0;
    std::uint64_t pagesSinceRate_ = 0; // dirtied since lastSyncMs_, when the rate was taken
    bool dirtyRateMeasured_ = false;
    double setupTimeMs_ = 0;
    double startMs_ = 0;
    double downtimeMs_ = 0;
    switchover::DeviceBytes deviceRemaining_; // the devices' pending state at the last sync
    double pingSentAtMs_ = -1;                // the setup PING, for the round trip
    // The round trip on links that carry nothing else, as at switchover (the setup PING's
    // waits behind the destination's setup, a round's behind its data); measured once the
    // destination has caught up. Negative until then.
    double idleRoundTripMs_ = -1;
    double lastSyncLoggedMs_ = 0;
    unsigned throttle_ = 0; // the vCPU throttle applied, percent
    unsigned dirtyRateHighCount_ = 0;
    std::uint64_t transferredAtLastSync_ = 0;
    // The estimate made as the guest stopped; shown as expected downtime after it.
    std::optional<double> switchoverEstimateMs_;
};

} // namespace migrascope
