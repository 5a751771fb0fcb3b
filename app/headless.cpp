#include "app/headless.h"

#include "app/console.h"
#include "app/json_result.h"
#include "app/qmp_server.h"
#include "app/signals.h"
#include "engine/api/diagnosis.h"
#include "engine/api/migration_run.h"
#include "engine/api/migration_threads.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <cstdio>
#include <limits>

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

constexpr auto kNone = std::numeric_limits<std::size_t>::max();

// An operator action's answer: "" accepted, else QMP's GenericError with the reason.
QJsonValue accepted(const std::string& refusal) {
    if (!refusal.empty())
        throw QmpError(refusal);
    return QJsonObject{};
}

std::uint64_t unsignedArgument(const QJsonObject& arguments, const QString& name) {
    const QJsonValue value = arguments[name];
    if (!value.isDouble() || value.toDouble() < 0 ||
        value.toDouble() != static_cast<double>(value.toInteger()))
        throw QmpError("Invalid parameter type for '" + name.toStdString() +
                       "', expected: integer");
    return static_cast<std::uint64_t>(value.toInteger());
}

QJsonValue setParameters(MigrationRun& run, const QJsonObject& arguments) {
    LiveParameterChange change;
    for (auto it = arguments.begin(); it != arguments.end(); ++it) {
        if (it.key() == "max-bandwidth")
            change.maxBandwidth = unsignedArgument(arguments, it.key());
        else if (it.key() == "downtime-limit")
            change.downtimeLimitMs = unsignedArgument(arguments, it.key());
        else
            throw QmpError("Parameter '" + it.key().toStdString() +
                           "' cannot be changed while a Migrascope migration runs (only "
                           "max-bandwidth and downtime-limit can)");
    }
    return accepted(run.setParameters(change));
}

QJsonValue migrationParameters(const MigrationRun& run) {
    const MigrationConfig& config = run.config();
    const LiveParameters live = run.liveParameters();
    QJsonObject parameters{
        {"max-bandwidth", static_cast<qint64>(live.maxBandwidth)},
        {"downtime-limit", static_cast<qint64>(live.downtimeLimitMs)},
        {"multifd-channels", static_cast<int>(config.multifdChannels)},
        {"cpu-throttle-initial", static_cast<int>(config.cpuThrottle.initial)},
        {"cpu-throttle-increment", static_cast<int>(config.cpuThrottle.increment)},
        {"max-cpu-throttle", static_cast<int>(config.cpuThrottle.max)},
        {"tls-creds", QString::fromStdString(config.tls.enabled ? config.tls.credsDir : "")},
        {"tls-hostname", QString::fromStdString(config.tls.hostname)},
        {"tls-authz",
         QString::fromStdString(config.tls.authz.empty() ? "" : config.tls.authz.front())}};
    return parameters;
}

QJsonValue migrationCapabilities(const MigrationRun& run) {
    const Capabilities& capabilities = run.config().capabilities;
    QJsonArray list;
    for (const auto& [name, state] :
         {std::pair<const char*, bool>{"multifd", run.config().multifdChannels > 0},
          {"return-path", true},
          {"postcopy-ram", capabilities.postcopyRam},
          {"switchover-ack", capabilities.switchoverAck},
          {"auto-converge", capabilities.autoConverge},
          {"events", true}})
        list.append(QJsonObject{{"capability", name}, {"state", state}});
    return list;
}

// The commands a headless source answers, QEMU's names, one handler each.
void addRunCommands(QmpServer& qmp, MigrationRun& run) {
    const std::pair<const char*, QmpServer::Handler> commands[] = {
        {"query-migrate",
         [&run](const QJsonObject&) -> QJsonValue {
             return jsonResult(run.snapshot(kNone, kNone, kNone), run.historyId());
         }},
        {"query-migrate-parameters",
         [&run](const QJsonObject&) { return migrationParameters(run); }},
        {"query-migrate-capabilities",
         [&run](const QJsonObject&) { return migrationCapabilities(run); }},
        {"query-status",
         [&run](const QJsonObject&) -> QJsonValue {
             // The source guest's run state, in QEMU's words.
             const GuestState guest = run.snapshot(kNone, kNone, kNone).sourceGuest;
             const char* status = guest == GuestState::Running       ? "running"
                                  : guest == GuestState::Postmigrate ? "postmigrate"
                                                                     : "paused";
             return QJsonObject{{"running", guest == GuestState::Running},
                                {"status", status},
                                {"singlestep", false}};
         }},
        {"query-migrationthreads",
         [](const QJsonObject&) -> QJsonValue {
             QJsonArray threads;
             for (const MigrationThreadInfo& thread : migrationThreads())
                 threads.append(QJsonObject{{"name", QString::fromStdString(thread.name)},
                                            {"thread-id", static_cast<qint64>(thread.threadId)}});
             return threads;
         }},
        {"migrate-set-parameters",
         [&run](const QJsonObject& arguments) { return setParameters(run, arguments); }},
        {"migrate_cancel", [&run](const QJsonObject&) { return accepted(run.cancel()); }},
        {"migrate-start-postcopy",
         [&run](const QJsonObject&) { return accepted(run.startPostcopy()); }},
        {"migrate-pause", [&run](const QJsonObject&) { return accepted(run.pause()); }},
        {"migrate-recover", [&run](const QJsonObject&) { return accepted(run.recover()); }},
        {"migrate",
         [&run](const QJsonObject& arguments) {
             if (!arguments["resume"].toBool())
                 throw QmpError("There's a migration process in progress");
             return accepted(run.resume(arguments["uri"].toString().toStdString()));
         }},
    };
    for (const auto& [name, handler] : commands)
        qmp.addCommand(name, handler);
}

} // namespace

int runHeadless(const CommandLine& line) {
    // Ctrl-C cancels the migration like migrate_cancel; the run still ends and is recorded.
    installStopSignals();
    MigrationRun run(line.config, RunOptions{line.historyPath});
    std::unique_ptr<QmpServer> qmp;
    if (!line.qmpPath.isEmpty()) {
        if (!(qmp = QmpServer::listenForCommandLine(line.qmpPath)))
            return 2;
        addRunCommands(*qmp, run);
    }
    run.start();
    std::size_t eventCursor = 0;
    bool cancelled = false;
    QElapsedTimer sinceProgress;
    sinceProgress.start();
    // 100 ms ticks: QMP's clients are answered and its events sent within one.
    while (!run.waitFor(std::chrono::milliseconds(qmp ? 0 : 100))) {
        if (qmp) {
            QmpServer::serveFor(100);
            qmp->publish(run.snapshot(kNone, kNone, kNone));
        }
        if (stopRequested() && !cancelled) {
            cancelled = true;
            if (const std::string refusal = run.cancel(); !refusal.empty())
                std::fprintf(stderr, "not cancelled: %s\n", refusal.c_str());
        }
        if (sinceProgress.elapsed() < 1000)
            continue;
        sinceProgress.restart();
        const auto snap = run.snapshot(eventCursor);
        eventCursor = snap.nextEventIndex;
        printEvents(snap.events, EventLevel::Warning);
        printProgress(snap);
    }
    printEvents(run.snapshot(eventCursor).events, EventLevel::Warning);
    const auto final = run.snapshot();
    printProgress(final);
    if (final.status != MigrationStatus::Completed) {
        std::fprintf(stderr, "migration %s: %s\n", toString(final.status), final.errorDesc.c_str());
        std::fprintf(stderr, "diagnosis: %s\n", diagnose(final).c_str());
    } else if (!final.warnings.empty()) {
        std::fprintf(stderr, "migration completed with warnings:\n");
        for (const auto& warning : final.warnings)
            std::fprintf(stderr, "  - %s\n", warning.c_str());
    }
    if (qmp) {
        // The end's events, then a bounded wait for scripts still asking about the result.
        qmp->publish(final);
        constexpr int kLingerMs = 5000;
        QElapsedTimer lingering;
        lingering.start();
        if (qmp->clientCount() > 0)
            std::fprintf(stderr, "QMP: waiting up to %d s for %d client(s) to disconnect\n",
                         kLingerMs / 1000, qmp->clientCount());
        while (qmp->clientCount() > 0 && lingering.elapsed() < kLingerMs)
            QmpServer::serveFor(50);
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
