#include "engine/api/history_store.h"
#include "engine/api/migration_config.h"

#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>
#include <exception>
#include <filesystem>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace migrascope;

namespace {

// Raw access for what the store must never do itself: forge old or foreign files.
// Undoes schema versions 7 to 9, for tests that make a file an older version wrote.
// What version 9 wrote: no diagnosis, no origin.
const std::string kUndoVersion10 = "ALTER TABLE runs DROP COLUMN diagnosis;"
                                   "ALTER TABLE runs DROP COLUMN origin;";
const std::string kUndoVersions7To10 = kUndoVersion10 +
                                       "ALTER TABLE runs DROP COLUMN warnings;"
                                       "ALTER TABLE run_channels DROP COLUMN tcp_bytes_acked;"
                                       "ALTER TABLE run_channels DROP COLUMN tcp_bytes_received;"
                                       "ALTER TABLE run_channels DROP COLUMN tcp_rtt_us;"
                                       "ALTER TABLE run_channels DROP COLUMN tcp_retransmits;"
                                       "ALTER TABLE run_channels DROP COLUMN "
                                       "tcp_send_congestion_window;"
                                       "ALTER TABLE run_channels DROP COLUMN bytes_received;"
                                       "ALTER TABLE runs DROP COLUMN expected_downtime_ms;"
                                       "ALTER TABLE runs DROP COLUMN downtime_limit_ms;"
                                       "ALTER TABLE runs DROP COLUMN cpu_throttle_percentage;";

bool executeRaw(const QString& path, const char* sql) {
    sqlite3* db = nullptr;
    const bool opened = sqlite3_open(QFile::encodeName(path).constData(), &db) == SQLITE_OK;
    const bool executed = opened && sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return executed;
}

bool executeRaw(const QString& path, const std::string& sql) {
    return executeRaw(path, sql.c_str());
}

int rawUserVersion(const QString& path) {
    sqlite3* db = nullptr;
    sqlite3_stmt* statement = nullptr;
    int version = -1;
    if (sqlite3_open_v2(QFile::encodeName(path).constData(), &db, SQLITE_OPEN_READONLY, nullptr) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW)
        version = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return version;
}

// Every row run `id` owns in every table, as text, without the ids that differ between files
// (the run's own id, and the origin an import adds).
QStringList rawRowsOf(const QString& path, std::int64_t id) {
    QStringList rows;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(QFile::encodeName(path).constData(), &db, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return {"cannot open " + path};
    }
    const auto collect = [&](const QString& sql, const QString& label) {
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db, sql.toUtf8().constData(), -1, &statement, nullptr) != SQLITE_OK)
            rows << "cannot read " + label;
        while (statement != nullptr && sqlite3_step(statement) == SQLITE_ROW) {
            QStringList cells{label};
            for (int column = 0; column < sqlite3_column_count(statement); ++column) {
                const QString name = QString::fromUtf8(sqlite3_column_name(statement, column));
                if (name == "id" || name == "run_id" || name == "origin")
                    continue;
                const auto* text = sqlite3_column_text(statement, column);
                cells << name + "=" +
                             (text ? QString::fromUtf8(reinterpret_cast<const char*>(text))
                                   : QStringLiteral("NULL"));
            }
            rows << cells.join('|');
        }
        sqlite3_finalize(statement);
    };
    collect(QStringLiteral("SELECT * FROM runs WHERE id = %1").arg(id), "runs");
    for (const char* table :
         {"run_channels", "samples", "events", "return_path_messages", "device_transitions"})
        collect(QStringLiteral("SELECT * FROM %1 WHERE run_id = %2 ORDER BY rowid")
                    .arg(QLatin1String(table))
                    .arg(id),
                QLatin1String(table));
    sqlite3_close(db);
    return rows;
}

std::optional<RunRecord> findRun(const HistoryStore& store, const std::string& uuid) {
    for (const RunRecord& run : store.listRuns())
        if (run.uuid == uuid)
            return run;
    return std::nullopt;
}

std::vector<ChannelSample> makeSamples(double fromMs, int count) {
    std::vector<ChannelSample> samples;
    for (int i = 0; i < count; ++i)
        samples.push_back({fromMs + i * 100.0, i % 2 == 0 ? "total" : "main", 1.0e6 * i,
                           static_cast<std::uint64_t>(i) * 4096});
    return samples;
}

// Runs in a forked child: begins a run and ends without finishing it. Never returns.
[[noreturn]] void beginRunAndDie(const QString& path, bool killed) {
    try {
        HistoryStore store(path.toStdString());
        store.beginRun("crashed-run", "config", 1, 0, false);
    } catch (...) {
        ::_exit(2);
    }
    if (killed)
        ::raise(SIGKILL);
    ::_exit(0);
}

// Forks a child that begins a run and is killed before it ends it; the child's pid, or -1.
pid_t killedRunOwner(const QString& path) {
    const pid_t child = ::fork();
    if (child == 0)
        beginRunAndDie(path, true);
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFSIGNALED(status) ||
        WTERMSIG(status) != SIGKILL)
        return -1;
    return child;
}

const QRegularExpression kTimestamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");

} // namespace

class TestHistoryStore : public QObject {
    Q_OBJECT

private slots:
    void init();
    void finishedRunReadsBackAfterReopening();
    void listRunsShowsNewestFirst();
    void newFileHasCurrentSchemaVersion();
    void kernelTcpViewIsStoredOnlyWhereItWasRead();
    void versionOneFileIsUpgradedKeepingItsRuns();
    void returnPathAndPostcopyAreKept();
    void deviceTransitionsAreKept();
    void versionFourShutsGetTheirVerdictFromTheirText();
    void aViewerChangesNothing();
    void exportThenImportIsIdenticalRowForRow();
    void oldRunsArePrunedAndThinned();
    void refusesFileFromNewerVersion();
    void refusesNegativeSchemaVersion();
    void finishingWithoutFinalStatusIsRefused();
    void runOfKilledProcessBecomesInterrupted();
    void anEndThatCannotBeWrittenIsQueuedForTheNextOpen();
    void runOfUnreapedProcessBecomesInterrupted();
    void staleOwnerRecordBecomesInterrupted_data();
    void staleOwnerRecordBecomesInterrupted();
    void concurrentWritersKeepEveryRow();

private:
    QString path() const { return dir_->filePath("history.sqlite"); }

    std::unique_ptr<QTemporaryDir> dir_;
};

void TestHistoryStore::init() {
    dir_ = std::make_unique<QTemporaryDir>();
    QVERIFY(dir_->isValid());
}

void TestHistoryStore::finishedRunReadsBackAfterReopening() {
    std::int64_t id = 0;
    {
        HistoryStore store(path().toStdString());
        id = store.beginRun("uuid-1", "multifd-channels: 2\ntls: on", 512ull << 20, 2, true);
        QVERIFY(id > 0);
        const std::optional<RunRecord> active = store.run(id);
        QVERIFY(active);
        QVERIFY(active->status == RunStatus::Active);
        QVERIFY(active->endedAt.empty());

        // Stored out of order: readers get them ordered by time.
        store.appendSamples(id, makeSamples(1000, 4));
        store.appendSamples(id, makeSamples(0, 3));
        store.appendEvents(id,
                           {{5.0, EventLevel::Info, Side::Source, "connected"},
                            {9.5, EventLevel::Error, Side::Destination, "channel multifd-1 cut"},
                            {7.0, EventLevel::Warning, Side::Source, "slow"}});

        TelemetrySnapshot final;
        final.status = MigrationStatus::Failed;
        final.errorDesc = "multifd-1: connection reset";
        final.integrity = "not verified: migration failed";
        final.stats.transferred = 123456789;
        final.stats.totalTimeMs = 4321.5;
        final.stats.downtimeMs = 12.25;
        final.stats.mbps = 940.5;
        {
            ChannelSnapshot channel;
            channel.id = "main";
            channel.kind = ChannelKind::Main;
            channel.state = ChannelState::Closed;
            channel.bytes = 1000;
            channel.pages = 2;
            channel.packets = 30;
            channel.tlsRecordsSent = 40;
            channel.termination = Termination::Clean;
            channel.tlsVersion = "TLS1.3";
            channel.tlsCipher = "AES-256-GCM";
            final.channels.push_back(channel);
        }
        {
            ChannelSnapshot channel;
            channel.id = "multifd-0";
            channel.kind = ChannelKind::Multifd;
            channel.state = ChannelState::Failed;
            channel.bytes = 5000000000ull;
            channel.pages = 1220000;
            channel.packets = 600;
            channel.tlsRecordsSent = 700;
            channel.tlsRecordsReceived = 9;
            channel.keyUpdatesSent = 70;
            channel.keyUpdatesReceived = 1;
            channel.recordLimit = kTlsRecordLimit;
            channel.termination = Termination::Premature;
            channel.tlsVersion = "TLS1.3";
            channel.tlsCipher = "AES-256-GCM";
            final.channels.push_back(channel);
        }
        store.finishRun(id, final);
    }

    const HistoryStore store(path().toStdString());
    const std::optional<RunRecord> run = store.run(id);
    QVERIFY(run);
    QCOMPARE(run->uuid, std::string("uuid-1"));
    QVERIFY(run->status == RunStatus::Failed);
    QCOMPARE(run->errorDesc, std::string("multifd-1: connection reset"));
    QCOMPARE(run->integrity, std::string("not verified: migration failed"));
    QCOMPARE(run->config, std::string("multifd-channels: 2\ntls: on"));
    QCOMPARE(run->ramTotal, 512ull << 20);
    QCOMPARE(run->transferred, 123456789ull);
    QCOMPARE(run->totalTimeMs, 4321.5);
    QCOMPARE(run->downtimeMs, 12.25);
    QCOMPARE(run->mbps, 940.5);
    QCOMPARE(run->multifdChannels, 2u);
    QVERIFY(run->tls);
    QCOMPARE(run->ownerPid, static_cast<std::int64_t>(::getpid()));
    QVERIFY2(kTimestamp.match(QString::fromStdString(run->startedAt)).hasMatch(),
             run->startedAt.c_str());
    QVERIFY2(kTimestamp.match(QString::fromStdString(run->endedAt)).hasMatch(),
             run->endedAt.c_str());
    QVERIFY(run->endedAt >= run->startedAt);

    const std::vector<ChannelSnapshot> channels = store.channels(id);
    QCOMPARE(channels.size(), 2u);
    QCOMPARE(channels[0].id, std::string("main"));
    QVERIFY(channels[0].kind == ChannelKind::Main);
    QVERIFY(channels[0].state == ChannelState::Closed);
    QCOMPARE(channels[0].tlsVersion, std::string("TLS1.3"));
    QCOMPARE(channels[0].tlsCipher, std::string("AES-256-GCM"));
    QCOMPARE(channels[1].id, std::string("multifd-0"));
    QVERIFY(channels[1].kind == ChannelKind::Multifd);
    QVERIFY(channels[1].state == ChannelState::Failed);
    QCOMPARE(channels[1].bytes, 5000000000ull);
    QCOMPARE(channels[1].pages, 1220000ull);
    QCOMPARE(channels[1].packets, 600ull);
    QCOMPARE(channels[1].tlsRecordsSent, 700ull);
    QCOMPARE(channels[1].tlsRecordsReceived, 9ull);
    QCOMPARE(channels[1].keyUpdatesSent, 70ull);
    QCOMPARE(channels[1].keyUpdatesReceived, 1ull);
    QCOMPARE(channels[1].recordLimit, kTlsRecordLimit);
    QVERIFY(channels[1].termination == Termination::Premature);
    QVERIFY(channels[0].termination == Termination::Clean);

    const std::vector<ChannelSample> samples = store.samples(id);
    QCOMPARE(samples.size(), 7u);
    for (std::size_t i = 1; i < samples.size(); ++i)
        QVERIFY(samples[i - 1].timeMs <= samples[i].timeMs);
    QCOMPARE(samples.front().timeMs, 0.0);
    QCOMPARE(samples.back().timeMs, 1300.0);
    QCOMPARE(samples.back().channel, std::string("main"));
    QCOMPARE(samples.back().bytesPerSecond, 3.0e6);
    QCOMPARE(samples.back().bytes, 3ull * 4096);

    const std::vector<Event> events = store.events(id);
    QCOMPARE(events.size(), 3u);
    QCOMPARE(events[0].text, std::string("connected"));
    // No QCOMPARE on migrascope enums: QTest would find migrascope::toString() by ADL and
    // delete[] the static text it returns when the comparison fails.
    QVERIFY(events[1].level == EventLevel::Warning);
    QCOMPARE(events[1].text, std::string("slow"));
    QCOMPARE(events[2].timeMs, 9.5);
    QVERIFY(events[2].level == EventLevel::Error);
    QVERIFY(events[2].side == Side::Destination);
    QCOMPARE(events[2].text, std::string("channel multifd-1 cut"));

    QVERIFY(!store.run(id + 1000));
}

void TestHistoryStore::listRunsShowsNewestFirst() {
    HistoryStore store(path().toStdString());
    for (const char* uuid : {"first", "second", "third"})
        store.beginRun(uuid, "", 0, 0, false);
    const std::vector<RunRecord> runs = store.listRuns();
    QCOMPARE(runs.size(), 3u);
    QCOMPARE(runs[0].uuid, std::string("third"));
    QCOMPARE(runs[1].uuid, std::string("second"));
    QCOMPARE(runs[2].uuid, std::string("first"));
    const std::vector<RunRecord> latest = store.listRuns(2);
    QCOMPARE(latest.size(), 2u);
    QCOMPARE(latest[0].uuid, std::string("third"));
}

void TestHistoryStore::kernelTcpViewIsStoredOnlyWhereItWasRead() {
    HistoryStore store(path().toStdString());
    const auto id = store.beginRun("tcp", "", 64ull << 20, 1, false, RunRole::WatchedQemu, "pid 1");
    TelemetrySnapshot final;
    final.status = MigrationStatus::Completed;
    ChannelSnapshot read;
    read.id = "multifd-0";
    read.tcp = TcpKernelView{123456789012ull, 17, 2360, 3, 40};
    ChannelSnapshot unread;
    unread.id = "main";
    final.channels = {unread, read};
    store.finishRun(id, final);

    const auto channels =
        HistoryStore(path().toStdString(), HistoryStore::Access::ReadOnly).channels(id);
    QCOMPARE(channels.size(), 2u);
    QVERIFY(!channels[0].tcp.has_value());
    QVERIFY(channels[1].tcp.has_value());
    QCOMPARE(channels[1].tcp->bytesAcked, 123456789012ull);
    QCOMPARE(channels[1].tcp->bytesReceived, 17ull);
    QCOMPARE(channels[1].tcp->rttUs, 2360u);
    QCOMPARE(channels[1].tcp->retransmits, 3u);
    QCOMPARE(channels[1].tcp->sendCongestionWindow, 40u);
    QVERIFY(store.run(id)->role == RunRole::WatchedQemu);
}

void TestHistoryStore::newFileHasCurrentSchemaVersion() {
    QCOMPARE(HistoryStore(path().toStdString()).schemaVersion(), 10);
    QCOMPARE(HistoryStore(path().toStdString()).schemaVersion(), HistoryStore::kSchemaVersion);
}

void TestHistoryStore::versionOneFileIsUpgradedKeepingItsRuns() {
    std::int64_t id = 0;
    {
        HistoryStore store(path().toStdString());
        id = store.beginRun("from-v1", "tls: on", 64ull << 20, 1, true);
        TelemetrySnapshot final;
        final.status = MigrationStatus::Completed;
        ChannelSnapshot channel;
        channel.id = "multifd-0";
        channel.kind = ChannelKind::Multifd;
        channel.tlsRecordsSent = 5;
        final.channels.push_back(channel);
        store.finishRun(id, final);
    }
    // Make the file what version 1 wrote: no TLS session columns, no return path.
    QVERIFY(executeRaw(path(),
                       kUndoVersions7To10 +
                           std::string("ALTER TABLE runs DROP COLUMN role;"
                                       "ALTER TABLE runs DROP COLUMN peer;"
                                       "DROP TABLE device_transitions;"
                                       "DROP TABLE return_path_messages;"
                                       "ALTER TABLE runs DROP COLUMN postcopy_page_requests;"
                                       "ALTER TABLE runs DROP COLUMN postcopy_latency_median_ms;"
                                       "ALTER TABLE runs DROP COLUMN postcopy_latency_p99_ms;"
                                       "ALTER TABLE runs DROP COLUMN postcopy_recoveries;"
                                       "ALTER TABLE runs DROP COLUMN return_path_count;"
                                       "ALTER TABLE run_channels DROP COLUMN tls_records_received;"
                                       "ALTER TABLE run_channels DROP COLUMN key_updates_sent;"
                                       "ALTER TABLE run_channels DROP COLUMN key_updates_received;"
                                       "ALTER TABLE run_channels DROP COLUMN record_limit;"
                                       "ALTER TABLE run_channels DROP COLUMN termination;"
                                       "ALTER TABLE run_channels DROP COLUMN bidirectional;"
                                       "ALTER TABLE run_channels DROP COLUMN tls_protection;"
                                       "PRAGMA user_version = 1;")));
    HistoryStore store(path().toStdString());
    QCOMPARE(store.schemaVersion(), HistoryStore::kSchemaVersion);
    const auto run = store.run(id);
    QVERIFY(run);
    QCOMPARE(run->uuid, std::string("from-v1"));
    QCOMPARE(run->postcopyRecoveries, 0u);
    QVERIFY(store.returnPath(id).empty());
    const auto channels = store.channels(id);
    QCOMPARE(channels.size(), 1u);
    QCOMPARE(channels[0].tlsRecordsSent, 5ull);
    QVERIFY(channels[0].termination == Termination::None);
}

void TestHistoryStore::returnPathAndPostcopyAreKept() {
    HistoryStore store(path().toStdString());
    const auto id = store.beginRun("postcopy", "", 64ull << 20, 2, true);
    store.appendReturnPath(
        id, {ReturnPathRecord{1.5, ReturnPathType::Pong, 1, "PONG 1", 1},
             ReturnPathRecord{900, ReturnPathType::RecvBitmap, 0, "RECV_BITMAP pc.ram", 2}});
    store.appendReturnPath(id,
                           {ReturnPathRecord{950, ReturnPathType::Shut, 0, "SHUT 0 (success)", 2}});
    TelemetrySnapshot final;
    final.status = MigrationStatus::Completed;
    final.postcopy.pageRequests = 321;
    final.postcopy.latencyMedianMs = 0.75;
    final.postcopy.latencyP99Ms = 4.5;
    final.postcopy.recoveries = 2;
    final.returnPathCount = 3;
    store.finishRun(id, final);

    HistoryStore reader(path().toStdString());
    const auto messages = reader.returnPath(id);
    QCOMPARE(messages.size(), 3u);
    QVERIFY(messages[1].type == ReturnPathType::RecvBitmap);
    QCOMPARE(messages[1].connection, 2u);
    QCOMPARE(messages[2].text, std::string("SHUT 0 (success)"));
    QVERIFY(!messages[2].isFailureVerdict());
    const auto run = reader.run(id);
    QVERIFY(run);
    QCOMPARE(run->postcopyPageRequests, 321ull);
    QCOMPARE(run->postcopyLatencyMedianMs, 0.75);
    QCOMPARE(run->postcopyLatencyP99Ms, 4.5);
    QCOMPARE(run->postcopyRecoveries, 2u);
    QCOMPARE(run->returnPathCount, 3ull);
}

void TestHistoryStore::versionFourShutsGetTheirVerdictFromTheirText() {
    std::int64_t id = 0;
    {
        HistoryStore store(path().toStdString());
        id = store.beginRun("from-v4", "", 64ull << 20, 2, true);
        store.appendReturnPath(
            id, {ReturnPathRecord{1, ReturnPathType::Pong, 7, "PONG 7", 1},
                 ReturnPathRecord{2, ReturnPathType::Shut, 4,
                                  "SHUT 4 (a device failed at the destination)", 1}});
    }
    // What version 4 wrote: no value column; the reason only in the words.
    QVERIFY(executeRaw(path(), kUndoVersions7To10 +
                                   std::string("ALTER TABLE return_path_messages DROP COLUMN value;"
                                               "ALTER TABLE runs DROP COLUMN role;"
                                               "ALTER TABLE runs DROP COLUMN peer;"
                                               "PRAGMA user_version = 4;")));
    HistoryStore store(path().toStdString());
    QCOMPARE(store.schemaVersion(), HistoryStore::kSchemaVersion);
    const auto messages = store.returnPath(id);
    QCOMPARE(messages.size(), 2u);
    QVERIFY(!messages[0].isFailureVerdict());
    QCOMPARE(messages[1].value, 4u);
    QVERIFY(messages[1].isFailureVerdict());
}

void TestHistoryStore::deviceTransitionsAreKept() {
    HistoryStore store(path().toStdString());
    const auto id = store.beginRun("devices", "", 64ull << 20, 2, true);
    using vfio::DeviceState;
    store.appendTransitions(
        id,
        {DeviceTransition{5, Side::Source, "nic0", DeviceState::Running, DeviceState::PreCopy,
                          false, true, ""},
         DeviceTransition{900, Side::Destination, "accel0", DeviceState::Resuming,
                          DeviceState::Stop, false, false, "RESUMING -> STOP: checksum mismatch"},
         DeviceTransition{950, Side::Destination, "accel0", DeviceState::Running,
                          DeviceState::Running, true, true, ""}});
    const auto transitions = HistoryStore(path().toStdString()).transitions(id);
    QCOMPARE(transitions.size(), 3u);
    QVERIFY(transitions[0].side == Side::Source);
    QVERIFY(transitions[0].from == DeviceState::Running);
    QVERIFY(transitions[0].to == DeviceState::PreCopy);
    QVERIFY(!transitions[0].reset);
    QVERIFY(!transitions[1].ok);
    QVERIFY(transitions[1].side == Side::Destination);
    QCOMPARE(arcText(transitions[1]), std::string("RESUMING -> STOP"));
    QCOMPARE(transitions[1].error, std::string("RESUMING -> STOP: checksum mismatch"));
    // A reset is no arc of the state machine: it reads back as one, not as a state.
    QVERIFY(transitions[2].reset);
    QCOMPARE(arcText(transitions[2]), std::string("reset -> RUNNING"));
}

// Another program set a negative user_version: opening it was a crash (the upgrade steps
// were indexed with it). Now it is a clear error, for the window and the viewer alike.
void TestHistoryStore::refusesNegativeSchemaVersion() {
    for (const char* version : {"-1", "-100", "-2147483648"}) {
        QFile::remove(path());
        QVERIFY(executeRaw(path(), QStringLiteral("CREATE TABLE x (y); PRAGMA user_version = %1;")
                                       .arg(QLatin1String(version))
                                       .toUtf8()
                                       .constData()));
        for (const auto access :
             {HistoryStore::Access::ReadWrite, HistoryStore::Access::ReadOnly}) {
            try {
                HistoryStore store(path().toStdString(), access);
                QFAIL("a database with a negative schema version was opened");
            } catch (const std::runtime_error& error) {
                const QString message = QString::fromUtf8(error.what());
                QVERIFY2(message.contains(QLatin1String(version)), error.what());
                QVERIFY2(message.contains(path()), error.what());
            }
        }
    }
}

void TestHistoryStore::refusesFileFromNewerVersion() {
    QVERIFY(executeRaw(path(), "CREATE TABLE future (x); PRAGMA user_version = 99;"));
    try {
        HistoryStore store(path().toStdString());
        QFAIL("a database with schema version 99 was opened");
    } catch (const std::runtime_error& error) {
        const QString message = QString::fromUtf8(error.what());
        QVERIFY2(message.contains("99"), error.what());
        QVERIFY2(message.contains(path()), error.what());
    }
    // Left exactly as the newer version wrote it: still version 99, not switched to WAL.
    QVERIFY(!QFileInfo::exists(path() + "-wal"));
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(QFile::encodeName(path()).constData(), &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    QCOMPARE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr), SQLITE_OK);
    QCOMPARE(sqlite3_step(statement), SQLITE_ROW);
    const int version = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    QCOMPARE(version, 99);
}

void TestHistoryStore::finishingWithoutFinalStatusIsRefused() {
    HistoryStore store(path().toStdString());
    const std::int64_t id = store.beginRun("running", "", 0, 0, false);
    TelemetrySnapshot stillRunning;
    stillRunning.status = MigrationStatus::Active;
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, store.finishRun(id, stillRunning));
    QVERIFY(store.run(id)->status == RunStatus::Active);

    TelemetrySnapshot done;
    done.status = MigrationStatus::Completed;
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, store.finishRun(id + 1, done));
}

void TestHistoryStore::aViewerChangesNothing() {
    { HistoryStore(path().toStdString()).beginRun("done", "", 0, 0, false); }
    QVERIFY2(killedRunOwner(path()) > 0, "the child did not begin a run");

    // A support engineer opens the runs: the dead process's run is shown as the file has it.
    const HistoryStore viewer(path().toStdString(), HistoryStore::Access::ReadOnly);
    const std::optional<RunRecord> crashed = findRun(viewer, "crashed-run");
    QVERIFY(crashed);
    QVERIFY(crashed->status == RunStatus::Active);
    QVERIFY(findRun(viewer, "done"));
    // Only a writer marks it.
    QVERIFY(findRun(HistoryStore(path().toStdString()), "crashed-run")->status ==
            RunStatus::Interrupted);

    // A file of an older schema is read, but not upgraded behind a viewer's back: the viewer
    // upgrades a copy in memory, and builds the diagnosis the file does not store.
    QVERIFY(executeRaw(path(), (kUndoVersion10 + "PRAGMA user_version = 9;").c_str()));
    {
        const HistoryStore older(path().toStdString(), HistoryStore::Access::ReadOnly);
        QCOMPARE(older.schemaVersion(), HistoryStore::kSchemaVersion);
        const std::optional<RunRecord> interrupted = findRun(older, "crashed-run");
        QVERIFY(interrupted);
        QVERIFY(interrupted->diagnosis.empty());
        QVERIFY2(older.diagnosis(*interrupted).starts_with("The process running it ended"),
                 older.diagnosis(*interrupted).c_str());
    }
    QCOMPARE(rawUserVersion(path()), 9); // nothing was touched
    const QString missing = dir_->filePath("missing.sqlite");
    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             HistoryStore(missing.toStdString(), HistoryStore::Access::ReadOnly));
    QVERIFY(!QFile::exists(missing));
}

void TestHistoryStore::exportThenImportIsIdenticalRowForRow() {
    std::int64_t failed = 0, completed = 0;
    {
        HistoryStore store(path().toStdString());
        failed = store.beginRun("failed-run", "ram-size=1\ninject=cut-channel=main@100", 1 << 20, 2,
                                true);
        RunLogs logs;
        logs.samples = makeSamples(0, 6);
        logs.events = {{1, EventLevel::Info, Side::Source, "bulk copy: every page"},
                       {9, EventLevel::Error, Side::Destination, "channel main cut"}};
        logs.returnPath = {ReturnPathRecord{5, ReturnPathType::Shut, 4, "SHUT 4", 1}};
        logs.transitions = {DeviceTransition{3, Side::Destination, "accel0",
                                             vfio::DeviceState::Resuming, vfio::DeviceState::Stop,
                                             false, false, "checksum mismatch"}};
        TelemetrySnapshot final;
        final.status = MigrationStatus::Failed;
        final.errorDesc = "channel main cut";
        ChannelSnapshot channel;
        channel.id = "main";
        channel.bytes = 4242;
        channel.tcp = TcpKernelView{4242, 17, 300, 1, 10};
        final.channels.push_back(channel);
        store.finishRun(failed, final, logs);
        completed = store.beginRun("completed-run", "", 1 << 20, 0, false);
        TelemetrySnapshot done;
        done.status = MigrationStatus::Completed;
        done.warnings = {"downtime over the limit"};
        store.finishRun(completed, done);
        store.beginRun("still-running", "", 1, 0, false); // not exported
    }
    const QString exported = dir_->filePath("ticket-1234.sqlite");
    const HistoryStore source(path().toStdString(), HistoryStore::Access::ReadOnly);
    QCOMPARE(source.exportRuns({failed, completed}, exported.toStdString(), "host-a").size(), 2u);
    QVERIFY(!QFile::exists(exported + "-wal")); // one file to attach to a ticket
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             source.exportRuns({failed}, exported.toStdString(), "host-a"));

    const QString other = dir_->filePath("other-machine.sqlite");
    HistoryStore destination(other.toStdString());
    const HistoryStore::ImportResult first = destination.importRuns(exported.toStdString());
    QCOMPARE(first.imported.size(), 2u);
    QVERIFY(first.alreadyThere.empty());
    QCOMPARE(rawRowsOf(other, first.imported[0]), rawRowsOf(path(), failed));
    QCOMPARE(rawRowsOf(other, first.imported[1]), rawRowsOf(path(), completed));
    QVERIFY(rawRowsOf(other, first.imported[0]).size() > 10); // the rows really are there
    const std::optional<RunRecord> imported = destination.run(first.imported[0]);
    QVERIFY(imported);
    QCOMPARE(imported->origin, std::string("host-a"));
    QCOMPARE(destination.diagnosis(*imported), source.diagnosis(*source.run(failed)));

    // Importing the same file again copies nothing twice.
    const HistoryStore::ImportResult again = destination.importRuns(exported.toStdString());
    QVERIFY(again.imported.empty());
    QCOMPARE(again.alreadyThere.size(), 2u);
    QCOMPARE(destination.listRuns(-1).size(), 2u);

    // Only Migrascope histories are taken.
    const QString notHistory = dir_->filePath("notes.sqlite");
    QVERIFY(executeRaw(notHistory, "CREATE TABLE notes (text TEXT);"));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, destination.importRuns(notHistory.toStdString()));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             destination.importRuns(dir_->filePath("missing").toStdString()));
}

void TestHistoryStore::oldRunsArePrunedAndThinned() {
    HistoryStore store(path().toStdString());
    // Three finished runs, 400, 20 and 1 days old, each 10 s of samples every 100 ms on two
    // channels, and an active one from long ago (its process may still be recording it).
    std::vector<std::int64_t> ids;
    for (const int daysAgo : {400, 20, 1, 500}) {
        const std::int64_t id = store.beginRun("aged-" + std::to_string(daysAgo), "", 1, 1, false);
        RunLogs logs;
        for (int step = 0; step < 100; ++step)
            for (const char* channel : {"main", "multifd-0"})
                logs.samples.push_back(
                    {step * 100.0, channel, 1e6, static_cast<std::uint64_t>(step)});
        logs.events = {{5, EventLevel::Info, Side::Source, "bulk copy: every page"}};
        store.appendLogs(id, logs);
        if (daysAgo != 500) {
            TelemetrySnapshot final;
            final.status = MigrationStatus::Completed;
            store.finishRun(id, final);
        }
        QVERIFY(executeRaw(path(), "UPDATE runs SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', "
                                   "'now', '-" +
                                       std::to_string(daysAgo) +
                                       " days') WHERE id = " + std::to_string(id)));
        ids.push_back(id);
    }
    const HistoryStore::Upkeep upkeep = store.keepBounded(365, 7);
    QCOMPARE(upkeep.runsDeleted, 1u);
    QVERIFY(!store.run(ids[0]));           // past the retention: gone
    QVERIFY(store.events(ids[0]).empty()); // with everything it owned
    QVERIFY(store.samples(ids[0]).empty());
    QCOMPARE(store.samples(ids[1]).size(), 20u);  // 20 days: one per channel per second
    QCOMPARE(store.events(ids[1]).size(), 1u);    // its events stay whole
    QCOMPARE(store.samples(ids[2]).size(), 200u); // yesterday's: untouched
    QCOMPARE(store.samples(ids[3]).size(), 200u); // active: untouched
    QVERIFY(store.run(ids[3]));
    QCOMPARE(upkeep.samplesThinned, 180u);
    // Again: nothing more to do.
    const HistoryStore::Upkeep again = store.keepBounded(365, 7);
    QCOMPARE(again.runsDeleted, 0u);
    QCOMPARE(again.samplesThinned, 0u);
    // 0 keeps every run.
    QCOMPARE(store.keepBounded(0, 7).runsDeleted, 0u);
}

void TestHistoryStore::runOfKilledProcessBecomesInterrupted() {
    HistoryStore store(path().toStdString());
    const std::int64_t liveId = store.beginRun("live-run", "", 0, 0, false);

    const pid_t child = killedRunOwner(path());
    QVERIFY2(child > 0, "the child did not begin a run");

    const HistoryStore reopened(path().toStdString());
    const std::optional<RunRecord> crashed = findRun(reopened, "crashed-run");
    QVERIFY(crashed);
    QVERIFY(crashed->status == RunStatus::Interrupted);
    QCOMPARE(crashed->errorDesc, "interrupted: the process (pid " + std::to_string(child) +
                                     ") ended before the run finished");
    QVERIFY(kTimestamp.match(QString::fromStdString(crashed->endedAt)).hasMatch());

    // This process is alive: its run is untouched and can still be finished.
    QVERIFY(reopened.run(liveId)->status == RunStatus::Active);
    QVERIFY(reopened.run(liveId)->endedAt.empty());
    TelemetrySnapshot done;
    done.status = MigrationStatus::Completed;
    store.finishRun(liveId, done);
    QVERIFY(reopened.run(liveId)->status == RunStatus::Completed);
}

// Another process held the file's lock when the run ended: the end waits in a file of its own
// beside the history (while the lock lasts, opening leaves it queued), and the first open after
// the lock is gone stores it, logs included, as if it had been written at the time.
void TestHistoryStore::anEndThatCannotBeWrittenIsQueuedForTheNextOpen() {
    HistoryStore store(path().toStdString());
    const std::int64_t id = store.beginRun("queued-run", "tls: on", 64ull << 20, 1, true);
    store.appendEvents(id, {{5.0, EventLevel::Info, Side::Source, "connected"}});

    TelemetrySnapshot final;
    final.status = MigrationStatus::Failed;
    final.errorDesc = "channel multifd-0: connection reset by peer";
    final.integrity = "not verified: migration failed";
    final.stats.transferred = 4242;
    ChannelSnapshot channel;
    channel.id = "multifd-0";
    channel.kind = ChannelKind::Multifd;
    channel.state = ChannelState::Failed;
    channel.bytes = 4000;
    channel.termination = Termination::Network;
    final.channels.push_back(channel);
    const RunLogs unstored{
        makeSamples(0, 3), {{9.0, EventLevel::Error, Side::Source, final.errorDesc}}, {}, {}};

    sqlite3* raw = nullptr;
    QCOMPARE(sqlite3_open(path().toUtf8().constData(), &raw), SQLITE_OK);
    const std::unique_ptr<sqlite3, int (*)(sqlite3*)> locker(raw, &sqlite3_close);
    QCOMPARE(sqlite3_exec(raw, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    const std::string problem = store.finishRunOrQueue(id, final, unstored);
    QVERIFY2(problem.starts_with("the end of the run could not be recorded: "), problem.c_str());
    const std::string folder = HistoryStore::queuedEndsFolder(path().toStdString());
    QVERIFY2(problem.find("queued in " + folder + "/") != std::string::npos, problem.c_str());
    {
        const HistoryStore whileLocked(path().toStdString());
        QVERIFY(whileLocked.run(id)->status == RunStatus::Active);
    }
    QVERIFY(std::filesystem::is_directory(folder));

    sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    const HistoryStore reopened(path().toStdString());
    const std::optional<RunRecord> ended = reopened.run(id);
    QVERIFY(ended);
    QVERIFY(ended->status == RunStatus::Failed);
    QCOMPARE(ended->errorDesc, final.errorDesc);
    QCOMPARE(ended->transferred, std::uint64_t{4242});
    QVERIFY(!ended->endedAt.empty());
    QCOMPARE(reopened.events(id).size(), std::size_t{2}); // the one stored before, and the last
    QCOMPARE(reopened.samples(id).size(), std::size_t{3});
    QCOMPARE(reopened.channels(id).size(), std::size_t{1});
    QVERIFY(reopened.channels(id).front().termination == Termination::Network);
    QVERIFY2(ended->diagnosis.find("connection reset") != std::string::npos,
             ended->diagnosis.c_str());
    QVERIFY(!std::filesystem::exists(folder));
    // Nothing twice: the run is not queued any more.
    QCOMPARE(HistoryStore(path().toStdString()).events(id).size(), std::size_t{2});
}

void TestHistoryStore::runOfUnreapedProcessBecomesInterrupted() {
    {
        HistoryStore creator(path().toStdString()); // the schema exists before the child races
    }
    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0)
        beginRunAndDie(path(), false);
    // Wait for the exit but leave the child a zombie, as a parent that has not reaped it would.
    siginfo_t info{};
    QCOMPARE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
    auto reap = qScopeGuard([child] { ::waitpid(child, nullptr, 0); });
    QCOMPARE(info.si_code, CLD_EXITED);
    QCOMPARE(info.si_status, 0);

    const HistoryStore store(path().toStdString());
    const std::optional<RunRecord> crashed = findRun(store, "crashed-run");
    QVERIFY(crashed);
    QVERIFY(crashed->status == RunStatus::Interrupted);
}

void TestHistoryStore::staleOwnerRecordBecomesInterrupted_data() {
    QTest::addColumn<QByteArray>("forgery");
    QTest::addColumn<bool>("interrupted");
    QTest::newRow("owner alive") << QByteArray() << false;
    QTest::newRow("pid reused by another process")
        << QByteArray("UPDATE runs SET owner_start_time = owner_start_time + 1") << true;
    QTest::newRow("machine rebooted")
        << QByteArray("UPDATE runs SET owner_boot_id = 'another-boot'") << true;
}

void TestHistoryStore::staleOwnerRecordBecomesInterrupted() {
    QFETCH(QByteArray, forgery);
    QFETCH(bool, interrupted);
    std::int64_t id = 0;
    {
        HistoryStore store(path().toStdString());
        id = store.beginRun("run", "", 0, 0, false);
    }
    if (!forgery.isEmpty())
        QVERIFY(executeRaw(path(), forgery.constData()));
    const HistoryStore store(path().toStdString());
    QVERIFY(store.run(id)->status == (interrupted ? RunStatus::Interrupted : RunStatus::Active));
}

void TestHistoryStore::concurrentWritersKeepEveryRow() {
    {
        HistoryStore creator(path().toStdString()); // the threads then race on writes only
    }
    constexpr int kBatches = 20;
    constexpr int kSamplesPerBatch = 50;
    std::exception_ptr failures[2];
    std::int64_t ids[2] = {0, 0};
    auto writer = [&](int index) {
        try {
            HistoryStore store(path().toStdString());
            ids[index] = store.beginRun("writer-" + std::to_string(index), "", 0, 1, false);
            for (int batch = 0; batch < kBatches; ++batch) {
                store.appendSamples(ids[index], makeSamples(batch * 10000.0, kSamplesPerBatch));
                store.appendEvents(ids[index],
                                   {{batch * 1.0, EventLevel::Info, Side::Source, "batch"}});
            }
            TelemetrySnapshot done;
            done.status = MigrationStatus::Completed;
            store.finishRun(ids[index], done);
        } catch (...) {
            failures[index] = std::current_exception();
        }
    };
    std::thread first(writer, 0);
    std::thread second(writer, 1);
    first.join();
    second.join();
    for (const std::exception_ptr& failure : failures) {
        try {
            if (failure)
                std::rethrow_exception(failure);
        } catch (const std::exception& error) {
            QFAIL(error.what());
        }
    }

    const HistoryStore store(path().toStdString());
    for (const std::int64_t id : ids) {
        QCOMPARE(store.samples(id).size(), std::size_t{kBatches * kSamplesPerBatch});
        QCOMPARE(store.events(id).size(), std::size_t{kBatches});
        QVERIFY(store.run(id)->status == RunStatus::Completed);
    }
}

QTEST_GUILESS_MAIN(TestHistoryStore)
#include "tst_history_store.moc"
