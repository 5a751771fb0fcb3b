// The headless command line as scripts use it: the real binary, run as a process.
#include "engine/api/history_store.h"
#include "process_support.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <arpa/inet.h>
#include <csignal>
#include <filesystem>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace migrascope;

class TestHeadless : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    QProcessEnvironment environment() const { return test::isolatedEnvironment(dir_.path()); }
    std::string historyPath() const {
        return (dir_.path() + "/data/migrascope/history.sqlite").toStdString();
    }

    using Outcome = test::ProcessOutcome;
    Outcome run(const QStringList& arguments, int timeoutMs = 180000) {
        return test::runProcess(MIGRASCOPE_BINARY, arguments, environment(), timeoutMs);
    }

    // The id of the run a process has begun in the history, or 0 after a minute without one.
    std::int64_t waitForActiveRun() const {
        QElapsedTimer waited;
        waited.start();
        while (waited.elapsed() < 60000) {
            if (QFile::exists(QString::fromStdString(historyPath()))) {
                HistoryStore history(historyPath());
                for (const auto& row : history.listRuns())
                    if (row.status == RunStatus::Active)
                        return row.id;
            }
            QTest::qWait(50);
        }
        return 0;
    }

    // 64 MiB, idle, capped at 16 MiB/s: a run of about four seconds, long enough to hold the
    // history's lock across its start or its end.
    void startFourSecondMigration(QProcess& migration) const {
        migration.setProcessEnvironment(environment());
        migration.start(MIGRASCOPE_BINARY,
                        {"--headless", "--ram-size", "64M", "--dirty-rate", "0", "--max-bandwidth",
                         "16M", "--no-tls", "--multifd-channels", "1", "--json"});
    }

    // Another process's write lock on the history (BEGIN EXCLUSIVE on a connection of its
    // own); closing the connection rolls back, so a failed check leaves the file free for the
    // next case. Null when the lock could not be taken.
    using HistoryLock = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;
    HistoryLock lockHistory() const {
        sqlite3* opened = nullptr;
        HistoryLock lock(sqlite3_open(historyPath().c_str(), &opened) == SQLITE_OK ? opened
                                                                                   : nullptr,
                         &sqlite3_close);
        if (!lock && opened)
            sqlite3_close(opened);
        if (lock &&
            sqlite3_exec(lock.get(), "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) != SQLITE_OK)
            lock.reset();
        return lock;
    }

    // A destination that never answers: a listener whose queue is full drops further SYNs,
    // as a black-holed host does. Returns its port; `fds` keeps it and its fillers open.
    static quint16 unansweringDestination(std::vector<int>& fds) {
        const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address);
        ::listen(listener, 0);
        socklen_t length = sizeof address;
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
        fds.push_back(listener);
        for (int i = 0; i < 4; ++i) {
            const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            ::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
            fds.push_back(filler);
        }
        QTest::qWait(200);
        return ntohs(address.sin_port);
    }

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void anUnansweringDestinationFailsWithinTheConnectTimeout() {
        std::vector<int> fds;
        const quint16 port = unansweringDestination(fds);
        QElapsedTimer clock;
        clock.start();
        const auto outcome =
            run({"--headless", "--destination", "127.0.0.1:" + QString::number(port), "--no-tls",
                 "--connect-timeout", "1500", "--ram-size", "64M", "--json"});
        const qint64 tookMs = clock.elapsed();
        for (int fd : fds)
            ::close(fd);
        QCOMPARE(outcome.exitCode, 1);
        const auto json = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(json["status"].toString(), QString("failed"));
        QVERIFY2(json["error-desc"].toString().contains("no answer within 1500 ms"),
                 qPrintable(json["error-desc"].toString()));
        QCOMPARE(json["source-guest"].toString(), QString("running"));
        // Bounded by the option, not by the kernel's two minutes of SYN retries.
        QVERIFY2(tookMs < 30000, qPrintable(QString::number(tookMs)));
    }

    // Every signal that asks a terminal program to stop cancels the run: SIGHUP (the terminal
    // closed) and SIGQUIT (Ctrl-\) killed the process without a result before. While connecting,
    // the cancel ends the run on the coordinator's error path, which reads the cancel request
    // as cancel() writes it.
    void cancelWorksWhileConnecting_data() {
        QTest::addColumn<int>("signalNumber");
        QTest::newRow("SIGINT") << SIGINT;
        QTest::newRow("SIGTERM") << SIGTERM;
        QTest::newRow("SIGHUP") << SIGHUP;
        QTest::newRow("SIGQUIT") << SIGQUIT;
    }
    void cancelWorksWhileConnecting() {
        QFETCH(int, signalNumber);
        std::vector<int> fds;
        const quint16 port = unansweringDestination(fds);
        QProcess process;
        process.setProcessEnvironment(environment());
        process.start(MIGRASCOPE_BINARY,
                      {"--headless", "--destination", "127.0.0.1:" + QString::number(port),
                       "--no-tls", "--connect-timeout", "120000", "--ram-size", "64M", "--json"});
        QVERIFY(process.waitForStarted());
        QTest::qWait(1500);
        ::kill(static_cast<pid_t>(process.processId()), signalNumber);
        const bool ended = process.waitForFinished(20000);
        for (int fd : fds)
            ::close(fd);
        QVERIFY2(ended, "the signal did not end a run that was still connecting");
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        const auto json = QJsonDocument::fromJson(process.readAllStandardOutput()).object();
        QCOMPARE(json["status"].toString(), QString("cancelled"));
        QCOMPARE(json["source-guest"].toString(), QString("running"));
    }

    void completedRunEndsWithQueryMigrateJson() {
        QElapsedTimer wallClock;
        wallClock.start();
        const auto outcome = run({"--headless", "--ram-size", "64M", "--dirty-rate", "8M",
                                  "--multifd-channels", "2", "--json"});
        const double wallMs = static_cast<double>(wallClock.elapsed());
        QVERIFY2(outcome.exitCode == 0, outcome.err.constData());
        QJsonParseError parseError;
        const auto json = QJsonDocument::fromJson(outcome.out, &parseError).object();
        QVERIFY2(parseError.error == QJsonParseError::NoError, outcome.out.constData());
        QCOMPARE(json["status"].toString(), QString("completed"));
        QCOMPARE(json["integrity"].toString(), QString("verified"));
        QCOMPARE(json["source-guest"].toString(), QString("postmigrate"));
        QVERIFY(!json.contains("error-desc"));
        QVERIFY(json["warnings"].isArray());
        QVERIFY(json["ram"].toObject()["total"].toInteger() >= 64ll << 20);
        QVERIFY(json["ram"].toObject()["transferred"].toInteger() > 0);
        QVERIFY(json["ram"].toObject()["dirty-sync-count"].toInteger() >= 1);
        // After completion mbps is the average over the transfer, as QEMU reports it: the bytes
        // sent over total time less setup. The process's wall-clock time, which also holds
        // its start and exit, gives a lower bound that does not come from the engine.
        const double bits =
            static_cast<double>(json["ram"].toObject()["transferred"].toInteger()) * 8;
        const double mbps = json["ram"].toObject()["mbps"].toDouble();
        const double transferMs = json["total-time"].toDouble() - json["setup-time"].toDouble();
        QVERIFY2(transferMs > 0 && std::abs(mbps - bits / transferMs / 1000) <= 0.02 * mbps + 1,
                 qPrintable(QStringLiteral("mbps %1 for %2 bits in %3 ms")
                                .arg(mbps)
                                .arg(bits)
                                .arg(transferMs)));
        QVERIFY2(mbps >= bits / wallMs / 1000, qPrintable(QString::number(mbps)));
        const auto channels = json["channels"].toArray();
        QCOMPARE(channels.size(), 3);
        QCOMPARE(channels[0].toObject()["kind"].toString(), QString("main"));
        QCOMPARE(channels[1].toObject()["id"].toString(), QString("multifd-0"));
        for (const auto& channel : channels)
            QCOMPARE(channel.toObject()["tls"].toObject()["version"].toString(), QString("TLS1.3"));
        QVERIFY(json["history-id"].toInteger() > 0);
        // Progress went to stderr, not into the JSON on stdout.
        QVERIFY(outcome.err.contains("completed"));
        // Certificates were generated on first use, keys private.
        QFileInfo key(dir_.path() + "/config/migrascope/pki/server-key.pem");
        QVERIFY(key.exists());
        QCOMPARE(key.permissions() & (QFile::ReadGroup | QFile::ReadOther), QFile::Permissions());
        HistoryStore history(historyPath());
        const auto row = history.run(json["history-id"].toInteger());
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Completed);
    }

    // A completed run whose fault never fired exits 0 (it completed) but its JSON and
    // stderr say "completed with warnings", and what the warnings are.
    void aRunCompletedWithWarningsSaysSo() {
        const auto outcome =
            run({"--headless", "--ram-size", "64M", "--dirty-rate", "0", "--no-tls",
                 "--multifd-channels", "2", "--inject", "cut-channel=multifd-1@8G", "--json"});
        QVERIFY2(outcome.exitCode == 0, outcome.err.constData());
        const auto json = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(json["status"].toString(), QString("completed"));
        const auto warnings = json["warnings"].toArray();
        QCOMPARE(warnings.size(), 1);
        QVERIFY2(warnings[0].toString().contains("cut-channel=multifd-1@8G never fired"),
                 outcome.out.constData());
        QVERIFY(outcome.err.contains("migration completed with warnings:"));
        HistoryStore history(historyPath());
        const auto row = history.run(json["history-id"].toInteger());
        QVERIFY(row);
        QCOMPARE(row->warnings.size(), std::size_t{1});
    }

    void failedRunExitsNonZeroWithTheCause() {
        const auto outcome =
            run({"--headless", "--ram-size", "64M", "--no-tls", "--multifd-channels", "2",
                 "--inject", "cut-channel=multifd-0@1M", "--json"});
        QCOMPARE(outcome.exitCode, 1);
        const auto json = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(json["status"].toString(), QString("failed"));
        QVERIFY2(json["error-desc"].toString().contains("multifd-0"), outcome.out.constData());
        QCOMPARE(json["source-guest"].toString(), QString("running"));
        QVERIFY(json["channels"].toArray()[1].toObject()["tls"].isNull());
        // The pages sent before the failure are still counted once the channels are gone: the
        // page counts and the bytes on the channels agree.
        const auto ram = json["ram"].toObject();
        std::int64_t channelBytes = 0;
        for (const auto& channel : json["channels"].toArray())
            if (channel.toObject()["kind"].toString() == "multifd")
                channelBytes += channel.toObject()["bytes"].toInteger();
        QVERIFY2(channelBytes > (1 << 20), outcome.out.constData());
        QVERIFY2(ram["normal-bytes"].toInteger() > channelBytes / 2, outcome.out.constData());
        QVERIFY2(ram["normal-bytes"].toInteger() <= channelBytes, outcome.out.constData());
    }

    // A support engineer's first look, from a shell: the runs above are listed, filtered and
    // shown, and reading changes nothing in the file.
    void theHistoryCommandListsAndShowsRunsWithoutWritingTheFile() {
        const QString file = QString::fromStdString(historyPath());
        const auto contents = [&] {
            QByteArray bytes;
            for (const QString& part : {file, file + "-wal"}) {
                QFile f(part);
                if (f.open(QIODevice::ReadOnly))
                    bytes += f.readAll();
            }
            return bytes;
        };
        const QByteArray before = contents();

        const auto all = run({"history", "list", "--json", "--history", file});
        QVERIFY2(all.exitCode == 0, all.err.constData());
        const auto runs = QJsonDocument::fromJson(all.out).array();
        QVERIFY(runs.size() >= 3);
        QVERIFY(runs[0].toObject()["id"].toInteger() > runs[1].toObject()["id"].toInteger());

        const auto failed =
            run({"history", "list", "--status", "failed", "--json", "--history", file});
        const auto failedRuns = QJsonDocument::fromJson(failed.out).array();
        QVERIFY(!failedRuns.isEmpty());
        for (const auto& entry : failedRuns)
            QCOMPARE(entry.toObject()["status"].toString(), QString("failed"));

        const auto warned = run({"history", "list", "--status", "completed with warnings", "--json",
                                 "--history", file});
        const auto warnedRuns = QJsonDocument::fromJson(warned.out).array();
        QVERIFY(!warnedRuns.isEmpty());
        QVERIFY(!warnedRuns[0].toObject()["warnings"].toArray().isEmpty());

        const qint64 id = failedRuns[0].toObject()["id"].toInteger();
        const auto shown =
            run({"history", "show", QString::number(id), "--json", "--history", file});
        QVERIFY2(shown.exitCode == 0, shown.err.constData());
        const auto detail = QJsonDocument::fromJson(shown.out).object();
        QVERIFY(detail["error-desc"].toString().contains("multifd-0"));
        QVERIFY(!detail["channels"].toArray().isEmpty());
        QVERIFY(!detail["events"].toArray().isEmpty());
        const auto text = run({"history", "list", "--history", file});
        QVERIFY(text.out.contains("completed with warnings"));

        QCOMPARE(run({"history", "show", "999999", "--history", file}).exitCode, 1);
        const auto unknown = run({"history", "frobnicate", "--history", file});
        QCOMPARE(unknown.exitCode, 2);
        QVERIFY(unknown.err.contains("frobnicate"));
        const auto badStatus = run({"history", "list", "--status", "bogus", "--history", file});
        QCOMPARE(badStatus.exitCode, 2);
        QVERIFY(badStatus.err.contains("--status"));
        QCOMPARE(contents(), before);
    }

    // A script's view of a network outage: postcopy pauses, recovers by itself, completes.
    void postcopyOutageRecoversByItself() {
        const auto outcome = run(
            {"--headless", "--ram-size", "64M", "--dirty-rate", "16M", "--multifd-channels", "2",
             "--max-bandwidth", "32M", "--capability", "postcopy-ram=on", "--postcopy-after",
             "300ms", "--inject", "cut-main@postcopy+1M", "--recover-delay", "300", "--json"});
        QVERIFY2(outcome.exitCode == 0, outcome.err.constData());
        const auto json = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(json["status"].toString(), QString("completed"));
        QCOMPARE(json["integrity"].toString(), QString("verified"));
        QCOMPARE(json["destination-status"].toString(), QString("completed"));
        const auto postcopy = json["postcopy"].toObject();
        QCOMPARE(postcopy["pauses"].toInteger(), 1);
        QCOMPARE(postcopy["recoveries"].toInteger(), 1);
        QVERIFY(postcopy["last-recovery-time"].toInteger() >= 300);
        QStringList types;
        for (const auto& message : json["return-path"].toArray())
            types << message.toObject()["type"].toString();
        QVERIFY2(types.contains("RECV_BITMAP") && types.contains("RESUME_ACK"),
                 qPrintable(types.join(' ')));
        QCOMPARE(types.last(), QString("SHUT"));
        QVERIFY(outcome.err.contains("postcopy-paused"));
    }

    void devicesAppearInTheJson() {
        const auto outcome =
            run({"--headless", "--ram-size", "64M", "--dirty-rate", "8M", "--multifd-channels", "2",
                 "--device", "nic", "--device", "accel,state-size=4M", "--inject",
                 "vfio-fail=accel0:STOP>RUNNING@dst", "--json"});
        QCOMPARE(outcome.exitCode, 1);
        const auto json = QJsonDocument::fromJson(outcome.out).object();
        QVERIFY2(json["error-desc"].toString().contains("device accel0: STOP -> RUNNING failed"),
                 outcome.out.constData());
        QCOMPARE(json["source-guest"].toString(), QString("running"));
        const auto devices = json["devices"].toArray();
        QCOMPARE(devices.size(), 2);
        QCOMPARE(devices[1].toObject()["name"].toString(), QString("accel0"));
        QCOMPARE(devices[1].toObject()["state"].toString(), QString("RUNNING"));
        bool failedShown = false;
        for (const auto& arc : devices[1].toObject()["transitions"].toArray())
            failedShown = failedShown || (arc.toObject()["side"] == "dst" &&
                                          arc.toObject()["result"] == "failed" &&
                                          arc.toObject()["from"] == "STOP");
        QVERIFY(failedShown);
    }

    void badInputNamesTheOption_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("named");
        QTest::newRow("unit") << QStringList{"--ram-size", "12X"} << "--ram-size";
        // Once wrapped to 2^63 and hung the switchover with the guest stopped.
        QTest::newRow("huge dirty rate") << QStringList{"--dirty-rate", "99999999999G"}
                                         << "--dirty-rate: '99999999999G' is too large";
        QTest::newRow("channels") << QStringList{"--multifd-channels", "many"}
                                  << "--multifd-channels";
        QTest::newRow("fault") << QStringList{"--inject", "explode"} << "--inject";
        // Once accepted, and the run "completed" with a fault that could never fire.
        QTest::newRow("fault on a channel the run lacks")
            << QStringList{"--multifd-channels", "4", "--inject", "cut-channel=multifd-9@64M"}
            << "no channel multifd-9 in this migration (main and multifd-0 to multifd-3)";
        QTest::newRow("corruption without multifd")
            << QStringList{"--multifd-channels", "0", "--inject", "corrupt-page=multifd-0@1M"}
            << "multifd is off";
        QTest::newRow("creds") << QStringList{"--tls-creds", "/nonexistent/pki"} << "ca-cert.pem";
        QTest::newRow("capability") << QStringList{"--capability", "colo=on"} << "--capability";
        QTest::newRow("no return path")
            << QStringList{"--capability", "return-path=off"} << "return-path cannot be turned off";
        QTest::newRow("postcopy start")
            << QStringList{"--capability", "postcopy-ram=on", "--postcopy-after", "soon"}
            << "--postcopy-after";
        QTest::newRow("cut without postcopy")
            << QStringList{"--inject", "cut-main@postcopy"} << "needs --capability postcopy-ram=on";
        QTest::newRow("device kind") << QStringList{"--device", "gpu"} << "unknown kind 'gpu'";
        QTest::newRow("fault on no device")
            << QStringList{"--inject", "vfio-fail=nic0:RUNNING>STOP@dst"}
            << "no device named 'nic0'";
        QTest::newRow("fault arc")
            << QStringList{"--device", "nic", "--inject", "vfio-fail=nic0:RUNNING>STOP@dst"}
            << "is not a single arc of a nic device";
        QTest::newRow("fault state")
            << QStringList{"--device", "nic", "--inject", "vfio-fail=nic0:RUN>STOP@dst"}
            << "uAPI's names";
        QTest::newRow("priority") << QStringList{"--tls-priority", "NORMAL:+NOPE"}
                                  << "--tls-priority: 'NORMAL:+NOPE' is invalid";
        QTest::newRow("guest content")
            << QStringList{"--guest-content", "full"} << "--guest-content: 'full' is not one of";
        QTest::newRow("daemon's option on a source")
            << QStringList{"--max-incoming", "2"}
            << "--max-incoming belongs to a destination daemon";
        QTest::newRow("unknown option") << QStringList{"--bogus"} << "Unknown option 'bogus'";
        QTest::newRow("missing value") << QStringList{"--dirty-rate"} << "'--dirty-rate'";
        // One byte a second never carried the setup: the run sat in "setup" for good.
        QTest::newRow("bandwidth too low")
            << QStringList{"--max-bandwidth", "1"} << "--max-bandwidth: 1 B/s";
    }
    void badInputNamesTheOption() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, named);
        const auto outcome = run(QStringList{"--headless", "--ram-size", "64M"} + arguments);
        QCOMPARE(outcome.exitCode, 2);
        QVERIFY2(QString::fromUtf8(outcome.err).contains(named), outcome.err.constData());
    }

    // A benchmark needs a guest like a busy one: incompressible data and no zero page.
    void guestContentDecidesWhatTravelsAsZeroPages_data() {
        QTest::addColumn<QString>("content");
        QTest::addColumn<double>("zeroShareLow");
        QTest::addColumn<double>("zeroShareHigh");
        QTest::newRow("mixed") << "mixed" << 0.2 << 0.3;
        QTest::newRow("random") << "random" << 0.0 << 0.0;
        QTest::newRow("zero") << "zero" << 1.0 << 1.0;
    }
    void guestContentDecidesWhatTravelsAsZeroPages() {
        QFETCH(QString, content);
        QFETCH(double, zeroShareLow);
        QFETCH(double, zeroShareHigh);
        const auto outcome = run({"--headless", "--ram-size", "64M", "--dirty-rate", "0",
                                  "--no-tls", "--guest-content", content, "--json"});
        QCOMPARE(outcome.exitCode, 0);
        const auto ram = QJsonDocument::fromJson(outcome.out).object()["ram"].toObject();
        const double zero = ram["duplicate"].toDouble();
        const double share = zero / (zero + ram["normal"].toDouble());
        QVERIFY2(share >= zeroShareLow && share <= zeroShareHigh,
                 qPrintable(QString::number(share)));
    }

    // Another process holding the history's lock at the end of a run left a completed run
    // "active" (later "interrupted") while the JSON reported its id. Now the end is retried;
    // when it still cannot be written, the run says so and queues the end beside the history,
    // and the next open of the history stores it.
    void historyLockedAtTheEndOfARun_data() {
        QTest::addColumn<bool>("releasedSoon");
        QTest::newRow("released 7 s after completion") << true;
        QTest::newRow("held until the process ends") << false;
    }
    void historyLockedAtTheEndOfARun() {
        QFETCH(bool, releasedSoon);
        QProcess migration;
        startFourSecondMigration(migration);
        QVERIFY(migration.waitForStarted());
        const std::int64_t id = waitForActiveRun();
        QVERIFY(id > 0);

        const HistoryLock locker = lockHistory();
        sqlite3* opened = locker.get();
        QVERIFY(opened);
        QByteArray err;
        const QRegularExpression completedLine("(^|\\n)completed ");
        QTRY_VERIFY_WITH_TIMEOUT(
            (err += migration.readAllStandardError(), completedLine.match(QString(err)).hasMatch()),
            60000);
        if (releasedSoon) {
            QTest::qWait(7000); // longer than SQLite's busy timeout: one attempt is not enough
            sqlite3_exec(opened, "ROLLBACK", nullptr, nullptr, nullptr);
        }
        QVERIFY(migration.waitForFinished(60000));
        if (!releasedSoon)
            sqlite3_exec(opened, "ROLLBACK", nullptr, nullptr, nullptr);
        err += migration.readAllStandardError();
        QCOMPARE(migration.exitCode(), 0);
        const auto json = QJsonDocument::fromJson(migration.readAllStandardOutput()).object();
        QCOMPARE(json["status"].toString(), QString("completed"));
        QCOMPARE(json["history-id"].toInteger(), id);

        HistoryStore history(historyPath());
        const auto row = history.run(id);
        QVERIFY(row);
        if (releasedSoon) {
            QVERIFY2(!json.contains("history-error"), err.constData());
            QVERIFY(row->status == RunStatus::Completed);
            QVERIFY(!history.events(id).empty());
        } else {
            const QString historyError = json["history-error"].toString();
            QVERIFY2(historyError.contains("could not be recorded"), qPrintable(historyError));
            QVERIFY2(historyError.contains(
                         "queued in " +
                         QString::fromStdString(HistoryStore::queuedEndsFolder(historyPath()))),
                     qPrintable(historyError));
            QVERIFY(err.contains("history: the end of the run could not be recorded"));
            // Opening the history stored the queued end: the run reads as it ended.
            QVERIFY(row->status == RunStatus::Completed);
            QCOMPARE(QString::fromStdString(row->integrity), json["integrity"].toString());
            QVERIFY(!history.events(id).empty());
            QCOMPARE(history.channels(id).size(), std::size_t{2});
            QVERIFY(!std::filesystem::exists(HistoryStore::queuedEndsFolder(historyPath())));
        }
    }

    // A lock another process held as a run started delayed it 5 s in status "none" and then
    // left the run out of the history. Now the migration starts at once; the run is recorded
    // from its beginning once the lock goes, or says it is not recorded if the lock never goes.
    void historyLockedAtTheStartOfARun_data() {
        QTest::addColumn<bool>("releasedSoon");
        QTest::newRow("released 2 s after the start") << true;
        QTest::newRow("held until the process ends") << false;
    }
    void historyLockedAtTheStartOfARun() {
        QFETCH(bool, releasedSoon);
        QVERIFY(QDir().mkpath(dir_.path() + "/data/migrascope"));
        { HistoryStore created(historyPath()); }
        const HistoryLock locker = lockHistory();
        sqlite3* opened = locker.get();
        QVERIFY(opened);

        QProcess migration;
        startFourSecondMigration(migration);
        QVERIFY(migration.waitForStarted());
        QByteArray err;
        // Migrating while the lock is still held.
        QTRY_VERIFY_WITH_TIMEOUT((err += migration.readAllStandardError()).contains("bulk copy"),
                                 30000);
        if (releasedSoon) {
            QTest::qWait(2000);
            sqlite3_exec(opened, "ROLLBACK", nullptr, nullptr, nullptr);
        }
        QVERIFY(migration.waitForFinished(60000));
        sqlite3_exec(opened, "ROLLBACK", nullptr, nullptr, nullptr);
        err += migration.readAllStandardError();
        QCOMPARE(migration.exitCode(), 0);
        const auto json = QJsonDocument::fromJson(migration.readAllStandardOutput()).object();
        QCOMPARE(json["status"].toString(), QString("completed"));
        QVERIFY(err.contains("history: not recorded yet"));
        HistoryStore history(historyPath());
        if (releasedSoon) {
            QVERIFY2(!json.contains("history-error"), err.constData());
            const std::int64_t id = json["history-id"].toInteger();
            const auto row = history.run(id);
            QVERIFY(row);
            QVERIFY(row->status == RunStatus::Completed);
            // Everything from the beginning: the guest's boot, the lock, and when it went.
            QStringList texts;
            for (const Event& event : history.events(id))
                texts << QString::fromStdString(event.text);
            const QString all = texts.join('\n');
            QVERIFY2(all.contains("source guest running"), qPrintable(all));
            QVERIFY2(all.contains("history: not recorded yet"), qPrintable(all));
            QVERIFY2(all.contains("history: recorded as run " + QString::number(id)),
                     qPrintable(all));
        } else {
            QVERIFY(json["history-id"].isNull());
            QVERIFY2(json["history-error"].toString().startsWith("the run is not recorded: "),
                     qPrintable(json["history-error"].toString()));
        }
    }

    void killedRunIsMarkedInterruptedAtNextStart() {
        QProcess victim;
        victim.setProcessEnvironment(environment());
        victim.start(MIGRASCOPE_BINARY, {"--headless", "--ram-size", "256M", "--max-bandwidth",
                                         "8M", "--multifd-channels", "1"});
        QVERIFY(victim.waitForStarted());
        const std::int64_t victimRun = waitForActiveRun();
        QVERIFY(victimRun > 0);
        ::kill(static_cast<pid_t>(victim.processId()), SIGKILL);
        QVERIFY(victim.waitForFinished());

        // The next start of migrascope finds the run its owner never finished.
        const auto next = run({"--headless", "--ram-size", "16M", "--no-tls", "--dirty-rate", "0",
                               "--multifd-channels", "0"});
        QCOMPARE(next.exitCode, 0);
        HistoryStore history(historyPath());
        const auto row = history.run(victimRun);
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Interrupted);
        QVERIFY(!row->endedAt.empty());
    }
};

QTEST_GUILESS_MAIN(TestHeadless)
#include "tst_headless.moc"
