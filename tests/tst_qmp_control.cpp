// A headless run steered and watched through its QMP socket (--qmp unix:PATH) by the clients an
// operator of QEMU already has: socat, and a plain Python script speaking the protocol as
// QEMU's own test scripts do.
#include "engine/api/qemu_watch.h"
#include "process_support.h"
#include "test_support.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QtTest>
#include <set>

namespace {

// Every JSON object a client printed, one per line.
QList<QJsonObject> messagesIn(const QByteArray& output) {
    QList<QJsonObject> messages;
    for (const QByteArray& line : output.split('\n'))
        if (const auto document = QJsonDocument::fromJson(line.trimmed()); document.isObject())
            messages.append(document.object());
    return messages;
}

const QJsonObject replyTo(const QList<QJsonObject>& messages, const QJsonValue& id) {
    for (const QJsonObject& message : messages)
        if (message.contains("id") && message["id"] == id)
            return message;
    return {};
}

} // namespace

class TestQmpControl : public QObject {
    Q_OBJECT

private:
    migrascope::test::Workspace workspace_;

    QString socketPath(const QString& name) const {
        return QString::fromStdString(workspace_.path(name.toStdString()));
    }

    // A run slow enough to be steered: 256 MiB, idle, capped at 16 MiB/s (about 16 s).
    void startSlowRun(QProcess& run, const QString& socket) {
        run.start(MIGRASCOPE_BINARY,
                  {"--headless", "--no-tls", "--ram-size", "256M", "--dirty-rate", "0",
                   "--max-bandwidth", "16M", "--json", "--history",
                   QString::fromStdString(workspace_.path("history.sqlite")), "--qmp",
                   "unix:" + socket});
        QVERIFY(run.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(socket), 20000);
    }

    static QJsonObject resultOf(QProcess& run) {
        return QJsonDocument::fromJson(run.readAllStandardOutput()).object();
    }

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }

    // socat, typed as an operator would: negotiation first (a command before it gets QEMU's
    // CommandNotFound), ids echoed, parameters as QEMU names them, an unknown command named,
    // and migrate_cancel ending the run as cancelled.
    void socatQueriesAndCancelsAHeadlessRun() {
        if (QStandardPaths::findExecutable("socat").isEmpty())
            QSKIP("needs socat (packaging/dev.sh installs it)");
        const QString socket = socketPath("socat.sock");
        QProcess run;
        startSlowRun(run, socket);
        QProcess socat;
        socat.start("socat", {"-t", "3", "-", "UNIX-CONNECT:" + socket});
        QVERIFY(socat.waitForStarted());
        socat.write("{\"execute\": \"query-migrate\", \"id\": \"early\"}\n"
                    "{\"execute\": \"qmp_capabilities\"}\n"
                    "{\"execute\": \"query-migrate\", \"id\": \"q1\"}\n"
                    "{\"execute\": \"query-migrate-parameters\", \"id\": 2}\n"
                    "{\"execute\": \"no-such-command\", \"id\": 3}\n"
                    "this is not JSON\n"
                    "{\"execute\": \"migrate_cancel\", \"id\": 4}\n");
        // As an operator at the keyboard: the last answer is read before socat is left.
        QByteArray output;
        QTRY_VERIFY_WITH_TIMEOUT((output += socat.readAllStandardOutput()).contains("\"id\":4"),
                                 20000);
        socat.closeWriteChannel();
        QVERIFY(socat.waitForFinished(30000));
        const auto messages = messagesIn(output + socat.readAllStandardOutput());
        QVERIFY(!messages.isEmpty());
        QVERIFY2(messages.first()["QMP"].toObject().contains("version"),
                 qPrintable(QJsonDocument(messages.first()).toJson()));
        QCOMPARE(replyTo(messages, "early")["error"]["class"].toString(),
                 QString("CommandNotFound"));
        const QString status = replyTo(messages, "q1")["return"]["status"].toString();
        // "none" while the source guest still boots, before the migration's setup.
        QVERIFY2(status == "none" || status == "setup" || status == "active", qPrintable(status));
        QCOMPARE(replyTo(messages, 2)["return"]["max-bandwidth"].toInteger(), qint64{16} << 20);
        QCOMPARE(replyTo(messages, 3)["error"]["class"].toString(), QString("CommandNotFound"));
        bool parseErrorSeen = false;
        for (const QJsonObject& message : messages)
            parseErrorSeen |= message["error"]["desc"].toString().startsWith("JSON parse error");
        QVERIFY(parseErrorSeen);
        QVERIFY(replyTo(messages, 4).contains("return"));
        QVERIFY(run.waitForFinished(60000));
        QCOMPARE(run.exitCode(), 1);
        QCOMPARE(resultOf(run)["status"].toString(), QString("cancelled"));
    }

    // A Python script lifts the cap while the run is active and follows the events to the end:
    // the new parameter is what QEMU's query reports, the run goes faster than the old cap
    // allowed, every dirty sync was announced, and the change is in the run's history.
    void aScriptLiftsTheCapAndFollowsTheEvents() {
        const QString python = QStandardPaths::findExecutable("python3");
        if (python.isEmpty())
            QSKIP("needs python3");
        const QString socket = socketPath("script.sock");
        QProcess run;
        startSlowRun(run, socket);
        QProcess script;
        script.start(python, {QStringLiteral(MIGRASCOPE_TESTS_DIR) + "/scripts/qmp_client.py",
                              socket, "--until-event", "MIGRATION:completed",
                              R"({"execute": "qmp_capabilities"})", "?active",
                              R"({"execute": "migrate-set-parameters",
                                  "arguments": {"multifd-channels": 8}})",
                              R"({"execute": "migrate-set-parameters",
                                  "arguments": {"max-bandwidth": -1}})",
                              R"({"execute": "migrate-set-parameters",
                                  "arguments": {"max-bandwidth": 0}})",
                              R"({"execute": "query-migrate-parameters"})"});
        QVERIFY(script.waitForFinished(90000));
        const QByteArray output = script.readAllStandardOutput();
        QVERIFY2(script.exitCode() == 0, script.readAllStandardError().constData());
        QVERIFY(run.waitForFinished(60000));
        const QJsonObject result = resultOf(run);
        QCOMPARE(result["status"].toString(), QString("completed"));

        const auto messages = messagesIn(output);
        QVERIFY2(replyTo(messages, 2)["error"]["desc"].toString().contains("multifd-channels"),
                 output.constData());
        QVERIFY2(replyTo(messages, 3)["error"]["desc"].toString().contains("expected: integer"),
                 output.constData());
        QVERIFY(replyTo(messages, 4).contains("return"));
        QCOMPARE(replyTo(messages, 5)["return"]["max-bandwidth"].toInteger(), qint64{0});
        QStringList statuses;
        qint64 lastPass = 0;
        for (const QJsonObject& message : messages) {
            if (message["event"] == "MIGRATION")
                statuses << message["data"]["status"].toString();
            if (message["event"] == "MIGRATION_PASS") {
                QVERIFY(message["data"]["pass"].toInteger() > lastPass);
                lastPass = message["data"]["pass"].toInteger();
            }
        }
        // It joined while active: from then on, the switchover (device) and the end.
        QVERIFY2(statuses.contains("device") && statuses.last() == "completed",
                 qPrintable(statuses.join(", ")));
        QCOMPARE(lastPass, result["ram"]["dirty-sync-count"].toInteger());
        // 16 MiB/s is 134.2 Mbit/s: the run's average beat the cap it started with.
        QVERIFY2(result["ram"]["mbps"].toDouble() > 16 * 1048576 * 8 / 1e6,
                 qPrintable(QString::number(result["ram"]["mbps"].toDouble())));

        QProcess show;
        show.start(MIGRASCOPE_BINARY,
                   {"history", "show", QString::number(result["history-id"].toInteger()),
                    "--history", QString::fromStdString(workspace_.path("history.sqlite"))});
        QVERIFY(show.waitForFinished(30000));
        QVERIFY2(show.readAllStandardOutput().contains(
                     "migrate-set-parameters: max-bandwidth 16.0 MiB/s -> unlimited"),
                 "the change is not in the run's history");
    }

    // QEMU 8.0 added query-migrationthreads; Debian 12's QEMU (7.2) has none, and a headless
    // Migrascope run answers it for its own threads. A watch of such a run, migrating to a
    // daemon in another process, names the run's sender threads from the command, and
    // their thread ids are the source process's own.
    void aWatchNamesTheThreadsQueryMigrationthreadsLists() {
        QProcess daemon;
        const QString port = migrascope::test::startDaemonOnAnyPort(
            daemon, MIGRASCOPE_BINARY,
            {"--no-tls", "--history", QString::fromStdString(workspace_.path("daemon.sqlite"))});
        QVERIFY(!port.isEmpty());
        const QString socket = socketPath("threads.sock");
        QProcess run;
        run.start(MIGRASCOPE_BINARY,
                  {"--headless", "--no-tls", "--destination", "127.0.0.1:" + port, "--ram-size",
                   "256M", "--dirty-rate", "0", "--max-bandwidth", "32M", "--multifd-channels", "2",
                   "--json", "--history", QString::fromStdString(workspace_.path("history.sqlite")),
                   "--qmp", "unix:" + socket});
        QVERIFY(run.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(socket), 20000);

        migrascope::WatchOptions options;
        options.sourceQmp = socket.toStdString();
        options.recordHistory = false;
        migrascope::QemuWatch watch(options);
        watch.start();
        const auto listed = [&watch] {
            std::set<std::string> names;
            for (const auto& thread : watch.report().threads)
                if (QFileInfo::exists(
                        QString("/proc/%1/task/%2").arg(watch.report().sourcePid).arg(thread.tid)))
                    names.insert(thread.name);
            return names;
        };
        QTRY_VERIFY_WITH_TIMEOUT(listed().count("multifdsend_1") == 1, 20000);
        const auto report = watch.report();
        QCOMPARE(report.threadNamesFrom, std::string("query-migrationthreads"));
        QCOMPARE(report.sourcePid, static_cast<pid_t>(run.processId()));
        QVERIFY(listed().count("multifdsend_0") == 1);
        QVERIFY(listed().count("live_migration") == 1);
        watch.stop();
        QVERIFY(run.waitForFinished(60000));
        QCOMPARE(resultOf(run)["status"].toString(), QString("completed"));
        daemon.terminate();
        QVERIFY(daemon.waitForFinished(30000));
    }

    void aBadQmpAddressIsRefusedBeforeAnythingStarts_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("named");
        QTest::newRow("not unix") << QStringList{"--headless", "--qmp", "tcp:4444"}
                                  << "--qmp: 'tcp:4444': expected unix:PATH";
        QTest::newRow("no directory")
            << QStringList{"--headless", "--qmp", "unix:/nonexistent/dir/qmp.sock"}
            << "--qmp: the directory /nonexistent/dir does not exist";
        QTest::newRow("a watch") << QStringList{"--watch", "qmp:/tmp/x.sock", "--qmp", "unix:y"}
                                 << "--qmp serves a headless run of ours";
    }
    void aBadQmpAddressIsRefusedBeforeAnythingStarts() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, named);
        QProcess run;
        run.start(MIGRASCOPE_BINARY, arguments);
        QVERIFY(run.waitForFinished(30000));
        QCOMPARE(run.exitCode(), 2);
        const QString err = QString::fromLocal8Bit(run.readAllStandardError());
        QVERIFY2(err.contains(named), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestQmpControl)
#include "tst_qmp_control.moc"
