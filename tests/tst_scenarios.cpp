// The classroom's scenarios: every shipped one is complete and each of its variants ends the way
// its text tells the class it will; a trainer's own file joins the menu without a build; and the
// window stages a scenario exactly (the form holds what the scenario says).
#include "engine/api/migration_run.h"
#include "tests/test_support.h"
#include "ui/display_format.h"
#include "ui/glossary.h"
#include "ui/launch_form.h"
#include "ui/main_window.h"
#include "ui/run_status_panel.h"
#include "ui/scenario_library.h"
#include "ui/scenario_panel.h"
#include "vfio/device_state.h"

#include <QDir>
#include <QFile>
#include <QLabel>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QTextBrowser>
#include <QtTest>

using namespace migrascope;
using namespace migrascope::ui;

namespace {

// describe()'s lines without those that differ between two stagings of the same settings.
QStringList stagedSettings(const MigrationConfig& config) {
    QStringList lines = QString::fromStdString(describe(config)).split('\n', Qt::SkipEmptyParts);
    lines.removeIf([](const QString& line) {
        return line.startsWith("uuid=") || line.startsWith("tls-creds=");
    });
    return lines;
}

} // namespace

class TestScenarios : public QObject {
    Q_OBJECT

    test::Workspace workspace_;

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }

    void everyShippedScenarioIsReadyForAClass() {
        const ScenarioLibrary library = loadScenarios({":/scenarios"});
        QVERIFY2(library.problems.isEmpty(), qPrintable(library.problems.join('\n')));
        QVERIFY(library.scenarios.size() >= 6);
        QStringList staged;
        for (const Scenario& scenario : library.scenarios) {
            QVERIFY2(!scenario.explanation.isEmpty(), qPrintable(scenario.title));
            QVERIFY2(!scenario.watch.isEmpty(), qPrintable(scenario.title));
            // Known failures are named by what happened; the seeds folder is not the product.
            QVERIFY2(!scenario.html().contains("seed", Qt::CaseInsensitive),
                     qPrintable(scenario.title));
            staged << (scenario.settings + scenario.variants[0].settings).join(' ');
            for (const ScenarioVariant& variant : scenario.variants)
                staged.last() += ' ' + variant.settings.join(' ');
        }
        // The behaviours a class is shown: each staged by at least one scenario.
        for (const char* setting :
             {"inject=tls-no-bye", "tls-rekey-interval=", "inject=vfio-corrupt=",
              "vfio-explicit-resuming-stop=off", "inject=cut-main@postcopy",
              "capability=auto-converge=on", "capability=postcopy-ram=on"})
            QVERIFY2(staged.join('\n').contains(setting), setting);
    }

    void eachVariantEndsAsTheClassIsTold_data() {
        QTest::addColumn<Scenario>("scenario");
        QTest::addColumn<int>("variant");
        for (const Scenario& scenario : loadScenarios({":/scenarios"}).scenarios)
            for (int index = 0; index < scenario.variants.size(); ++index)
                QTest::newRow(qPrintable(scenario.title + " / " + scenario.variants[index].label))
                    << scenario << index;
    }
    void eachVariantEndsAsTheClassIsTold() {
        QFETCH(Scenario, scenario);
        QFETCH(int, variant);
        const QString expect = scenario.variants[variant].expect;
        MigrationConfig config = scenario.config(variant);
        config.tls.credsDir = workspace_.pki;
        MigrationRun run(config, RunOptions{workspace_.path("history.sqlite")});
        if (expect == "keeps iterating") {
            // Long enough for several rounds; then the trainer cancels it.
            run.start();
            QTRY_VERIFY_WITH_TIMEOUT(run.snapshot().stats.dirtySyncCount >= 4, 60000);
            const TelemetrySnapshot going = run.snapshot();
            QVERIFY2(going.status == MigrationStatus::Active, toString(going.status));
            QVERIFY2(!going.convergence.empty(), "the window would not say why it goes on");
            QVERIFY(run.cancel().empty());
            QVERIFY(run.waitFor(std::chrono::seconds(60)));
            QVERIFY(run.snapshot().sourceGuest == GuestState::Running);
            return;
        }
        test::runToEnd(run);
        const TelemetrySnapshot end = run.snapshot();
        QCOMPARE(resultText(end.status, !end.warnings.empty()), expect);
        // A scenario about postcopy that never got there would teach nothing.
        if (config.capabilities.postcopyRam && end.status == MigrationStatus::Completed)
            QVERIFY2(test::hasEvent(end, "postcopy: the destination guest runs"),
                     "it never switched to postcopy");
        if (end.status != MigrationStatus::Completed)
            QVERIFY(end.sourceGuest == GuestState::Running);
    }

    // A trainer adds a scenario by dropping a file in a folder; a broken file is named with
    // what is wrong with it, and the others still load.
    void aTrainersOwnScenarioJoinsWithoutABuild() {
        QVERIFY(QDir().mkpath(userScenarioDirectory()));
        QFile own(userScenarioDirectory() + "/my-class.json");
        QVERIFY(own.open(QIODevice::WriteOnly));
        own.write(R"({"title": "Our own: a small guest", "summary": "Quick.",
                      "explanation": ["Small and quick."], "watch": ["It ends."],
                      "settings": ["ram-size=64M", "dirty-rate=0"],
                      "variants": [{"label": "As is", "expect": "completed"}]})");
        own.close();
        QFile broken(userScenarioDirectory() + "/broken.json");
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(R"({"title": "Broken", "summary": "x", "settings": ["ram-size=lots"],
                         "variants": [{"label": "a", "expect": "completed"}]})");
        broken.close();

        const ScenarioLibrary library = loadScenarios();
        QCOMPARE(library.scenarios.last().title, QStringLiteral("Our own: a small guest"));
        QCOMPARE(library.problems.size(), 1);
        QVERIFY2(library.problems[0].contains("broken.json") &&
                     library.problems[0].contains("lots"),
                 qPrintable(library.problems[0]));

        MainWindow window(WindowOptions{workspace_.path("window.sqlite")});
        QStringList titles;
        for (QAction* menu : window.menuBar()->actions())
            if (menu->menu() && menu->text() == "&Scenarios")
                for (QAction* entry : menu->menu()->actions())
                    titles << entry->text();
        QVERIFY2(titles.contains("Our own: a small guest"), qPrintable(titles.join('\n')));
        QFile::remove(own.fileName());
        QFile::remove(broken.fileName());
    }

    // Chosen from the menu, the scenario explains itself beside the dashboard, and "Load into
    // the form" stages the chosen variant exactly: the form then starts what the class was told.
    void theWindowStagesTheChosenVariant() {
        MainWindow window(WindowOptions{workspace_.path("window.sqlite")});
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QAction* entry = nullptr;
        for (QAction* menu : window.menuBar()->actions())
            if (menu->menu() && menu->text() == "&Scenarios")
                for (QAction* candidate : menu->menu()->actions())
                    if (candidate->text().contains("VFIO device fails"))
                        entry = candidate;
        QVERIFY(entry);
        entry->trigger();
        ScenarioPanel* panel = window.scenarioPanel();
        QVERIFY(panel->isVisible());
        const QString shown = panel->findChild<QTextBrowser*>("scenarioText")->toPlainText();
        QVERIFY2(shown.contains("RESUMING -> STOP") && shown.contains("What to watch"),
                 qPrintable(shown));
        // Beside the dashboard, it still leaves the window on the screen (offscreen's is
        // 800 px wide), whichever scenario it explains: the form makes way if it must.
        const int widthBefore = window.frameGeometry().width();
        for (QAction* menu : window.menuBar()->actions())
            if (menu->menu() && menu->text() == "&Scenarios")
                for (QAction* candidate : menu->menu()->actions()) {
                    if (candidate->isSeparator())
                        break; // the scenarios come first
                    candidate->trigger();
                    const auto widest = [&window] {
                        QString said = QStringLiteral("%1 px wide on a %2 px screen;")
                                           .arg(window.minimumSizeHint().width())
                                           .arg(window.screen()->availableGeometry().width());
                        for (const QWidget* widget : window.findChildren<QWidget*>())
                            if (widget->isVisibleTo(&window) &&
                                widget->minimumSizeHint().width() > 300)
                                said += QStringLiteral(" %1/%2(%3)")
                                            .arg(widget->metaObject()->className(),
                                                 widget->objectName())
                                            .arg(widget->minimumSizeHint().width());
                        return said;
                    };
                    QTRY_VERIFY2(window.minimumSizeHint().width() <=
                                     window.screen()->availableGeometry().width(),
                                 qPrintable(candidate->text() + ": " + widest()));
                    QCoreApplication::processEvents(); // the layouts' requests
                    // Nor does it widen the window past the screen (offscreen's 800 px screen
                    // is narrower than the window with its form, which is made for 1024 px).
                    QVERIFY2(
                        window.frameGeometry().width() <=
                            std::max(widthBefore, window.screen()->availableGeometry().width()),
                        qPrintable(candidate->text() + ": the window is now " +
                                   QString::number(window.frameGeometry().width()) +
                                   " px wide, it was " + QString::number(widthBefore)));
                }
        entry->trigger();
        for (int variant = 0; variant < panel->scenario().variants.size(); ++variant) {
            panel->findChild<QRadioButton*>(QString("scenarioVariant%1").arg(variant))->click();
            QTest::mouseClick(panel->findChild<QPushButton*>("scenarioLoad"), Qt::LeftButton);
            QCOMPARE(stagedSettings(window.launchForm()->config()),
                     stagedSettings(panel->scenario().config(variant)));
            // The form comes back beside the scenario; the window is no wider than the two
            // need, or than it was (Qt would rather widen it than narrow the scenario).
            QVERIFY(window.launchForm()->isVisibleTo(&window));
            QTRY_VERIFY2(window.frameGeometry().width() <=
                             std::max({widthBefore, window.screen()->availableGeometry().width(),
                                       window.minimumSizeHint().width()}),
                         qPrintable(QStringLiteral("%1 px wide; it needs %2")
                                        .arg(window.frameGeometry().width())
                                        .arg(window.minimumSizeHint().width())));
        }
    }

    // What would break a migration's session is shown beside the scenario, in a process of its
    // own: the trainer presses a button and reads what happened, the window unharmed.
    void aDemonstrationRunsInItsOwnProcessBesideTheScenario() {
        const ScenarioLibrary library = loadScenarios({QStringLiteral(":/scenarios")});
        const auto keyUpdate = std::find_if(
            library.scenarios.begin(), library.scenarios.end(),
            [](const Scenario& scenario) { return scenario.title.contains("key update"); });
        QVERIFY(keyUpdate != library.scenarios.end());
        QCOMPARE(keyUpdate->demonstrations.size(), 2);
        ScenarioPanel panel;
        panel.show(*keyUpdate);
        QVERIFY(panel.findChild<QWidget*>("scenarioDemonstrations")->isVisible());
        auto* withLock = panel.findChild<QPushButton*>("demonstration1");
        QVERIFY(withLock);
        QCOMPARE(withLock->text(), QStringLiteral("With the session lock"));
        QSignalSpy finished(&panel, &ScenarioPanel::demonstrationFinished);
        QTest::mouseClick(withLock, Qt::LeftButton);
        QVERIFY(panel.demonstrationRunning());
        QVERIFY(!withLock->isEnabled()); // one at a time
        QVERIFY(finished.wait((ScenarioPanel::kDemonstrationBoundSeconds + 10) * 1000));
        QCOMPARE(finished.at(0).at(0).toString(),
                 QStringLiteral("It ended without a failure (exit 0)."));
        const QString output =
            panel.findChild<QPlainTextEdit*>("demonstrationOutput")->toPlainText();
        QVERIFY2(output.contains("protection: session lock") && output.contains("0 failures"),
                 qPrintable(output));
        QVERIFY(withLock->isEnabled());

        // A scenario file may name only the programs shipped for this.
        QTemporaryDir own;
        QFile file(own.filePath("rogue.json"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(R"({"title": "Rogue", "summary": "x", "explanation": ["x"],
                       "variants": [{"label": "a", "expect": "completed"}],
                       "demonstrations": [{"label": "Wipe", "program": "rm", "arguments": ["-rf", "/"]}]})");
        file.close();
        const ScenarioLibrary rogue = loadScenarios({own.path()});
        QVERIFY(rogue.scenarios.isEmpty());
        QVERIFY2(rogue.problems.value(0).contains("'rm'"), qPrintable(rogue.problems.join('\n')));
    }

    // Every status, guest state, SHUT verdict and VFIO device state the window can show is
    // explained in plain words, and the status's tooltip says what it means.
    void everyWordTheWindowShowsIsExplained() {
        QStringList unexplained;
        for (int status = 0; status <= static_cast<int>(MigrationStatus::Cancelled); ++status)
            unexplained << toString(static_cast<MigrationStatus>(status));
        unexplained << "completed with warnings";
        for (GuestState state : {GuestState::Running, GuestState::Paused, GuestState::Postmigrate})
            unexplained << toString(state);
        for (int verdict = 0; verdict <= 6; ++verdict)
            unexplained << QString("SHUT %1").arg(verdict);
        for (std::uint32_t state = 0; state < vfio::kStateCount; ++state)
            unexplained << vfio::toString(static_cast<vfio::DeviceState>(state));
        unexplained << "close_notify"
                    << "KeyUpdate"
                    << "return path";
        unexplained.removeIf([](const QString& term) { return !explain(term).isEmpty(); });
        QVERIFY2(unexplained.isEmpty(), qPrintable(unexplained.join(", ")));

        RunStatusPanel panel;
        TelemetrySnapshot paused;
        paused.status = MigrationStatus::PostcopyPaused;
        panel.showSnapshot(paused);
        QCOMPARE(panel.findChild<QLabel*>("statusValue")->toolTip(), explain("postcopy-paused"));
        QCOMPARE(panel.findChild<QLabel*>("sourceGuestValue")->toolTip(), explain("running"));
    }
};

QTEST_MAIN(TestScenarios)
#include "tst_scenarios.moc"
