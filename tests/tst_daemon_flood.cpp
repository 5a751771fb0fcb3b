// A destination daemon under a flood of rogue connections (silent, garbage, HTTP, TLS from
// another CA): a real migration still completes, the rejections are logged together, and the
// daemon's threads and descriptors return to where they were. Also out of descriptors: the
// daemon waits until it has some again instead of giving up listening. A paused postcopy's
// resume gets through a flood, comes on another address after migrate-recover names one, and is
// refused from another client certificate.
#include "engine/api/history_store.h"
#include "engine/api/tls_pki.h"
#include "engine/transport/connection.h"
#include "engine/transport/socket.h"
#include "engine/wire/main_stream.h"
#include "test_support.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QtTest>
#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace migrascope;

namespace {

struct Usage {
    int threads = -1;
    int descriptors = -1;
};

Usage usageOf(qint64 pid) {
    Usage usage;
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (status.open(QIODevice::ReadOnly))
        for (const QByteArray& line : status.readAll().split('\n'))
            if (line.startsWith("Threads:"))
                usage.threads = line.mid(8).trimmed().toInt();
    usage.descriptors = static_cast<int>(
        QDir(QStringLiteral("/proc/%1/fd").arg(pid)).entryList(QDir::NoDotAndDotDot).size());
    return usage;
}

// A connection that does not wait for the daemon to take it (the backlog may be full).
int connectWithoutWaiting(quint16 port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    return fd;
}

// 200 rogue connections at once: 150 plain ones (a third silent, a third garbage, a third
// HTTP) and 50 TLS clients from a CA the daemon does not know, each on a thread of its own.
class RogueFlood {
public:
    static constexpr int kPlain = 150;
    static constexpr int kTlsClients = 50;

    RogueFlood(quint16 port, const std::string& foreignPki) {
        for (int i = 0; i < kPlain; ++i)
            plain_.push_back(connectWithoutWaiting(port));
        const QByteArray garbage(64, '\xa5');
        const QByteArray http("GET / HTTP/1.1\r\nHost: destination\r\n\r\n");
        for (int i = 0; i < kPlain; ++i)
            if (i % 3 != 0) { // a third stay silent
                const QByteArray& bytes = i % 3 == 1 ? garbage : http;
                (void)::send(plain_[static_cast<std::size_t>(i)], bytes.constData(),
                             static_cast<std::size_t>(bytes.size()), MSG_NOSIGNAL);
            }
        PkiOptions foreign;
        foreign.caName = "Some other CA";
        generatePki(foreignPki, foreign);
        for (int i = 0; i < kTlsClients; ++i)
            tlsClients_.emplace_back([this, port, foreignPki] {
                try {
                    TlsCredentials credentials(foreignPki, TlsCredentials::Endpoint::Client);
                    Connection connection(connectTcp("127.0.0.1", port), "foreign");
                    connection.startTlsClient(credentials, "NORMAL", "127.0.0.1");
                } catch (const std::exception&) {
                    ++refused_;
                }
            });
    }
    ~RogueFlood() {
        joinTlsClients();
        closePlain();
    }
    RogueFlood(const RogueFlood&) = delete;
    RogueFlood& operator=(const RogueFlood&) = delete;

    void joinTlsClients() {
        for (auto& client : tlsClients_)
            if (client.joinable())
                client.join();
    }
    int refusedTlsClients() const { return refused_.load(); }
    void closePlain() {
        for (int fd : std::exchange(plain_, {}))
            ::close(fd);
    }

private:
    std::vector<int> plain_;
    std::vector<std::thread> tlsClients_;
    std::atomic<int> refused_{0};
};

} // namespace

class TestDaemonFlood : public QObject {
    Q_OBJECT

private:
    test::Workspace workspace_;
    std::unique_ptr<QProcess> daemon_;
    QByteArray log_;
    quint16 port_ = 0;

    QByteArray daemonLog() {
        if (daemon_)
            log_ += daemon_->readAllStandardError();
        return log_;
    }

    void startDaemon(const QStringList& prefix, const QString& history,
                     const QStringList& extra = {}, quint16 port = 0) {
        log_.clear();
        daemon_ = std::make_unique<QProcess>();
        const QStringList daemonArguments =
            QStringList{"--incoming",          "tls://127.0.0.1:" + QString::number(port),
                        "--tls-creds",         QString::fromStdString(workspace_.pki),
                        "--handshake-timeout", "1000",
                        "--history",           history} +
            extra;
        if (prefix.isEmpty())
            daemon_->start(MIGRASCOPE_BINARY, daemonArguments);
        else
            daemon_->start(prefix.first(),
                           prefix.mid(1) + QStringList{MIGRASCOPE_BINARY} + daemonArguments);
        QVERIFY(daemon_->waitForStarted());
        const QRegularExpression listening("listening on port (\\d+)");
        QTRY_VERIFY_WITH_TIMEOUT(listening.match(QString::fromLocal8Bit(daemonLog())).hasMatch(),
                                 20000);
        port_ = static_cast<quint16>(
            listening.match(QString::fromLocal8Bit(daemonLog())).captured(1).toUInt());
    }

    void stopDaemon() {
        if (!daemon_)
            return;
        ::kill(static_cast<pid_t>(daemon_->processId()), SIGTERM);
        if (!daemon_->waitForFinished(30000))
            daemon_->kill();
        daemon_->waitForFinished();
        daemonLog();
        daemon_.reset();
    }

    void startSource(QProcess& source, const QStringList& extra = {}) {
        source.start(MIGRASCOPE_BINARY,
                     QStringList{"--headless", "--destination",
                                 "127.0.0.1:" + QString::number(port_), "--tls-creds",
                                 QString::fromStdString(workspace_.pki), "--ram-size", "64M",
                                 "--multifd-channels", "2", "--json", "--history",
                                 QString::fromStdString(workspace_.path("source.sqlite"))} +
                         extra);
    }

    static QJsonObject resultOf(QProcess& source) {
        return QJsonDocument::fromJson(source.readAllStandardOutput()).object();
    }

    QJsonObject migrate(int* exitCode) {
        QProcess source;
        startSource(source);
        if (!source.waitForFinished(120000))
            source.kill();
        source.waitForFinished();
        *exitCode = source.exitStatus() == QProcess::NormalExit ? source.exitCode() : -1;
        const QByteArray err = source.readAllStandardError();
        if (*exitCode != 0)
            qWarning("source: %s", err.constData());
        return QJsonDocument::fromJson(source.readAllStandardOutput()).object();
    }

    std::vector<RunRecord> daemonRuns(const QString& history) {
        try {
            return HistoryStore(history.toStdString(), HistoryStore::Access::ReadOnly).listRuns();
        } catch (const std::exception&) {
            return {};
        }
    }

    // A headless source in postcopy-active that resumes a pause only when told to through its
    // QMP socket (as the daemon's own address would otherwise take its resume by itself).
    void startPostcopySource(QProcess& source, const QString& qmpSocket) {
        startSource(source, {"--ram-size", "256M", "--dirty-rate", "32M", "--max-bandwidth", "32M",
                             "--capability", "postcopy-ram=on", "--postcopy-after", "1",
                             "--recover-delay", "3600000", "--qmp", "unix:" + qmpSocket});
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("postcopy-active"), 60000);
    }

    // tests/scripts/qmp_client.py: qmp_capabilities, then each command in turn. Everything it
    // printed; empty when it failed to run.
    static QByteArray qmp(const QString& socket, const QStringList& commands) {
        const QString python = QStandardPaths::findExecutable("python3");
        QProcess script;
        script.start(python,
                     QStringList{QStringLiteral(MIGRASCOPE_TESTS_DIR) + "/scripts/qmp_client.py",
                                 socket, R"({"execute": "qmp_capabilities"})"} +
                         commands);
        script.waitForFinished(30000);
        return script.readAllStandardOutput() + script.readAllStandardError();
    }

    static bool accepted(const QByteArray& said) {
        return said.contains("\"return\"") && !said.contains("\"error\"");
    }

    // The operator's migrate-pause on the source; the daemon pauses too, and knows it for the
    // operator's pause (the TLS session said so), not for a failure of the connection.
    void pauseThroughQmp(const QString& sourceSocket) {
        const QByteArray said = qmp(sourceSocket, {R"({"execute": "migrate-pause"})"});
        QVERIFY2(accepted(said), said.constData());
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("postcopy-paused"), 20000);
        QTRY_VERIFY2_WITH_TIMEOUT(
            daemonLog().contains(
                "postcopy-paused: the source paused the migration (migrate-pause)"),
            daemonLog().constData(), 5000);
    }

    void expectResumedAndVerified(QProcess& source, const QString& history) {
        QVERIFY(source.waitForFinished(120000));
        const QByteArray sourceLog = source.readAllStandardError();
        const QJsonObject json = resultOf(source);
        QVERIFY2(source.exitCode() == 0 && json["status"].toString() == "completed",
                 sourceLog.constData());
        QCOMPARE(json["integrity"].toString(), QString("verified"));
        QVERIFY(json["postcopy"]["recoveries"].toInt() >= 1);
        QTRY_VERIFY_WITH_TIMEOUT(daemonRuns(history).size() == 1 &&
                                     daemonRuns(history)[0].status == RunStatus::Completed,
                                 15000);
    }

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }
    void cleanup() { stopDaemon(); }

    void aFloodDoesNotStopARealMigration() {
        startDaemon({}, QString::fromStdString(workspace_.path("flood.sqlite")));
        const qint64 pid = daemon_->processId();
        const Usage baseline = usageOf(pid);

        RogueFlood flood(port_, workspace_.path("foreign-pki"));

        // A real migration, while the flood is on.
        QElapsedTimer clock;
        clock.start();
        int exitCode = -1;
        const QJsonObject json = migrate(&exitCode);
        qInfo("the real migration took %lld ms through the flood", clock.elapsed());
        flood.joinTlsClients();
        QCOMPARE(exitCode, 0);
        QCOMPARE(json["status"].toString(), QString("completed"));
        QCOMPARE(json["integrity"].toString(), QString("verified"));
        QCOMPARE(flood.refusedTlsClients(), RogueFlood::kTlsClients); // none of them got in

        // While the flood is still connected, the daemon holds only a bounded number of them.
        const Usage during = usageOf(pid);
        QVERIFY2(during.threads <= baseline.threads + 40,
                 qPrintable(QStringLiteral("%1 threads").arg(during.threads)));
        flood.closePlain();
        // Back where it started, once the last ones time out.
        QTRY_VERIFY_WITH_TIMEOUT(usageOf(pid).threads == baseline.threads &&
                                     usageOf(pid).descriptors == baseline.descriptors,
                                 20000);
        // Rejections are reported together, not a line each.
        QTRY_VERIFY2_WITH_TIMEOUT(daemonLog().contains("more connections:"),
                                  daemonLog().constData(), 15000);
        // Each listening period (before and after the migration) names its first in full.
        QVERIFY2(daemonLog().count("rejected connection from") <= 2, daemonLog().constData());
        qInfo("daemon: %d threads, %d descriptors before; %d, %d with the flood connected",
              baseline.threads, baseline.descriptors, during.threads, during.descriptors);
    }

    // --max-incoming 2: two sources migrate into one daemon at once, on one port, each into a
    // guest of its own, and the daemon's history holds both runs, overlapping in time.
    void twoSourcesMigrateIntoOneDaemonAtOnce() {
        const QString history = QString::fromStdString(workspace_.path("two-at-once.sqlite"));
        startDaemon({}, history, {"--max-incoming", "2"});
        // About 4 s each at 32 MiB/s: long enough to overlap.
        const QStringList slow{"--ram-size", "128M", "--dirty-rate", "0", "--max-bandwidth", "32M"};
        QProcess first;
        QProcess second;
        startSource(first, slow);
        startSource(second, slow);
        QVERIFY(first.waitForFinished(120000));
        QVERIFY(second.waitForFinished(120000));
        const QJsonObject one = resultOf(first);
        const QJsonObject two = resultOf(second);
        QVERIFY2(first.exitCode() == 0 && second.exitCode() == 0, daemonLog().constData());
        for (const QJsonObject& json : {one, two}) {
            QCOMPARE(json["status"].toString(), QString("completed"));
            QCOMPARE(json["integrity"].toString(), QString("verified"));
        }
        QTRY_VERIFY_WITH_TIMEOUT(daemonRuns(history).size() == 2 &&
                                     daemonRuns(history)[0].status == RunStatus::Completed &&
                                     daemonRuns(history)[1].status == RunStatus::Completed,
                                 15000);
        const auto runs = daemonRuns(history);
        // Each source's JSON names its own record in the daemon's history.
        QSet<qint64> ids{one["destination"]["history-id"].toInteger(),
                         two["destination"]["history-id"].toInteger()};
        QCOMPARE(ids, (QSet<qint64>{runs[0].id, runs[1].id}));
        // At once, not one after the other (ISO 8601 UTC strings order as times).
        QVERIFY2(
            runs[0].startedAt < runs[1].endedAt && runs[1].startedAt < runs[0].endedAt,
            qPrintable(QString::fromStdString(runs[0].startedAt + " - " + runs[0].endedAt + ", " +
                                              runs[1].startedAt + " - " + runs[1].endedAt)));
    }

    // Over --max-incoming, a source is refused at once with the reason, and the migration in
    // flight is not disturbed.
    void overTheLimitASourceIsRefusedWithTheReason() {
        const QString history = QString::fromStdString(workspace_.path("over-the-limit.sqlite"));
        startDaemon({}, history);
        QProcess first;
        startSource(first, {"--ram-size", "256M", "--dirty-rate", "0", "--max-bandwidth", "32M"});
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("incoming migration"), 20000);
        QElapsedTimer clock;
        clock.start();
        QProcess second;
        startSource(second);
        QVERIFY(second.waitForFinished(30000));
        qInfo("the refused source ended after %lld ms", clock.elapsed());
        const QJsonObject refused = resultOf(second);
        QCOMPARE(second.exitCode(), 1);
        QCOMPARE(refused["status"].toString(), QString("failed"));
        QCOMPARE(refused["source-guest"].toString(), QString("running"));
        QVERIFY2(refused["error-desc"].toString().contains("--max-incoming 1"),
                 qPrintable(refused["error-desc"].toString()));
        QVERIFY(first.state() == QProcess::Running); // the first one goes on
        QVERIFY(first.waitForFinished(120000));
        QCOMPARE(first.exitCode(), 0);
        QCOMPARE(resultOf(first)["status"].toString(), QString("completed"));
        QTRY_VERIFY_WITH_TIMEOUT(daemonRuns(history).size() == 1 &&
                                     daemonRuns(history)[0].status == RunStatus::Completed,
                                 15000);
        QTRY_VERIFY2_WITH_TIMEOUT(daemonLog().contains("--max-incoming 1"), daemonLog().constData(),
                                  5000);
    }

    void aPausedPostcopyWhoseSourceNeverReturnsIsFailedAndRecorded() {
        const QString history = QString::fromStdString(workspace_.path("abandoned.sqlite"));
        startDaemon({}, history, {"--postcopy-recover-timeout", "1500"});
        QProcess source;
        source.start(MIGRASCOPE_BINARY,
                     {"--headless", "--destination", "127.0.0.1:" + QString::number(port_),
                      "--tls-creds", QString::fromStdString(workspace_.pki), "--ram-size", "256M",
                      "--dirty-rate", "32M", "--max-bandwidth", "32M", "--capability",
                      "postcopy-ram=on", "--postcopy-after", "1"});
        QVERIFY(source.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("postcopy-active"), 60000);
        ::kill(static_cast<pid_t>(source.processId()), SIGKILL); // it never comes back
        source.waitForFinished();
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("postcopy-paused"), 10000);
        QTRY_VERIFY2_WITH_TIMEOUT(daemonLog().contains("did not resume the paused postcopy"),
                                  daemonLog().constData(), 15000);
        stopDaemon();
        const auto runs =
            HistoryStore(history.toStdString(), HistoryStore::Access::ReadOnly).listRuns();
        QCOMPARE(runs.size(), std::size_t{1});
        QVERIFY(runs.front().status == RunStatus::Failed);
        QVERIFY2(runs.front().errorDesc.find("postcopy-recover-timeout") != std::string::npos,
                 runs.front().errorDesc.c_str());
    }

    // The daemon dies while a postcopy migration is paused, and a new one starts on the same
    // port: it does not hold the half-migrated guest, so the source's resume is refused with
    // the reason, and the source fails clearly instead of retrying for ever.
    void aResumeToARestartedDaemonFailsClearly() {
        const QString history = QString::fromStdString(workspace_.path("restarted.sqlite"));
        startDaemon({}, history);
        const quint16 port = port_;
        QProcess source;
        startSource(source, {"--ram-size", "256M", "--dirty-rate", "32M", "--max-bandwidth", "32M",
                             "--capability", "postcopy-ram=on", "--postcopy-after", "1",
                             "--recover-delay", "500"});
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("postcopy-active"), 60000);
        ::kill(static_cast<pid_t>(daemon_->processId()), SIGKILL);
        daemon_->waitForFinished();
        daemon_.reset();
        startDaemon({}, history, {}, port);
        QVERIFY(source.waitForFinished(60000));
        const QJsonObject json = resultOf(source);
        QCOMPARE(source.exitCode(), 1);
        QCOMPARE(json["status"].toString(), QString("failed"));
        QVERIFY2(json["error-desc"].toString().contains("holds no paused migration"),
                 qPrintable(json["error-desc"].toString()));
        qInfo("the source: %s", qPrintable(json["error-desc"].toString()));
        QTRY_VERIFY2_WITH_TIMEOUT(daemonLog().contains("resume refused"), daemonLog().constData(),
                                  5000);
    }

    // The destination host's operator cancels an incoming migration through the daemon's QMP
    // socket, with a plain QMP client: the source fails naming it and keeps its guest, and the
    // daemon's history records why.
    void theDaemonsQmpSocketCancelsAnIncomingMigration() {
        const QString python = QStandardPaths::findExecutable("python3");
        if (python.isEmpty())
            QSKIP("needs python3");
        const QString history = QString::fromStdString(workspace_.path("qmp-cancel.sqlite"));
        const QString socket = QString::fromStdString(workspace_.path("daemon.qmp"));
        startDaemon({}, history, {"--qmp", "unix:" + socket});
        QProcess source;
        startSource(source, {"--ram-size", "256M", "--dirty-rate", "0", "--max-bandwidth", "32M"});
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("incoming migration"), 20000);
        QProcess script;
        script.start(python,
                     {QStringLiteral(MIGRASCOPE_TESTS_DIR) + "/scripts/qmp_client.py", socket,
                      "--until-event", "MIGRATION:failed", R"({"execute": "qmp_capabilities"})",
                      "?active", R"({"execute": "query-migrate"})",
                      R"({"execute": "migrate_cancel"})"});
        QVERIFY(script.waitForFinished(60000));
        const QByteArray output = script.readAllStandardOutput();
        QVERIFY2(script.exitCode() == 0, (output + script.readAllStandardError()).constData());
        QJsonObject query;
        for (const QByteArray& line : output.split('\n'))
            if (const auto message = QJsonDocument::fromJson(line).object(); message["id"] == 2)
                query = message["return"].toObject();
        const QJsonObject incoming = query["incoming"].toArray().first().toObject();
        QVERIFY2(incoming["source"].toString().startsWith("127.0.0.1:") &&
                     incoming["status"].toString() == "active" &&
                     incoming["history-id"].toInteger() > 0,
                 output.constData());

        QVERIFY(source.waitForFinished(60000));
        const QJsonObject json = resultOf(source);
        QCOMPARE(source.exitCode(), 1);
        QCOMPARE(json["source-guest"].toString(), QString("running"));
        QVERIFY2(json["error-desc"].toString().contains("migrate_cancel"),
                 qPrintable(json["error-desc"].toString()));
        QVERIFY2(json["destination"]["verdict"].toString().contains("cancelled at the destination"),
                 qPrintable(json["destination"]["verdict"].toString()));
        QTRY_VERIFY_WITH_TIMEOUT(daemonRuns(history).size() == 1 &&
                                     daemonRuns(history)[0].status == RunStatus::Failed,
                                 15000);
        QVERIFY2(daemonRuns(history)[0].errorDesc.find("migrate_cancel") != std::string::npos,
                 daemonRuns(history)[0].errorDesc.c_str());
    }

    // As QEMU's operators do after a network change: the destination's migrate-recover names
    // another address, and the source's migrate resume dials it. The resume comes in there,
    // the migration completes and is verified, and the other address closes again.
    void migrateRecoverOnAnotherAddress() {
        if (QStandardPaths::findExecutable("python3").isEmpty())
            QSKIP("needs python3");
        const QString history = QString::fromStdString(workspace_.path("recover-elsewhere.sqlite"));
        const QString daemonSocket = QString::fromStdString(workspace_.path("daemon-recover.qmp"));
        const QString sourceSocket = QString::fromStdString(workspace_.path("source-recover.qmp"));
        startDaemon({}, history, {"--qmp", "unix:" + daemonSocket});
        QProcess source;
        startPostcopySource(source, sourceSocket);
        pauseThroughQmp(sourceSocket);
        if (QTest::currentTestFailed())
            return;

        const quint16 other = TcpListener("127.0.0.1", 0).port(); // free a moment ago
        const QString uri = QStringLiteral("tcp:127.0.0.1:%1").arg(other);
        QByteArray said =
            qmp(daemonSocket,
                {QStringLiteral(R"({"execute": "migrate-recover", "arguments": {"uri": "%1"}})")
                     .arg(uri)});
        QVERIFY2(accepted(said), said.constData());
        said = qmp(sourceSocket, {QStringLiteral(R"({"execute": "migrate", "arguments": )"
                                                 R"({"uri": "%1", "resume": true}})")
                                      .arg(uri)});
        QVERIFY2(accepted(said), said.constData());
        expectResumedAndVerified(source, history);
        const QByteArray address = "127.0.0.1:" + QByteArray::number(other);
        QTRY_VERIFY2_WITH_TIMEOUT(daemonLog().contains("its resume came to " + address),
                                  daemonLog().constData(), 5000);
        QTRY_VERIFY2_WITH_TIMEOUT(daemonLog().contains("stopped listening on " + address),
                                  daemonLog().constData(), 5000);
    }

    // The UUID is in every log and history, so another host with a certificate from the same
    // CA could present it: a paused postcopy's resume is only taken from the certificate that
    // started the migration. The impostor is turned away naming both certificates, and the
    // real source still resumes and completes.
    void aResumeWithAnotherCertificateIsRefused() {
        if (QStandardPaths::findExecutable("python3").isEmpty())
            QSKIP("needs python3");
        const QString history = QString::fromStdString(workspace_.path("impostor.sqlite"));
        const QString sourceSocket = QString::fromStdString(workspace_.path("source-impostor.qmp"));
        startDaemon({}, history);
        QProcess source;
        startPostcopySource(source, sourceSocket);
        pauseThroughQmp(sourceSocket);
        if (QTest::currentTestFailed())
            return;
        const QRegularExpression arrived("incoming migration ([0-9a-f-]{36}) from");
        const auto uuid = uuidFromString(
            arrived.match(QString::fromLocal8Bit(daemonLog())).captured(1).toStdString());
        QVERIFY2(uuid, daemonLog().constData());

        const std::string impostorPki = workspace_.path("impostor-pki");
        issueClientIdentity(workspace_.pki, impostorPki, "another-source");
        {
            TlsCredentials credentials(impostorPki, TlsCredentials::Endpoint::Client);
            Connection impostor(connectTcp("127.0.0.1", port_), "impostor");
            impostor.startTlsClient(credentials, "NORMAL", "127.0.0.1");
            StreamStart start;
            start.uuid = *uuid;
            start.channels = 2;
            start.capabilities = capability_bit::kReturnPath | capability_bit::kPostcopyRam;
            start.resume = true;
            const std::vector<std::uint8_t> bytes = encodeStreamStart(start);
            impostor.sendAll(bytes.data(), bytes.size());
            char sink[4096];
            try {
                while (impostor.waitReadable(std::chrono::seconds(10)) &&
                       impostor.recvSome(sink, sizeof sink) > 0) {
                }
            } catch (const std::exception&) {
                // turned away: the connection ends either way
            }
        }
        QTRY_VERIFY2_WITH_TIMEOUT(daemonLog().contains("was started by client certificate"),
                                  daemonLog().constData(), 10000);
        QVERIFY2(daemonLog().contains("another-source"), daemonLog().constData());
        QVERIFY(!daemonLog().contains("postcopy-recover: the source reconnected"));

        const QByteArray said =
            qmp(sourceSocket, {R"({"execute": "migrate", "arguments": {"resume": true}})"});
        QVERIFY2(accepted(said), said.constData());
        expectResumedAndVerified(source, history);
    }

    // A paused postcopy's resume gets through 200 rogue connections: the half-migrated guest
    // is not held hostage by a flood, and the daemon returns to its baseline afterwards.
    void aPostcopyResumeGetsThroughAFlood() {
        if (QStandardPaths::findExecutable("python3").isEmpty())
            QSKIP("needs python3");
        const QString history = QString::fromStdString(workspace_.path("resume-flood.sqlite"));
        const QString sourceSocket = QString::fromStdString(workspace_.path("source-flood.qmp"));
        startDaemon({}, history);
        const qint64 pid = daemon_->processId();
        QProcess source;
        startPostcopySource(source, sourceSocket);
        pauseThroughQmp(sourceSocket);
        if (QTest::currentTestFailed())
            return;
        const Usage paused = usageOf(pid);
        {
            RogueFlood flood(port_, workspace_.path("foreign-pki-resume"));
            const QByteArray said =
                qmp(sourceSocket, {R"({"execute": "migrate", "arguments": {"resume": true}})"});
            QVERIFY2(accepted(said), said.constData());
            QTRY_VERIFY2_WITH_TIMEOUT(
                daemonLog().contains("postcopy-recover: the source reconnected"),
                daemonLog().constData(), 30000);
            flood.joinTlsClients();
            QCOMPARE(flood.refusedTlsClients(), RogueFlood::kTlsClients);
        }
        expectResumedAndVerified(source, history);
        const Usage after = usageOf(pid);
        qInfo("daemon while paused: %d threads, %d descriptors; after the resume and the flood: "
              "%d, %d",
              paused.threads, paused.descriptors, after.threads, after.descriptors);
        // The migration's own threads and sockets are gone too once it is recorded.
        QTRY_VERIFY_WITH_TIMEOUT(usageOf(pid).threads <= paused.threads &&
                                     usageOf(pid).descriptors <= paused.descriptors,
                                 20000);
    }

    void outOfDescriptorsTheDaemonWaitsInsteadOfGivingUp() {
        // Few descriptors: a flood of silent connections exhausts them (EMFILE).
        startDaemon({"prlimit", "--nofile=40:40"},
                    QString::fromStdString(workspace_.path("emfile.sqlite")));
        std::vector<int> rogue;
        for (int i = 0; i < 60; ++i)
            rogue.push_back(connectWithoutWaiting(port_));
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("cannot accept connections"), 15000);
        for (int fd : rogue)
            ::close(fd);
        // It gets its descriptors back as the flood's connections end, and serves again. A
        // source that comes while it is still at its limit may be turned away once; the
        // daemon must not have given up listening.
        const qint64 pid = daemon_->processId();
        QElapsedTimer clock;
        clock.start();
        while (usageOf(pid).descriptors > 20 && clock.elapsed() < 30000)
            QTest::qWait(100);
        int exitCode = -1;
        QJsonObject json = migrate(&exitCode);
        if (exitCode != 0) {
            QTest::qWait(2000);
            json = migrate(&exitCode);
        }
        QVERIFY2(exitCode == 0, daemonLog().constData());
        QCOMPARE(json["status"].toString(), QString("completed"));
    }
};

QTEST_MAIN(TestDaemonFlood)
#include "tst_daemon_flood.moc"
