// Owns the migration in flight and turns its telemetry into Qt signals on the GUI thread.
// The engine is only ever polled, so no engine thread can stall the window.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/migration_run.h"
#include "engine/api/qemu_watch.h"
#include "engine/api/telemetry_snapshot.h"

#include <QObject>
#include <QString>
#include <QTimer>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace migrascope::ui {

class RunController : public QObject {
    Q_OBJECT

public:
    static constexpr int kDefaultPollIntervalMs = 250;

    // historyPath: where runs are recorded; empty = HistoryStore::defaultPath().
    explicit RunController(std::string historyPath, QObject* parent = nullptr);
    // Cancels a run still in flight and waits for its threads: the one place the window blocks.
    ~RunController() override;

    // Starts a run unless one is in flight (then returns false and changes nothing).
    bool start(MigrationConfig config);
    // Watches a real QEMU migration unless something is in flight. Connecting to QMP happens
    // off the GUI thread: watchStarted or watchRefused follows.
    bool watch(WatchOptions options);
    // Asks the run in flight to stop; it reports `cancelled` through runFinished.
    // "" when accepted, or why the engine refused (postcopy has started).
    QString cancel();
    // The operator's postcopy actions. Each returns "" when accepted, or why it was refused.
    QString startPostcopy();
    QString pause();
    QString recover();
    QString resume();
    QString cutNetwork();
    // A trainer's stepping: on, every run (this one, and the next ones started while it stays
    // on) holds at each phase until continueFromHold().
    QString setStepping(bool on);
    QString continueFromHold();
    bool stepping() const { return stepping_; }
    // A trainer's slow motion, 1/divisor (1 = normal speed): this run and the next ones.
    QString setSlowMotion(unsigned divisor);
    unsigned slowMotion() const { return slowMotion_; }
    // migrate-set-parameters on our own run: "" when applied, or why not.
    QString setParameters(const LiveParameterChange& change);

    bool isRunning() const { return run_ || watch_ || pendingWatch_.valid(); }
    bool isWatching() const { return watch_ || pendingWatch_.valid(); }
    // The newest snapshot, kept after the run ended so views can be refreshed from it.
    const TelemetrySnapshot& lastSnapshot() const { return lastSnapshot_; }
    // History row of the last finished run; 0 when history could not be written.
    std::int64_t lastHistoryId() const { return lastHistoryId_; }
    const std::string& historyPath() const { return historyPath_; }

    void setPollInterval(int milliseconds) { pollTimer_.setInterval(milliseconds); }
    int pollInterval() const { return pollTimer_.interval(); }

signals:
    void runStarted(const migrascope::MigrationConfig& config);
    // QEMU's version, pid, the channel labels' origin: what the window says of a watch.
    void watchStarted(const QString& description);
    void watchRefused(const QString& reason);
    // Once per poll while running. Carries only the samples and events new since the last one.
    void snapshotUpdated(const migrascope::TelemetrySnapshot& snapshot);
    void samplesArrived(const std::vector<migrascope::ChannelSample>& samples);
    void eventsArrived(const std::vector<migrascope::Event>& events);
    void returnPathArrived(const std::vector<migrascope::ReturnPathRecord>& records);
    // After the last snapshotUpdated of a run.
    // historyError: why the end of the run is not in the history, or empty.
    void runFinished(migrascope::MigrationStatus status, qint64 historyId,
                     const QString& historyError);

private:
    bool stepping_ = false;
    unsigned slowMotion_ = 1;
    void poll();
    void adoptWatch();
    void forgetLastRun(); // cursors and last results, before a run or watch begins
    // Frees a finished run (gigabytes of guest RAM to unmap) on reaper_, not the GUI thread.
    void release(std::unique_ptr<MigrationRun> finished);

    std::string historyPath_;
    std::unique_ptr<MigrationRun> run_;
    // A watch being connected (on std::async's thread, which the future joins), then the
    // watch itself. At most one of run_, pendingWatch_ and watch_ is set.
    std::future<std::unique_ptr<QemuWatch>> pendingWatch_;
    std::unique_ptr<QemuWatch> watch_;
    QTimer pollTimer_;
    std::size_t eventCursor_ = 0;
    std::size_t sampleCursor_ = 0;
    std::size_t returnPathCursor_ = 0;
    TelemetrySnapshot lastSnapshot_;
    std::int64_t lastHistoryId_ = 0;
    // Owned here; it only destroys one finished run and ends. Joined before the next one
    // starts and in the destructor.
    std::thread reaper_;
};

} // namespace migrascope::ui

Q_DECLARE_METATYPE(migrascope::MigrationConfig)
Q_DECLARE_METATYPE(migrascope::TelemetrySnapshot)
Q_DECLARE_METATYPE(migrascope::MigrationStatus)
