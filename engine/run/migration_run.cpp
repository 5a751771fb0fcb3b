#include "engine/api/migration_run.h"

#include "engine/api/history_store.h"
#include "engine/api/incoming_daemon.h"
#include "engine/common/migration_threads.h"
#include "engine/destination/in_process_destination.h"
#include "engine/destination/remote_destination.h"
#include "engine/devices/device_migration.h"
#include "engine/memory/guest.h"
#include "engine/run/run_view.h"
#include "engine/source/migration_source.h"
#include "engine/telemetry/kernel_tcp_reader.h"
#include "engine/telemetry/telemetry.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace migrascope {
namespace {
constexpr double kHistoryFlushMs = 1000;
// How long opening the history may wait for another process's lock before the run goes on.
constexpr std::chrono::milliseconds kHistoryOpenWait{250};
// With SQLite's 5 s busy timeout per attempt: a lock held for up to about 20 s is outlasted.
constexpr int kHistoryEndAttempts = 3;
constexpr std::chrono::milliseconds kHistoryEndRetryDelay{1000};
} // namespace

// Every send uses MSG_NOSIGNAL (ours, and GnuTLS's through our push function), so a peer
// that vanishes fails a send with EPIPE without the process touching SIGPIPE's disposition.
MigrationRun::MigrationRun(MigrationConfig config, RunOptions options)
    : config_(std::move(config)), live_{config_.maxBandwidth, config_.downtimeLimitMs},
      options_(std::move(options)), telemetry_(std::make_unique<Telemetry>()),
      view_(std::make_unique<RunView>(*telemetry_)) {}

MigrationRun::~MigrationRun() {
    {
        // Going away: threads must stop even in postcopy, where an operator may not cancel.
        std::lock_guard lock(mutex_);
        cancelRequested_ = true;
        if (source_)
            source_->cancel();
    }
    if (coordinator_.joinable())
        coordinator_.join();
    view_->attachDestination(nullptr); // the destination goes before the view
    if (sourceGuest_)
        sourceGuest_->stop();
}

void MigrationRun::start() {
    coordinator_ = std::thread([this] { coordinate(); });
}

std::string MigrationRun::cancel() {
    std::lock_guard lock(mutex_);
    if (finished_ || cancelRequested_)
        return {};
    if (source_) {
        const auto tellDestination = [this] {
            if (destination_)
                destination_->noteSourceCancelled();
        };
        if (std::string refusal = source_->requestCancel(tellDestination); !refusal.empty()) {
            telemetry_->event(EventLevel::Warning, Side::Source, "cancel refused: " + refusal);
            return refusal;
        }
    } else if (coordinator_.joinable()) {
        telemetry_->setStatus(MigrationStatus::Cancelling);
    }
    cancelRequested_ = true;
    return {};
}

namespace {
const char* const kNotRunning = "no migration is running";
}

std::string MigrationRun::startPostcopy() {
    std::lock_guard lock(mutex_);
    if (finished_ || !coordinator_.joinable())
        return kNotRunning;
    if (source_)
        return source_->startPostcopy();
    // Still booting the guest: the request waits for the source.
    if (!config_.capabilities.postcopyRam)
        return "the postcopy-ram capability is off for this migration";
    postcopyRequested_ = true;
    return {};
}

std::string MigrationRun::pause() {
    std::lock_guard lock(mutex_);
    return source_ && !finished_ ? source_->pause([this] {
        if (destination_)
            destination_->noteSourceInterrupting(Termination::Paused);
    })
                                 : kNotRunning;
}

std::string MigrationRun::resume(const std::string& uri) {
    std::string host;
    std::uint16_t port = 0;
    if (!uri.empty()) {
        if (!config_.remoteDestination())
            return "resume refused: the destination is in this process, where it was; a uri "
                   "names a remote destination's migrate-recover address";
        try {
            std::tie(host, port) = parseMigrateUri(uri);
        } catch (const std::invalid_argument& error) {
            return std::string("resume refused: ") + error.what();
        }
    }
    std::lock_guard lock(mutex_);
    return source_ && !finished_ ? source_->resume(host, port) : kNotRunning;
}

std::string checkLiveParameters(const LiveParameterChange& change) {
    // Below 1 MiB/s the setup alone would take minutes (the command line refuses it too).
    constexpr std::uint64_t kMinimumBandwidth = 1024 * 1024;
    if (change.maxBandwidth && *change.maxBandwidth != 0 &&
        *change.maxBandwidth < kMinimumBandwidth)
        return "max-bandwidth " + std::to_string(*change.maxBandwidth) +
               " B/s is below 1 MiB/s (0 means unlimited)";
    // QEMU's bound (MAX_MIGRATE_DOWNTIME_SECONDS, 2000 s).
    constexpr std::uint64_t kMaximumDowntimeMs = 2000 * 1000;
    if (change.downtimeLimitMs && *change.downtimeLimitMs > kMaximumDowntimeMs)
        return "downtime-limit " + std::to_string(*change.downtimeLimitMs) +
               " ms is above QEMU's maximum of 2000000 ms";
    if (!change.maxBandwidth && !change.downtimeLimitMs)
        return "nothing to change: give max-bandwidth or downtime-limit";
    return {};
}

std::string MigrationRun::setParameters(const LiveParameterChange& change) {
    if (std::string wrong = checkLiveParameters(change); !wrong.empty())
        return wrong;
    std::string said;
    {
        std::lock_guard lock(mutex_);
        if (finished_)
            return kNotRunning;
        const auto rate = [](std::uint64_t bytes) {
            return bytes == 0 ? std::string("unlimited")
                              : formatBytes(static_cast<double>(bytes)) + "/s";
        };
        // The window sends both figures; the log names only what changed.
        if (change.maxBandwidth && *change.maxBandwidth != live_.maxBandwidth) {
            said +=
                "max-bandwidth " + rate(live_.maxBandwidth) + " -> " + rate(*change.maxBandwidth);
            live_.maxBandwidth = *change.maxBandwidth;
        }
        if (change.downtimeLimitMs && *change.downtimeLimitMs != live_.downtimeLimitMs) {
            said += std::string(said.empty() ? "" : ", ") + "downtime-limit " +
                    std::to_string(live_.downtimeLimitMs) + " -> " +
                    std::to_string(*change.downtimeLimitMs) + " ms";
            live_.downtimeLimitMs = *change.downtimeLimitMs;
        }
        applyLiveParameters();
    }
    telemetry_->event(EventLevel::Info, Side::Source,
                      "migrate-set-parameters: " + (said.empty() ? "nothing changed" : said));
    return {};
}

LiveParameters MigrationRun::liveParameters() const {
    std::lock_guard lock(mutex_);
    return live_;
}

std::string MigrationRun::cutNetwork() {
    std::lock_guard lock(mutex_);
    return source_ && !finished_ ? source_->cutNetwork([this] {
        if (destination_)
            destination_->noteSourceInterrupting(Termination::Network);
    })
                                 : kNotRunning;
}

std::string MigrationRun::setStepping(bool on) {
    std::lock_guard lock(mutex_);
    if (finished_)
        return kNotRunning;
    stepping_ = on;
    return source_ ? source_->setStepping(on) : std::string();
}

std::string MigrationRun::setSlowMotion(unsigned divisor) {
    if (std::find(std::begin(kSlowMotionDivisors), std::end(kSlowMotionDivisors), divisor) ==
        std::end(kSlowMotionDivisors))
        return "slow motion is 1/2, 1/5 or 1/10 (1 for normal speed), not 1/" +
               std::to_string(divisor);
    std::string said;
    {
        std::lock_guard lock(mutex_);
        if (finished_)
            return kNotRunning;
        if (divisor == slowMotion_)
            return {};
        slowMotion_ = divisor;
        if (divisor == 1)
            slowMotionLinkRate_ = 0; // measured again at the next slow motion
        applyLiveParameters();
        said = divisor == 1
                   ? std::string("slow motion off: normal speed")
                   : "slow motion 1/" + std::to_string(divisor) +
                         ": max-bandwidth, the guest's workload and downtime-limit (" +
                         std::to_string(live_.downtimeLimitMs * divisor) + " ms) scaled by it";
    }
    telemetry_->setSlowMotion(divisor);
    telemetry_->event(EventLevel::Info, Side::Source, said);
    return {};
}

void MigrationRun::applyLiveParameters() {
    if (!source_)
        return;
    // An unlimited link is slowed from the rate it reached; until it has one, it runs free.
    const std::uint64_t link = live_.maxBandwidth != 0 ? live_.maxBandwidth : slowMotionLinkRate_;
    source_->setMaxBandwidth(slowMotion_ == 1 || link == 0 ? live_.maxBandwidth
                                                           : link / slowMotion_);
    source_->setDowntimeLimit(live_.downtimeLimitMs * slowMotion_);
    source_->setSlowMotion(slowMotion_);
    if (sourceGuest_)
        sourceGuest_->setSlowdown(slowMotion_);
}

void MigrationRun::measureLinkForSlowMotion() {
    std::unique_lock lock(mutex_);
    const auto waiting = [this] {
        return slowMotion_ != 1 && live_.maxBandwidth == 0 && slowMotionLinkRate_ == 0;
    };
    // Only while an unlimited link waits for its rate, not on every sample; the statistics
    // are read outside our lock, as everywhere else.
    if (!waiting())
        return;
    lock.unlock();
    const double mbps = telemetry_->stats().mbps;
    if (mbps <= 0)
        return;
    lock.lock();
    if (!waiting())
        return;
    slowMotionLinkRate_ = static_cast<std::uint64_t>(mbps * 1e6 / 8);
    applyLiveParameters();
    const std::string said =
        "slow motion 1/" + std::to_string(slowMotion_) + ": the unlimited link ran at " +
        formatBytes(static_cast<double>(slowMotionLinkRate_)) + "/s; max-bandwidth " +
        formatBytes(static_cast<double>(slowMotionLinkRate_ / slowMotion_)) + "/s from now";
    lock.unlock();
    telemetry_->event(EventLevel::Info, Side::Source, said);
}

std::string MigrationRun::continueFromHold() {
    std::lock_guard lock(mutex_);
    return source_ && !finished_ ? source_->continueFromHold()
                                 : "the migration is not held at a phase";
}

std::string MigrationRun::recover() {
    std::lock_guard lock(mutex_);
    return destination_ && !finished_ ? destination_->recover() : kNotRunning;
}

void MigrationRun::recoverByItself(double& pausedSinceMs) {
    // A remote daemon arms itself for the resume, and with the link down its report of
    // pausing cannot arrive: the source tries to resume, again after each delay, until the
    // network lets it.
    const bool paused =
        telemetry_->status() == MigrationStatus::PostcopyPaused &&
        (config_.remoteDestination() || destinationStatus() == MigrationStatus::PostcopyPaused);
    if (!paused) {
        pausedSinceMs = -1;
        return;
    }
    const double now = telemetry_->elapsedMs();
    if (pausedSinceMs < 0)
        pausedSinceMs = now;
    if (now - pausedSinceMs < static_cast<double>(config_.recoverDelayMs))
        return;
    pausedSinceMs = -1;
    telemetry_->event(EventLevel::Info, Side::Source,
                      "recovering by itself after " + std::to_string(config_.recoverDelayMs) +
                          " ms: migrate-recover on the destination, then migrate resume");
    if (const std::string refused = recover(); !refused.empty())
        telemetry_->event(EventLevel::Warning, Side::Destination, refused);
    else if (const std::string refusedHere = resume(); !refusedHere.empty())
        telemetry_->event(EventLevel::Warning, Side::Source, refusedHere);
}

bool MigrationRun::finished() const {
    std::lock_guard lock(mutex_);
    return finished_;
}

void MigrationRun::wait() const {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return finished_; });
}

bool MigrationRun::waitFor(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return finished_; });
}

TelemetrySnapshot MigrationRun::snapshot(std::size_t eventCursor, std::size_t sampleCursor,
                                         std::size_t returnPathCursor) const {
    TelemetrySnapshot snapshot = view_->snapshot(eventCursor, sampleCursor, returnPathCursor);
    if (config_.remoteDestination())
        snapshot.remoteDestination =
            config_.destinationHost + ":" + std::to_string(*config_.destinationPort);
    return snapshot;
}

MigrationStatus MigrationRun::destinationStatus() const {
    std::lock_guard lock(mutex_);
    return destination_ ? destination_->status() : MigrationStatus::None;
}

std::int64_t MigrationRun::historyId() const {
    std::lock_guard lock(mutex_);
    return historyId_;
}

Guest* MigrationRun::destinationGuest() {
    return destination_ ? destination_->localGuest() : nullptr;
}

namespace {
// The logs of a snapshot taken from the history's cursors: what is not stored yet.
RunLogs unstoredLogs(const TelemetrySnapshot& snap) {
    return RunLogs{snap.samples, snap.events, snap.returnPath, {}};
}
} // namespace

void MigrationRun::flushHistory(HistoryStore& history) {
    const auto snap = snapshot(historyEventCursor_, historySampleCursor_, historyReturnPathCursor_);
    history.appendLogs(historyId(), unstoredLogs(snap));
    advanceHistoryCursors(snap);
}

void MigrationRun::advanceHistoryCursors(const TelemetrySnapshot& snap) {
    historyEventCursor_ = snap.nextEventIndex;
    historySampleCursor_ = snap.nextSampleIndex;
    historyReturnPathCursor_ = snap.nextReturnPathIndex;
}

bool MigrationRun::openHistory(std::chrono::milliseconds busyTimeout) {
    try {
        auto store = std::make_unique<HistoryStore>(
            options_.historyPath.empty() ? HistoryStore::defaultPath() : options_.historyPath,
            HistoryStore::Access::ReadWrite, busyTimeout);
        std::uint64_t ramTotal = 0;
        for (const auto& block : Guest::layoutFor(config_.guest.ramSize))
            ramTotal += block.size;
        const auto id = store->beginRun(
            uuidToString(config_.uuid), describe(config_), ramTotal, config_.multifdChannels,
            config_.tls.enabled, RunRole::Source,
            config_.remoteDestination()
                ? config_.destinationHost + ":" + std::to_string(*config_.destinationPort)
                : std::string());
        store->setBusyTimeout(HistoryStore::kDefaultBusyTimeout);
        history_ = std::move(store);
        {
            std::lock_guard lock(mutex_);
            historyId_ = id;
        }
        // A later attempt (the sampler's, or the end's) says the lock went.
        if (!historyOpenProblem_.empty())
            telemetry_->event(EventLevel::Info, Side::Source,
                              "history: recorded as run " + std::to_string(id) +
                                  " from here on, with everything before");
        return true;
    } catch (const std::exception& error) {
        historyOpenProblem_ = error.what();
        return false;
    }
}

void MigrationRun::sampleLoop() {
    double lastFlush = telemetry_->elapsedMs();
    double pausedSinceMs = -1;
    std::unique_lock lock(mutex_);
    while (!samplerStop_) {
        changed_.wait_for(lock,
                          std::chrono::duration<double, std::milli>(options_.sampleIntervalMs),
                          [this] { return samplerStop_; });
        lock.unlock();
        telemetry_->sample();
        kernelTcp_->update(*telemetry_);
        measureLinkForSlowMotion();
        if (config_.autoRecover)
            recoverByItself(pausedSinceMs);
        if (options_.recordHistory && telemetry_->elapsedMs() - lastFlush >= kHistoryFlushMs) {
            if (!history_)
                openHistory(kHistoryOpenWait);
            try {
                if (history_)
                    flushHistory(*history_);
            } catch (const std::exception& error) {
                telemetry_->event(EventLevel::Warning, Side::Source,
                                  std::string("history: ") + error.what());
            }
            lastFlush = telemetry_->elapsedMs();
        }
        lock.lock();
    }
}

void MigrationRun::recordEnd(HistoryStore& history) {
    // A full disk or another process's lock may pass: the end is written whole or not at all,
    // and tried again before it is queued for the next open of the history.
    const auto endOfRun = [this] {
        auto final = snapshot(historyEventCursor_, historySampleCursor_, historyReturnPathCursor_);
        RunLogs unstored = unstoredLogs(final);
        unstored.transitions = final.transitions;
        return std::pair{std::move(final), std::move(unstored)};
    };
    std::string problem;
    for (int attempt = 1; attempt <= kHistoryEndAttempts; ++attempt) {
        const auto [final, unstored] = endOfRun();
        try {
            history.finishRun(historyId(), final, unstored);
            advanceHistoryCursors(final);
            return;
        } catch (const std::exception& error) {
            problem = error.what();
        }
        if (attempt < kHistoryEndAttempts)
            std::this_thread::sleep_for(kHistoryEndRetryDelay * attempt);
    }
    problem = "the end of the run could not be recorded after " +
              std::to_string(kHistoryEndAttempts) + " attempts: " + problem;
    try {
        const auto [final, unstored] = endOfRun();
        problem +=
            "; " + HistoryStore::describeQueued(history.queueEnd(historyId(), final, unstored));
    } catch (const std::exception& error) {
        problem += std::string("; it could not be queued either: ") + error.what();
    }
    telemetry_->event(EventLevel::Error, Side::Source, "history: " + problem);
    std::lock_guard lock(mutex_);
    historyError_ = problem;
}

std::string MigrationRun::historyError() const {
    std::lock_guard lock(mutex_);
    return historyError_;
}

std::unique_ptr<DestinationEndpoint> MigrationRun::makeDestination() const {
    if (config_.remoteDestination())
        return std::make_unique<RemoteDestination>(config_.destinationHost,
                                                   *config_.destinationPort, *telemetry_);
    MigrationDestination::Options destination;
    destination.listenHost = config_.destinationHost;
    destination.tls = config_.tls;
    destination.expectedUuid = config_.uuid;
    destination.cleanTlsTermination = config_.multifdCleanTlsTermination;
    destination.postcopyDirtyRate = config_.guest.dirtyRate;
    destination.vfioExplicitResumingStop = config_.vfioExplicitResumingStop;
    destination.faults = faultsFor(config_.faults, Side::Destination);
    return std::make_unique<InProcessDestination>(destination, telemetry_->startTime());
}

void MigrationRun::coordinate() {
    const MigrationThreadName name("live_migration");
    if (config_.uuid == Uuid{})
        config_.uuid = generateUuid();
    // Another process's lock must not hold up the start: the sampler tries again every second
    // and stores everything from the beginning once it gets the file.
    if (options_.recordHistory && !openHistory(kHistoryOpenWait))
        telemetry_->event(EventLevel::Warning, Side::Source,
                          "history: not recorded yet (" + historyOpenProblem_ +
                              "); trying again every second");
    kernelTcp_ = std::make_unique<KernelTcpReader>();
    sampler_ = std::thread([this] { sampleLoop(); });

    try {
        telemetry_->setStatus(MigrationStatus::Setup);
        telemetry_->setPhase("booting the source guest");
        sourceGuest_ = std::make_unique<Guest>(Guest::layoutFor(config_.guest.ramSize),
                                               config_.guest, Guest::Content::Booted);
        sourceDevices_ = std::make_unique<SourceDevices>(config_, *telemetry_);
        sourceGuest_->start();
        telemetry_->setSourceGuest(GuestState::Running);
        telemetry_->event(
            EventLevel::Info, Side::Source,
            "source guest running: " + formatBytes(static_cast<double>(config_.guest.ramSize)) +
                " RAM (and " +
                formatBytes(
                    static_cast<double>(sourceGuest_->totalBytes() - config_.guest.ramSize)) +
                " of video RAM), workload dirtying " +
                formatBytes(static_cast<double>(config_.guest.dirtyRate)) + "/s");

        {
            auto created = makeDestination();
            std::lock_guard lock(mutex_);
            destination_ = std::move(created);
        }
        view_->attachDestination(destination_.get());
        destination_->start();
        // In process, the destination says where it listens; a remote one is named by us.
        telemetry_->event(EventLevel::Info,
                          config_.remoteDestination() ? Side::Source : Side::Destination,
                          std::string(config_.remoteDestination() ? "migrating to the destination "
                                                                    "daemon at "
                                                                  : "listening on ") +
                              destination_->host() + ":" + std::to_string(destination_->port()));
        {
            std::lock_guard lock(mutex_);
            source_ = std::make_unique<MigrationSource>(config_, *sourceGuest_, *telemetry_);
            // Changed before the source existed (during the boot and the destination's setup).
            applyLiveParameters();
            source_->setPauseStepHook(options_.pauseStepHook);
            source_->setDevices(sourceDevices_.get());
            if (postcopyRequested_)
                source_->startPostcopy();
            if (stepping_)
                source_->setStepping(true);
            if (cancelRequested_)
                source_->cancel();
        }
        const MigrationStatus status = source_->run(destination_->port());
        if (status != MigrationStatus::Completed) {
            // The source fails first on a broken connection; the destination often knows why.
            destination_->waitForVerdict(std::chrono::milliseconds(500));
            // When the destination failed, its reason is the cause and ours the symptom.
            const std::string theirs = destination_->error();
            const std::string rejection = destination_->firstRejection();
            // After a cancel the destination's complaint (a channel that ended early) is our
            // own doing, not a cause.
            if (!theirs.empty() && status == MigrationStatus::Failed)
                telemetry_->setError(
                    "destination: " + theirs + " (source: " + telemetry_->error() + ")", true);
            else if (!rejection.empty() && status == MigrationStatus::Failed)
                telemetry_->setError(telemetry_->error() +
                                         " (the destination rejected a connection: " + rejection +
                                         ")",
                                     true);
            telemetry_->setIntegrity(std::string("not verified: migration ") + toString(status));
        } else if (!config_.devices.empty() && !config_.vfioExplicitResumingStop) {
            telemetry_->setIntegrity("verified (RAM only; legacy VFIO resume)");
        } else {
            telemetry_->setIntegrity("verified");
        }
        destination_->stop();
        if (status != MigrationStatus::Completed)
            destination_->discardGuest(); // a postcopy guest that started there
    } catch (const std::exception& error) {
        telemetry_->setError(error.what());
        telemetry_->event(EventLevel::Error, Side::Source, error.what());
        telemetry_->setIntegrity("not verified: migration failed");
        telemetry_->setPhase(cancelRequested_ ? "cancelled" : "failed");
        if (destination_)
            destination_->stop();
        if (sourceGuest_) {
            sourceGuest_->start();
            telemetry_->setSourceGuest(GuestState::Running);
        }
        telemetry_->setStatus(cancelRequested_ ? MigrationStatus::Cancelled
                                               : MigrationStatus::Failed);
    }

    {
        std::lock_guard lock(mutex_);
        samplerStop_ = true;
    }
    changed_.notify_all();
    sampler_.join();
    telemetry_->sample();
    if (kernelTcp_)
        kernelTcp_->update(*telemetry_);
    if (options_.recordHistory && !history_ && !openHistory(HistoryStore::kDefaultBusyTimeout)) {
        const std::string problem = "the run is not recorded: " + historyOpenProblem_;
        telemetry_->event(EventLevel::Error, Side::Source, "history: " + problem);
        std::lock_guard lock(mutex_);
        historyError_ = problem;
    }
    if (history_)
        recordEnd(*history_);
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
}

} // namespace migrascope
