#include "app/watch.h"

#include "app/console.h"
#include "app/json_result.h"
#include "app/signals.h"
#include "engine/api/qemu_watch.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <cstdio>

namespace migrascope::app {
namespace {

QJsonValue parsedJson(const std::string& text) {
    if (text.empty())
        return QJsonValue::Null;
    const auto document = QJsonDocument::fromJson(QByteArray::fromStdString(text));
    return document.isObject() ? QJsonValue(document.object()) : QJsonValue(document.array());
}

void printProgress(const TelemetrySnapshot& snap) {
    std::fprintf(stderr, "%-10s %5.1f%%  %-22s transferred %10s  remaining %10s  %8.0f mbps\n",
                 toString(snap.status), snap.progress * 100, snap.phase.c_str(),
                 formatBytes(static_cast<double>(snap.stats.transferred)).c_str(),
                 formatBytes(static_cast<double>(snap.stats.remaining)).c_str(), snap.stats.mbps);
    for (const auto& channel : snap.channels)
        std::fprintf(stderr, "    %-12s %-7s %10s acked\n", channel.id.c_str(),
                     toString(channel.state),
                     formatBytes(static_cast<double>(channel.bytes)).c_str());
}

QJsonObject watchedJson(const WatchReport& report, const WatchOptions& options) {
    QJsonObject watched;
    watched["qemu-version"] = QString::fromStdString(report.qemuVersion);
    watched["source-qmp"] = QString::fromStdString(options.sourceQmp);
    watched["source-pid"] = static_cast<qint64>(report.sourcePid);
    if (!options.destinationQmp.empty()) {
        watched["destination-qmp"] = QString::fromStdString(options.destinationQmp);
        watched["destination-pid"] = static_cast<qint64>(report.destinationPid);
        watched["destination-query-migrate"] = parsedJson(report.destinationQueryMigrate);
    }
    watched["query-migrate"] = parsedJson(report.sourceQueryMigrate);
    watched["parameters"] = parsedJson(report.parameters);
    watched["capabilities"] = parsedJson(report.capabilities);
    QJsonArray changes;
    for (const std::string& change : report.changes)
        changes.append(QString::fromStdString(change));
    watched["changes"] = changes;
    watched["channel-labels"] = QString::fromStdString(report.channelLabels);
    watched["final-counters"] = QString::fromStdString(report.finalCounters);
    watched["thread-names-known"] = report.threadNamesKnown;
    watched["thread-names-from"] = QString::fromStdString(report.threadNamesFrom);
    QJsonArray threads;
    for (const auto& thread : report.threads) {
        QJsonObject entry;
        entry["tid"] = static_cast<qint64>(thread.tid);
        entry["name"] = QString::fromStdString(thread.name);
        entry["side"] = toString(thread.side);
        entry["cpu-percent"] = thread.cpuPercent;
        entry["cpu-seconds"] = thread.cpuSeconds;
        threads.append(entry);
    }
    watched["threads"] = threads;
    return watched;
}

} // namespace

int runWatch(const CommandLine& line) {
    installStopSignals();
    WatchOptions options = line.watch;
    std::unique_ptr<QemuWatch> watch;
    try {
        watch = std::make_unique<QemuWatch>(options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "migrascope: --watch: %s\n", error.what());
        return 2;
    }
    watch->start();
    std::size_t eventCursor = 0;
    while (!watch->waitFor(std::chrono::milliseconds(1000))) {
        if (stopRequested()) {
            watch->stop();
            break;
        }
        const auto snap = watch->snapshot(eventCursor);
        eventCursor = snap.nextEventIndex;
        printEvents(snap.events);
        printProgress(snap);
    }
    const auto final = watch->snapshot(eventCursor);
    printEvents(final.events);
    printProgress(final);
    if (final.status != MigrationStatus::Completed)
        std::fprintf(stderr, "watched migration %s: %s\n", toString(final.status),
                     final.errorDesc.c_str());
    const std::string historyError = watch->historyError();
    if (!historyError.empty())
        std::fprintf(stderr, "history: %s\n", historyError.c_str());
    if (line.json) {
        const WatchReport report = watch->report();
        QJsonObject result = jsonResult(final, watch->historyId());
        if (final.status != MigrationStatus::Completed && !final.errorDesc.empty())
            result["error-desc"] = QString::fromStdString(final.errorDesc);
        result["watched"] = watchedJson(report, options);
        if (!historyError.empty())
            result["history-error"] = QString::fromStdString(historyError);
        std::printf("%s\n", QJsonDocument(result).toJson().constData());
    }
    return final.status == MigrationStatus::Completed ? 0 : 1;
}

} // namespace migrascope::app
