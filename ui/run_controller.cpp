#include "ui/run_controller.h"

namespace migrascope::ui {

RunController::RunController(std::string historyPath, QObject* parent)
    : QObject(parent), historyPath_(std::move(historyPath)) {
    pollTimer_.setInterval(kDefaultPollIntervalMs);
    connect(&pollTimer_, &QTimer::timeout, this, &RunController::poll);
}

RunController::~RunController() {
    if (run_)
        run_->cancel();
    run_.reset();
    if (pendingWatch_.valid()) {
        try {
            pendingWatch_.get(); // bounded by the QMP timeout
        } catch (const std::exception&) {
        }
    }
    watch_.reset();
    if (reaper_.joinable())
        reaper_.join();
}

void RunController::release(std::unique_ptr<MigrationRun> finished) {
    if (reaper_.joinable())
        reaper_.join(); // the run before: long done
    reaper_ = std::thread([run = std::move(finished)]() mutable { run.reset(); });
}

void RunController::forgetLastRun() {
    eventCursor_ = 0;
    sampleCursor_ = 0;
    returnPathCursor_ = 0;
    lastSnapshot_ = TelemetrySnapshot{};
    lastHistoryId_ = 0;
}

bool RunController::watch(WatchOptions options) {
    if (isRunning())
        return false;
    options.historyPath = historyPath_;
    pendingWatch_ =
        std::async(std::launch::async, [options] { return std::make_unique<QemuWatch>(options); });
    forgetLastRun();
    pollTimer_.start();
    return true;
}

void RunController::adoptWatch() {
    try {
        watch_ = pendingWatch_.get();
    } catch (const std::exception& error) {
        pollTimer_.stop();
        emit watchRefused(QString::fromStdString(error.what()));
        return;
    }
    watch_->start();
    const WatchReport report = watch_->report();
    emit watchStarted(tr("Watching QEMU %1, pid %2: connection labels %3; TLS sessions are not "
                         "visible from outside")
                          .arg(QString::fromStdString(report.qemuVersion))
                          .arg(report.sourcePid)
                          .arg(QString::fromStdString(report.channelLabels)));
}

bool RunController::start(MigrationConfig config) {
    if (run_)
        return false;
    RunOptions options;
    options.historyPath = historyPath_;
    run_ = std::make_unique<MigrationRun>(std::move(config), options);
    forgetLastRun();
    emit runStarted(run_->config());
    if (stepping_)
        run_->setStepping(true);
    run_->setSlowMotion(slowMotion_);
    run_->start();
    pollTimer_.start();
    return true;
}

namespace {
QString refusalOrEmpty(const std::string& answer) {
    return QString::fromStdString(answer);
}
const char* const kNoRun = "no migration is running";
const char* const kWatched =
    "a watched QEMU migration is steered through QEMU, not through Migrascope";
} // namespace

QString RunController::cancel() {
    if (watch_) {
        watch_->requestStop(); // stop watching; QEMU's migration goes on
        return {};
    }
    if (pendingWatch_.valid())
        return tr("still connecting to QEMU's QMP socket");
    return run_ ? QString::fromStdString(run_->cancel()) : QString();
}

QString RunController::startPostcopy() {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    return refusalOrEmpty(run_ ? run_->startPostcopy() : kNoRun);
}

QString RunController::pause() {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    return refusalOrEmpty(run_ ? run_->pause() : kNoRun);
}

QString RunController::recover() {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    return refusalOrEmpty(run_ ? run_->recover() : kNoRun);
}

QString RunController::setParameters(const LiveParameterChange& change) {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    return refusalOrEmpty(run_ ? run_->setParameters(change) : kNoRun);
}

QString RunController::resume() {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    return refusalOrEmpty(run_ ? run_->resume() : kNoRun);
}

QString RunController::cutNetwork() {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    return refusalOrEmpty(run_ ? run_->cutNetwork() : kNoRun);
}

QString RunController::setStepping(bool on) {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    stepping_ = on;
    return run_ ? refusalOrEmpty(run_->setStepping(on)) : QString();
}

QString RunController::setSlowMotion(unsigned divisor) {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    const QString refusal = run_ ? refusalOrEmpty(run_->setSlowMotion(divisor)) : QString();
    if (refusal.isEmpty())
        slowMotion_ = divisor;
    return refusal;
}

QString RunController::continueFromHold() {
    if (isWatching())
        return refusalOrEmpty(kWatched);
    return refusalOrEmpty(run_ ? run_->continueFromHold() : kNoRun);
}

void RunController::poll() {
    if (pendingWatch_.valid()) {
        if (pendingWatch_.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
            return;
        adoptWatch();
        if (!watch_)
            return;
    }
    if (!run_ && !watch_) {
        pollTimer_.stop();
        return;
    }
    // Read finished() before the snapshot: a snapshot taken after the run said it is done
    // holds its final status, statistics, samples and events.
    const bool done = run_ ? run_->finished() : watch_->finished();
    TelemetrySnapshot snapshot =
        run_ ? run_->snapshot(eventCursor_, sampleCursor_, returnPathCursor_)
             : watch_->snapshot(eventCursor_, sampleCursor_);
    eventCursor_ = snapshot.nextEventIndex;
    sampleCursor_ = snapshot.nextSampleIndex;
    returnPathCursor_ = snapshot.nextReturnPathIndex;
    lastSnapshot_ = snapshot;

    emit snapshotUpdated(snapshot);
    if (!snapshot.samples.empty())
        emit samplesArrived(snapshot.samples);
    if (!snapshot.events.empty())
        emit eventsArrived(snapshot.events);
    if (!snapshot.returnPath.empty())
        emit returnPathArrived(snapshot.returnPath);

    if (done) {
        pollTimer_.stop();
        lastHistoryId_ = run_ ? run_->historyId() : watch_->historyId();
        const QString historyError =
            QString::fromStdString(run_ ? run_->historyError() : watch_->historyError());
        // Every engine thread has ended, but unmapping the guests' RAM still takes a while.
        if (run_)
            release(std::move(run_));
        watch_.reset();
        emit runFinished(snapshot.status, lastHistoryId_, historyError);
    }
}

} // namespace migrascope::ui
