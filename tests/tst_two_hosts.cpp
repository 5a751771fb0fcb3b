// Two hosts on one machine: a destination daemon (migrascope --incoming) in one network
// namespace, the source in another, joined by a veth pair, TLS with the destination's
// address checked against its certificate. Needs root (namespaces); skipped without it.
#include "engine/api/history_store.h"
#include "engine/api/tls_pki.h"
#include "test_support.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>
#include <csignal>
#include <unistd.h>

using namespace migrascope;

namespace {

bool runCommand(const QString& program, const QStringList& arguments, QString* output = nullptr) {
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, arguments);
    if (!process.waitForFinished(20000)) {
        process.kill();
        process.waitForFinished();
        return false;
    }
    if (output)
        *output = QString::fromLocal8Bit(process.readAll());
    return process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
}

} // namespace

class TestTwoHosts : public QObject {
    Q_OBJECT

private:
    test::Workspace workspace_;
    QString suffix_ = QString::number(::getpid());
    QString sourceHost_ = "mss" + suffix_;
    QString destinationHost_ = "msd" + suffix_;
    QString subnet_ = QStringLiteral("10.199.%1.").arg(::getpid() % 250);
    QString sourceAddress_ = subnet_ + "1";
    QString destinationAddress_ = subnet_ + "2";
    QString sourceEnd_ = "vs" + suffix_; // the veth pair's ends
    QString destinationEnd_ = "vd" + suffix_;
    bool namespacesMade_ = false;
    std::unique_ptr<QProcess> daemon_;
    quint16 port_ = 0;
    int daemonCount_ = 0;

    QString daemonHistory() const {
        return QString::fromStdString(
            workspace_.path("destination-" + std::to_string(daemonCount_) + ".sqlite"));
    }

    bool ip(const QStringList& arguments) {
        QString output;
        const bool ok = runCommand("ip", arguments, &output);
        if (!ok)
            qWarning("ip %s: %s", qPrintable(arguments.join(' ')), qPrintable(output));
        return ok;
    }

    // Starts the daemon in the destination namespace and waits for it to listen.
    void startDaemon(const QStringList& extra = {}) {
        ++daemonCount_;
        daemonLog_.clear();
        daemon_ = std::make_unique<QProcess>();
        daemon_->setProcessChannelMode(QProcess::SeparateChannels);
        daemon_->start("ip", QStringList{"netns", "exec", destinationHost_, MIGRASCOPE_BINARY,
                                         "--incoming", "tls://" + destinationAddress_ + ":47321",
                                         "--tls-creds", QString::fromStdString(workspace_.pki),
                                         "--history", daemonHistory()} +
                                 extra);
        QVERIFY(daemon_->waitForStarted(10000));
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("destination daemon listening"), 20000);
        port_ = 47321;
    }

    QByteArray daemonLog_;
    QByteArray daemonLog() {
        if (daemon_)
            daemonLog_ += daemon_->readAllStandardError();
        return daemonLog_;
    }

    // SIGTERM, as systemd stops it; returns its exit code.
    int stopDaemon() {
        if (!daemon_)
            return -1;
        ::kill(static_cast<pid_t>(daemon_->processId()), SIGTERM);
        if (!daemon_->waitForFinished(30000)) {
            daemon_->kill();
            daemon_->waitForFinished();
            return -1;
        }
        daemonLog();
        const int code = daemon_->exitStatus() == QProcess::NormalExit ? daemon_->exitCode() : -1;
        daemon_.reset();
        return code;
    }

    QStringList sourceArguments(const QStringList& extra) const {
        return QStringList{"netns",
                           "exec",
                           sourceHost_,
                           MIGRASCOPE_BINARY,
                           "--headless",
                           "--destination",
                           destinationAddress_ + ":" + QString::number(port_),
                           "--tls-creds",
                           QString::fromStdString(workspace_.pki),
                           "--history",
                           QString::fromStdString(workspace_.path("source.sqlite")),
                           "--json"} +
               extra;
    }

    struct Outcome {
        int exitCode = -1;
        QJsonObject json;
        QByteArray err;
    };
    Outcome migrate(const QStringList& extra) {
        QProcess source;
        source.start("ip", sourceArguments(extra));
        if (!source.waitForFinished(180000)) {
            source.kill();
            source.waitForFinished();
        }
        return {source.exitStatus() == QProcess::NormalExit ? source.exitCode() : -1,
                QJsonDocument::fromJson(source.readAllStandardOutput()).object(),
                source.readAllStandardError()};
    }

    // A source whose migration lasts long enough (512 MiB at 32 MiB/s) for something to happen
    // to it; returns once the daemon has it.
    void startSlowSource(QProcess& source, const QString& dirtyRate) {
        source.start("ip", sourceArguments({"--ram-size", "512M", "--dirty-rate", dirtyRate,
                                            "--max-bandwidth", "32M"}));
        QVERIFY(source.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(daemonLog().contains("incoming migration"), 30000);
    }

    // The daemon's history as a support engineer on its host reads it; empty until it exists.
    std::vector<RunRecord> daemonRuns() const {
        try {
            return HistoryStore(daemonHistory().toStdString(), HistoryStore::Access::ReadOnly)
                .listRuns();
        } catch (const std::exception&) {
            return {};
        }
    }

private slots:
    void initTestCase() {
        if (::geteuid() != 0)
            QSKIP("needs root: the two hosts are network namespaces joined by a veth pair");
        if (!runCommand("ip", {"-V"}))
            QSKIP("needs iproute2's ip for the network namespaces");
        PkiOptions pki;
        pki.serverAddresses = {destinationAddress_.toStdString()};
        QVERIFY(workspace_.dir.isValid());
        test::isolateUserDirectories(workspace_.dir);
        workspace_.pki = workspace_.path("pki");
        generatePki(workspace_.pki, pki);

        // Namespaces left by an earlier run that was killed before its cleanup.
        QString list;
        runCommand("ip", {"netns", "list"}, &list);
        const QRegularExpression ours("^ms[sd](\\d+)");
        for (const QString& line : list.split('\n', Qt::SkipEmptyParts)) {
            const auto match = ours.match(line);
            if (match.hasMatch() && !QFile::exists("/proc/" + match.captured(1)))
                ip({"netns", "del", line.section(' ', 0, 0)});
        }
        // Root without the capability to make namespaces (some containers) cannot host the
        // two hosts either: say so rather than fail.
        QString refusal;
        if (!runCommand("ip", {"netns", "add", sourceHost_}, &refusal))
            QSKIP(qPrintable("cannot create a network namespace here: " + refusal.trimmed()));
        namespacesMade_ = true;
        QVERIFY(ip({"netns", "add", destinationHost_}));
        QVERIFY(ip({"link", "add", sourceEnd_, "type", "veth", "peer", "name", destinationEnd_}));
        QVERIFY(ip({"link", "set", sourceEnd_, "netns", sourceHost_}));
        QVERIFY(ip({"link", "set", destinationEnd_, "netns", destinationHost_}));
        for (const auto& [host, end, address] :
             {std::tuple{sourceHost_, sourceEnd_, sourceAddress_},
              std::tuple{destinationHost_, destinationEnd_, destinationAddress_}}) {
            QVERIFY(ip({"-n", host, "addr", "add", address + "/24", "dev", end}));
            QVERIFY(ip({"-n", host, "link", "set", end, "up"}));
            QVERIFY(ip({"-n", host, "link", "set", "lo", "up"}));
        }
    }

    void cleanupTestCase() {
        stopDaemon();
        if (namespacesMade_) {
            ip({"netns", "del", sourceHost_});
            ip({"netns", "del", destinationHost_});
        }
    }

    void cleanup() {
        if (daemon_)
            QCOMPARE(stopDaemon(), 0);
    }

    void migratesToTheOtherHostAndBothRecordIt() {
        startDaemon();
        const auto outcome = migrate({"--ram-size", "128M", "--dirty-rate", "16M"});
        QVERIFY2(outcome.exitCode == 0, outcome.err.constData());
        QCOMPARE(outcome.json["status"].toString(), QString("completed"));
        QCOMPARE(outcome.json["integrity"].toString(), QString("verified"));
        const QJsonObject destination = outcome.json["destination"].toObject();
        QCOMPARE(destination["address"].toString(), destinationAddress_ + ":47321");
        QCOMPARE(destination["status"].toString(), QString("completed"));
        QCOMPARE(destination["verdict"].toString(), QString("SHUT 0 (success)"));

        // The destination host's own record, written before the daemon even stops.
        QTRY_VERIFY_WITH_TIMEOUT(
            !daemonRuns().empty() && daemonRuns().front().status == RunStatus::Completed, 10000);
        const RunRecord run = daemonRuns().front();
        QVERIFY(run.role == RunRole::Destination);
        QVERIFY2(QString::fromStdString(run.peer).startsWith(sourceAddress_ + ":"),
                 run.peer.c_str());
        QCOMPARE(run.integrity, std::string("verified"));
        QCOMPARE(run.ramTotal,
                 static_cast<std::uint64_t>(outcome.json["ram"]["total"].toInteger()));
        QCOMPARE(run.uuid, HistoryStore(workspace_.path("source.sqlite")).listRuns().front().uuid);
        // Who migrated in: the source's address and its client certificate.
        QVERIFY2(run.peer.find("CN=migrascope-source") != std::string::npos, run.peer.c_str());
        // The daemon's view came back: its record's id, and per channel the bytes it received,
        // which agree with what the source sent and with the daemon's own record of them.
        QCOMPARE(destination["history-id"].toInteger(), static_cast<qint64>(run.id));
        const auto received =
            HistoryStore(daemonHistory().toStdString(), HistoryStore::Access::ReadOnly)
                .channels(run.id);
        const QJsonArray channels = outcome.json["channels"].toArray();
        QVERIFY(channels.size() >= 2);
        QCOMPARE(received.size(), static_cast<std::size_t>(channels.size()));
        for (const auto& value : channels) {
            const QJsonObject channel = value.toObject();
            const qint64 sent = channel["bytes"].toInteger();
            QVERIFY(sent > 0);
            QCOMPARE(channel["bytes-received"].toInteger(), sent);
            bool recorded = false;
            for (const auto& theirs : received)
                if (QString::fromStdString(theirs.id) == channel["id"].toString()) {
                    QCOMPARE(static_cast<qint64>(theirs.bytesReceived), sent);
                    recorded = true;
                }
            QVERIFY2(recorded, qPrintable(channel["id"].toString()));
        }
        QCOMPARE(stopDaemon(), 0);
        QVERIFY(daemonLog().contains("1 migrations received, 1 completed"));
    }

    // A device that refuses RESUMING -> STOP at the daemon: the source fails naming the device
    // and the arc, keeps its guest, and both hosts' histories hold the failed arc.
    void aDeviceFailingAtTheDaemonIsNamedOnTheSource() {
        startDaemon({"--inject", "vfio-fail=accel0:RESUMING>STOP@dst"});
        const auto outcome = migrate({"--ram-size", "64M", "--device", "accel,state-size=8M",
                                      "--device", "nic", "--downtime-limit", "5000"});
        QCOMPARE(outcome.exitCode, 1);
        QCOMPARE(outcome.json["status"].toString(), QString("failed"));
        QCOMPARE(outcome.json["source-guest"].toString(), QString("running"));
        const QString cause = outcome.json["error-desc"].toString();
        QVERIFY2(cause.contains("accel0") && cause.contains("RESUMING -> STOP"), qPrintable(cause));
        bool arcShown = false;
        for (const auto& device : outcome.json["devices"].toArray())
            for (const auto& arc : device.toObject()["transitions"].toArray())
                arcShown |= device.toObject()["name"].toString() == "accel0" &&
                            arc.toObject()["side"].toString() == "dst" &&
                            arc.toObject()["from"].toString() == "RESUMING" &&
                            arc.toObject()["to"].toString() == "STOP" &&
                            arc.toObject()["result"].toString() == "failed";
        QVERIFY2(arcShown, QJsonDocument(outcome.json["devices"].toArray()).toJson().constData());

        auto failedArcIn = [](const std::vector<DeviceTransition>& transitions) {
            for (const auto& arc : transitions)
                if (arc.device == "accel0" && arc.side == Side::Destination && !arc.ok &&
                    arcText(arc) == "RESUMING -> STOP")
                    return true;
            return false;
        };
        HistoryStore sourceHistory(workspace_.path("source.sqlite"),
                                   HistoryStore::Access::ReadOnly);
        QVERIFY(failedArcIn(sourceHistory.transitions(sourceHistory.listRuns().front().id)));
        QTRY_VERIFY_WITH_TIMEOUT(
            !daemonRuns().empty() && daemonRuns().front().status == RunStatus::Failed, 10000);
        const RunRecord run = daemonRuns().front();
        QCOMPARE(outcome.json["destination"]["history-id"].toInteger(),
                 static_cast<qint64>(run.id));
        QVERIFY(
            failedArcIn(HistoryStore(daemonHistory().toStdString(), HistoryStore::Access::ReadOnly)
                            .transitions(run.id)));
    }

    void theDestinationsNameIsChecked() {
        startDaemon();
        const auto outcome = migrate({"--ram-size", "64M", "--tls-hostname", "elsewhere.example"});
        QCOMPARE(outcome.exitCode, 1);
        QCOMPARE(outcome.json["status"].toString(), QString("failed"));
        QVERIFY2(outcome.json["error-desc"].toString().contains("elsewhere.example"),
                 qPrintable(outcome.json["error-desc"].toString()));
        QCOMPARE(outcome.json["source-guest"].toString(), QString("running"));
    }

    void aSourceKilledMidRunIsRecordedAndTheNextOneIsServed() {
        startDaemon();
        QProcess source;
        startSlowSource(source, "0");
        ::kill(static_cast<pid_t>(source.processId()), SIGKILL);
        source.waitForFinished();
        QTRY_VERIFY_WITH_TIMEOUT(
            !daemonRuns().empty() && daemonRuns().front().status == RunStatus::Failed, 20000);
        // Still there, and ready for the next source.
        const auto outcome = migrate({"--ram-size", "64M"});
        QVERIFY2(outcome.exitCode == 0, outcome.err.constData());
        QTRY_VERIFY_WITH_TIMEOUT(
            daemonRuns().size() == 2 && daemonRuns().front().status == RunStatus::Completed, 10000);
    }

    // The link goes down mid-precopy: no FIN, no RST. Both ends give up within the link-loss
    // bound, the source naming the network and keeping its guest, the daemon recording the
    // run; with the link back the daemon serves the next source.
    void theLinkGoingDownFailsBothEndsCleanly() {
        startDaemon();
        QProcess source;
        startSlowSource(source, "16M");
        QVERIFY(ip({"-n", sourceHost_, "link", "set", sourceEnd_, "down"}));
        const bool ended = source.waitForFinished(90000);
        QVERIFY(ip({"-n", sourceHost_, "link", "set", sourceEnd_, "up"}));
        QVERIFY2(ended, "the source did not give up on a dead link");
        QCOMPARE(source.exitCode(), 1);
        const auto json = QJsonDocument::fromJson(source.readAllStandardOutput()).object();
        QCOMPARE(json["status"].toString(), QString("failed"));
        QCOMPARE(json["source-guest"].toString(), QString("running"));
        QVERIFY2(json["error-desc"].toString().contains("network to it is down"),
                 qPrintable(json["error-desc"].toString()));
        QTRY_VERIFY_WITH_TIMEOUT(
            !daemonRuns().empty() && daemonRuns().front().status == RunStatus::Failed, 60000);
        // The link is back: the daemon still serves.
        const auto outcome = migrate({"--ram-size", "64M"});
        QVERIFY2(outcome.exitCode == 0, outcome.err.constData());
    }

    // In postcopy the destination's guest already runs: a link that goes down pauses both
    // ends, and once it is back the source resumes by itself and the migration is verified.
    // The source used to wait for the daemon's report of pausing, which a dead link never
    // carries, and stayed paused for good.
    void theLinkGoingDownInPostcopyPausesUntilItIsBack() {
        startDaemon();
        QProcess source;
        source.start("ip",
                     sourceArguments({"--ram-size", "512M", "--dirty-rate", "32M",
                                      "--max-bandwidth", "32M", "--capability", "postcopy-ram=on",
                                      "--postcopy-after", "2s", "--recover-delay", "1000"}));
        QVERIFY(source.waitForStarted());
        QByteArray progress;
        const auto sawStatus = [&](const char* status) {
            progress += source.readAllStandardError();
            return progress.contains(QByteArray("\n") + status);
        };
        QTRY_VERIFY_WITH_TIMEOUT(sawStatus("postcopy-active"), 60000);
        QVERIFY(ip({"-n", sourceHost_, "link", "set", sourceEnd_, "down"}));
        QTRY_VERIFY_WITH_TIMEOUT(sawStatus("postcopy-paused"), 60000);
        QTest::qWait(3000); // resumes tried on the dead link fail and leave it paused
        QVERIFY(ip({"-n", sourceHost_, "link", "set", sourceEnd_, "up"}));
        QVERIFY(source.waitForFinished(120000));
        const auto json = QJsonDocument::fromJson(source.readAllStandardOutput()).object();
        QVERIFY2(source.exitCode() == 0, qPrintable(json["error-desc"].toString()));
        QCOMPARE(json["status"].toString(), QString("completed"));
        QCOMPARE(json["integrity"].toString(), QString("verified"));
        QVERIFY(json["postcopy"]["pauses"].toInteger() >= 1);
        QVERIFY(json["postcopy"]["recoveries"].toInteger() >= 1);
        QTRY_VERIFY_WITH_TIMEOUT(
            !daemonRuns().empty() && daemonRuns().front().status == RunStatus::Completed, 20000);
        QCOMPARE(daemonRuns().front().integrity, std::string("verified"));
    }

    void theDaemonKilledMidRunFailsTheSourceWhichKeepsItsGuest() {
        startDaemon();
        QProcess source;
        startSlowSource(source, "16M");
        ::kill(static_cast<pid_t>(daemon_->processId()), SIGKILL);
        daemon_->waitForFinished();
        daemon_.reset();
        QVERIFY(source.waitForFinished(60000));
        QCOMPARE(source.exitCode(), 1);
        const auto json = QJsonDocument::fromJson(source.readAllStandardOutput()).object();
        QCOMPARE(json["status"].toString(), QString("failed"));
        QCOMPARE(json["source-guest"].toString(), QString("running"));
        QVERIFY(!json["error-desc"].toString().isEmpty());
    }
};

QTEST_MAIN(TestTwoHosts)
#include "tst_two_hosts.moc"
