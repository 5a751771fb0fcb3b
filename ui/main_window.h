// The window: launch form on the left, live dashboard and history on the right. It only wires
// the controller, models and widgets together; each of them lives in its own file.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/qemu_watch.h"
#include "engine/api/telemetry_snapshot.h"

#include <QMainWindow>
#include <string>
#include <thread>

class QAction;
class QLabel;
class QMenu;
class QScrollArea;
class QTabWidget;
class QTableView;

namespace migrascope::ui {

class ChannelTableModel;
class EventLogModel;
class HistoryBrowser;
class HistoryModel;
class DevicePanel;
class LaunchForm;
class PostcopyPanel;
class ReturnPathModel;
class RunDetails;
class RunController;
class RunNotifier;
class ScenarioPanel;
class RunStatusPanel;
class ThroughputPlot;

struct WindowOptions {
    std::string historyPath; // empty = HistoryStore::defaultPath()
};

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(WindowOptions options, QWidget* parent = nullptr);
    // A run still in flight is cancelled and waited for here.
    ~MainWindow() override;

    RunController* runController() const { return controller_; }
    RunNotifier* notifier() const { return notifier_; }
    ScenarioPanel* scenarioPanel() const { return scenarioPanel_; }
    QAction* presentationAction() const { return presentation_; }
    // Rebuilds the Scenarios menu from the shipped files and the trainer's folder.
    void reloadScenarios();
    ThroughputPlot* throughputPlot() const { return plot_; }
    HistoryModel* historyModel() const { return historyModel_; }
    LaunchForm* launchForm() const { return form_; }
    RunStatusPanel* statusPanel() const { return statusPanel_; }
    ChannelTableModel* channelTableModel() const { return channelModel_; }
    EventLogModel* eventLogModel() const { return eventModel_; }
    ReturnPathModel* returnPathModel() const { return returnPathModel_; }
    PostcopyPanel* postcopyPanel() const { return postcopyPanel_; }
    DevicePanel* devicePanel() const { return devicePanel_; }
    RunDetails* runDetails() const { return runDetails_; }
    HistoryBrowser* historyBrowser() const { return historyBrowser_; }
    const std::string& historyPath() const { return historyPath_; }
    // Follows a real QEMU migration in the dashboard (menu: Migration > Watch a QEMU
    // migration); false when something is already in flight.
    bool watchQemu(const WatchOptions& options);

protected:
    void closeEvent(QCloseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    QWidget* createDashboard();
    QWidget* createHistoryPage();
    void prepareHistory();
    void historyPrepared(const QString& problem);
    // The window's size and place and its splitters, as the operator left them.
    void restoreLayout();
    void updateFormVisibility();
    void saveLayout() const;
    static int retentionDays(); // History > Keep runs for (QSettings)
    void askForRetention();
    void startRun();
    void clearDashboard();
    void showLivePhases();
    void askWhatToWatch();
    // Fills the launch form from a recorded run's configuration.
    void runAgain(const QString& configuration);
    // Puts `config` in the launch form (shown, on the Live tab) and says `held`; false while a
    // migration is in flight. Running a recorded run again and loading a scenario both use it.
    // Puts `config` in the form, and shows the form unless told not to.
    bool stageInForm(const MigrationConfig& config, const QString& held, bool showForm = true);
    void createMenus();
    void addLanguageMenu(QMenu* view);
    void makeRoomForScenario();
    void keepOnScreen(); // back inside the screen when Qt widened the window for a widget
    void showSnapshot(const TelemetrySnapshot& snapshot);
    void finishRun(MigrationStatus status, qint64 historyId, const QString& historyError);
    void appendEvents(const std::vector<Event>& events);
    void appendReturnPath(const std::vector<ReturnPathRecord>& records);
    // Shows an operator action's refusal, or that it was accepted.
    void reportAction(const QString& action, const QString& refusal);
    void requestResume();
    // A resume the engine took is not yet the destination's yes: follow it to its answer.
    void followResume(const TelemetrySnapshot& snapshot);

    std::string historyPath_;
    RunController* controller_;
    ChannelTableModel* channelModel_;
    EventLogModel* eventModel_;
    HistoryModel* historyModel_;
    ReturnPathModel* returnPathModel_;
    PostcopyPanel* postcopyPanel_ = nullptr;
    DevicePanel* devicePanel_ = nullptr;
    RunDetails* runDetails_ = nullptr;
    HistoryBrowser* historyBrowser_ = nullptr;
    QTableView* returnPathView_ = nullptr;
    bool postcopyAllowed_ = false; // the run in flight has postcopy-ram
    bool resumePending_ = false;   // "Resume" was accepted by the source; no answer yet
    LaunchForm* form_ = nullptr;
    QScrollArea* formScroll_ = nullptr;      // the form's scroll area, shown with the Live tab
    RunNotifier* notifier_ = nullptr;        // a run's end, for an operator who looked away
    ScenarioPanel* scenarioPanel_ = nullptr; // the scenario being taught (a dock)
    QMenu* scenarioMenu_ = nullptr;
    std::vector<Event> liveEvents_;   // the run's events so far, for its phase bands
    double liveEndMs_ = 0;            // how far the run has gone
    QAction* presentation_ = nullptr; // View > Presentation mode: big text, thick lines
    QAction* showForm_ = nullptr;     // View > Launch form, and the "Form" button by the tabs
    RunStatusPanel* statusPanel_ = nullptr;
    ThroughputPlot* plot_ = nullptr;
    QTableView* channelView_ = nullptr;
    QTableView* eventView_ = nullptr;
    QTableView* historyView_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    bool splittersRestored_ = false;
    bool watching_ = false; // a QEMU migration is being watched
    QWidget* dashboard_ = nullptr;
    QWidget* historyPage_ = nullptr;
    // Brings the history file up to this schema and keeps it bounded as the window starts:
    // on years of runs that takes seconds, which the window must not freeze for. Last, so it
    // is joined before anything it posts to goes.
    QString upkeepMessage_; // shown while it runs, cleared when it is done
    std::jthread historyUpkeep_;
};

} // namespace migrascope::ui
