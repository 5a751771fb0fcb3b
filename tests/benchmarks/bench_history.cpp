// How the History tab copes with years of runs: a generated history of 10,000 runs (each with
// throughput samples and events), then the time from opening the tab to its first rows painted,
// a search through every run's events, a sort, and the file's size; then the window's first
// start on that file (upkeep: thinning and pruning), and the longest the GUI thread stalled. Run
// with QT_QPA_PLATFORM=offscreen; `--keep PATH` leaves the generated file for a look in the window.
#include "tests/history_generator.h"
#include "ui/history_browser.h"
#include "ui/history_model.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLineEdit>
#include <QScrollBar>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <cstdio>

using namespace migrascope;

namespace {

constexpr int kRuns = 10000;
constexpr int kSamplesPerChannel = 100; // a 10 s run sampled every 100 ms, 2 channels + total
constexpr int kEventsPerRun = 30;

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QTemporaryDir dir;
    QString path = dir.filePath("history.sqlite");
    const QStringList arguments = app.arguments();
    if (const int keep = static_cast<int>(arguments.indexOf("--keep"));
        keep > 0 && keep + 1 < arguments.size())
        path = arguments[keep + 1];

    QElapsedTimer clock;
    clock.start();
    const test::GeneratedHistory made = test::generateHistory(
        path.toStdString(), kRuns, kSamplesPerChannel, kEventsPerRun, 3 /* hours apart */);
    std::printf("generated %d runs (%d samples, %d events each) in %.1f s; file %.1f MiB\n",
                made.runs, 3 * kSamplesPerChannel, kEventsPerRun, clock.elapsed() / 1000.0,
                static_cast<double>(QFileInfo(path).size() + QFileInfo(path + "-wal").size()) /
                    (1 << 20));

    for (int attempt = 1; attempt <= 3; ++attempt) {
        clock.restart();
        ui::HistoryModel model(path.toStdString());
        ui::HistoryBrowser browser(&model);
        browser.resize(1000, 700);
        browser.show();
        browser.reload();
        QApplication::processEvents(); // lays out and paints the first rows
        browser.view()->viewport()->repaint();
        const double open = static_cast<double>(clock.nsecsElapsed()) / 1e6;

        clock.restart();
        browser.searchField()->setText(QString::fromLatin1(test::kNeedle));
        browser.applyFilter();
        const double search = static_cast<double>(clock.nsecsElapsed()) / 1e6;
        const int found = browser.filterModel()->rowCount();
        browser.searchField()->clear();
        browser.applyFilter();

        clock.restart();
        browser.view()->sortByColumn(ui::HistoryModel::Transferred, Qt::AscendingOrder);
        const double sort = static_cast<double>(clock.nsecsElapsed()) / 1e6;

        clock.restart();
        for (int step = 0; step < 50; ++step) {
            browser.view()->verticalScrollBar()->setValue(step * 200);
            browser.view()->viewport()->repaint();
        }
        const double scroll = static_cast<double>(clock.nsecsElapsed()) / 1e6 / 50;
        std::printf("attempt %d: first rows painted %.0f ms; search of every run's events %.0f ms "
                    "(%d found); sort by Transferred %.0f ms; one scroll step repainted %.1f ms\n",
                    attempt, open, search, found, sort, scroll);
    }

    // The window's first start on this history: it brings the file up to date and thins it on
    // its own thread. A 10 ms timer on the GUI thread measures the longest stall meanwhile.
    {
        QTemporaryDir settings;
        qputenv("XDG_CONFIG_HOME", settings.filePath("config").toUtf8());
        clock.restart();
        QElapsedTimer sinceTick;
        sinceTick.start();
        double longestStallMs = 0;
        QTimer ticker;
        QObject::connect(&ticker, &QTimer::timeout, [&] {
            longestStallMs =
                std::max(longestStallMs, static_cast<double>(sinceTick.nsecsElapsed()) / 1e6);
            sinceTick.restart();
        });
        ticker.start(10);
        ui::MainWindow window(ui::WindowOptions{path.toStdString()});
        const double constructed = static_cast<double>(clock.nsecsElapsed()) / 1e6;
        window.show();
        sinceTick.restart();
        while (window.statusBar()->currentMessage().startsWith("Bringing the history") &&
               clock.elapsed() < 120000)
            QApplication::processEvents(QEventLoop::AllEvents, 10);
        const double upkept = static_cast<double>(clock.nsecsElapsed()) / 1e6;
        // The reload that followed, as the next tick sees it.
        QElapsedTimer settle;
        settle.start();
        while (settle.elapsed() < 100)
            QApplication::processEvents(QEventLoop::AllEvents, 10);
        std::printf("window's first start: constructed in %.0f ms; history up to date and thinned "
                    "after %.0f ms; longest GUI-thread stall meanwhile %.0f ms\n",
                    constructed, upkept, longestStallMs);
    }
    return 0;
}
