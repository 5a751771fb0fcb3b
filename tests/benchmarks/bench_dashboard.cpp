// What watching costs: the same migration (2 GiB, 16 TLS channels, a workload dirtying 64 MiB/s,
// capped at 256 MiB/s so it lasts about ten seconds) headless and in the window, each three
// times. For the window it reports the GUI thread's own CPU time (CLOCK_THREAD_CPUTIME_ID: the
// snapshots, models, plot and painting) as a share of one core over the run, and the whole
// process's CPU next to the headless run's. Run with QT_QPA_PLATFORM=offscreen (software
// painting, as on a remote X display) or on a real display.
#include "bench_stats.h"
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "ui/main_window.h"
#include "ui/run_controller.h"

#include <QApplication>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QTimer>
#include <chrono>
#include <cstdio>
#include <ctime>

using namespace migrascope;

namespace {

constexpr int kRepetitions = 3;

double threadCpuSeconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

double wallSeconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct Cost {
    double wall = 0;
    double process = 0; // CPU seconds, every thread
    double gui = 0;     // CPU seconds of the GUI thread alone
};

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QTemporaryDir dir;
    const std::string pki = dir.filePath("pki").toStdString();
    generatePki(pki);
    MigrationConfig config;
    config.guest.ramSize = 2ull << 30;
    config.guest.dirtyRate = 64ull << 20;
    config.multifdChannels = 16;
    config.maxBandwidth = 256ull << 20;
    config.tls.credsDir = pki;

    std::vector<double> headlessCpu;
    std::vector<double> windowCpu;
    std::vector<double> guiShare;
    std::vector<double> guiCpu;
    for (int i = 0; i < kRepetitions; ++i) {
        {
            MigrationRun run(config, RunOptions{dir.filePath("headless.sqlite").toStdString()});
            run.start();
            const double cpu = bench::cpuSeconds();
            run.wait();
            headlessCpu.push_back(bench::cpuSeconds() - cpu);
        }
        ui::MainWindow window(ui::WindowOptions{dir.filePath("window.sqlite").toStdString()});
        window.resize(1400, 900);
        window.show();
        QEventLoop settle;
        QTimer::singleShot(500, &settle, &QEventLoop::quit);
        settle.exec();
        QEventLoop finished;
        QObject::connect(window.runController(), &ui::RunController::runFinished, &finished,
                         &QEventLoop::quit);
        Cost cost;
        cost.wall = wallSeconds();
        cost.process = bench::cpuSeconds();
        cost.gui = threadCpuSeconds();
        window.runController()->start(config);
        finished.exec();
        cost.wall = wallSeconds() - cost.wall;
        cost.process = bench::cpuSeconds() - cost.process;
        cost.gui = threadCpuSeconds() - cost.gui;
        windowCpu.push_back(cost.process);
        guiCpu.push_back(cost.gui);
        guiShare.push_back(100 * cost.gui / cost.wall);
        std::printf("run %d: %.1f s in the window; GUI thread %.2f CPU-s (%.1f %% of a core); "
                    "process %.2f CPU-s, headless %.2f CPU-s\n",
                    i + 1, cost.wall, cost.gui, 100 * cost.gui / cost.wall, cost.process,
                    headlessCpu.back());
    }
    std::printf("median: GUI thread %.2f CPU-s, %.1f %% of a core; process %.2f CPU-s in the "
                "window vs %.2f headless (2 GiB, 16 TLS channels)\n",
                bench::median(guiCpu), bench::median(guiShare), bench::median(windowCpu),
                bench::median(headlessCpu));
}
