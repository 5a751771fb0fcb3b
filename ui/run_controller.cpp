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
}

bool RunController::start(MigrationConfig config) {
    if (run_)
        return false;
    RunOptions options;
    options.historyPath = historyPath_;
    run_ = std::make_unique<MigrationRun>(std::move(config), options);
    eventCursor_ = 0;
    sampleCursor_ = 0;
    returnPathCursor_ = 0;
    lastSnapshot_ = TelemetrySnapshot{};
    lastHistoryId_ = 0;
    emit runStarted(run_->config());
    run_->start();
    pollTimer_.start();
    return true;
}

QString RunController::cancel() {
    return run_ ? QString::fromStdString(run_->cancel()) : QString();
}

namespace {
QString refusalOrEmpty(const std::string& answer) {
    return QString::fromStdString(answer);
}
const char* const kNoRun = "no migration is running";
} // namespace

QString RunController::startPostcopy() {
    return refusalOrEmpty(run_ ? run_->startPostcopy() : kNoRun);
}

QString RunController::pause() {
    return refusalOrEmpty(run_ ? run_->pause() : kNoRun);
}

QString RunController::recover() {
    return refusalOrEmpty(run_ ? run_->recover() : kNoRun);
}

QString RunController::resume() {
    return refusalOrEmpty(run_ ? run_->resume() : kNoRun);
}

QString RunController::cutNetwork() {
    return refusalOrEmpty(run_ ? run_->cutNetwork() : kNoRun);
}

void RunController::poll() {
    if (!run_) {
        pollTimer_.stop();
        return;
    }
    // Read finished() before the snapshot: a snapshot taken after the run said it is done
    // holds its final status, statistics, samples and events.
    const bool done = run_->finished();
    TelemetrySnapshot snapshot = run_->snapshot(eventCursor_, sampleCursor_, returnPathCursor_);
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
        lastHistoryId_ = run_->historyId();
        const QString historyError = QString::fromStdString(run_->historyError());
        // Cheap now: every engine thread has ended.
        run_.reset();
        emit runFinished(snapshot.status, lastHistoryId_, historyError);
    }
}

} // namespace migrascope::ui
