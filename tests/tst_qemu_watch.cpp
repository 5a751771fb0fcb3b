// Watching real QEMU migrations (Debian's qemu-system-x86_64, TCG) from outside: the
// watcher's figures against QEMU's own query-migrate, its per-connection bytes against the
// kernel as `ss` reports it, and the ways a watch ends badly.
#include "engine/api/history_store.h"
#include "engine/api/qemu_watch.h"
#include "engine/api/tls_pki.h"
#include "process_support.h"
#include "qemu_support.h"
#include "test_support.h"
#include "ui/channel_table_model.h"
#include "ui/history_model.h"
#include "ui/launch_form.h"
#include "ui/main_window.h"
#include "ui/run_controller.h"
#include "ui/throughput_plot.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <csignal>
#include <map>
#include <set>
#include <thread>

using namespace migrascope;
using namespace migrascope::test;

namespace {

constexpr std::uint64_t kRamSize = 128ull << 20;

// Each established connection to `port`: bytes_acked by local port, as iproute2's ss reads
// them (its own netlink code, its own parsing).
std::map<QString, std::uint64_t> ssBytesAcked(quint16 port) {
    QProcess ss;
    ss.start("ss", {"-tinH", "state", "established", QString("( dport = :%1 )").arg(port)});
    ss.waitForFinished(10000);
    std::map<QString, std::uint64_t> acked;
    QString local;
    static const QRegularExpression address(R"(^\s*\d+\s+\d+\s+(\S+)\s+(\S+))");
    static const QRegularExpression bytesAcked(R"(bytes_acked:(\d+))");
    for (const QString& line : QString::fromUtf8(ss.readAllStandardOutput()).split('\n')) {
        if (const auto match = address.match(line); match.hasMatch())
            local = match.captured(1);
        else if (const auto info = bytesAcked.match(line); info.hasMatch() && !local.isEmpty())
            acked[local] = info.captured(1).toULongLong();
    }
    return acked;
}

const ChannelSnapshot* channelNamed(const TelemetrySnapshot& snap, const std::string& id) {
    for (const auto& channel : snap.channels)
        if (channel.id == id)
            return &channel;
    return nullptr;
}

// A Unix socket that answers the first client with `greeting` and then, if `close`, hangs up;
// otherwise it keeps the connection open and silent.
class FakeMonitor {
public:
    FakeMonitor(const QString& path, QByteArray greeting, bool close)
        : greeting_(std::move(greeting)), close_(close) {
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray bytes = QFile::encodeName(path);
        std::memcpy(address.sun_path, bytes.constData(),
                    static_cast<std::size_t>(bytes.size()) + 1);
        ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        ::listen(listener_, 4);
        thread_ = std::thread([this] {
            client_ = ::accept(listener_, nullptr, nullptr);
            if (client_ < 0)
                return;
            ::send(client_, greeting_.constData(), static_cast<std::size_t>(greeting_.size()),
                   MSG_NOSIGNAL);
            if (close_) {
                ::close(client_);
                client_ = -1;
            }
        });
    }
    ~FakeMonitor() {
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        if (client_ >= 0)
            ::close(client_);
        ::close(listener_);
    }

private:
    QByteArray greeting_;
    bool close_;
    int listener_ = -1;
    int client_ = -1;
    std::thread thread_;
};

} // namespace

class TestQemuWatch : public QObject {
    Q_OBJECT

private:
    Workspace workspace_;
    QString ramFile_;

    ProcessOutcome runBinary(const QStringList& arguments) {
        auto environment = QProcessEnvironment::systemEnvironment();
        environment.remove("DISPLAY"); // watching needs no display
        return runProcess(MIGRASCOPE_BINARY, arguments, environment, 60000);
    }

    WatchOptions watchOptions(const QemuPair& pair) const {
        WatchOptions options;
        options.sourceQmp = pair.source.watchSocket().toStdString();
        options.destinationQmp = pair.destination.watchSocket().toStdString();
        options.pollInterval = std::chrono::milliseconds(100);
        options.historyPath = workspace_.path("history.sqlite");
        return options;
    }

    // QEMU's final figures and the watcher's must be the same numbers.
    static void verifyFiguresMatchQemu(const TelemetrySnapshot& watched, const QJsonObject& qemu) {
        const QJsonObject ram = qemu["ram"].toObject();
        QCOMPARE(watched.stats.total, static_cast<std::uint64_t>(ram["total"].toInteger()));
        QCOMPARE(watched.stats.transferred,
                 static_cast<std::uint64_t>(ram["transferred"].toInteger()));
        QCOMPARE(watched.stats.normal, static_cast<std::uint64_t>(ram["normal"].toInteger()));
        QCOMPARE(watched.stats.duplicate, static_cast<std::uint64_t>(ram["duplicate"].toInteger()));
        QCOMPARE(watched.stats.dirtySyncCount,
                 static_cast<std::uint64_t>(ram["dirty-sync-count"].toInteger()));
        QCOMPARE(watched.stats.totalTimeMs, qemu["total-time"].toDouble());
        QCOMPARE(watched.stats.downtimeMs, qemu["downtime"].toDouble());
        QCOMPARE(watched.stats.setupTimeMs, qemu["setup-time"].toDouble());
    }

    // Waits for QEMU's migration to complete and the watch to end with it; the watch's
    // figures are QEMU's.
    static TelemetrySnapshot completedAsQemuSays(QemuPair& pair, QemuWatch& watch) {
        const QJsonObject qemu = pair.waitForEnd();
        [&] { QCOMPARE(qemu["status"].toString(), QString("completed")); }();
        [&] { QVERIFY(watch.waitFor(std::chrono::seconds(15))); }();
        const auto final = watch.snapshot();
        [&] { QVERIFY(final.status == MigrationStatus::Completed); }();
        verifyFiguresMatchQemu(final, qemu);
        return final;
    }

private slots:
    void initTestCase() {
        if (qemuBinary().isEmpty())
            QSKIP("qemu-system-x86_64 is not installed (packaging/dev.sh test installs it)");
        QVERIFY(workspace_.prepare());
        ramFile_ = workspace_.dir.path() + "/guest-ram.img";
        writeRandomFile(ramFile_, kRamSize);
    }

    void aPlainMultifdMigrationIsSeenAsQemuAndTheKernelSeeIt() {
        QemuPair pair(workspace_.dir.path() + "/plain");
        QDir().mkpath(workspace_.dir.path() + "/plain");
        QVERIFY(pair.start(ramFile_, kRamSize, 4));
        QemuWatch watch(watchOptions(pair));
        watch.start();
        QVERIFY(pair.migrate(24ull << 20));

        // Mid-migration, slowed to a trickle (max-bandwidth 100 bytes/s lets one packet through
        // now and then; 0 would be QEMU's "unlimited"): each connection's bytes as the watcher
        // shows them lie between what ss read for one of the sockets just before the
        // watcher's poll and just after it.
        QTRY_VERIFY_WITH_TIMEOUT(watch.snapshot().stats.transferred > kRamSize / 4, 30000);
        QVERIFY(pair.source.control.command("migrate-set-parameters", {{"max-bandwidth", 100}})
                    .contains("return"));
        QThread::msleep(1000);
        const auto before = ssBytesAcked(pair.port);
        QThread::msleep(250); // at least two of the watcher's polls
        const auto held = watch.snapshot();
        const auto after = ssBytesAcked(pair.port);
        QCOMPARE(held.channels.size(), std::size_t{5});
        QCOMPARE(before.size(), std::size_t{5});
        std::set<QString> matchedSockets;
        for (const auto& channel : held.channels) {
            QVERIFY(channel.seenFromOutside);
            QVERIFY(channel.tcp.has_value());
            const auto bytes = static_cast<double>(channel.bytes);
            for (const auto& [local, first] : before)
                if (after.count(local) && bytes >= 0.99 * static_cast<double>(first) &&
                    bytes <= 1.01 * static_cast<double>(after.at(local)) &&
                    !matchedSockets.count(local)) {
                    matchedSockets.insert(local);
                    break;
                }
        }
        QCOMPARE(matchedSockets.size(), std::size_t{5});
        QVERIFY(
            pair.source.control.command("migrate-set-parameters", {{"max-bandwidth", 256ll << 20}})
                .contains("return"));

        const auto final = completedAsQemuSays(pair, watch);
        QVERIFY(!QTest::currentTestFailed());

        // Labels by connection order: the main channel carries almost nothing of the RAM.
        QCOMPARE(final.channels.size(), std::size_t{5});
        QCOMPARE(final.channels[0].id, std::string("main"));
        std::uint64_t sum = 0;
        for (int i = 0; i < 4; ++i) {
            const auto* multifd = channelNamed(final, "multifd-" + std::to_string(i));
            QVERIFY(multifd);
            QVERIFY(multifd->bytes > kRamSize / 8);
            QVERIFY(multifd->state == ChannelState::Closed);
        }
        for (const auto& channel : final.channels) {
            sum += channel.bytes;
            // The destination QEMU's end of the same connection received what was acked.
            QVERIFY2(std::abs(static_cast<double>(channel.bytesReceived) -
                              static_cast<double>(channel.bytes)) <=
                         0.01 * static_cast<double>(channel.bytes) + 2,
                     channel.id.c_str());
        }
        // Every byte QEMU counted went through these sockets (QEMU 7.2 counts a little less
        // of the main channel than it sends).
        const auto transferred = static_cast<double>(final.stats.transferred);
        QVERIFY2(std::abs(static_cast<double>(sum) - transferred) <= 0.01 * transferred,
                 (std::to_string(sum) + " on the sockets vs " +
                  std::to_string(final.stats.transferred) + " QEMU counted")
                     .c_str());
        // One plot series per connection, plus the total.
        std::map<std::string, int> series;
        for (const auto& sample : final.samples)
            ++series[sample.channel];
        QCOMPARE(series.size(), std::size_t{6});

        // QEMU's threads, by the names debug-threads=on gives them.
        const WatchReport report = watch.report();
        QVERIFY(report.threadNamesKnown);
        // QEMU 7.2 has no query-migrationthreads: the names are its debug-threads ones, and
        // the log says why.
        QCOMPARE(report.threadNamesFrom, std::string("debug-threads"));
        QVERIFY(std::any_of(final.events.begin(), final.events.end(), [](const Event& event) {
            return event.text.find("has no query-migrationthreads") != std::string::npos;
        }));
        QVERIFY(
            std::any_of(report.threads.begin(), report.threads.end(), [](const WatchedThread& t) {
                return t.name.rfind("multifdsend_", 0) == 0;
            }));

        // The history has it as a watched QEMU migration, with its channels' kernel counters.
        HistoryStore history(workspace_.path("history.sqlite"), HistoryStore::Access::ReadOnly);
        const auto record = history.run(watch.historyId());
        QVERIFY(record);
        QVERIFY(record->status == RunStatus::Completed);
        QVERIFY(record->role == RunRole::WatchedQemu);
        QCOMPARE(record->transferred, final.stats.transferred);
        QVERIFY(record->config.find("multifd-channels=4") != std::string::npos);
        const auto stored = history.channels(watch.historyId());
        QCOMPARE(stored.size(), std::size_t{5});
        QVERIFY(stored[1].tcp.has_value());
        QCOMPARE(stored[1].tcp->bytesAcked, final.channels[1].bytes);
        QVERIFY(!history.samples(watch.historyId()).empty());
    }

    void aTlsMigrationIsWatchedWithoutSeeingItsSessions() {
        QDir().mkpath(workspace_.dir.path() + "/tls");
        QemuPair pair(workspace_.dir.path() + "/tls");
        QVERIFY(pair.start(ramFile_, kRamSize, 4, QString::fromStdString(workspace_.pki)));
        QemuWatch watch(watchOptions(pair));
        watch.start();
        QVERIFY(pair.migrate(64ull << 20));
        const auto final = completedAsQemuSays(pair, watch);
        QVERIFY(!QTest::currentTestFailed());
        QCOMPARE(final.channels.size(), std::size_t{5});
        std::uint64_t sum = 0;
        for (const auto& channel : final.channels) {
            QVERIFY(channel.tlsVersion.empty()); // never invented
            QVERIFY(channel.tlsUnseen);
            sum += channel.bytes;
        }
        // Without ,events=on the watch changed nothing in QEMU.
        QVERIFY(watch.report().changes.empty());
        for (const auto& entry :
             pair.source.control.command("query-migrate-capabilities")["return"].toArray())
            if (entry.toObject()["capability"] == "events")
                QVERIFY(!entry.toObject()["state"].toBool());
        // TLS records add their framing on top of what QEMU counts.
        QVERIFY(sum > final.stats.transferred);
        QVERIFY(static_cast<double>(sum) < 1.05 * static_cast<double>(final.stats.transferred));
    }

    // The one change a watch may make, and only when the operator allows it: QEMU's events
    // capability, in each QEMU watched, so that MIGRATION events arrive as they happen. A watch
    // without ,events=on leaves the capability as it was.
    void theEventsCapabilityIsTurnedOnOnlyWhenAllowed() {
        QDir().mkpath(workspace_.dir.path() + "/events");
        QemuPair pair(workspace_.dir.path() + "/events");
        QVERIFY(pair.start(ramFile_, kRamSize, 2));
        const auto eventsOn = [](QemuProcess& qemu) {
            for (const auto& entry :
                 qemu.control.command("query-migrate-capabilities")["return"].toArray())
                if (entry.toObject()["capability"] == "events")
                    return entry.toObject()["state"].toBool();
            return false;
        };
        {
            const ProcessOutcome refused =
                runBinary({"--watch", "qmp:" + pair.source.watchSocket() + ",events=maybe",
                           "--history", workspace_.dir.path() + "/events/h.sqlite"});
            QCOMPARE(refused.exitCode, 2);
            QVERIFY2(refused.err.contains("events=on|off"), refused.err.constData());
        }
        QProcess watcher;
        watcher.start(MIGRASCOPE_BINARY,
                      {"--watch",
                       "qmp:" + pair.source.watchSocket() +
                           ",dst=" + pair.destination.watchSocket() + ",events=on",
                       "--json", "--history",
                       QString::fromStdString(workspace_.path("history.sqlite"))});
        QVERIFY(watcher.waitForStarted());
        watcher.setReadChannel(QProcess::StandardError);
        QVERIFY(watcher.waitForReadyRead(10000)); // watching
        QVERIFY(eventsOn(pair.source));
        QVERIFY(eventsOn(pair.destination));
        QVERIFY(pair.migrate(64ull << 20));
        QCOMPARE(pair.waitForEnd()["status"].toString(), QString("completed"));
        QVERIFY(watcher.waitForFinished(30000));
        QCOMPARE(watcher.exitCode(), 0);
        const QJsonObject result =
            QJsonDocument::fromJson(watcher.readAllStandardOutput()).object();
        const QJsonArray changes = result["watched"].toObject()["changes"].toArray();
        QCOMPARE(changes.size(), 2);
        QCOMPARE(changes[0].toString(), QString("events capability turned on in the source QEMU"));
        QCOMPARE(changes[1].toString(),
                 QString("events capability turned on in the destination QEMU"));
        // QEMU's own events, from both sides, are in the run's log as they happened.
        HistoryStore history(workspace_.path("history.sqlite"), HistoryStore::Access::ReadOnly);
        std::set<std::pair<Side, std::string>> seen;
        for (const Event& event : history.events(result["history-id"].toInteger()))
            if (event.text.rfind("QMP event MIGRATION: ", 0) == 0)
                seen.insert({event.side, event.text.substr(21)});
        QVERIFY(seen.count({Side::Source, "completed"}));
        QVERIFY(seen.count({Side::Destination, "completed"}));
        QVERIFY(seen.count({Side::Source, "active"}));
    }

    // A postcopy migration: QEMU's postcopy figures become the run's (page requests, and its
    // split of what was sent by phase), as QEMU reports them.
    void aPostcopyMigrationIsSeenWithQemusPostcopyFigures() {
        QDir().mkpath(workspace_.dir.path() + "/postcopy");
        QemuPair pair(workspace_.dir.path() + "/postcopy");
        QVERIFY(pair.start(ramFile_, kRamSize, 0, {}, true));
        // Postcopy at full speed may last less than one poll: QEMU's MIGRATION events (the
        // events capability, which the watch turns on when asked) report every status.
        WatchOptions options = watchOptions(pair);
        options.turnOnEvents = true;
        QemuWatch watch(options);
        watch.start();
        // Slow enough that most of the RAM is still to send when postcopy starts.
        QVERIFY(pair.migrate(32ull << 20));
        QTRY_VERIFY_WITH_TIMEOUT(watch.snapshot().stats.transferred > (8 << 20), 30000);
        QVERIFY(pair.source.control.command("migrate-start-postcopy").contains("return"));
        QVERIFY(
            pair.source.control.command("migrate-set-parameters", {{"max-bandwidth", 1ll << 30}})
                .contains("return"));
        const QJsonObject qemu = pair.waitForEnd();
        QCOMPARE(qemu["status"].toString(), QString("completed"));
        QVERIFY(watch.waitFor(std::chrono::seconds(15)));
        const auto final = watch.snapshot();
        verifyFiguresMatchQemu(final, qemu);
        const QJsonObject ram = qemu["ram"].toObject();
        QVERIFY(final.stats.postcopyBytes && final.stats.precopyBytes && final.stats.downtimeBytes);
        QCOMPARE(*final.stats.postcopyBytes,
                 static_cast<std::uint64_t>(ram["postcopy-bytes"].toInteger()));
        QCOMPARE(*final.stats.precopyBytes,
                 static_cast<std::uint64_t>(ram["precopy-bytes"].toInteger()));
        QCOMPARE(*final.stats.downtimeBytes,
                 static_cast<std::uint64_t>(ram["downtime-bytes"].toInteger()));
        QVERIFY(*final.stats.postcopyBytes > kRamSize / 2); // most of it went after the switch
        QCOMPARE(final.postcopy.pageRequests,
                 static_cast<std::uint64_t>(ram["postcopy-requests"].toInteger()));
        bool sawPostcopy = false;
        for (const auto& event : final.events)
            sawPostcopy = sawPostcopy || event.text == "QEMU status postcopy-active" ||
                          event.text == "QMP event MIGRATION: postcopy-active";
        QVERIFY(sawPostcopy);
        QCOMPARE(final.postcopy.pauses, 0u);
    }

    void whatIsNotAUsableQmpSocketIsRefusedBeforeWatching_data() {
        QTest::addColumn<QByteArray>("greeting");
        QTest::addColumn<bool>("close");
        QTest::addColumn<QString>("reason");
        QTest::newRow("not QMP") << QByteArray("220 mail.example.com ESMTP\r\n") << false
                                 << "is not a QMP socket";
        QTest::newRow("JSON but no greeting")
            << QByteArray("{\"hello\": 1}\n") << false << "is not a QMP greeting";
        QTest::newRow("closes mid-greeting")
            << QByteArray("{\"QMP\": {\"version\"") << true << "closed the QMP connection";
        QTest::newRow("silent") << QByteArray() << false << "one client at a time";
        QTest::newRow("missing") << QByteArray() << false << "cannot connect to QMP socket";
    }
    void whatIsNotAUsableQmpSocketIsRefusedBeforeWatching() {
        QFETCH(QByteArray, greeting);
        QFETCH(bool, close);
        QFETCH(QString, reason);
        const QString path = workspace_.dir.path() + "/fake-" +
                             QString::number(QTest::currentDataTag()[0]) + ".sock";
        std::unique_ptr<FakeMonitor> monitor;
        if (QString(QTest::currentDataTag()) != "missing")
            monitor = std::make_unique<FakeMonitor>(path, greeting, close);
        const ProcessOutcome outcome =
            runBinary({"--watch", "qmp:" + path, "--history", workspace_.dir.path() + "/h.sqlite"});
        QCOMPARE(outcome.exitCode, 2);
        QVERIFY2(outcome.err.contains(reason.toUtf8()), outcome.err.constData());
        QVERIFY(outcome.err.contains(path.toUtf8()));
        QVERIFY(!QFile::exists(workspace_.dir.path() + "/h.sqlite")); // nothing started
    }

    void aDestinationKilledMidMigrationEndsTheWatchFailedWithQemusError() {
        QDir().mkpath(workspace_.dir.path() + "/killed");
        QemuPair pair(workspace_.dir.path() + "/killed");
        QVERIFY(pair.start(ramFile_, kRamSize, 2));
        QProcess watcher;
        watcher.start(MIGRASCOPE_BINARY,
                      {"--watch", "qmp:" + pair.source.watchSocket(), "--json", "--history",
                       QString::fromStdString(workspace_.path("history.sqlite"))});
        QVERIFY(watcher.waitForStarted());
        watcher.setReadChannel(QProcess::StandardError);
        QVERIFY(watcher.waitForReadyRead(10000)); // its first progress line: it is watching
        QVERIFY(pair.migrate(8ull << 20));
        QTRY_VERIFY_WITH_TIMEOUT(
            pair.source.control.queryMigrate()["ram"].toObject()["transferred"].toInteger() >
                (4 << 20),
            30000);
        pair.destination.kill();
        const QJsonObject qemu = pair.waitForEnd();
        QCOMPARE(qemu["status"].toString(), QString("failed"));
        QVERIFY(watcher.waitForFinished(30000));
        QCOMPARE(watcher.exitCode(), 1);
        const QJsonObject result =
            QJsonDocument::fromJson(watcher.readAllStandardOutput()).object();
        QCOMPARE(result["status"].toString(), QString("failed"));
        QCOMPARE(result["error-desc"].toString(), qemu["error-desc"].toString());
        QVERIFY(!result["error-desc"].toString().isEmpty());
        QCOMPARE(result["watched"].toObject()["query-migrate"].toObject()["status"].toString(),
                 QString("failed"));
        QCOMPARE(result["channels"].toArray().size(), 3);
        HistoryStore history(workspace_.path("history.sqlite"), HistoryStore::Access::ReadOnly);
        const auto record = history.run(result["history-id"].toInteger());
        QVERIFY(record);
        QVERIFY(record->status == RunStatus::Failed);
        QCOMPARE(QString::fromStdString(record->errorDesc), qemu["error-desc"].toString());
    }

    // The window's Migration > Watch a QEMU migration: the dashboard fills from the watch.
    void theWindowShowsAWatchedMigrationPerConnection() {
        QDir().mkpath(workspace_.dir.path() + "/window");
        QemuPair pair(workspace_.dir.path() + "/window");
        QVERIFY(pair.start(ramFile_, kRamSize, 3));
        ui::MainWindow window(ui::WindowOptions{workspace_.path("window-history.sqlite")});
        window.show();
        QSignalSpy finished(window.runController(), &ui::RunController::runFinished);
        QSignalSpy started(window.runController(), &ui::RunController::watchStarted);
        QVERIFY(window.watchQemu(watchOptions(pair)));
        // The launch form has nothing to do with a watch: it makes way for the dashboard.
        QVERIFY(!window.launchForm()->isVisible());
        QVERIFY(started.wait(10000));
        QVERIFY(pair.migrate(64ull << 20));
        QCOMPARE(pair.waitForEnd()["status"].toString(), QString("completed"));
        QVERIFY(finished.count() == 1 || finished.wait(20000));
        QVERIFY(finished.first()[0].value<MigrationStatus>() == MigrationStatus::Completed);
        QVERIFY(window.launchForm()->isVisible()); // back for a run of our own

        // One row and one plot series per connection; a plain migration says it has no TLS.
        const auto* channels = window.channelTableModel();
        QCOMPARE(channels->rowCount(), 4);
        QCOMPARE(channels->index(0, ui::ChannelTableModel::Channel).data().toString(),
                 QString("main"));
        QCOMPARE(channels->index(1, ui::ChannelTableModel::TlsVersion).data().toString(),
                 QString("none"));
        QCOMPARE(window.throughputPlot()->graphCount(), 5); // 4 connections and the total
        QVERIFY(window.throughputPlot()->pointCount("multifd-2") > 3);
        // Recorded like a run of our own, and listed.
        window.historyModel()->reload();
        QVERIFY(window.historyModel()->rowCount() >= 1);
        HistoryStore history(workspace_.path("window-history.sqlite"),
                             HistoryStore::Access::ReadOnly);
        const auto record = history.run(finished.first()[1].toLongLong());
        QVERIFY(record);
        QVERIFY(record->role == RunRole::WatchedQemu);
        // Postcopy and the other operator actions belong to QEMU's own monitor.
        QVERIFY(!window.runController()->pause().isEmpty());
    }

    void aQemuThatQuitsLeavesAnInterruptedRecordOfWhatWasSeen() {
        QDir().mkpath(workspace_.dir.path() + "/quit");
        QemuPair pair(workspace_.dir.path() + "/quit");
        QVERIFY(pair.start(ramFile_, kRamSize, 2));
        QemuWatch watch(watchOptions(pair));
        watch.start();
        QVERIFY(pair.migrate(8ull << 20));
        QTRY_VERIFY_WITH_TIMEOUT(watch.snapshot().stats.transferred > (4ull << 20), 30000);
        pair.source.kill();
        QVERIFY(watch.waitFor(std::chrono::seconds(15)));
        const auto final = watch.snapshot();
        QVERIFY(final.errorDesc.find("lost the source QEMU's QMP socket") != std::string::npos);
        HistoryStore history(workspace_.path("history.sqlite"), HistoryStore::Access::ReadOnly);
        const auto record = history.run(watch.historyId());
        QVERIFY(record);
        QVERIFY(record->status == RunStatus::Interrupted);
        QVERIFY(record->errorDesc.find("lost the source QEMU's QMP socket") != std::string::npos);
        QVERIFY(record->transferred > (4ull << 20));
    }
};

QTEST_MAIN(TestQemuWatch)
#include "tst_qemu_watch.moc"
