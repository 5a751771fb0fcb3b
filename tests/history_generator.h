// A history of many runs, for the history browser's tests and its benchmark: every result,
// with faults, devices, TLS and postcopy mixed in by fixed rules, each run with throughput
// samples and events, started one `spacingHours` apart ending now.
#pragma once

#include "engine/api/history_store.h"

#include <sqlite3.h>
#include <stdexcept>
#include <string>

namespace migrascope::test {

struct GeneratedHistory {
    int runs = 0;
    int failed = 0;
    int cancelled = 0;
    int completedWithWarnings = 0;
    int completed = 0; // without warnings
    int withFaults = 0;
    int withDevices = 0;
    int withTls = 0;
    std::int64_t needleRun = 0; // the one run whose events (only) say kNeedle
};

inline constexpr const char* kNeedle = "checksum mismatch in accel7";

// Run i (from 0): i % 7 == 0 failed with a cut channel injected, == 1 cancelled, == 2 completed
// with a warning, else completed; TLS on even i; an accelerator on every third; postcopy
// allowed on every fifth; (i % 50 + 1) * 10 MiB transferred.
inline GeneratedHistory generateHistory(const std::string& path, int runs, int samplesPerRun = 20,
                                        int eventsPerRun = 10, int spacingHours = 1) {
    GeneratedHistory made;
    HistoryStore store(path);
    for (int i = 0; i < runs; ++i) {
        const int kind = i % 7;
        const bool tls = i % 2 == 0;
        const bool device = i % 3 == 0;
        std::string config =
            "uuid=generated-" + std::to_string(i) +
            "\nram-size=268435456\nmultifd-channels=2\ntls=" + (tls ? "on" : "off") + "\n";
        if (kind == 0)
            config += "inject=cut-channel=multifd-1@64M\n";
        config += std::string("capability=postcopy-ram=") + (i % 5 == 0 ? "on" : "off") + "\n";
        if (device)
            config += "device=accel,name=accel0,state-size=64M\n";
        const std::int64_t id =
            store.beginRun("generated-" + std::to_string(i), config, 256ull << 20, 2, tls);
        RunLogs logs;
        for (int s = 0; s < samplesPerRun; ++s)
            for (const char* channel : {"multifd-0", "multifd-1", "total"})
                logs.samples.push_back({s * 100.0, channel, 64.0 * (1 << 20),
                                        static_cast<std::uint64_t>(s) * (6ull << 20)});
        for (int e = 0; e < eventsPerRun; ++e)
            logs.events.push_back({e * 50.0, EventLevel::Info, Side::Source,
                                   "dirty sync " + std::to_string(e + 1) + ": 12 MiB dirty"});
        if (i == runs / 2) {
            logs.events.push_back({999.0, EventLevel::Error, Side::Destination, kNeedle});
            made.needleRun = id;
        }
        store.appendLogs(id, logs);

        TelemetrySnapshot final;
        final.status = MigrationStatus::Completed;
        final.integrity = "verified";
        if (kind == 0) {
            final.status = MigrationStatus::Failed;
            final.errorDesc = "channel multifd-1 cut by the injected fault";
            final.integrity = "not verified: migration failed";
            ++made.failed;
        } else if (kind == 1) {
            final.status = MigrationStatus::Cancelled;
            final.errorDesc = "migration cancelled by the operator";
            ++made.cancelled;
        } else if (kind == 2) {
            final.warnings.push_back("downtime 412 ms was over the limit (300 ms)");
            ++made.completedWithWarnings;
        } else {
            ++made.completed;
        }
        final.stats.transferred = static_cast<std::uint64_t>(i % 50 + 1) * (10ull << 20);
        final.stats.totalTimeMs = 1000.0 + i % 13;
        final.stats.downtimeMs = 20.0 + i % 17;
        store.finishRun(id, final);
        made.withFaults += kind == 0;
        made.withDevices += device;
        made.withTls += tls;
    }
    made.runs = runs;

    // beginRun stamps now; spread the starts back in time so dates can be filtered.
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK)
        throw std::runtime_error("cannot open " + path);
    const std::string spread =
        "UPDATE runs SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (((SELECT "
        "max(id) FROM runs) - id) * " +
        std::to_string(spacingHours) + ") || ' hours')";
    const int rc = sqlite3_exec(db, spread.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    if (rc != SQLITE_OK)
        throw std::runtime_error("cannot spread the runs' start times in " + path);
    return made;
}

} // namespace migrascope::test
