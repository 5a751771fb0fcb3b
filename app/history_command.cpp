#include "app/history_command.h"

#include "app/json_result.h"
#include "engine/api/history_store.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdio>
#include <optional>
#include <stdexcept>

namespace migrascope::app {
namespace {

// What the window and JSON call a run's result: a completed run with warnings says so.
QString resultOf(const RunRecord& run) {
    if (run.status == RunStatus::Completed && !run.warnings.empty())
        return QStringLiteral("completed with warnings");
    return QString::fromLatin1(toString(run.status));
}

QJsonObject runJson(const RunRecord& run) {
    QJsonObject object;
    object["id"] = static_cast<qint64>(run.id);
    object["uuid"] = QString::fromStdString(run.uuid);
    object["started-at"] = QString::fromStdString(run.startedAt);
    object["ended-at"] = run.endedAt.empty() ? QJsonValue(QJsonValue::Null)
                                             : QJsonValue(QString::fromStdString(run.endedAt));
    object["status"] = QString::fromLatin1(toString(run.status));
    object["result"] = resultOf(run);
    object["role"] = QString::fromLatin1(toString(run.role));
    object["peer"] = QString::fromStdString(run.peer);
    if (!run.errorDesc.empty())
        object["error-desc"] = QString::fromStdString(run.errorDesc);
    object["warnings"] = stringsJson(run.warnings);
    object["diagnosis"] = QString::fromStdString(run.diagnosis);
    if (!run.origin.empty())
        object["origin"] = QString::fromStdString(run.origin);
    object["integrity"] = QString::fromStdString(run.integrity);
    object["config"] = QString::fromStdString(run.config);
    object["ram-total"] = static_cast<qint64>(run.ramTotal);
    object["transferred"] = static_cast<qint64>(run.transferred);
    object["total-time"] = run.totalTimeMs;
    object["downtime"] = run.downtimeMs;
    object["expected-downtime"] = run.expectedDowntimeMs;
    object["downtime-limit"] = static_cast<qint64>(run.downtimeLimitMs);
    object["mbps"] = run.mbps;
    object["multifd-channels"] = static_cast<qint64>(run.multifdChannels);
    object["tls"] = run.tls;
    return object;
}

std::string mebibytes(std::uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return text;
}

int list(const HistoryStore& history, const QCommandLineParser& parser) {
    std::optional<QString> status;
    if (parser.isSet("status")) {
        status = parser.value("status");
        const bool known = runStatusFromString(status->toStdString()) ||
                           *status == QLatin1String("completed with warnings");
        if (!known)
            throw std::invalid_argument("--status: '" + status->toStdString() +
                                        "' is not active, completed, completed with warnings, "
                                        "failed, cancelled or interrupted");
    }
    std::optional<QDateTime> since;
    if (parser.isSet("since")) {
        since = QDateTime::fromString(parser.value("since"), Qt::ISODate);
        if (!since->isValid())
            throw std::invalid_argument("--since: '" + parser.value("since").toStdString() +
                                        "' is not a date (2026-12-01 or 2026-12-01T10:00:00Z)");
    }
    bool ok = false;
    const int limit = parser.value("limit").toInt(&ok);
    if (!ok || limit <= 0)
        throw std::invalid_argument("--limit: '" + parser.value("limit").toStdString() +
                                    "' is not a positive whole number");

    QJsonArray rows;
    std::vector<RunRecord> shown;
    for (RunRecord run : history.listRuns(limit)) {
        if (status && resultOf(run) != *status &&
            !(*status == QLatin1String("completed") && run.status == RunStatus::Completed))
            continue;
        if (since && QDateTime::fromString(QString::fromStdString(run.startedAt),
                                           Qt::ISODateWithMs) < *since)
            continue;
        run.diagnosis = history.diagnosis(run);
        shown.push_back(run);
        rows.append(runJson(run));
    }
    if (parser.isSet("json")) {
        std::printf("%s\n", QJsonDocument(rows).toJson().constData());
        return 0;
    }
    std::printf("%6s  %-24s  %-24s  %-12s  %10s  %10s  %s\n", "ID", "STARTED (UTC)", "RESULT",
                "ROLE", "RAM", "SENT", "DIAGNOSIS");
    for (const RunRecord& run : shown) {
        std::string note = run.diagnosis;
        if (note.size() > 100)
            note = note.substr(0, 97) + "...";
        std::printf("%6lld  %-24s  %-24s  %-12s  %10s  %10s  %s\n", static_cast<long long>(run.id),
                    run.startedAt.c_str(), resultOf(run).toStdString().c_str(), toString(run.role),
                    mebibytes(run.ramTotal).c_str(), mebibytes(run.transferred).c_str(),
                    note.c_str());
    }
    std::printf("%zu runs shown\n", shown.size());
    return 0;
}

int show(const HistoryStore& history, const QCommandLineParser& parser, const QString& idText) {
    bool ok = false;
    const qint64 id = idText.toLongLong(&ok);
    if (!ok || id <= 0)
        throw std::invalid_argument("history show: '" + idText.toStdString() +
                                    "' is not a run id (a positive whole number)");
    auto run = history.run(id);
    if (!run) {
        std::fprintf(stderr, "migrascope: history %s has no run %lld\n", history.path().c_str(),
                     static_cast<long long>(id));
        return 1;
    }
    run->diagnosis = history.diagnosis(*run);
    const auto channels = history.channels(id);
    const auto events = history.events(id);
    if (parser.isSet("json")) {
        QJsonObject object = runJson(*run);
        QJsonArray channelArray;
        for (const auto& channel : channels)
            channelArray.append(channelJson(channel));
        object["channels"] = channelArray;
        QJsonArray eventArray;
        for (const auto& event : events) {
            QJsonObject entry;
            entry["time"] = event.timeMs;
            entry["level"] = QString::fromLatin1(toString(event.level));
            entry["side"] = QString::fromLatin1(toString(event.side));
            entry["text"] = QString::fromStdString(event.text);
            eventArray.append(entry);
        }
        object["events"] = eventArray;
        std::printf("%s\n", QJsonDocument(object).toJson().constData());
        return 0;
    }
    std::printf("run %lld (%s), %s, %s\n", static_cast<long long>(run->id), run->uuid.c_str(),
                toString(run->role), resultOf(*run).toStdString().c_str());
    std::printf("started %s, ended %s\n", run->startedAt.c_str(),
                run->endedAt.empty() ? "-" : run->endedAt.c_str());
    if (!run->origin.empty())
        std::printf("imported from %s\n", run->origin.c_str());
    std::printf("diagnosis: %s\n", run->diagnosis.c_str());
    if (!run->errorDesc.empty())
        std::printf("cause: %s\n", run->errorDesc.c_str());
    for (const auto& warning : run->warnings)
        std::printf("warning: %s\n", warning.c_str());
    std::printf("integrity: %s\nconfiguration: %s\n", run->integrity.c_str(), run->config.c_str());
    std::printf("sent %s (guest RAM %s) in %.0f ms, downtime %.0f ms (limit %llu ms)\n",
                mebibytes(run->transferred).c_str(), mebibytes(run->ramTotal).c_str(),
                run->totalTimeMs, run->downtimeMs,
                static_cast<unsigned long long>(run->downtimeLimitMs));
    for (const auto& channel : channels)
        std::printf("channel %-12s %-8s %12llu bytes%s\n", channel.id.c_str(),
                    toString(channel.state), static_cast<unsigned long long>(channel.bytes),
                    channel.tcp
                        ? (", kernel acked " + std::to_string(channel.tcp->bytesAcked)).c_str()
                        : "");
    for (const auto& event : events)
        std::printf("%10.3f s  %s %-7s %s\n", event.timeMs / 1000, toString(event.side),
                    toString(event.level), event.text.c_str());
    return 0;
}

} // namespace

int runHistoryCommand(const QStringList& arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "The history from the command line:\n"
        "  migrascope history list [--status STATUS] [--since DATE] [--limit N] [--json]\n"
        "  migrascope history show ID [--json]\n"
        "It only reads the history file.");
    parser.addHelpOption();
    parser.addOptions({
        {"history", "History database. Default $XDG_DATA_HOME/migrascope/history.sqlite.", "FILE"},
        {"json", "Print JSON instead of text."},
        {"status",
         "list: only runs with this result (active, completed, completed with warnings, "
         "failed, cancelled, interrupted); completed includes those with warnings.",
         "STATUS"},
        {"since", "list: only runs started at or after DATE (ISO 8601).", "DATE"},
        {"limit", "list: look at the newest N runs. Default 500.", "N", "500"},
    });
    try {
        if (!parser.parse(arguments))
            throw std::invalid_argument(parser.errorText().toStdString());
        if (parser.isSet("help"))
            parser.showHelp(0);
        QStringList positional = parser.positionalArguments();
        positional.removeFirst(); // "history"
        if (positional.isEmpty())
            throw std::invalid_argument("history: say list or show ID");
        const QString command = positional.takeFirst();
        if (command != QLatin1String("list") && command != QLatin1String("show"))
            throw std::invalid_argument("history: unknown command '" + command.toStdString() +
                                        "' (list or show; export, report and import are not "
                                        "there yet)");
        if (command == QLatin1String("show") && positional.size() != 1)
            throw std::invalid_argument("history show: needs exactly one run id");
        if (command == QLatin1String("list") && !positional.isEmpty())
            throw std::invalid_argument("history list: unexpected argument '" +
                                        positional.first().toStdString() + "'");
        const std::string path = parser.isSet("history") ? parser.value("history").toStdString()
                                                         : HistoryStore::defaultPath();
        std::unique_ptr<HistoryStore> history;
        try {
            history = std::make_unique<HistoryStore>(path, HistoryStore::Access::ReadOnly);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "migrascope: %s\n", error.what());
            return 2;
        }
        return command == QLatin1String("list") ? list(*history, parser)
                                                : show(*history, parser, positional.first());
    } catch (const std::invalid_argument& error) {
        std::fprintf(stderr, "migrascope: %s\nTry 'migrascope history --help'.\n", error.what());
        return 2;
    }
}

} // namespace migrascope::app
