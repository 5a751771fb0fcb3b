// The window as an operator uses it: fill in the launch form, click Start or Cancel, and read
// what the dashboard and the history show. Runs real migrations on the offscreen platform.
#include "engine/api/incoming_daemon.h"
#include "engine/api/tls_pki.h"
#include "ui/channel_table_model.h"
#include "ui/device_panel.h"
#include "ui/device_state_diagram.h"
#include "ui/device_transition_model.h"
#include "ui/event_log_model.h"
#include "ui/history_browser.h"
#include "ui/history_model.h"
#include "ui/launch_form.h"
#include "ui/main_window.h"
#include "ui/return_path_model.h"
#include "ui/run_comparison.h"
#include "ui/run_controller.h"
#include "ui/run_details.h"
#include "ui/run_notifier.h"
#include "ui/theme.h"
#include "ui/throughput_plot.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QComboBox>
#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QElapsedTimer>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPaintEvent>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextDocumentFragment>
#include <QTimer>
#include <QToolButton>
#include <QtTest>
#include <memory>
#include <qcustomplot.h>

using namespace migrascope;
using namespace migrascope::ui;

// The desktop's notification service as the freedesktop.org specification defines it, on a
// session bus of the test's own: there is no desktop here to answer.
class NotificationService : public QObject {
    Q_OBJECT
    Q_CLASSINFO("D-Bus Interface", "org.freedesktop.Notifications")

public:
    struct Received {
        QString summary;
        QString body;
        int urgency = -1;
    };
    QList<Received> received;

public slots:
    uint Notify(const QString& /*appName*/, uint /*replacesId*/, const QString& /*icon*/,
                const QString& summary, const QString& body, const QStringList& /*actions*/,
                const QVariantMap& hints, int /*timeout*/) {
        received.append({summary, body, hints.value("urgency", -1).toInt()});
        return static_cast<uint>(received.size());
    }
};

class TestGui : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    std::unique_ptr<MainWindow> window_;
    QProcess sessionBus_; // dbus-daemon: the session bus the window's notifications go to
    std::vector<std::unique_ptr<QAbstractItemModelTester>> modelTesters_;

    template <typename T> T* child(const char* name) const {
        return window_->findChild<T*>(QLatin1String(name));
    }
    QString shownStatus() const { return child<QLabel>("statusValue")->text(); }
    QAbstractItemModel* channelTable() const { return child<QTableView>("channelTable")->model(); }
    // The history's rows newest first, as the file lists them (the view sorts failures first).
    QAbstractItemModel* historyTable() const { return window_->historyModel(); }
    QString newestHistoryStatus() const {
        return historyTable()->index(0, HistoryModel::Result).data().toString();
    }

    // A small, quick migration; the tests change what they need on top of it.
    void fillForm(int ramMiB, int dirtyMiBs, int channels, int maxBandwidthMiBs) {
        child<QSpinBox>("ramSize")->setValue(ramMiB);
        child<QSpinBox>("dirtyRate")->setValue(dirtyMiBs);
        child<QSpinBox>("multifdChannels")->setValue(channels);
        child<QSpinBox>("maxBandwidth")->setValue(maxBandwidthMiBs);
        child<QCheckBox>("tlsEnabled")->setChecked(true);
    }

    // An operator's laptop: 1024x768. The window's smallest layout must fit it, or its right
    // side (progress, integrity, the channel table's last columns) is cut off.
    void verifyTheWindowFitsA1024By768Screen() {
        const QSize smallest = window_->minimumSizeHint().expandedTo(window_->minimumSize());
        QString wide;
        for (const QWidget* widget : window_->findChildren<QWidget*>())
            if (widget->isVisibleTo(window_.get()) && widget->minimumSizeHint().width() > 600)
                wide += QStringLiteral(" %1(%2)")
                            .arg(widget->metaObject()->className())
                            .arg(widget->minimumSizeHint().width());
        QVERIFY2(smallest.width() <= 1024,
                 qPrintable(QString("%1 px wide; widest:%2").arg(smallest.width()).arg(wide)));
        QVERIFY2(smallest.height() <= 740,
                 qPrintable(QString("%1 px tall").arg(smallest.height())));
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        // Before the window exists: it generates the default PKI under XDG_CONFIG_HOME.
        qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());
        qputenv("XDG_DATA_HOME", (dir_.path() + "/data").toUtf8());
        // A session bus of our own, before anything asks Qt for the session bus.
        sessionBus_.start("dbus-daemon", {"--session", "--nofork", "--print-address=1"});
        if (sessionBus_.waitForStarted(5000) && sessionBus_.waitForReadyRead(5000))
            qputenv("DBUS_SESSION_BUS_ADDRESS", sessionBus_.readLine().trimmed());
        else
            qunsetenv("DBUS_SESSION_BUS_ADDRESS");

        WindowOptions options;
        options.historyPath = (dir_.path() + "/history.sqlite").toStdString();
        window_ = std::make_unique<MainWindow>(options);
        window_->show();
        QVERIFY(QTest::qWaitForWindowExposed(window_.get()));

        for (QAbstractItemModel* model : std::initializer_list<QAbstractItemModel*>{
                 window_->channelTableModel(), window_->eventLogModel(), window_->historyModel(),
                 window_->returnPathModel()})
            modelTesters_.push_back(std::make_unique<QAbstractItemModelTester>(
                model, QAbstractItemModelTester::FailureReportingMode::QtTest));

        for (const char* name : {"ramSize", "dirtyRate", "multifdChannels", "maxBandwidth"})
            QVERIFY2(child<QSpinBox>(name), name);
        QVERIFY(child<QCheckBox>("tlsEnabled"));
        QVERIFY(child<QLineEdit>("credsDir"));
        QVERIFY(child<QPushButton>("startButton"));
        QVERIFY(child<QPushButton>("cancelButton"));
        QVERIFY(child<QLabel>("statusValue"));
        QVERIFY(child<QProgressBar>("progressBar"));
        QVERIFY(child<QTableView>("channelTable"));
        QVERIFY(child<QTableView>("historyTable"));
    }

    void cleanupTestCase() {
        modelTesters_.clear();
        window_.reset();
        sessionBus_.kill();
        sessionBus_.waitForFinished(5000);
    }

    void windowShowsTitleAndHistoryPath() {
        QCOMPARE(window_->windowTitle(), QStringLiteral("Migrascope"));
        const auto* path = child<QLabel>("historyPathLabel");
        QVERIFY(path);
        QVERIFY2(path->text().contains(dir_.path() + "/history.sqlite"), qPrintable(path->text()));
        QCOMPARE(QString::fromStdString(window_->historyPath()), dir_.path() + "/history.sqlite");
    }

    void launchFormDefaultsAndConfig() {
        LaunchForm* form = window_->launchForm();
        QCOMPARE(child<QSpinBox>("ramSize")->value(), 512);
        QCOMPARE(child<QSpinBox>("dirtyRate")->value(), 64);
        QCOMPARE(child<QSpinBox>("multifdChannels")->value(), 4);
        QVERIFY(child<QCheckBox>("tlsEnabled")->isChecked());
        QCOMPARE(child<QSpinBox>("downtimeLimit")->value(), 300);
        QCOMPARE(child<QSpinBox>("maxBandwidth")->value(), 0);
        QCOMPARE(child<QLineEdit>("tlsPriority")->text(), QStringLiteral("NORMAL"));
        // The default credentials were generated in the isolated config directory.
        const QString creds = child<QLineEdit>("credsDir")->text();
        QVERIFY2(creds.startsWith(dir_.path() + "/config/"), qPrintable(creds));
        QVERIFY2(QFile::exists(creds + "/ca-cert.pem"), qPrintable(creds));

        child<QSpinBox>("ramSize")->setValue(1024);
        child<QSpinBox>("dirtyRate")->setValue(0);
        child<QSpinBox>("multifdChannels")->setValue(3);
        child<QSpinBox>("downtimeLimit")->setValue(120);
        child<QSpinBox>("maxBandwidth")->setValue(10);
        child<QCheckBox>("tlsEnabled")->setChecked(false);
        const MigrationConfig config = form->config();
        QCOMPARE(config.guest.ramSize, 1024ull << 20);
        QCOMPARE(config.guest.dirtyRate, 0ull);
        QCOMPARE(config.multifdChannels, 3u);
        QCOMPARE(config.downtimeLimitMs, 120ull);
        QCOMPARE(config.maxBandwidth, 10ull << 20);
        QVERIFY(!config.tls.enabled);
        QCOMPARE(QString::fromStdString(config.tls.credsDir), creds);
        QVERIFY(!child<QLineEdit>("credsDir")->isEnabled()); // TLS off: nothing to configure
        child<QCheckBox>("tlsEnabled")->setChecked(true);
        QVERIFY(child<QLineEdit>("credsDir")->isEnabled());

        form->setRunning(true);
        QVERIFY(!child<QPushButton>("startButton")->isEnabled());
        QVERIFY(child<QPushButton>("cancelButton")->isEnabled());
        QVERIFY(!child<QSpinBox>("ramSize")->isEnabled());
        QVERIFY(!child<QLineEdit>("credsDir")->isEnabled());
        form->setRunning(false);
        QVERIFY(child<QPushButton>("startButton")->isEnabled());
        QVERIFY(!child<QPushButton>("cancelButton")->isEnabled());
        QVERIFY(child<QSpinBox>("ramSize")->isEnabled());
    }

    void theWindowFitsA1024By768Screen() { verifyTheWindowFitsA1024By768Screen(); }

    void tlsRunCompletesAndIsShownEverywhere() {
        fillForm(64, 16, 2, 0);
        QVERIFY(window_->historyModel()->reload());
        const int historyRowsBefore = historyTable()->rowCount();
        QSignalSpy finished(window_->runController(), &RunController::runFinished);

        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QVERIFY(window_->runController()->isRunning());
        QVERIFY(!child<QPushButton>("startButton")->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(shownStatus() == QLatin1String("completed"), 120000);
        // The engine reports `completed` a moment before it has written the history row.
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QCOMPARE(finished.at(0).at(0).value<MigrationStatus>(), MigrationStatus::Completed);
        QVERIFY(child<QPushButton>("startButton")->isEnabled());
        QVERIFY(!child<QLabel>("errorValue")->isVisible());

        // Filled in, the figures and the legend still leave the window on a small screen.
        verifyTheWindowFitsA1024By768Screen();
        ThroughputPlot* plot = window_->throughputPlot();
        // The live plot has the phase bands a recorded run has, in the order they came.
        const QStringList phases = plot->phaseNames();
        QVERIFY2(phases.size() >= 3 && phases[0] == "setup" && phases[1] == "bulk copy" &&
                     phases.last().startsWith("switchover"),
                 qPrintable(phases.join(", ")));
        // Their names never write over each other, however short a phase was.
        plot->plot()->replot();
        const auto labels = plot->shownPhaseLabels();
        QVERIFY(!labels.isEmpty());
        for (int a = 0; a < labels.size(); ++a)
            for (int b = a + 1; b < labels.size(); ++b)
                QVERIFY2(!labels[a].second.intersects(labels[b].second),
                         qPrintable(labels[a].first + " over " + labels[b].first));
        QCOMPARE(plot->graphCount(), 4);
        for (const char* channel : {"main", "multifd-0", "multifd-1", "total"}) {
            const int points = plot->pointCount(QLatin1String(channel));
            QVERIFY2(points > 0,
                     qPrintable(QStringLiteral("%1: %2 points").arg(channel).arg(points)));
        }

        QAbstractItemModel* channels = channelTable();
        QCOMPARE(channels->rowCount(), 3);
        for (int row = 0; row < channels->rowCount(); ++row) {
            const QString id = channels->index(row, ChannelTableModel::Channel).data().toString();
            QCOMPARE(channels->index(row, ChannelTableModel::TlsVersion).data().toString(),
                     QStringLiteral("TLS1.3"));
            QVERIFY2(
                !channels->index(row, ChannelTableModel::TlsCipher).data().toString().isEmpty(),
                qPrintable(id));
            // Every session ended with close_notify, and the TLS panel says so.
            QCOMPARE(channels->index(row, ChannelTableModel::Termination).data().toString(),
                     QStringLiteral("clean"));
            const bool main = id == QLatin1String("main");
            QCOMPARE(channels->index(row, ChannelTableModel::Direction).data().toString(),
                     main ? QStringLiteral("both ways") : QStringLiteral("one way"));
            QCOMPARE(channels->index(row, ChannelTableModel::Protection).data().toString(),
                     main ? QStringLiteral("session lock") : QStringLiteral("none"));
            // Beside our count, the kernel's: the socket's acked bytes and its RTT.
            QVERIFY2(channels->index(row, ChannelTableModel::KernelAcked).data().toString() !=
                         QStringLiteral("–"),
                     qPrintable(id));
            QVERIFY(channels->index(row, ChannelTableModel::KernelRtt)
                        .data()
                        .toString()
                        .endsWith(" ms"));
        }
        QCOMPARE(channels->index(0, ChannelTableModel::Channel).data().toString(),
                 QStringLiteral("main"));

        QVERIFY(window_->eventLogModel()->rowCount() > 0);

        QCOMPARE(historyTable()->rowCount(), historyRowsBefore + 1);
        QCOMPARE(newestHistoryStatus(), QStringLiteral("completed"));
        QCOMPARE(historyTable()->index(0, 0).data(HistoryModel::RunIdRole).toLongLong(),
                 window_->runController()->lastHistoryId());

        QCOMPARE(child<QProgressBar>("progressBar")->value(), 100);
        QCOMPARE(child<QLabel>("integrityValue")->text(), QStringLiteral("verified"));
    }

    void cancelledRunEndsCancelled() {
        fillForm(256, 16, 2, 8);
        QVERIFY(window_->historyModel()->reload());
        const int historyRowsBefore = historyTable()->rowCount();
        QSignalSpy finished(window_->runController(), &RunController::runFinished);

        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        // The previous run's graphs are gone: the plot shows this run only.
        QCOMPARE(window_->throughputPlot()->graphCount(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(shownStatus() == QLatin1String("active"), 60000);
        QVERIFY(child<QPushButton>("cancelButton")->isEnabled());
        QVERIFY(!child<QPushButton>("startButton")->isEnabled());

        QTest::mouseClick(child<QPushButton>("cancelButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(shownStatus() == QLatin1String("cancelled"), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(child<QPushButton>("startButton")->isEnabled(), 30000);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.at(0).at(0).value<MigrationStatus>(), MigrationStatus::Cancelled);
        QVERIFY(!child<QPushButton>("cancelButton")->isEnabled());
        // The bar says the run was cancelled, not a percentage that reads as partly done.
        QCOMPARE(child<QProgressBar>("progressBar")->text(), QStringLiteral("cancelled"));
        QCOMPARE(child<QProgressBar>("progressBar")->value(), 0);

        QCOMPARE(historyTable()->rowCount(), historyRowsBefore + 1);
        QCOMPARE(newestHistoryStatus(), QStringLiteral("cancelled"));
    }

    // A trainer steps through the phases with the keyboard: F9 turns stepping on before the
    // start, the phase line says where the run is held and how to go on, F8 goes on, and
    // turning stepping off lets the run finish by itself.
    void aTrainerStepsThroughThePhases() {
        fillForm(64, 0, 2, 0);
        auto* stepping = window_->findChild<QAction*>("steppingAction");
        auto* goOn = window_->findChild<QAction*>("continueAction");
        QVERIFY(stepping && goOn);
        stepping->trigger();
        QVERIFY(stepping->isChecked());
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        const auto phaseShown = [this] { return child<QLabel>("phaseValue")->text(); };
        QTRY_COMPARE_WITH_TIMEOUT(phaseShown(),
                                  QStringLiteral("held at setup: Continue (F8) goes on"), 60000);
        QCOMPARE(shownStatus(), QStringLiteral("setup"));
        goOn->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(
            phaseShown(), QStringLiteral("held at bulk copy: Continue (F8) goes on"), 60000);
        QCOMPARE(shownStatus(), QStringLiteral("active"));
        goOn->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(
            phaseShown() == QStringLiteral("held at switchover: Continue (F8) goes on") ||
                phaseShown().startsWith("held at dirty sync"),
            60000);
        stepping->trigger(); // off: the rest runs by itself
        QVERIFY(!stepping->isChecked());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(shownStatus(), QStringLiteral("completed"));
        QVERIFY(!window_->runController()->stepping());
    }

    // QEMU lets an operator change max-bandwidth and downtime-limit mid-migration: the form
    // keeps those two editable while our run is in flight (and nothing else), Apply sends
    // them, the log says what changed, and the run, freed from its 8 MiB/s cap, completes.
    void liveParametersChangeTheRunningMigration() {
        fillForm(256, 0, 2, 4);
        child<QSpinBox>("downtimeLimit")->setValue(300);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(shownStatus() == QLatin1String("active"), 60000);
        QVERIFY(child<QSpinBox>("maxBandwidth")->isEnabled());
        QVERIFY(child<QSpinBox>("downtimeLimit")->isEnabled());
        QVERIFY(!child<QSpinBox>("ramSize")->isEnabled());
        QVERIFY(child<QPushButton>("applyLiveButton")->isEnabled());

        child<QSpinBox>("maxBandwidth")->setValue(0); // unlimited
        child<QSpinBox>("downtimeLimit")->setValue(500);
        QTest::mouseClick(child<QPushButton>("applyLiveButton"), Qt::LeftButton);
        QVERIFY2(window_->statusBar()->currentMessage().contains("applied"),
                 qPrintable(window_->statusBar()->currentMessage()));
        const auto logged = [this] {
            const EventLogModel* log = window_->eventLogModel();
            for (int row = 0; row < log->rowCount(); ++row)
                if (log->rowAt(row).text ==
                    "migrate-set-parameters: max-bandwidth 4.0 MiB/s -> unlimited, "
                    "downtime-limit 300 -> 500 ms")
                    return true;
            return false;
        };
        const auto seen = [this] {
            QString texts;
            for (int row = 0; row < window_->eventLogModel()->rowCount(); ++row)
                texts += QString::fromStdString(window_->eventLogModel()->rowAt(row).text) + '\n';
            return texts;
        };
        (void)QTest::qWaitFor(logged, 5000);
        QVERIFY2(logged(), qPrintable(seen()));
        // 256 MiB at 4 MiB/s would take over a minute; unlimited, a second or two.
        QTRY_VERIFY_WITH_TIMEOUT(shownStatus() == QLatin1String("completed"), 30000);
        QTRY_VERIFY_WITH_TIMEOUT(child<QPushButton>("startButton")->isEnabled(), 30000);
        QVERIFY(!child<QPushButton>("applyLiveButton")->isEnabled());
        // The 256 MiB the form asked for, and QEMU's 8 MiB of video RAM beside it, not "264".
        QVERIFY2(
            child<QLabel>("transferredValue")->text().endsWith("(RAM 256.0 MiB + 8.0 MiB video)"),
            qPrintable(child<QLabel>("transferredValue")->text()));
        QCOMPARE(window_->runController()->lastSnapshot().stats.downtimeLimitMs, 500ull);
    }

    // The trainer's view of the legacy multifd TLS termination (sources before QEMU 9.1 sent
    // no close_notify): a legacy source fails against a strict destination, the TLS panel
    // shows which channel ended prematurely, and the compat setting lets it pass.
    void legacySourceIsShownAndCanBeTolerated() {
        fillForm(64, 8, 2, 0);
        child<QCheckBox>("legacySource")->setChecked(true);
        QVERIFY(child<QCheckBox>("cleanTlsTermination")->isChecked());
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QCOMPARE(shownStatus(), QStringLiteral("failed"));
        QVERIFY2(child<QLabel>("errorValue")->text().contains("non-properly terminated"),
                 qPrintable(child<QLabel>("errorValue")->text()));
        // Not "failed at 99 %": a failed run moved nothing, and nothing is left "remaining".
        QCOMPARE(child<QProgressBar>("progressBar")->text(), QStringLiteral("failed"));
        QCOMPARE(child<QProgressBar>("progressBar")->value(), 0);
        QCOMPARE(child<QLabel>("remainingValue")->text(), QStringLiteral("–"));
        QAbstractItemModel* channels = channelTable();
        bool prematureShown = false;
        for (int row = 0; row < channels->rowCount(); ++row)
            prematureShown =
                prematureShown ||
                channels->index(row, ChannelTableModel::Termination).data().toString() ==
                    QLatin1String(describe(Termination::Premature));
        QVERIFY(prematureShown);

        child<QCheckBox>("cleanTlsTermination")->setChecked(false);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 120000);
        // Tolerated, not healthy: the run says what the compatibility setting let through.
        QCOMPARE(shownStatus(), QStringLiteral("completed with warnings"));
        QVERIFY2(child<QLabel>("errorValue")->text().contains("tolerated after the last packet"),
                 qPrintable(child<QLabel>("errorValue")->text()));
        QCOMPARE(newestHistoryStatus(), QStringLiteral("completed with warnings"));
        for (int row = 1; row < channels->rowCount(); ++row)
            QCOMPARE(channels->index(row, ChannelTableModel::Termination).data().toString(),
                     QString::fromLatin1(describe(Termination::Premature)));
        child<QCheckBox>("legacySource")->setChecked(false);
        child<QCheckBox>("cleanTlsTermination")->setChecked(true);
    }

    // An operator's postcopy with an outage: switch by hand, cut the network, watch both
    // sides pause, recover the destination, resume the source, and read the return path.
    void postcopyOutageIsDrivenFromTheWindow() {
        fillForm(96, 16, 2, 12);
        auto* startPostcopy = child<QPushButton>("startPostcopyButton");
        auto* cut = child<QPushButton>("cutNetworkButton");
        auto* recover = child<QPushButton>("recoverButton");
        auto* resume = child<QPushButton>("resumeButton");
        QVERIFY(startPostcopy && cut && recover && resume && child<QPushButton>("pauseButton"));
        child<QCheckBox>("postcopyRam")->setChecked(true);
        QVERIFY(!child<QCheckBox>("autoRecover")->isChecked());
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);

        QTRY_VERIFY_WITH_TIMEOUT(startPostcopy->isEnabled(), 60000);
        QTest::mouseClick(startPostcopy, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(shownStatus() == QLatin1String("postcopy-active"), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(cut->isEnabled(), 10000);
        QVERIFY(!startPostcopy->isEnabled());
        QTest::mouseClick(cut, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(recover->isEnabled() && resume->isEnabled(), 60000);
        QCOMPARE(shownStatus(), QStringLiteral("postcopy-paused"));
        QVERIFY(child<QLabel>("destinationState")->text().contains("postcopy-paused"));
        QSignalSpy messages(window_->statusBar(), &QStatusBar::messageChanged);
        const auto said = [&](const QString& words) {
            for (const auto& message : messages)
                if (message[0].toString().contains(words))
                    return true;
            return false;
        };
        // Resume before the destination is armed: the source takes the request, and the
        // window waits for the destination's answer instead of saying "accepted".
        QTest::mouseClick(resume, Qt::LeftButton);
        QVERIFY(window_->statusBar()->currentMessage().contains("waiting for the destination"));
        QTRY_VERIFY_WITH_TIMEOUT(said("Resume failed"), 60000);
        QVERIFY(!said("accepted"));
        QTRY_VERIFY_WITH_TIMEOUT(resume->isEnabled(), 60000);
        QTest::mouseClick(recover, Qt::LeftButton);
        QTest::mouseClick(resume, Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 180000);
        QVERIFY(said("Resume: the destination accepted it"));
        QCOMPARE(shownStatus(), QStringLiteral("completed"));
        QVERIFY2(child<QLabel>("recoveries")->text().contains("recoveries 1"),
                 qPrintable(child<QLabel>("recoveries")->text()));
        QVERIFY(child<QLabel>("pageRequests")->text().contains("latency median"));

        ReturnPathModel* log = window_->returnPathModel();
        QStringList types;
        for (int row = 0; row < log->rowCount(); ++row)
            types << log->index(row, ReturnPathModel::Type).data().toString();
        QVERIFY2(types.contains("RECV_BITMAP") && types.contains("RESUME_ACK") &&
                     types.contains("REQ_PAGES_ID"),
                 qPrintable(types.join(' ')));
        QCOMPARE(types.last(), QStringLiteral("SHUT"));
        // The messages say which connection carried them: the refused resume was the second,
        // the accepted one the third.
        QCOMPARE(log->index(log->rowCount() - 1, ReturnPathModel::Connection).data().toInt(), 3);
        child<QCheckBox>("postcopyRam")->setChecked(false);
    }

    // Devices from the form: their diagrams show where each side ended, the log every arc.
    void devicesAreShownWithTheirTransitions() {
        fillForm(64, 8, 2, 0);
        // Device state counts against the downtime limit: under a sanitizer's slow links
        // 300 ms may never hold it, and precopy would iterate on. These tests are about the
        // devices' arcs, so the limit is generous.
        child<QSpinBox>("downtimeLimit")->setValue(2000);
        child<QSpinBox>("nicDevices")->setValue(1);
        child<QSpinBox>("accelDevices")->setValue(1);
        child<QSpinBox>("accelStateSize")->setValue(4);
        QVERIFY(!child<QCheckBox>("legacyVfioResume")->isChecked());
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QCOMPARE(shownStatus(), QStringLiteral("completed"));
        DevicePanel* panel = window_->devicePanel();
        QCOMPARE(panel->diagrams().size(), std::size_t{2});
        QVERIFY(panel->diagrams()[1]->sourceState() == vfio::DeviceState::Stop);
        QVERIFY(panel->diagrams()[1]->destinationState() == vfio::DeviceState::Running);
        // The source leaves STOP_COPY after the verdict, last of all.
        QVERIFY(panel->diagrams()[1]->lastArc());
        QCOMPARE(arcText(*panel->diagrams()[1]->lastArc()), std::string("STOP_COPY -> STOP"));
        QAbstractItemModel* log = panel->transitionModel();
        QStringList arcs;
        for (int row = 0; row < log->rowCount(); ++row)
            if (log->index(row, DeviceTransitionModel::Device).data().toString() == "accel0" &&
                log->index(row, DeviceTransitionModel::Side).data().toString() == "dst")
                arcs << log->index(row, DeviceTransitionModel::From).data().toString() + ">" +
                            log->index(row, DeviceTransitionModel::To).data().toString();
        QCOMPARE(arcs.join(' '), QStringLiteral("RUNNING>STOP STOP>RESUMING RESUMING>STOP "
                                                "STOP>RUNNING"));
        child<QSpinBox>("nicDevices")->setValue(0);
        child<QSpinBox>("accelDevices")->setValue(0);
    }

    // The trainer's view of QEMU's VFIO destination that started the guest after a failed
    // load: a corrupted device fails the migration with the fix, and passes unnoticed with the
    // legacy resume.
    void corruptedDeviceFailsUnlessTheLegacyResumeHidesIt() {
        fillForm(64, 8, 2, 0);
        child<QSpinBox>("downtimeLimit")->setValue(2000);
        child<QSpinBox>("accelDevices")->setValue(1);
        child<QSpinBox>("accelStateSize")->setValue(4);
        auto* faults = child<QLineEdit>("faults");
        faults->setText("vfio-corrupt=nic5");
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QVERIFY(window_->statusBar()->currentMessage().contains("no device named 'nic5'"));
        QVERIFY(!window_->runController()->isRunning());

        faults->setText("vfio-corrupt=accel0");
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QCOMPARE(shownStatus(), QStringLiteral("failed"));
        QVERIFY2(child<QLabel>("errorValue")->text().contains("RESUMING -> STOP"),
                 qPrintable(child<QLabel>("errorValue")->text()));
        QVERIFY(window_->devicePanel()->diagrams()[0]->sourceState() == vfio::DeviceState::Running);
        // The arc that failed is marked where it failed, not hidden behind the source's rollback.
        const DeviceStateDiagram* live = window_->devicePanel()->diagrams()[0];
        QVERIFY(live->failedArc().has_value());
        QVERIFY(!live->failedArc()->ok && live->failedArc()->side == Side::Destination);
        QVERIFY(live->failedArc()->from == vfio::DeviceState::Resuming &&
                live->failedArc()->to == vfio::DeviceState::Stop);
        // The device failed, not a channel: none of them is shown as a failure.
        for (const ChannelSnapshot& channel : window_->runController()->lastSnapshot().channels)
            QVERIFY2(!isFailure(channel.termination),
                     (channel.id + ": " + toString(channel.termination)).c_str());

        child<QCheckBox>("legacyVfioResume")->setChecked(true);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 120000);
        QCOMPARE(shownStatus(), QStringLiteral("completed with warnings"));
        QVERIFY2(child<QLabel>("errorValue")->text().contains("legacy VFIO resume"),
                 qPrintable(child<QLabel>("errorValue")->text()));
        QCOMPARE(newestHistoryStatus(), QStringLiteral("completed with warnings"));
        QVERIFY(
            window_->statusBar()->currentMessage().startsWith("Migration completed with warnings"));

        // A support engineer opens the failed run from the history: cause, events and the
        // device's failed arc are there.
        QVERIFY(window_->historyBrowser()->selectRun(
            historyTable()->index(1, 0).data(HistoryModel::RunIdRole).toLongLong()));
        RunDetails* details = window_->runDetails();
        const QString summary =
            QTextDocumentFragment::fromHtml(child<QLabel>("runSummary")->text()).toPlainText();
        QVERIFY2(summary.contains("RESUMING -> STOP"), qPrintable(summary));
        QVERIFY(details->events()->rowCount() > 0);
        QAbstractItemModel* arcs = details->transitions();
        bool failedArc = false;
        for (int row = 0; row < arcs->rowCount(); ++row)
            failedArc =
                failedArc ||
                (arcs->index(row, DeviceTransitionModel::Result).data().toString() == "failed" &&
                 arcs->index(row, DeviceTransitionModel::From).data().toString() == "RESUMING");
        QVERIFY(failedArc);
        QVERIFY(details->returnPath()->rowCount() > 0);
        // Replayed to its first failure: the failed arc is the row shown, and the device's
        // diagram stands where the arc failed.
        details->jumpToFirstFailure();
        const QModelIndex arcShown = details->devices()->transitionTable()->currentIndex();
        QVERIFY(arcShown.isValid());
        QCOMPARE(arcShown.siblingAtColumn(DeviceTransitionModel::Result).data().toString(),
                 QStringLiteral("failed"));
        QCOMPARE(arcShown.siblingAtColumn(DeviceTransitionModel::From).data().toString(),
                 QStringLiteral("RESUMING"));
        const DeviceStateDiagram* diagram = details->devices()->diagrams().at(0);
        QVERIFY(diagram->destinationState() == vfio::DeviceState::Resuming);
        QVERIFY(diagram->lastArc().has_value() && !diagram->lastArc()->ok);
        child<QCheckBox>("legacyVfioResume")->setChecked(false);
        child<QSpinBox>("accelDevices")->setValue(0);
        child<QSpinBox>("downtimeLimit")->setValue(300);
        faults->clear();
    }

    // A support engineer finds a failed run, runs it again from its recorded settings, hands it
    // over (export, report) and cleans up.
    void aFailedRunIsFoundRunAgainHandedOverAndDeleted() {
        // A healthy run, then the same one with a channel cut.
        fillForm(64, 0, 2, 0);
        child<QLineEdit>("faults")->clear();
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        const qint64 previousId = window_->runController()->lastHistoryId();
        child<QLineEdit>("faults")->setText("cut-channel=multifd-0@8M");
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 120000);
        QCOMPARE(shownStatus(), QStringLiteral("failed"));
        const qint64 failedId = window_->runController()->lastHistoryId();
        const std::string recorded =
            window_->historyModel()->runAt(window_->historyModel()->rowOfRun(failedId)).config;
        // Another run changes the form; "Run again" brings the failed run's settings back.
        fillForm(128, 4, 3, 0);
        child<QLineEdit>("faults")->clear();

        HistoryBrowser* browser = window_->historyBrowser();
        QComboBox* result = browser->resultBox();
        result->setCurrentIndex(result->findText("failed"));
        browser->searchField()->setText("cut-channel=multifd-0@8M");
        browser->applyFilter();
        QVERIFY(browser->selectRun(failedId));
        QVERIFY(browser->filterModel()
                    ->index(0, HistoryModel::Diagnosis)
                    .data()
                    .toString()
                    .startsWith("During bulk copy, an injected fault fired at the source: "
                                "cut-channel=multifd-0@8M"));
        // Replay: jump to the first failure; the page shows that moment.
        RunDetails* details = window_->runDetails();
        // The plot marks the phases the run went through: it failed in bulk copy.
        QCOMPARE(details->plot()->phaseNames(), QStringList({"setup", "bulk copy"}));
        QVERIFY(details->firstFailureMs().has_value());
        details->jumpToFirstFailure();
        QCOMPARE(details->replayMoment(), *details->firstFailureMs());
        const QModelIndex shownEvent = child<QTableView>("runEvents")->currentIndex();
        QVERIFY(shownEvent.isValid());
        QVERIFY2(shownEvent.siblingAtColumn(EventLogModel::Text)
                     .data()
                     .toString()
                     .startsWith("fault injected: cut-channel=multifd-0@8M"),
                 qPrintable(shownEvent.siblingAtColumn(EventLogModel::Text).data().toString()));
        ChannelTableModel* channels = details->channels();
        int multifd0 = -1;
        for (int row = 0; row < channels->rowCount(); ++row)
            if (channels->index(row, ChannelTableModel::Channel).data().toString() == "multifd-0")
                multifd0 = row;
        QVERIFY(multifd0 >= 0);
        // Before the end, the cut channel is still open in the replay; at the end it failed.
        QCOMPARE(channels->index(multifd0, ChannelTableModel::State).data().toString(),
                 QStringLiteral("open"));
        details->replayTo(details->runLengthMs());
        QVERIFY(channels->index(multifd0, ChannelTableModel::State).data().toString() != "open");
        details->replayTo(0);
        details->play(10);
        QTRY_VERIFY(details->replayMoment() > 0);
        details->play(0);

        // Side by side with the healthy run: the differing settings lead.
        RunComparison* comparison = browser->compareRuns(previousId, failedId);
        QTableWidget* figures = comparison->figures();
        QCOMPARE(figures->item(0, 0)->text(), QStringLiteral("Result"));
        QCOMPARE(figures->item(0, 1)->text(), QStringLiteral("completed"));
        QCOMPARE(figures->item(0, 2)->text(), QStringLiteral("failed"));
        QVERIFY(figures->item(1, 2)->text().startsWith("During bulk copy"));
        QTableWidget* settings = comparison->configuration();
        bool injectDiffers = false;
        for (int row = 0; row < settings->rowCount(); ++row)
            if (settings->item(row, 0)->text() == "inject")
                injectDiffers = settings->item(row, 2)->text() == "cut-channel=multifd-0@8M" &&
                                settings->item(row, 1)->text() == "(not set)";
        QVERIFY(injectDiffers);
        QCOMPARE(comparison->plot()->graphCount(), 2); // each run's total
        comparison->close();

        browser->runSelectedAgain();
        const auto withoutUuid = [](const std::string& text) {
            return text.substr(text.find('\n'));
        };
        QCOMPARE(withoutUuid(describe(window_->launchForm()->config())), withoutUuid(recorded));
        QCOMPARE(child<QLineEdit>("faults")->text(), QStringLiteral("cut-channel=multifd-0@8M"));

        const QString exported = dir_.filePath("failed-run.sqlite");
        QVERIFY(browser->exportRuns({failedId}, exported));
        QVERIFY(QFile::exists(exported));
        QVERIFY(browser->importRuns(exported)); // the same history: nothing copied twice
        QVERIFY2(window_->statusBar()->currentMessage().contains("1 were already here"),
                 qPrintable(window_->statusBar()->currentMessage()));
        const QString report = dir_.filePath("failed-run.html");
        QVERIFY(browser->saveReport(failedId, report));
        QFile page(report);
        QVERIFY(page.open(QIODevice::ReadOnly));
        QVERIFY(page.readAll().contains("cut-channel=multifd-0@8M"));

        const int runsBefore = window_->historyModel()->rowCount();
        QVERIFY(browser->deleteRuns({failedId}));
        QCOMPARE(window_->historyModel()->rowCount(), runsBefore - 1);
        QCOMPARE(window_->historyModel()->rowOfRun(failedId), -1);
        // It can come back from the export.
        QVERIFY(browser->importRuns(exported));
        QCOMPARE(window_->historyModel()->rowCount(), runsBefore);
        result->setCurrentIndex(0);
        browser->searchField()->clear();
        browser->applyFilter();
        child<QLineEdit>("faults")->clear();
    }

    // Sixteen multifd channels and main: seventeen lines an operator can tell apart, none of
    // them in the colour that means failure.
    void seventeenChannelsGetSeventeenDistinctLines() {
        ThroughputPlot plot;
        std::vector<ChannelSample> samples{{100, "main", 1e6, 1}};
        for (int channel = 0; channel < 16; ++channel)
            samples.push_back({100, "multifd-" + std::to_string(channel), 1e6, 1});
        plot.appendSamples(samples);
        QCOMPARE(plot.graphCount(), 17);
        QSet<QString> looks;
        for (int graph = 0; graph < plot.plot()->graphCount(); ++graph) {
            const QPen pen = plot.plot()->graph(graph)->pen();
            QVERIFY(pen.color() != theme::failure());
            looks.insert(pen.color().name() + QString::number(pen.style()));
        }
        QCOMPARE(looks.size(), 17);
    }

    // A live run's samples come ten times a second, as half-second averages: the plot redraws
    // at most twice a second (the window's thread is the dashboard's cost), and still draws
    // the last samples once they stop coming.
    void liveSamplesRedrawThePlotAtMostTwiceASecond() {
        ThroughputPlot plot;
        plot.setRefreshInterval(500);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        QTest::qWait(600);
        QSignalSpy replots(plot.plot(), &QCustomPlot::afterReplot);
        QElapsedTimer clock;
        clock.start();
        int beforeLastSample = 0;
        for (int batch = 0; batch < 20; ++batch) {
            if (batch > 0)
                QTest::qWait(50);
            beforeLastSample = static_cast<int>(replots.count());
            plot.appendSamples({{100.0 * (batch + 1), "main", 1e6 * (batch + 1), 1}});
        }
        const double fed = static_cast<double>(clock.elapsed()) / 1000;
        QVERIFY2(beforeLastSample <= 1 + static_cast<int>(fed * 2),
                 qPrintable(QStringLiteral("%1 replots in %2 s").arg(beforeLastSample).arg(fed)));
        // The last samples are drawn without more coming.
        QTRY_VERIFY_WITH_TIMEOUT(replots.count() > beforeLastSample, 1000);
        QTest::qWait(600);
        const int settled = static_cast<int>(replots.count());
        QTest::qWait(600);
        QCOMPARE(replots.count(), settled); // no redraws without new data
    }

    // The live figures change four times a second; only the dashboard under them is painted
    // again, not the tab frame and the window behind it (which cost the window's thread more
    // than the figures themselves).
    void aChangingFigureRepaintsOnlyTheDashboard() {
        auto* tabs = window_->findChild<QTabWidget*>();
        auto* figure = child<QLabel>("mbpsValue");
        QVERIFY(tabs && figure);
        tabs->setCurrentIndex(0);
        QWidget* page = tabs->currentWidget();
        QTest::qWait(300);
        struct PaintWatcher : QObject {
            QRegion painted;
            bool eventFilter(QObject*, QEvent* event) override {
                if (event->type() == QEvent::Paint)
                    painted += static_cast<QPaintEvent*>(event)->region();
                return false;
            }
        } watcher;
        tabs->installEventFilter(&watcher);
        for (int change = 0; change < 8; ++change) {
            figure->setText(QStringLiteral("%1 MiB/s").arg(100 + change * 37));
            QTest::qWait(30);
        }
        tabs->removeEventFilter(&watcher);
        QTRY_VERIFY(figure->isVisible());
        const QRect pageInTabs(page->mapTo(tabs, QPoint(0, 0)), page->size());
        QVERIFY2(!watcher.painted.intersects(pageInTabs),
                 qPrintable(QStringLiteral("the tab widget painted %1 px under the dashboard")
                                .arg((watcher.painted & pageInTabs).boundingRect().width())));
    }

    // On a small screen the form folds away with the button by the tabs, giving the
    // dashboard its width, and comes back with the same button; a restart keeps the choice.
    void theLaunchFormFoldsAwayAndComesBack() {
        auto* formArea = child<QScrollArea>("launchFormArea");
        auto* button = child<QToolButton>("showFormButton");
        QVERIFY(formArea && button);
        QVERIFY(formArea->isVisible());
        const int dashboardWidth = window_->throughputPlot()->width();
        QTest::mouseClick(button, Qt::LeftButton);
        QVERIFY(!formArea->isVisible());
        QTRY_VERIFY(window_->throughputPlot()->width() > dashboardWidth + 100);
        QVERIFY(button->isVisible());
        {
            WindowOptions options;
            options.historyPath = (dir_.path() + "/history.sqlite").toStdString();
            MainWindow again(options);
            again.show();
            QVERIFY(QTest::qWaitForWindowExposed(&again));
            QVERIFY(!again.findChild<QScrollArea*>("launchFormArea")->isVisible());
        }
        QTest::mouseClick(button, Qt::LeftButton);
        QVERIFY(formArea->isVisible());
        QTRY_COMPARE(window_->throughputPlot()->width(), dashboardWidth);
    }

    // An operator who looked away hears of the end from the desktop (the run's diagnosis,
    // critical when it failed); one watching the window is not interrupted.
    void aRunEndingWhileTheOperatorLooksAwayIsNotified() {
        const QByteArray address = qgetenv("DBUS_SESSION_BUS_ADDRESS");
        if (address.isEmpty())
            QSKIP("dbus-daemon could not start a session bus");
        QDBusConnection server = QDBusConnection::connectToBus(QString(address), "desktop");
        NotificationService desktop;
        QVERIFY(server.registerObject("/org/freedesktop/Notifications", &desktop,
                                      QDBusConnection::ExportAllSlots));
        QVERIFY(server.registerService("org.freedesktop.Notifications"));
        QSignalSpy notified(window_->notifier(), &RunNotifier::notified);
        QSignalSpy finished(window_->runController(), &RunController::runFinished);

        QWidget elsewhere;
        elsewhere.show();
        elsewhere.activateWindow();
        QTRY_VERIFY(!window_->isActiveWindow());
        fillForm(64, 0, 2, 0);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QTRY_COMPARE(notified.count(), 1);
        QCOMPARE(notified.at(0).at(1).toString(), QString());
        QCOMPARE(desktop.received.size(), 1);
        QCOMPARE(desktop.received[0].summary, QStringLiteral("Migration completed"));
        QVERIFY2(desktop.received[0].body.contains("integrity verified"),
                 qPrintable(desktop.received[0].body));
        QCOMPARE(desktop.received[0].urgency, 1);

        elsewhere.hide();
        window_->activateWindow();
        QTRY_VERIFY(window_->isActiveWindow());
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        QTest::qWait(500);
        QCOMPARE(desktop.received.size(), 1);
        server.unregisterService("org.freedesktop.Notifications");
        QDBusConnection::disconnectFromBus("desktop");
    }

    // For a projector: one shortcut makes the text half as large again and the lines twice as
    // thick; the same one brings the window back as it was.
    void presentationModeIsOneShortcutAway() {
        fillForm(64, 0, 2, 0);
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        auto* status = child<QLabel>("statusValue");
        const double text = QFontInfo(status->font()).pointSizeF();
        const double line = window_->throughputPlot()->lineWidth("multifd-0");
        QVERIFY(line > 0);
        QHeaderView* rows = child<QTableView>("channelTable")->verticalHeader();
        const int row = rows->defaultSectionSize();
        const QSize smallest = window_->minimumSizeHint();
        QAction* presentation = window_->presentationAction();
        QCOMPARE(presentation->shortcut(), QKeySequence("Ctrl+Shift+P"));
        presentation->trigger();
        QTRY_VERIFY(QFontInfo(status->font()).pointSizeF() >= text * 1.4);
        QCOMPARE(window_->throughputPlot()->lineWidth("multifd-0"), 2 * line);
        // Rows grow with their text instead of cutting it in half.
        QTRY_VERIFY(rows->defaultSectionSize() > row * 1.3);
        presentation->trigger();
        QTRY_COMPARE(QFontInfo(status->font()).pointSizeF(), text);
        QCOMPARE(window_->throughputPlot()->lineWidth("multifd-0"), line);
        QTRY_COMPARE(rows->defaultSectionSize(), row);
        // Back as it was: the window fits the small screen it fitted before.
        QTRY_COMPARE(window_->minimumSizeHint(), smallest);
    }

    // The operator's layout survives a restart: the window's size and every splitter.
    void theWindowComesBackAsItWasLeft() {
        auto* form = child<QSplitter>("formSplitter");
        QVERIFY(form);
        window_->resize(1100, 760);
        QTRY_COMPARE(window_->size(), QSize(1100, 760));
        // The launch form 60 px wider than it opened.
        const QList<int> opened = form->sizes();
        form->setSizes({opened[0] + 60, opened[1] - 60});
        const QList<int> left = form->sizes();
        QCOMPARE(left[0], opened[0] + 60);
        window_->close(); // remembers the layout

        WindowOptions options;
        options.historyPath = (dir_.path() + "/history.sqlite").toStdString();
        MainWindow again(options);
        again.show();
        QVERIFY(QTest::qWaitForWindowExposed(&again));
        QCOMPARE(again.size(), QSize(1100, 760));
        QCOMPARE(again.findChild<QSplitter*>("formSplitter")->sizes(), left);
        window_->show();
    }

    void migratesToADaemonChosenInTheForm() {
        // A destination daemon on this host, as another host would run it.
        IncomingOptions options;
        options.tls.credsDir = defaultPkiDirectory();
        options.historyPath = (dir_.path() + "/daemon.sqlite").toStdString();
        IncomingDaemon daemon(options);
        daemon.start();
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&daemon] { daemon.poll(); });
        timer.start(100);

        auto* destination = child<QLineEdit>("destination");
        QVERIFY(destination);
        destination->setText("no-port-here");
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QVERIFY2(window_->statusBar()->currentMessage().contains("Destination"),
                 qPrintable(window_->statusBar()->currentMessage()));
        QVERIFY(!window_->runController()->isRunning());

        fillForm(64, 8, 2, 0);
        destination->setText("127.0.0.1:" + QString::number(daemon.port()));
        QSignalSpy finished(window_->runController(), &RunController::runFinished);
        QTest::mouseClick(child<QPushButton>("startButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QCOMPARE(shownStatus(), QStringLiteral("completed"));
        QVERIFY2(child<QLabel>("destinationState")->text().contains("completed"),
                 qPrintable(child<QLabel>("destinationState")->text()));
        QTRY_COMPARE_WITH_TIMEOUT(daemon.completed(), 1u, 10000);
        // Remembered for the next session.
        QCOMPARE(QSettings("migrascope", "migrascope").value("launch/destination").toString(),
                 destination->text());
        destination->clear();
        daemon.stop();
    }
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
