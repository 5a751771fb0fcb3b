// Migration throughput for a 2 GiB guest with 4 multifd channels, TLS on and off: guest RAM
// moved per second of the run (setup excluded, downtime included).
#include "bench_stats.h"
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"

#include <cstdio>
#include <filesystem>

using namespace migrascope;

namespace {

constexpr int kRepetitions = 3;

void measure(const char* label, const MigrationConfig& config) {
    bench::Summary summary;
    double downtime = 0;
    for (int i = 0; i < kRepetitions; ++i) {
        MigrationRun migration(config, RunOptions{"", false});
        const double cpuBefore = bench::cpuSeconds();
        migration.start();
        migration.wait();
        const auto snap = migration.snapshot();
        if (snap.status != MigrationStatus::Completed) {
            std::printf("%s: %s: %s\n", label, toString(snap.status), snap.errorDesc.c_str());
            return;
        }
        const double gib = static_cast<double>(snap.stats.total) / (1 << 30);
        const double seconds = (snap.stats.totalTimeMs - snap.stats.setupTimeMs) / 1000.0;
        summary.rates.push_back(gib / seconds);
        // Includes booting the guest (writing 1.5 GiB of page content), the same in every row.
        summary.cpuPerGib.push_back((bench::cpuSeconds() - cpuBefore) / gib);
        downtime = std::max(downtime, snap.stats.downtimeMs);
    }
    summary.print(label);
    std::printf("%46s worst downtime %.0f ms\n", "", downtime);
}

} // namespace

int main() {
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-bench-pki";
    generatePki(pki.string());
    MigrationConfig config;
    config.guest.ramSize = 2ull << 30;
    config.guest.dirtyRate = 0;
    config.multifdChannels = 4;
    config.tls.credsDir = pki.string();
    config.tls.enabled = true;
    measure("2 GiB, 4 channels, TLS 1.3 AES-256-GCM, idle", config);
    config.tls.enabled = false;
    measure("2 GiB, 4 channels, no TLS, idle", config);
    config.tls.enabled = true;
    config.guest.dirtyRate = 64ull << 20;
    measure("2 GiB, 4 channels, TLS, 64 MiB/s dirtied", config);
    std::filesystem::remove_all(pki);
}
