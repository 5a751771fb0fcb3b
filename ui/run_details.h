// What the history keeps of one run, for a support engineer reading a failed migration:
// its cause, its events, the destination's return-path messages and every device
// transition, read from the history file when the run is selected.
#pragma once

#include <QWidget>
#include <cstdint>
#include <string>

class QLabel;
class QTabWidget;

namespace migrascope::ui {

class DeviceTransitionModel;
class EventLogModel;
class ReturnPathModel;

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

private:
    QLabel* summary_;
    QTabWidget* tabs_;
    EventLogModel* events_;
    ReturnPathModel* returnPath_;
    DeviceTransitionModel* transitions_;
};

} // namespace migrascope::ui
