// What the history keeps of one run, for a support engineer reading a failed migration:
// its result and cause, its events, the throughput it recorded per channel, its channels as
// they ended, the destination's return-path messages, every device transition and the exact
// configuration, read from the history file when the run is selected.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/telemetry_snapshot.h"

#include <QWidget>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSlider;
class QTabWidget;
class QTableView;
class QTimer;

namespace migrascope::ui {

class ChannelTableModel;
class DevicePanel;
class DeviceTransitionModel;
class EventLogModel;
class ReturnPathModel;
class ThroughputPlot;

class RunDetails : public QWidget {
    Q_OBJECT

public:
    explicit RunDetails(QWidget* parent = nullptr);

    // Reads run `runId` from the history at `historyPath`; a failure is shown, not thrown.
    void showRun(const std::string& historyPath, std::int64_t runId);
    void clear();

    EventLogModel* events() const { return events_; }
    ReturnPathModel* returnPath() const { return returnPath_; }
    DeviceTransitionModel* transitions() const;
    // The run's devices: their diagrams in the state of the replay's moment, and their log.
    DevicePanel* devices() const { return devices_; }
    ChannelTableModel* channels() const { return channels_; }
    ThroughputPlot* plot() const { return plot_; }

    // Replay: the whole page shows the run as it was `ms` into it (the plot's cursor, the
    // channels' bytes and rates, the last event, return-path message and device transition
    // up to then selected).
    void replayTo(double ms);
    double replayMoment() const { return momentMs_; }
    double runLengthMs() const { return lengthMs_; }
    // The first cause's moment; none for a run without one.
    std::optional<double> firstFailureMs() const { return firstFailureMs_; }
    void jumpToFirstFailure();
    // Plays the run from where the replay stands at `speed` times real time; 0 stops.
    void play(double speed);

private:
    QWidget* createReplayBar();
    void showDevicesAt(double ms);
    void advancePlayback();

    QLabel* summary_;
    QTabWidget* tabs_;
    EventLogModel* events_;
    ReturnPathModel* returnPath_;
    DevicePanel* devices_;
    ChannelTableModel* channels_;
    ThroughputPlot* plot_;
    QPlainTextEdit* configuration_;
    QTableView* eventsView_ = nullptr;
    QTableView* returnPathView_ = nullptr;
    QTableView* transitionsView_ = nullptr;
    QSlider* timeline_ = nullptr;
    QPushButton* playButton_ = nullptr;
    QComboBox* speed_ = nullptr;
    QPushButton* jumpButton_ = nullptr;
    QLabel* momentLabel_ = nullptr;
    QTimer* playTimer_ = nullptr;
    // The run as recorded, for replaying it without reading the file again.
    std::vector<Event> recordedEvents_;
    std::vector<ReturnPathRecord> recordedReturnPath_;
    std::vector<DeviceTransition> recordedTransitions_;
    std::vector<ChannelSample> recordedSamples_;
    std::vector<ChannelSnapshot> finalChannels_;
    std::vector<DeviceConfig> deviceConfigs_; // the devices the run was configured with
    double lengthMs_ = 0;
    double momentMs_ = 0;
    double playSpeed_ = 0;
    std::optional<double> firstFailureMs_;
};

} // namespace migrascope::ui
