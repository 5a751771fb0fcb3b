#include "app/incoming.h"

#include "app/console.h"
#include "app/json_result.h"
#include "app/qmp_server.h"
#include "app/signals.h"
#include "engine/api/incoming_daemon.h"

#include <QJsonArray>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

namespace migrascope::app {
namespace {

QJsonObject describe(const IncomingMigrationState& migration) {
    QJsonObject item{{"uuid", QString::fromStdString(migration.uuid)},
                     {"source", QString::fromStdString(migration.source)},
                     {"status", toString(migration.snapshot.status)}};
    if (migration.historyId != 0)
        item["history-id"] = static_cast<qint64>(migration.historyId);
    if (!migration.snapshot.errorDesc.empty())
        item["error-desc"] = QString::fromStdString(migration.snapshot.errorDesc);
    return item;
}

// The commands a destination daemon answers, QEMU's names, one handler each.
void addDaemonCommands(QmpServer& qmp, IncomingDaemon& daemon) {
    const std::pair<const char*, QmpServer::Handler> commands[] = {
        // As QEMU's destination answers it (the newest migration; {} before any), with
        // Migrascope's "incoming": every migration the daemon holds.
        {"query-migrate",
         [&daemon](const QJsonObject&) -> QJsonValue {
             const auto migrations = daemon.migrations();
             if (migrations.empty())
                 return QJsonObject{};
             QJsonObject result =
                 jsonResult(migrations.back().snapshot, migrations.back().historyId);
             QJsonArray incoming;
             for (const auto& migration : migrations)
                 incoming.append(describe(migration));
             result["incoming"] = incoming;
             return result;
         }},
        {"migrate_cancel",
         [&daemon](const QJsonObject& arguments) -> QJsonValue {
             if (const std::string refused =
                     daemon.cancel(arguments["uuid"].toString().toStdString());
                 !refused.empty())
                 throw QmpError(refused);
             return QJsonObject{};
         }},
        // The daemon arms a paused postcopy for its source's resume by itself, on its own
        // address; with a uri it listens there too, as QEMU's destination does.
        {"migrate-recover",
         [&daemon](const QJsonObject& arguments) -> QJsonValue {
             if (const std::string refused =
                     daemon.recover(arguments["uuid"].toString().toStdString(),
                                    arguments["uri"].toString().toStdString());
                 !refused.empty())
                 throw QmpError(refused);
             return QJsonObject{};
         }},
    };
    for (const auto& [name, handler] : commands)
        qmp.addCommand(name, handler);
}

// MIGRATION for every status each incoming migration went through, with its uuid.
class DaemonEvents {
public:
    void publish(QmpServer& qmp, const std::vector<IncomingMigrationState>& migrations) {
        for (const auto& migration : migrations) {
            std::size_t& sent = sent_[migration.uuid];
            const auto& changes = migration.snapshot.statusChanges;
            for (; sent < changes.size(); ++sent)
                qmp.sendEvent("MIGRATION", {{"status", toString(changes[sent])},
                                            {"uuid", QString::fromStdString(migration.uuid)}});
        }
    }

private:
    std::map<std::string, std::size_t> sent_;
};

} // namespace

int runIncoming(const CommandLine& line) {
    installStopSignals();
    IncomingDaemon daemon(line.incoming);
    std::unique_ptr<QmpServer> qmp;
    if (!line.qmpPath.isEmpty()) {
        if (!(qmp = QmpServer::listenForCommandLine(line.qmpPath)))
            return 2;
        addDaemonCommands(*qmp, daemon);
    }
    try {
        daemon.start();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "migrascope: --incoming: %s\n", error.what());
        return 2;
    }
    // Scripts and tests wait for this line to know the daemon listens.
    std::fprintf(stderr, "migrascope: destination daemon listening on port %u\n",
                 static_cast<unsigned>(daemon.port()));
    DaemonEvents events;
    while (!stopRequested()) {
        // Events of the migrations about to be recorded and let go still go out.
        if (qmp)
            events.publish(*qmp, daemon.migrations());
        printEvents(daemon.poll());
        if (qmp) {
            QmpServer::serveFor(100);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    daemon.stop();
    printEvents(daemon.poll());
    std::fprintf(stderr,
                 "migrascope: destination daemon stopped: %u migrations received, %u "
                 "completed\n",
                 daemon.received(), daemon.completed());
    return 0;
}

} // namespace migrascope::app
