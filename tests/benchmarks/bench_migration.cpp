// Migration throughput for a 2 GiB guest with 4 multifd channels, TLS on and off.
#include "migration_run.h"
#include "tls_pki.h"

#include <cstdio>
#include <filesystem>

using namespace migrascope;

static void run(const char* label, MigrationConfig config) {
    MigrationRun migration(config, RunOptions{"", false});
    migration.start();
    migration.wait();
    const auto snap = migration.snapshot();
    const double activeSeconds = (snap.stats.totalTimeMs - snap.stats.setupTimeMs) / 1000.0;
    std::printf("%-34s %-10s total %7.0f ms  setup %4.0f ms  downtime %5.0f ms  "
                "wire %6.2f GiB  %5.2f GiB/s of wire, %5.2f GiB/s of guest RAM\n",
                label, toString(snap.status), snap.stats.totalTimeMs, snap.stats.setupTimeMs,
                snap.stats.downtimeMs, static_cast<double>(snap.stats.transferred) / (1 << 30),
                static_cast<double>(snap.stats.transferred) / activeSeconds / (1 << 30),
                static_cast<double>(snap.stats.total) / activeSeconds / (1 << 30));
    if (snap.status != MigrationStatus::Completed)
        std::printf("  error: %s\n", snap.errorDesc.c_str());
}

int main() {
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-bench-pki";
    generatePki(pki.string());
    MigrationConfig config;
    config.guest.ramSize = 2ull << 30;
    config.guest.dirtyRate = 0;
    config.multifdChannels = 4;
    config.tls.credsDir = pki.string();
    config.tls.enabled = true;
    run("2 GiB, 4 channels, TLS, idle", config);
    config.tls.enabled = false;
    run("2 GiB, 4 channels, no TLS, idle", config);
    config.guest.dirtyRate = 64ull << 20;
    config.tls.enabled = true;
    run("2 GiB, 4 channels, TLS, 64M/s dirty", config);
    std::filesystem::remove_all(pki);
}
