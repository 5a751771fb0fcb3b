// Postcopy figures: page-request latency while the destination guest runs (median, p99, max)
// and how long a recovery takes after the main channel's network fails. A 1 GiB guest,
// 4 multifd channels, TLS, the workload dirtying 64 MiB/s on both sides.
#include "bench_stats.h"
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "engine/memory/guest.h"
#include "engine/telemetry/telemetry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

using namespace migrascope;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool waitFor(MigrationRun& run, MigrationStatus source, MigrationStatus destination) {
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (Clock::now() < deadline) {
        if (run.telemetry().status() == source && run.destinationStatus() == destination)
            return true;
        if (run.finished())
            return false;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return false;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

void latency(const MigrationConfig& config, int repetitions) {
    for (int i = 0; i < repetitions; ++i) {
        MigrationRun run(config, RunOptions{"", false});
        run.start();
        if (!waitFor(run, MigrationStatus::PostcopyActive, MigrationStatus::PostcopyActive)) {
            std::printf("postcopy never started: %s\n", run.snapshot().errorDesc.c_str());
            return;
        }
        const auto postcopyStart = Clock::now();
        run.wait();
        const double postcopyMs = msSince(postcopyStart);
        const auto snap = run.snapshot();
        const PostcopyStats& p = snap.postcopy;
        std::printf("run %d: %s, postcopy %.0f ms, %llu page requests, latency median %.2f ms, "
                    "p99 %.2f ms, max %.2f ms, %llu urgent pages sent\n",
                    i + 1, toString(snap.status), postcopyMs,
                    static_cast<unsigned long long>(p.pageRequests), p.latencyMedianMs,
                    p.latencyP99Ms, p.latencyMaxMs,
                    static_cast<unsigned long long>(p.urgentPagesSent));
    }
}

void recovery(const MigrationConfig& config, int cuts) {
    MigrationRun run(config, RunOptions{"", false});
    run.start();
    std::vector<double> cutToActive;
    std::vector<double> resumeToActive;
    for (int cut = 0; cut < cuts; ++cut) {
        if (!waitFor(run, MigrationStatus::PostcopyActive, MigrationStatus::PostcopyActive))
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const auto cutAt = Clock::now();
        if (!run.cutNetwork().empty())
            break;
        if (!waitFor(run, MigrationStatus::PostcopyPaused, MigrationStatus::PostcopyPaused))
            break;
        const auto resumeAt = Clock::now();
        run.recover();
        run.resume();
        if (!waitFor(run, MigrationStatus::PostcopyActive, MigrationStatus::PostcopyActive))
            break;
        cutToActive.push_back(msSince(cutAt));
        resumeToActive.push_back(msSince(resumeAt));
    }
    run.wait();
    const auto snap = run.snapshot();
    std::printf("%zu cuts: %s, integrity %s; cut -> both paused -> recover+resume -> "
                "postcopy-active: median %.1f ms, max %.1f ms; of which resume handshake "
                "(reconnect, TLS, bitmaps, RESUME_ACK): median %.1f ms, max %.1f ms\n",
                cutToActive.size(), toString(snap.status), snap.integrity.c_str(),
                median(cutToActive), *std::max_element(cutToActive.begin(), cutToActive.end()),
                median(resumeToActive),
                *std::max_element(resumeToActive.begin(), resumeToActive.end()));
}

} // namespace

int main() {
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-bench-pki";
    generatePki(pki.string());
    MigrationConfig config;
    config.guest.ramSize = 1ull << 30;
    config.guest.dirtyRate = 64ull << 20;
    config.multifdChannels = 4;
    config.tls.credsDir = pki.string();
    config.capabilities.postcopyRam = true;
    config.postcopyStart.afterMs = 500;
    std::printf("-- page-request latency, uncapped\n");
    latency(config, 3);
    std::printf("-- page-request latency, capped at 256 MiB/s\n");
    config.maxBandwidth = 256ull << 20;
    latency(config, 3);
    std::printf("-- recovery, capped at 64 MiB/s so postcopy outlasts the cuts\n");
    config.maxBandwidth = 64ull << 20;
    recovery(config, 10);
    std::filesystem::remove_all(pki);
}
