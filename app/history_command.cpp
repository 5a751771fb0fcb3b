#include "app/history_command.h"

#include "app/json_result.h"
#include "engine/api/history_store.h"
#include "ui/run_report.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSysInfo>
#include <algorithm>
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
        // An imported run is marked where its role is: "source*", with the origin in show.
        const std::string role = std::string(toString(run.role)) + (run.origin.empty() ? "" : "*");
        std::printf("%6lld  %-24s  %-24s  %-12s  %10s  %10s  %s\n", static_cast<long long>(run.id),
                    run.startedAt.c_str(), resultOf(run).toStdString().c_str(), role.c_str(),
                    mebibytes(run.ramTotal).c_str(), mebibytes(run.transferred).c_str(),
                    note.c_str());
    }
    std::printf("%zu runs shown\n", shown.size());
    if (std::any_of(shown.begin(), shown.end(),
                    [](const RunRecord& run) { return !run.origin.empty(); }))
        std::printf("* imported from another host (history show ID says which)\n");
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

std::vector<std::int64_t> runIds(const QStringList& texts, const char* command) {
    std::vector<std::int64_t> ids;
    for (const QString& text : texts) {
        bool ok = false;
        const qint64 id = text.toLongLong(&ok);
        if (!ok || id <= 0)
            throw std::invalid_argument(std::string("history ") + command + ": '" +
                                        text.toStdString() +
                                        "' is not a run id (a positive whole number)");
        ids.push_back(id);
    }
    if (ids.empty())
        throw std::invalid_argument(std::string("history ") + command +
                                    ": name at least one run id");
    return ids;
}

int exportRuns(const HistoryStore& history, const QCommandLineParser& parser,
               const QStringList& idTexts) {
    const std::vector<std::int64_t> ids = runIds(idTexts, "export");
    if (!parser.isSet("output"))
        throw std::invalid_argument("history export: say where with -o FILE");
    for (const std::int64_t id : ids)
        if (!history.run(id)) {
            std::fprintf(stderr, "migrascope: history %s has no run %lld\n", history.path().c_str(),
                         static_cast<long long>(id));
            return 1;
        }
    const std::string file = parser.value("output").toStdString();
    history.exportRuns(ids, file, QSysInfo::machineHostName().toStdString());
    std::printf("exported %zu run%s to %s\n", ids.size(), ids.size() == 1 ? "" : "s", file.c_str());
    return 0;
}

int reportRun(const HistoryStore& history, const QCommandLineParser& parser,
              const QStringList& idTexts) {
    const std::vector<std::int64_t> ids = runIds(idTexts, "report");
    if (ids.size() != 1)
        throw std::invalid_argument("history report: one run id at a time");
    if (!parser.isSet("output"))
        throw std::invalid_argument("history report: say where with -o FILE.html (or FILE.pdf)");
    if (!history.run(ids.front())) {
        std::fprintf(stderr, "migrascope: history %s has no run %lld\n", history.path().c_str(),
                     static_cast<long long>(ids.front()));
        return 1;
    }
    const QString file = parser.value("output");
    const QString error = ui::writeRunReport(history.path(), ids.front(), file);
    if (!error.isEmpty()) {
        std::fprintf(stderr, "migrascope: history report: %s\n", error.toLocal8Bit().constData());
        return 1;
    }
    std::printf("wrote the report of run %lld to %s\n", static_cast<long long>(ids.front()),
                file.toLocal8Bit().constData());
    return 0;
}

int pruneRuns(HistoryStore& history, const QCommandLineParser& parser) {
    const auto days = [&parser](const char* option) {
        bool ok = false;
        const int value = parser.value(option).toInt(&ok);
        if (!ok || value < 0)
            throw std::invalid_argument(std::string("--") + option + ": '" +
                                        parser.value(option).toStdString() +
                                        "' is not a number of days (0 or more)");
        return value;
    };
    const int retention = days("older-than");
    const int thinAfter = days("thin-after");
    const HistoryStore::Upkeep upkeep = history.keepBounded(retention, thinAfter);
    if (retention == 0)
        std::printf("kept every run (--older-than 0); ");
    else
        std::printf("deleted %llu run%s started more than %d days ago; ",
                    static_cast<unsigned long long>(upkeep.runsDeleted),
                    upkeep.runsDeleted == 1 ? "" : "s", retention);
    std::printf("thinned %llu samples of runs older than %d days to one per channel per second\n",
                static_cast<unsigned long long>(upkeep.samplesThinned), thinAfter);
    if (const std::uint64_t saved = history.compact(); saved > 0)
        std::printf("the file shrank by %.1f MiB\n", static_cast<double>(saved) / (1 << 20));
    return 0;
}

int importRuns(HistoryStore& history, const QString& file) {
    const HistoryStore::ImportResult result = history.importRuns(file.toStdString());
    std::printf("imported %zu run%s from %s into %s", result.imported.size(),
                result.imported.size() == 1 ? "" : "s", file.toLocal8Bit().constData(),
                history.path().c_str());
    if (!result.imported.empty())
        std::printf(" (ids %lld to %lld)", static_cast<long long>(result.imported.front()),
                    static_cast<long long>(result.imported.back()));
    std::printf("\n");
    if (!result.alreadyThere.empty())
        std::printf("%zu run%s already there, not copied again\n", result.alreadyThere.size(),
                    result.alreadyThere.size() == 1 ? " was" : "s were");
    return 0;
}

} // namespace

int runHistoryCommand(const QStringList& arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "The history from the command line:\n"
        "  migrascope history list [--status STATUS] [--since DATE] [--limit N] [--json]\n"
        "  migrascope history show ID [--json]\n"
        "  migrascope history export ID... -o FILE   (a history file of those runs)\n"
        "  migrascope history import FILE            (runs another machine exported)\n"
        "  migrascope history report ID -o FILE.html|FILE.pdf   (a report for a ticket)\n"
        "  migrascope history prune [--older-than DAYS] [--thin-after DAYS]\n"
        "Only import and prune write to the history file.");
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
        {"older-than", "prune: delete finished runs started more than DAYS ago (0: none).", "DAYS",
         "365"},
        {"thin-after", "prune: thin the samples of runs older than DAYS to one per second.", "DAYS",
         "7"},
        {{"o", "output"},
         "export: the history file to write (it must not exist); report: the .html or .pdf file.",
         "FILE"},
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
        const QStringList known{"list", "show", "export", "import", "report", "prune"};
        if (!known.contains(command))
            throw std::invalid_argument("history: unknown command '" + command.toStdString() +
                                        "' (list, show, export, import, report or prune)");
        if (command == QLatin1String("show") && positional.size() != 1)
            throw std::invalid_argument("history show: needs exactly one run id");
        if (command == QLatin1String("import") && positional.size() != 1)
            throw std::invalid_argument("history import: needs exactly one file");
        if ((command == QLatin1String("list") || command == QLatin1String("prune")) &&
            !positional.isEmpty())
            throw std::invalid_argument("history " + command.toStdString() +
                                        ": unexpected argument '" +
                                        positional.first().toStdString() + "'");
        const std::string path = parser.isSet("history") ? parser.value("history").toStdString()
                                                         : HistoryStore::defaultPath();
        const bool writes = command == QLatin1String("import") || command == QLatin1String("prune");
        std::unique_ptr<HistoryStore> history;
        try {
            history = std::make_unique<HistoryStore>(path, writes ? HistoryStore::Access::ReadWrite
                                                                  : HistoryStore::Access::ReadOnly);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "migrascope: %s\n", error.what());
            return 2;
        }
        try {
            if (command == QLatin1String("list"))
                return list(*history, parser);
            if (command == QLatin1String("show"))
                return show(*history, parser, positional.first());
            if (command == QLatin1String("export"))
                return exportRuns(*history, parser, positional);
            if (command == QLatin1String("report"))
                return reportRun(*history, parser, positional);
            if (command == QLatin1String("prune"))
                return pruneRuns(*history, parser);
            return importRuns(*history, positional.first());
        } catch (const std::runtime_error& error) {
            std::fprintf(stderr, "migrascope: history %s: %s\n", command.toLocal8Bit().constData(),
                         error.what());
            return 1;
        }
    } catch (const std::invalid_argument& error) {
        std::fprintf(stderr, "migrascope: %s\nTry 'migrascope history --help'.\n", error.what());
        return 2;
    }
}

} // namespace migrascope::app
