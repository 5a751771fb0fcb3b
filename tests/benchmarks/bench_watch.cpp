// What watching costs: the watcher's own CPU while it polls a QEMU (idle, and during a
// migration), and whether a watched migration takes longer than the same one unwatched.
// Real QEMUs (qemu-system-x86_64, TCG), 256 MiB of random RAM, 4 multifd channels, no cap.
#include "bench_stats.h"
#include "engine/api/qemu_watch.h"
#include "tests/qemu_support.h"

#include <QCoreApplication>
#include <QTemporaryDir>
#include <cstdio>
#include <ctime>

using namespace migrascope;
using namespace migrascope::test;

namespace {

constexpr std::uint64_t kRamSize = 256ull << 20;
constexpr int kRuns = 5;

double processCpuSeconds() {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

WatchOptions optionsFor(const QemuPair& pair, const QString& dir) {
    WatchOptions options;
    options.sourceQmp = pair.source.watchSocket().toStdString();
    options.destinationQmp = pair.destination.watchSocket().toStdString();
    options.historyPath = (dir + "/history.sqlite").toStdString();
    return options;
}

// QEMU's total-time of one migration, watched or not; -1 when it did not complete.
double migrateOnce(const QString& dir, const QString& ramFile, bool watched, double& watcherCpu) {
    QDir().mkpath(dir);
    QemuPair pair(dir);
    if (!pair.start(ramFile, kRamSize, 4))
        return -1;
    std::unique_ptr<QemuWatch> watch;
    if (watched) {
        watch = std::make_unique<QemuWatch>(optionsFor(pair, dir));
        watch->start();
    }
    const double cpuBefore = processCpuSeconds();
    if (!pair.migrate(0))
        return -1;
    const QJsonObject end = pair.waitForEnd(120000);
    if (watch)
        watch->waitFor(std::chrono::seconds(10));
    watcherCpu = processCpuSeconds() - cpuBefore;
    return end["status"].toString() == "completed" ? end["total-time"].toDouble() : -1;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication application(argc, argv);
    if (qemuBinary().isEmpty()) {
        std::printf("bench_watch: qemu-system-x86_64 is not installed\n");
        return 0;
    }
    QTemporaryDir dir;
    const QString ramFile = dir.path() + "/ram.img";
    writeRandomFile(ramFile, kRamSize);

    // Idle: a QEMU with no migration, polled every 200 ms for 20 s.
    {
        QDir().mkpath(dir.path() + "/idle");
        QemuPair pair(dir.path() + "/idle");
        if (pair.start(ramFile, kRamSize, 4)) {
            QemuWatch watch(optionsFor(pair, dir.path() + "/idle"));
            watch.start();
            const double before = processCpuSeconds();
            QThread::sleep(20);
            const double used = processCpuSeconds() - before;
            std::printf("watcher polling an idle QEMU every 200 ms: %.2f CPU-s per minute\n",
                        used * 3);
        }
    }

    std::vector<double> watchedTimes, unwatchedTimes, cpu;
    for (int run = 0; run < kRuns; ++run) {
        double ignored = 0;
        double used = 0;
        const double plain =
            migrateOnce(dir.path() + QString("/u%1").arg(run), ramFile, false, ignored);
        const double watched =
            migrateOnce(dir.path() + QString("/w%1").arg(run), ramFile, true, used);
        if (plain > 0)
            unwatchedTimes.push_back(plain);
        if (watched > 0) {
            watchedTimes.push_back(watched);
            cpu.push_back(used / (watched / 1000) * 60);
        }
        std::printf("run %d: unwatched %.0f ms, watched %.0f ms (QEMU's total-time)\n", run, plain,
                    watched);
    }
    if (!watchedTimes.empty() && !unwatchedTimes.empty())
        std::printf("256 MiB, 4 multifd channels, uncapped: median total-time unwatched %.0f ms, "
                    "watched %.0f ms; watcher CPU during a migration %.2f CPU-s per minute "
                    "(%d runs each)\n",
                    bench::median(unwatchedTimes), bench::median(watchedTimes), bench::median(cpu),
                    kRuns);
    return 0;
}
