#include "ui/main_window.h"

#include "engine/api/diagnosis.h"
#include "engine/api/history_store.h"
#include "ui/channel_table_model.h"
#include "ui/device_panel.h"
#include "ui/display_format.h"
#include "ui/event_log_model.h"
#include "ui/glossary.h"
#include "ui/history_browser.h"
#include "ui/history_model.h"
#include "ui/launch_form.h"
#include "ui/postcopy_panel.h"
#include "ui/return_path_model.h"
#include "ui/run_controller.h"
#include "ui/run_details.h"
#include "ui/run_notifier.h"
#include "ui/run_status_panel.h"
#include "ui/scenario_library.h"
#include "ui/scenario_panel.h"
#include "ui/settings.h"
#include "ui/table_view.h"
#include "ui/throughput_plot.h"
#include "ui/translations.h"

#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QCoreApplication>
#include <QDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QResizeEvent>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <stdexcept>

namespace migrascope::ui {
namespace {

std::string resolveHistoryPath(const std::string& requested, QString& problem) {
    if (!requested.empty())
        return requested;
    try {
        return HistoryStore::defaultPath();
    } catch (const std::exception& error) {
        problem = QString::fromStdString(error.what());
        return {};
    }
}

} // namespace

MainWindow::MainWindow(WindowOptions options, QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("Migrascope"));
    QString historyProblem;
    historyPath_ = resolveHistoryPath(options.historyPath, historyProblem);

    controller_ = new RunController(historyPath_, this);
    notifier_ = new RunNotifier(this);
    scenarioPanel_ = new ScenarioPanel(this);
    addDockWidget(Qt::RightDockWidgetArea, scenarioPanel_);
    scenarioPanel_->hide();
    channelModel_ = new ChannelTableModel(this);
    eventModel_ = new EventLogModel(this);
    historyModel_ = new HistoryModel(historyPath_, this);
    returnPathModel_ = new ReturnPathModel(this);

    form_ = new LaunchForm;
    formScroll_ = new QScrollArea;
    formScroll_->setWidget(form_);
    formScroll_->setWidgetResizable(true);
    formScroll_->setFrameShape(QFrame::NoFrame);
    formScroll_->setMinimumWidth(form_->sizeHint().width() + 20);
    formScroll_->setObjectName(QStringLiteral("launchFormArea"));
    // Folding the form away gives the dashboard the whole width on a small screen; the
    // button stays by the tabs, so the way back is always in sight.
    showForm_ = new QAction(tr("Launch &form"), this);
    showForm_->setObjectName(QStringLiteral("showFormAction"));
    showForm_->setCheckable(true);
    showForm_->setChecked(
        windowSettings().value(QStringLiteral("window/formShown"), true).toBool());
    showForm_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
    showForm_->setToolTip(tr("Show or hide the launch form (Ctrl+Shift+L)"));
    connect(showForm_, &QAction::toggled, this, [this](bool shown) {
        windowSettings().setValue(QStringLiteral("window/formShown"), shown);
        updateFormVisibility();
    });

    tabs_ = new QTabWidget;
    dashboard_ = createDashboard();
    historyPage_ = createHistoryPage();
    tabs_->addTab(dashboard_, tr("Live"));
    tabs_->addTab(historyPage_, tr("History"));
    // Not the action's own button: its text says which way it goes.
    auto* formButton = new QToolButton;
    formButton->setObjectName(QStringLiteral("showFormButton"));
    formButton->setCheckable(true);
    formButton->setToolTip(showForm_->toolTip());
    const auto showDirection = [formButton](bool shown) {
        formButton->setChecked(shown);
        formButton->setText(shown ? tr("◀ Hide form") : tr("▶ Show form"));
    };
    showDirection(showForm_->isChecked());
    connect(showForm_, &QAction::toggled, formButton, showDirection);
    connect(formButton, &QToolButton::clicked, showForm_, &QAction::setChecked);
    tabs_->setCornerWidget(formButton, Qt::TopLeftCorner);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->setObjectName(QStringLiteral("formSplitter"));
    splitter->addWidget(formScroll_);
    splitter->addWidget(tabs_);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setCollapsible(1, false);
    setCentralWidget(splitter);

    auto* pathLabel = new QLabel(tr("History: %1").arg(QString::fromStdString(historyPath_)));
    pathLabel->setObjectName(QStringLiteral("historyPathLabel"));
    pathLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusBar()->addPermanentWidget(pathLabel);

    connect(form_, &LaunchForm::startRequested, this, &MainWindow::startRun);
    connect(form_, &LaunchForm::liveParametersRequested, this, [this] {
        const QString refused =
            controller_->setParameters({form_->maxBandwidth(), form_->downtimeLimitMs()});
        statusBar()->showMessage(refused.isEmpty()
                                     ? tr("migrate-set-parameters: applied to the running "
                                          "migration")
                                     : tr("migrate-set-parameters refused: %1").arg(refused));
    });
    connect(form_, &LaunchForm::cancelRequested, this,
            [this] { reportAction(tr("Cancel"), controller_->cancel()); });
    connect(controller_, &RunController::snapshotUpdated, this, &MainWindow::showSnapshot);
    connect(controller_, &RunController::samplesArrived, plot_, &ThroughputPlot::appendSamples);
    connect(controller_, &RunController::samplesArrived, channelModel_,
            &ChannelTableModel::updateRates);
    connect(controller_, &RunController::eventsArrived, this, &MainWindow::appendEvents);
    connect(controller_, &RunController::returnPathArrived, this, &MainWindow::appendReturnPath);
    connect(postcopyPanel_, &PostcopyPanel::startPostcopyRequested, this,
            [this] { reportAction(tr("Switch to postcopy"), controller_->startPostcopy()); });
    connect(postcopyPanel_, &PostcopyPanel::pauseRequested, this,
            [this] { reportAction(tr("Pause"), controller_->pause()); });
    connect(postcopyPanel_, &PostcopyPanel::recoverRequested, this,
            [this] { reportAction(tr("Recover"), controller_->recover()); });
    connect(postcopyPanel_, &PostcopyPanel::resumeRequested, this, [this] { requestResume(); });
    connect(postcopyPanel_, &PostcopyPanel::cutNetworkRequested, this,
            [this] { reportAction(tr("Cut network"), controller_->cutNetwork()); });
    connect(controller_, &RunController::runFinished, this, &MainWindow::finishRun);
    connect(scenarioPanel_, &ScenarioPanel::loadRequested, this,
            [this](const MigrationConfig& config, const QString& description) {
                stageInForm(config, tr("The form holds the scenario %1").arg(description));
            });
    connect(
        scenarioPanel_, &ScenarioPanel::startRequested, this,
        [this](const MigrationConfig& config, const QString& description) {
            // Started from the panel, the form stays as it is: the scenario says what runs.
            if (stageInForm(config, tr("The form holds the scenario %1").arg(description), false))
                startRun();
        });
    connect(controller_, &RunController::watchStarted, this,
            [this](const QString& description) { statusBar()->showMessage(description); });
    connect(controller_, &RunController::watchRefused, this, [this](const QString& reason) {
        form_->setRunning(false);
        watching_ = false;
        updateFormVisibility();
        statusBar()->showMessage(tr("Cannot watch: %1").arg(reason));
    });
    connect(historyModel_, &HistoryModel::reloadFailed, this, [this](const QString& error) {
        statusBar()->showMessage(tr("History cannot be read: %1").arg(error));
    });
    // The run in flight has a row too; show it whenever the operator looks.
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int index) {
        updateFormVisibility();
        if (tabs_->widget(index) == historyPage_)
            historyBrowser_->reload();
    });

    createMenus();
    updateFormVisibility(); // as the operator left it
    if (!historyProblem.isEmpty())
        statusBar()->showMessage(tr("History is not recorded: %1").arg(historyProblem));
    else
        prepareHistory();
    // Roomy where the screen allows; on a laptop's 1024x768 the whole window stays on screen.
    resize(QSize(1400, 900).boundedTo(screen()->availableGeometry().size()));
    restoreLayout();
}

MainWindow::~MainWindow() = default;

int MainWindow::retentionDays() {
    return windowSettings().value(QStringLiteral("history/retention-days"), 365).toInt();
}

void MainWindow::askForRetention() {
    bool ok = false;
    const int days = QInputDialog::getInt(
        this, tr("Keep runs for"),
        tr("Delete finished runs started more than this many days ago (0 keeps every run). "
           "Runs older than a week keep one throughput sample a second."),
        retentionDays(), 0, 36500, 1, &ok);
    if (!ok)
        return;
    windowSettings().setValue(QStringLiteral("history/retention-days"), days);
    try {
        HistoryStore store(historyPath_);
        const HistoryStore::Upkeep upkeep = store.keepBounded(days);
        statusBar()->showMessage(tr("Keeping runs for %1 days: deleted %2 runs, thinned %3 samples")
                                     .arg(days)
                                     .arg(upkeep.runsDeleted)
                                     .arg(upkeep.samplesThinned));
    } catch (const std::exception& error) {
        statusBar()->showMessage(tr("History cannot be kept bounded: %1").arg(error.what()));
    }
    historyBrowser_->reload();
}

void MainWindow::prepareHistory() {
    // The application's own history file is brought up to this version's schema, queued ends
    // are stored and runs whose process died are marked interrupted, once, as the application
    // starts; from then on the browser only reads it.
    if (!QFileInfo::exists(QString::fromStdString(historyPath_))) {
        historyBrowser_->reload();
        return;
    }
    upkeepMessage_ = tr("Bringing the history up to date and keeping it bounded…");
    statusBar()->showMessage(upkeepMessage_);
    historyUpkeep_ = std::jthread([this, path = historyPath_, days = retentionDays()] {
        QString problem;
        try {
            HistoryStore prepared(path);
            // Years of runs stay small: the retention the operator chose, and old runs'
            // samples thinned to one a second.
            prepared.keepBounded(days);
        } catch (const std::exception& error) {
            problem = QString::fromUtf8(error.what());
        }
        QMetaObject::invokeMethod(
            this, [this, problem] { historyPrepared(problem); }, Qt::QueuedConnection);
    });
}

void MainWindow::historyPrepared(const QString& problem) {
    if (!problem.isEmpty()) {
        statusBar()->showMessage(tr("History cannot be read: %1").arg(problem));
        return;
    }
    if (statusBar()->currentMessage() == upkeepMessage_)
        statusBar()->clearMessage();
    historyBrowser_->reload();
}

QWidget* MainWindow::createDashboard() {
    auto* page = new QWidget;
    statusPanel_ = new RunStatusPanel(page);
    postcopyPanel_ = new PostcopyPanel(page);
    plot_ = new ThroughputPlot(page);
    plot_->setObjectName(QStringLiteral("throughputPlot"));
    plot_->setRefreshInterval(static_cast<int>(kSampleRateWindowMs));

    channelView_ = makeTableView(channelModel_, "channelTable", page);
    QHeaderView* channelHeader = channelView_->horizontalHeader();
    // No stretched column: a wide last column would push the record counts far from the rest.
    fitColumnsToContents(channelView_);
    channelHeader->setStretchLastSection(false);

    eventView_ = makeTableView(eventModel_, "eventLog", page, true);

    returnPathView_ = makeTableView(returnPathModel_, "returnPathLog", page, true);

    // The two logs share one place: events say what happened, the return path what the
    // destination answered.
    auto* logs = new QTabWidget(page);
    logs->setObjectName(QStringLiteral("logTabs"));
    logs->addTab(eventView_, tr("Events"));
    logs->addTab(returnPathView_, tr("Return path"));
    devicePanel_ = new DevicePanel(page);
    devicePanel_->setObjectName(QStringLiteral("devicePanel"));
    logs->addTab(devicePanel_, tr("Devices"));

    auto* splitter = new QSplitter(Qt::Vertical, page);
    splitter->setObjectName(QStringLiteral("dashboardSplitter"));
    splitter->addWidget(plot_);
    splitter->addWidget(channelView_);
    splitter->addWidget(logs);
    // The plot is what operators watch; the tables are for reading details.
    splitter->setStretchFactor(0, 5);
    splitter->setStretchFactor(1, 2);
    splitter->setStretchFactor(2, 2);
    splitter->setSizes({500, 200, 200});
    splitter->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(page);
    layout->addWidget(statusPanel_);
    layout->addWidget(postcopyPanel_);
    layout->addWidget(splitter, 1);
    // Opaque, so that a value changing four times a second repaints from here down, not the
    // tab frame, the splitter and the window behind it as well.
    page->setAutoFillBackground(true);
    return page;
}

QWidget* MainWindow::createHistoryPage() {
    historyBrowser_ = new HistoryBrowser(historyModel_);
    historyView_ = historyBrowser_->view();
    runDetails_ = historyBrowser_->details();
    connect(historyBrowser_, &HistoryBrowser::statusMessage, this,
            [this](const QString& message) { statusBar()->showMessage(message, 10000); });
    connect(historyBrowser_, &HistoryBrowser::runAgainRequested, this, &MainWindow::runAgain);
    return historyBrowser_;
}

void MainWindow::createMenus() {
    QMenu* migration = menuBar()->addMenu(tr("&Migration"));
    QAction* start = migration->addAction(tr("&Start"), this, &MainWindow::startRun);
    start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    QAction* cancel = migration->addAction(tr("&Cancel (migrate_cancel)"), this, [this] {
        reportAction(tr("Cancel"), controller_->cancel());
    });
    cancel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    migration->addSeparator();
    // The engine answers each request; a refusal and its reason go to the status bar.
    migration->addAction(tr("Switch to &postcopy (migrate-start-postcopy)"), this, [this] {
        reportAction(tr("Switch to postcopy"), controller_->startPostcopy());
    });
    migration->addAction(tr("P&ause (migrate-pause)"), this,
                         [this] { reportAction(tr("Pause"), controller_->pause()); });
    migration->addAction(tr("&Recover (migrate-recover)"), this,
                         [this] { reportAction(tr("Recover"), controller_->recover()); });
    migration->addAction(tr("Res&ume (migrate resume=true)"), this, [this] { requestResume(); });
    migration->addSeparator();
    // For a class: the phases one at a time, each held until the trainer goes on.
    QAction* stepping = migration->addAction(tr("Stop at each p&hase"));
    stepping->setObjectName(QStringLiteral("steppingAction"));
    stepping->setCheckable(true);
    stepping->setShortcut(QKeySequence(Qt::Key_F9));
    stepping->setStatusTip(tr("Hold the migration at each phase boundary (setup, bulk copy, each "
                              "dirty sync, switchover, device stop-copy, verification, postcopy "
                              "start, postcopy recovery) until Continue"));
    connect(stepping, &QAction::toggled, this, [this, stepping](bool on) {
        const QString refusal = controller_->setStepping(on);
        if (!refusal.isEmpty()) {
            const QSignalBlocker keep(stepping);
            stepping->setChecked(!on);
        }
        reportAction(on ? tr("Stop at each phase") : tr("Stepping off"), refusal);
    });
    QAction* continueAction =
        migration->addAction(tr("C&ontinue from the held phase"), this, [this] {
            reportAction(tr("Continue"), controller_->continueFromHold());
        });
    continueAction->setObjectName(QStringLiteral("continueAction"));
    continueAction->setShortcut(QKeySequence(Qt::Key_F8));
    // For a class: the same migration, slower. Link, workload and downtime limit scale
    // together, so it goes through the same rounds; the figures shown are the slowed ones.
    QMenu* speed = migration->addMenu(tr("Slow &motion"));
    speed->setObjectName(QStringLiteral("slowMotionMenu"));
    auto* speeds = new QActionGroup(speed);
    for (const unsigned divisor : kSlowMotionDivisors) {
        QAction* choice =
            speed->addAction(divisor == 1 ? tr("Normal speed") : tr("1/%1 speed").arg(divisor));
        choice->setObjectName(QStringLiteral("slowMotion%1").arg(divisor));
        choice->setCheckable(true);
        choice->setChecked(divisor == 1);
        speeds->addAction(choice);
        connect(choice, &QAction::triggered, this, [this, divisor] {
            const unsigned before = controller_->slowMotion();
            const QString refusal = controller_->setSlowMotion(divisor);
            if (!refusal.isEmpty())
                findChild<QAction*>(QStringLiteral("slowMotion%1").arg(before))->setChecked(true);
            reportAction(tr("Slow motion"), refusal);
        });
    }
    speed->setToolTip(tr("The link, the guest's workload and the downtime limit slowed together: "
                         "the same rounds, several times as long"));
    migration->addSeparator();
    QAction* watch =
        migration->addAction(tr("&Watch a QEMU migration…"), this, &MainWindow::askWhatToWatch);
    watch->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_W));
    watch->setStatusTip(tr("Follow a real QEMU migration over QMP, with each connection's "
                           "throughput from the kernel"));
    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(showForm_);
    view->addAction(scenarioPanel_->toggleViewAction());
    // For a projector: the whole window's text half as large again, the plot's lines twice as
    // thick. One shortcut away, and back the same way.
    presentation_ = view->addAction(tr("&Presentation mode"));
    presentation_->setObjectName(QStringLiteral("presentationAction"));
    presentation_->setCheckable(true);
    presentation_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    connect(presentation_, &QAction::toggled, this, [this, normal = QApplication::font()](bool on) {
        QFont font = normal;
        font.setPointSizeF(normal.pointSizeF() * (on ? 1.5 : 1.0));
        QApplication::setFont(font);
        plot_->setLineScale(on ? 2.0 : 1.0);
    });
    addLanguageMenu(view);
    scenarioMenu_ = menuBar()->addMenu(tr("&Scenarios"));
    reloadScenarios();
    QMenu* history = menuBar()->addMenu(tr("&History"));
    const auto onHistory = [this](void (HistoryBrowser::*action)()) {
        return [this, action] {
            tabs_->setCurrentWidget(historyPage_);
            (historyBrowser_->*action)();
        };
    };
    history->addAction(tr("&Import runs…"), this, onHistory(&HistoryBrowser::askToImport));
    history->addAction(tr("&Export selected runs…"), this,
                       onHistory(&HistoryBrowser::askToExportSelected));
    history->addAction(tr("Save &report of the selected run…"), this,
                       onHistory(&HistoryBrowser::askToSaveReport));
    history->addAction(tr("Run &again with these settings"), this,
                       onHistory(&HistoryBrowser::runSelectedAgain));
    history->addAction(tr("&Compare the two selected runs"), this,
                       onHistory(&HistoryBrowser::compareSelected));
    history->addSeparator();
    history->addAction(tr("&Delete selected runs…"), this,
                       onHistory(&HistoryBrowser::askToDeleteSelected));
    history->addAction(tr("&Keep runs for…"), this, &MainWindow::askForRetention);
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* glossaryAction = help->addAction(tr("&Glossary"), this, [this] {
        // Non-modal: it stays open beside the window while a class watches a run.
        auto* dialog = new QDialog(this);
        dialog->setObjectName(QStringLiteral("glossaryDialog"));
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setWindowTitle(tr("Migrascope glossary"));
        auto* text = new QTextBrowser(dialog);
        text->setHtml(glossaryHtml());
        auto* layout = new QVBoxLayout(dialog);
        layout->addWidget(text);
        dialog->resize(560, 640);
        dialog->show();
    });
    glossaryAction->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About Migrascope"), this, [this] {
        QMessageBox::about(
            this, tr("About Migrascope"),
            tr("<p><b>Migrascope</b> %1</p><p>Live migration over multifd TLS channels, shown "
               "as it happens; and real QEMU migrations, watched from outside.</p>"
               "<p>Licence: GPL-3.0-or-later (QCustomPlot is GPL).</p>")
                .arg(QCoreApplication::applicationVersion()));
    });
}

bool MainWindow::stageInForm(const MigrationConfig& config, const QString& held, bool showForm) {
    if (controller_->isRunning()) {
        statusBar()->showMessage(tr("A migration is in flight; try again once it has ended"));
        return false;
    }
    form_->setConfig(config);
    if (showForm)
        showForm_->setChecked(true);
    tabs_->setCurrentWidget(dashboard_);
    statusBar()->showMessage(held);
    return true;
}

void MainWindow::runAgain(const QString& configuration) {
    MigrationConfig config;
    try {
        config = configFromDescription(configuration.toStdString());
    } catch (const std::exception& error) {
        statusBar()->showMessage(tr("Cannot read that run's configuration: %1")
                                     .arg(QString::fromStdString(error.what())));
        return;
    }
    stageInForm(config, tr("The form holds that run's settings; Start (Ctrl+Return) runs it"));
}

void MainWindow::addLanguageMenu(QMenu* view) {
    // Each language named in its own words, so a user who cannot read the current one still
    // finds theirs. Qt builds its widgets' texts once: the choice applies at the next start.
    QMenu* languages = view->addMenu(tr("&Language"));
    languages->setObjectName(QStringLiteral("languageMenu"));
    auto* group = new QActionGroup(languages);
    const QString chosen = chosenLanguage();
    auto add = [&](const QString& language, const QString& name) {
        QAction* action = languages->addAction(name);
        action->setCheckable(true);
        action->setChecked(language == chosen);
        group->addAction(action);
        connect(action, &QAction::triggered, this, [this, language, name] {
            chooseLanguage(language);
            statusBar()->showMessage(
                tr("Language: %1, from the next start of Migrascope").arg(name));
        });
    };
    add(QString(), tr("System language (%1)").arg(QLocale().nativeLanguageName()));
    for (const QString& language : windowLanguages()) {
        // QLocale("en") is American English; the window's own words are plain English.
        QString name = language == QLatin1String("en") ? QStringLiteral("English")
                                                       : QLocale(language).nativeLanguageName();
        if (!name.isEmpty())
            name[0] = name[0].toUpper();
        add(language, name);
    }
}

void MainWindow::reloadScenarios() {
    scenarioMenu_->clear();
    const ScenarioLibrary library = loadScenarios();
    for (const Scenario& scenario : library.scenarios) {
        QAction* entry = scenarioMenu_->addAction(scenario.title, this, [this, scenario] {
            makeRoomForScenario(); // before the dock asks for its width
            scenarioPanel_->show(scenario);
        });
        entry->setStatusTip(scenario.summary);
    }
    scenarioMenu_->addSeparator();
    QAction* own =
        scenarioMenu_->addAction(tr("Your own scenarios: %1").arg(userScenarioDirectory()));
    own->setEnabled(false);
    scenarioMenu_->addAction(tr("&Reload scenarios"), this, &MainWindow::reloadScenarios);
    if (!library.problems.isEmpty())
        statusBar()->showMessage(
            tr("Scenario files not used: %1").arg(library.problems.join("; ")));
}

void MainWindow::makeRoomForScenario() {
    // On a small screen the form, the dashboard and a readable scenario do not fit side by
    // side. The scenario's own buttons stage and start it, so the form makes way; Show form
    // brings it back.
    constexpr int kReadableScenarioWidth = 320;
    const QScreen* shownOn = screen();
    if (!shownOn)
        return;
    const QRect available = shownOn->availableGeometry();
    if (showForm_->isChecked() &&
        centralWidget()->minimumSizeHint().width() + kReadableScenarioWidth > available.width()) {
        showForm_->setChecked(false);
        statusBar()->showMessage(tr("The launch form makes room for the scenario on this screen; "
                                    "Show form brings it back"));
    }
}

void MainWindow::askWhatToWatch() {
    if (controller_->isRunning()) {
        statusBar()->showMessage(tr("Cannot watch: a migration is in flight"));
        return;
    }
    bool ok = false;
    const QString target = QInputDialog::getText(
        this, tr("Watch a QEMU migration"),
        tr("QEMU's QMP socket, and optionally the destination's:\n"
           "qmp:SRC.sock or qmp:SRC.sock,dst=DST.sock\n"
           "(add ,events=on to let Migrascope turn on QEMU's events capability)\n"
           "(a QMP socket serves one client: give QEMU a monitor of its own for Migrascope)"),
        QLineEdit::Normal, QStringLiteral("qmp:"), &ok);
    if (!ok)
        return;
    try {
        watchQemu(parseWatchTarget(target.trimmed().toStdString()));
    } catch (const std::invalid_argument& error) {
        statusBar()->showMessage(tr("Cannot watch: %1").arg(QString::fromStdString(error.what())));
    }
}

bool MainWindow::watchQemu(const WatchOptions& options) {
    if (controller_->isRunning())
        return false;
    clearDashboard();
    postcopyAllowed_ = false;
    if (!controller_->watch(options))
        return false;
    form_->setRunning(true);
    watching_ = true;
    tabs_->setCurrentWidget(dashboard_);
    updateFormVisibility();
    statusBar()->showMessage(
        tr("Connecting to %1…").arg(QString::fromStdString(options.sourceQmp)));
    return true;
}

void MainWindow::clearDashboard() {
    plot_->clear();
    channelModel_->clear();
    eventModel_->clear();
    returnPathModel_->clear();
    devicePanel_->reset();
    statusPanel_->reset();
    postcopyPanel_->reset();
    liveEvents_.clear();
    liveEndMs_ = 0;
}

void MainWindow::showLivePhases() {
    // The same bands a recorded run's plot has, growing as the run goes: a class sees which
    // phase each stretch of the lines belongs to while it happens.
    plot_->setPhases(phasesOf(liveEvents_, liveEndMs_));
}

void MainWindow::startRun() {
    if (controller_->isRunning())
        return;
    if (const QString problem = form_->problem(); !problem.isEmpty()) {
        statusBar()->showMessage(tr("Cannot start: %1").arg(problem));
        return;
    }
    clearDashboard();
    const MigrationConfig config = form_->config();
    postcopyAllowed_ = config.capabilities.postcopyRam;
    if (!controller_->start(config))
        return;
    form_->setRunning(true);
    form_->allowLiveParameters();
    tabs_->setCurrentWidget(dashboard_);
    statusBar()->clearMessage();
}

void MainWindow::showSnapshot(const TelemetrySnapshot& snapshot) {
    followResume(snapshot);
    statusPanel_->showSnapshot(snapshot);
    postcopyPanel_->showSnapshot(snapshot, postcopyAllowed_);
    devicePanel_->showSnapshot(snapshot);
    channelModel_->updateChannels(snapshot.channels);
    // How far the run has gone, on the events' clock (since the run started).
    double reached = liveEndMs_;
    if (!snapshot.samples.empty())
        reached = std::max(reached, snapshot.samples.back().timeMs);
    if (!snapshot.events.empty())
        reached = std::max(reached, snapshot.events.back().timeMs);
    if (reached > liveEndMs_) {
        liveEndMs_ = reached;
        showLivePhases();
    }
}

void MainWindow::appendEvents(const std::vector<Event>& events) {
    // Follow new events only when the operator has not scrolled back to read older ones.
    QScrollBar* scroll = eventView_->verticalScrollBar();
    const bool following = scroll->value() == scroll->maximum();
    eventModel_->append(events);
    if (following)
        eventView_->scrollToBottom();
    liveEvents_.insert(liveEvents_.end(), events.begin(), events.end());
    showLivePhases();
}

void MainWindow::appendReturnPath(const std::vector<ReturnPathRecord>& records) {
    QScrollBar* scroll = returnPathView_->verticalScrollBar();
    const bool following = scroll->value() == scroll->maximum();
    returnPathModel_->append(records);
    if (following)
        returnPathView_->scrollToBottom();
}

void MainWindow::reportAction(const QString& action, const QString& refusal) {
    if (refusal.isEmpty())
        statusBar()->showMessage(tr("%1: accepted").arg(action), 5000);
    else
        statusBar()->showMessage(tr("%1 refused: %2").arg(action, refusal));
}

void MainWindow::requestResume() {
    if (const QString refusal = controller_->resume(); !refusal.isEmpty()) {
        reportAction(tr("Resume"), refusal);
        return;
    }
    // The source took the request; only the destination's RESUME_ACK (or its refusal)
    // answers it.
    resumePending_ = true;
    statusBar()->showMessage(tr("Resume: requested, waiting for the destination's answer"));
}

void MainWindow::followResume(const TelemetrySnapshot& snapshot) {
    if (!resumePending_)
        return;
    for (const auto& event : snapshot.events) {
        const QString text = QString::fromStdString(event.text);
        if (event.level != EventLevel::Info && text.contains(QLatin1String("resume failed"))) {
            resumePending_ = false;
            statusBar()->showMessage(tr("Resume failed: %1").arg(text));
            return;
        }
    }
    if (snapshot.status == MigrationStatus::PostcopyActive ||
        snapshot.status == MigrationStatus::Completed) {
        resumePending_ = false;
        statusBar()->showMessage(
            tr("Resume: the destination accepted it (%1)").arg(statusText(snapshot.status)), 10000);
    } else if (isFinal(snapshot.status)) {
        resumePending_ = false;
    }
}

void MainWindow::updateFormVisibility() {
    // The launch form is for our own runs on the Live tab: history gets the whole width for
    // its columns, and a watched QEMU migration is launched elsewhere.
    formScroll_->setVisible(tabs_->currentWidget() != historyPage_ && !watching_ &&
                            showForm_->isChecked());
}

void MainWindow::resizeEvent(QResizeEvent* event) {
    QMainWindow::resizeEvent(event);
    // Qt widens the window for the form rather than narrow the scenario beside it, and the
    // window system reports the new size only later: this is where it shows.
    if (scenarioPanel_->isVisible())
        QMetaObject::invokeMethod(this, &MainWindow::keepOnScreen, Qt::QueuedConnection);
}

void MainWindow::keepOnScreen() {
    const QScreen* shownOn = screen();
    if (!shownOn || isMaximized() || isFullScreen())
        return;
    const int over = frameGeometry().right() - shownOn->availableGeometry().right();
    if (over <= 0)
        return;
    if (scenarioPanel_->isVisible() && !scenarioPanel_->isFloating())
        resizeDocks(
            {scenarioPanel_},
            {std::max(scenarioPanel_->minimumSizeHint().width(), scenarioPanel_->width() - over)},
            Qt::Horizontal);
    resize(width() - over, height());
}

void MainWindow::finishRun(MigrationStatus status, qint64 historyId, const QString& historyError) {
    form_->setRunning(false);
    watching_ = false;
    updateFormVisibility();
    historyBrowser_->reload();
    const QString word = resultText(status, !controller_->lastSnapshot().warnings.empty());
    if (!historyError.isEmpty())
        statusBar()->showMessage(
            tr("Migration %1; run %2's end is NOT in the history (it shows as active): %3")
                .arg(word)
                .arg(historyId)
                .arg(historyError));
    else if (historyId > 0)
        statusBar()->showMessage(tr("Migration %1; recorded as run %2").arg(word).arg(historyId));
    else
        statusBar()->showMessage(tr("Migration %1; not recorded in the history").arg(word));
    // The same sentence the history keeps: what happened, and its first cause.
    notifier_->runEnded(tr("Migration %1").arg(word),
                        QString::fromStdString(diagnose(controller_->lastSnapshot())),
                        status != MigrationStatus::Completed);
}

void MainWindow::restoreLayout() {
    // Where the operator left the window and its splitters; restoreGeometry keeps it on a
    // screen that is there now (a laptop undocked from a bigger monitor).
    QSettings settings = windowSettings();
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (splittersRestored_)
        return;
    // Once the window has its size: a splitter restored before that is stretched afterwards.
    splittersRestored_ = true;
    layout()->activate();
    const QSettings settings = windowSettings();
    for (QSplitter* splitter : findChildren<QSplitter*>())
        if (!splitter->objectName().isEmpty())
            splitter->restoreState(
                settings.value(QStringLiteral("splitters/") + splitter->objectName())
                    .toByteArray());
}

void MainWindow::saveLayout() const {
    QSettings settings = windowSettings();
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    for (const QSplitter* splitter : findChildren<QSplitter*>())
        if (!splitter->objectName().isEmpty())
            settings.setValue(QStringLiteral("splitters/") + splitter->objectName(),
                              splitter->saveState());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    // Stopping takes a moment; start now so the wait in the destructor is short.
    if (controller_->isRunning()) {
        statusBar()->showMessage(tr("Cancelling the migration in flight…"));
        controller_->cancel();
    }
    QMainWindow::closeEvent(event);
}

} // namespace migrascope::ui
