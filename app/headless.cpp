#include "app/headless.h"

#include "app/console.h"
#include "app/json_result.h"
#include "app/signals.h"
#include "engine/api/migration_run.h"

#include <QJsonDocument>
#include <cstdio>

namespace migrascope::app {
namespace {

void printProgress(const TelemetrySnapshot& snap) {
    std::fprintf(stderr,
                 "%-10s %5.1f%%  %-22s transferred %10s  remaining %10s  %8.0f mbps  "
                 "dirty-sync-count %llu\n",
                 toString(snap.status), snap.progress * 100, snap.phase.c_str(),
                 formatBytes(static_cast<double>(snap.stats.transferred)).c_str(),
                 formatBytes(static_cast<double>(snap.stats.remaining)).c_str(), snap.stats.mbps,
                 static_cast<unsigned long long>(snap.stats.dirtySyncCount));
}

} // namespace

int runHeadless(const CommandLine& line) {
    // Ctrl-C cancels the migration like migrate_cancel; the run still ends and is recorded.
    installStopSignals();
    MigrationRun run(line.config, RunOptions{line.historyPath});
    run.start();
    std::size_t eventCursor = 0;
    bool cancelled = false;
    while (!run.waitFor(std::chrono::milliseconds(1000))) {
        if (stopRequested() && !cancelled) {
            cancelled = true;
            if (const std::string refusal = run.cancel(); !refusal.empty())
                std::fprintf(stderr, "not cancelled: %s\n", refusal.c_str());
        }
        const auto snap = run.snapshot(eventCursor);
        eventCursor = snap.nextEventIndex;
        printEvents(snap.events, EventLevel::Warning);
        printProgress(snap);
    }
    printEvents(run.snapshot(eventCursor).events, EventLevel::Warning);
    const auto final = run.snapshot();
    printProgress(final);
    if (final.status != MigrationStatus::Completed)
        std::fprintf(stderr, "migration %s: %s\n", toString(final.status), final.errorDesc.c_str());
    else if (!final.warnings.empty()) {
        std::fprintf(stderr, "migration completed with warnings:\n");
        for (const auto& warning : final.warnings)
            std::fprintf(stderr, "  - %s\n", warning.c_str());
    }
    const std::string historyError = run.historyError();
    if (!historyError.empty())
        std::fprintf(stderr, "history: %s\n", historyError.c_str());
    if (line.json) {
        QJsonObject result = jsonResult(final, run.historyId());
        if (!historyError.empty())
            result["history-error"] = QString::fromStdString(historyError);
        std::printf("%s\n", QJsonDocument(result).toJson().constData());
    }
    return final.status == MigrationStatus::Completed ? 0 : 1;
}

} // namespace migrascope::app
