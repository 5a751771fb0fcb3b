// What the history keeps of one run, for a support engineer reading a failed migration:
// its result and cause, its events, the throughput it recorded per channel, its channels as
// they ended, the destination's return-path messages, every device transition and the exact
// configuration, read from the history file when the run is selected.
#pragma once

#include <QWidget>
#include <cstdint>
#include <string>

class QLabel;
class QPlainTextEdit;
class QTabWidget;

namespace migrascope::ui {

class ChannelTableModel;
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
    DeviceTransitionModel* transitions() const { return transitions_; }
    ChannelTableModel* channels() const { return channels_; }
    ThroughputPlot* plot() const { return plot_; }

private:
    QLabel* summary_;
    QTabWidget* tabs_;
    EventLogModel* events_;
    ReturnPathModel* returnPath_;
    DeviceTransitionModel* transitions_;
    ChannelTableModel* channels_;
    ThroughputPlot* plot_;
    QPlainTextEdit* configuration_;
};

} // namespace migrascope::ui
