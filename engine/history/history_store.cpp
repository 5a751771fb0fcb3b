#include "engine/api/history_store.h"

#include "engine/api/channel_metrics.h"
#include "engine/api/diagnosis.h"
#include "engine/common/user_directories.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <pwd.h>
#include <sqlite3.h>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace migrascope {

namespace {

// ---- Errors, statements and transactions ----

std::string describeErrno(int error) {
    char buffer[256];
    return strerror_r(error, buffer, sizeof buffer);
}

[[noreturn]] void throwSqlite(sqlite3* db, const std::string& path, const std::string& step) {
    throw std::runtime_error("history database " + path + ": " + step +
                             " failed: " + sqlite3_errmsg(db));
}

void execute(sqlite3* db, const std::string& path, const char* sql, const std::string& step) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
        throwSqlite(db, path, step);
}

class Statement {
public:
    Statement(sqlite3* db, const std::string& path, std::string step, const char* sql)
        : db_(db), path_(path), step_(std::move(step)) {
        if (sqlite3_prepare_v2(db_, sql, -1, &statement_, nullptr) != SQLITE_OK)
            throwSqlite(db_, path_, "preparing " + step_);
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() { sqlite3_finalize(statement_); }

    Statement& bindInteger(int index, std::int64_t value) {
        check(sqlite3_bind_int64(statement_, index, value));
        return *this;
    }
    Statement& bindUnsigned(int index, std::uint64_t value) {
        return bindInteger(index, static_cast<std::int64_t>(value));
    }
    Statement& bindReal(int index, double value) {
        check(sqlite3_bind_double(statement_, index, value));
        return *this;
    }
    Statement& bindNull(int index) {
        check(sqlite3_bind_null(statement_, index));
        return *this;
    }
    Statement& bindText(int index, std::string_view value) {
        check(sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                  SQLITE_UTF8));
        return *this;
    }

    // True while a row is available.
    bool step() {
        const int rc = sqlite3_step(statement_);
        if (rc == SQLITE_ROW)
            return true;
        if (rc != SQLITE_DONE)
            throwSqlite(db_, path_, step_);
        return false;
    }
    // For the next row of a batch; bindings are overwritten by the caller.
    void reset() { sqlite3_reset(statement_); }

    std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
    bool isNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
    std::uint64_t unsignedInteger(int column) const {
        return static_cast<std::uint64_t>(integer(column));
    }
    double real(int column) const { return sqlite3_column_double(statement_, column); }
    std::string text(int column) const {
        const unsigned char* value = sqlite3_column_text(statement_, column);
        if (value == nullptr)
            return {};
        return {reinterpret_cast<const char*>(value),
                static_cast<std::size_t>(sqlite3_column_bytes(statement_, column))};
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK)
            throwSqlite(db_, path_, "binding a value for " + step_);
    }

    sqlite3* db_;
    const std::string& path_;
    std::string step_;
    sqlite3_stmt* statement_ = nullptr;
};

// IMMEDIATE takes the write lock up front: a deferred transaction that upgrades from reading to
// writing gets SQLITE_BUSY at once instead of waiting out the busy timeout. A transaction
// begun inside another one joins it: the outer one commits or rolls back the whole.
class Transaction {
public:
    Transaction(sqlite3* db, const std::string& path, std::string step)
        : db_(db), path_(path), step_(std::move(step)), joined_(sqlite3_get_autocommit(db) == 0) {
        if (!joined_)
            execute(db_, path_, "BEGIN IMMEDIATE", "starting a transaction for " + step_);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
        if (!committed_ && !joined_)
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
        if (!joined_)
            execute(db_, path_, "COMMIT", "committing " + step_);
        committed_ = true;
    }

private:
    sqlite3* db_;
    const std::string& path_;
    std::string step_;
    const bool joined_;
    bool committed_ = false;
};

int readUserVersion(sqlite3* db, const std::string& path) {
    Statement statement(db, path, "reading the schema version", "PRAGMA user_version");
    return statement.step() ? static_cast<int>(statement.integer(0)) : 0;
}

// ---- Schema ----

void createSchemaV1(sqlite3* db, const std::string& path) {
    // run_channels' primary key starts with run_id, so it serves as the run_id index.
    static constexpr char kSql[] = R"sql(
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uuid TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL,
            error_desc TEXT NOT NULL DEFAULT '',
            integrity TEXT NOT NULL DEFAULT '',
            config TEXT NOT NULL DEFAULT '',
            ram_total INTEGER NOT NULL DEFAULT 0,
            transferred INTEGER NOT NULL DEFAULT 0,
            total_time_ms REAL NOT NULL DEFAULT 0,
            downtime_ms REAL NOT NULL DEFAULT 0,
            mbps REAL NOT NULL DEFAULT 0,
            multifd_channels INTEGER NOT NULL DEFAULT 0,
            tls INTEGER NOT NULL DEFAULT 0,
            owner_pid INTEGER NOT NULL,
            owner_start_time INTEGER NOT NULL,
            owner_boot_id TEXT NOT NULL,
            owner_pid_namespace TEXT NOT NULL
        );
        CREATE INDEX runs_by_status ON runs(status);
        CREATE TABLE run_channels (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            pages INTEGER NOT NULL,
            packets INTEGER NOT NULL,
            tls_records_sent INTEGER NOT NULL,
            tls_version TEXT NOT NULL,
            tls_cipher TEXT NOT NULL,
            PRIMARY KEY (run_id, position)
        );
        CREATE TABLE samples (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            time_ms REAL NOT NULL,
            channel TEXT NOT NULL,
            bytes_per_second REAL NOT NULL,
            bytes INTEGER NOT NULL
        );
        CREATE INDEX samples_by_run ON samples(run_id, time_ms);
        CREATE TABLE events (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            time_ms REAL NOT NULL,
            level TEXT NOT NULL,
            side TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX events_by_run ON events(run_id, time_ms);
    )sql";
    execute(db, path, kSql, "creating the schema version 1 tables");
}

// Version 2: how each channel's TLS session went (records, re-keys, how it ended, its protection).
void addTlsSessionColumns(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        ALTER TABLE run_channels ADD COLUMN tls_records_received INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_channels ADD COLUMN key_updates_sent INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_channels ADD COLUMN key_updates_received INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_channels ADD COLUMN record_limit INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_channels ADD COLUMN termination TEXT NOT NULL DEFAULT 'none';
        ALTER TABLE run_channels ADD COLUMN bidirectional INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_channels ADD COLUMN tls_protection TEXT NOT NULL DEFAULT '';
    )sql";
    execute(db, path, kSql, "adding the TLS session columns (schema version 2)");
}

// Version 3: the return path and postcopy.
void addReturnPathTables(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        CREATE TABLE return_path_messages (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            time_ms REAL NOT NULL,
            type TEXT NOT NULL,
            text TEXT NOT NULL,
            connection INTEGER NOT NULL
        );
        CREATE INDEX return_path_by_run ON return_path_messages(run_id, time_ms);
        ALTER TABLE runs ADD COLUMN postcopy_page_requests INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN postcopy_latency_median_ms REAL NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN postcopy_latency_p99_ms REAL NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN postcopy_recoveries INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN return_path_count INTEGER NOT NULL DEFAULT 0;
    )sql";
    execute(db, path, kSql, "adding the return-path tables (schema version 3)");
}

// Version 4: every VFIO device transition.
void addDeviceTransitions(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        CREATE TABLE device_transitions (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            time_ms REAL NOT NULL,
            side TEXT NOT NULL,
            device TEXT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            ok INTEGER NOT NULL,
            error TEXT NOT NULL
        );
        CREATE INDEX device_transitions_by_run ON device_transitions(run_id, time_ms);
    )sql";
    execute(db, path, kSql, "adding the device transitions table (schema version 4)");
}

// Version 5: a return-path message's value (SHUT's reason), so that a verdict is read from
// a number rather than from the words describing it. Older SHUTs get it from their text.
void addReturnPathValue(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        ALTER TABLE return_path_messages ADD COLUMN value INTEGER NOT NULL DEFAULT 0;
        UPDATE return_path_messages SET value = CAST(substr(text, 6) AS INTEGER)
            WHERE type = 'SHUT' AND text LIKE 'SHUT %';
    )sql";
    execute(db, path, kSql, "adding the return-path message values (schema version 5)");
}

// Version 6: which end of the migration the run was (a destination daemon keeps its own
// history), and the address of the other end.
void addRunRole(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        ALTER TABLE runs ADD COLUMN role TEXT NOT NULL DEFAULT 'source';
        ALTER TABLE runs ADD COLUMN peer TEXT NOT NULL DEFAULT '';
    )sql";
    execute(db, path, kSql, "adding the run's role (schema version 6)");
}

// Version 7: the bytes the destination received on each channel; the downtime expected as
// the guest stopped, the limit it was held to, and auto-converge's last CPU throttle.
void addReceivedBytesAndDowntime(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        ALTER TABLE run_channels ADD COLUMN bytes_received INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN expected_downtime_ms REAL NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN downtime_limit_ms INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN cpu_throttle_percentage INTEGER NOT NULL DEFAULT 0;
    )sql";
    execute(db, path, kSql, "adding received bytes and expected downtime (schema version 7)");
}

// Version 8: the kernel's view of each channel's TCP connection (NULL when it was not read).
void addKernelTcpColumns(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        ALTER TABLE run_channels ADD COLUMN tcp_bytes_acked INTEGER;
        ALTER TABLE run_channels ADD COLUMN tcp_bytes_received INTEGER;
        ALTER TABLE run_channels ADD COLUMN tcp_rtt_us INTEGER;
        ALTER TABLE run_channels ADD COLUMN tcp_retransmits INTEGER;
        ALTER TABLE run_channels ADD COLUMN tcp_send_congestion_window INTEGER;
    )sql";
    execute(db, path, kSql, "adding the kernel's TCP counters (schema version 8)");
}

// Version 9: what a completed run must be read with, one warning per line.
void addRunWarnings(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        ALTER TABLE runs ADD COLUMN warnings TEXT NOT NULL DEFAULT '';
    )sql";
    execute(db, path, kSql, "adding the run's warnings (schema version 9)");
}

// Version 10: the run's diagnosis sentence (engine/api/diagnosis.h), and where an imported run
// was recorded ("" for this host's own runs).
void addDiagnosisAndOrigin(sqlite3* db, const std::string& path) {
    static const char* const kSql = R"sql(
        ALTER TABLE runs ADD COLUMN diagnosis TEXT NOT NULL DEFAULT '';
        ALTER TABLE runs ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    )sql";
    execute(db, path, kSql, "adding the diagnosis and origin of runs (schema version 10)");
}

using MigrationStep = void (*)(sqlite3*, const std::string&);
// kMigrationSteps[v] takes a database from schema version v to v + 1. Append, never edit.
constexpr std::array<MigrationStep, HistoryStore::kSchemaVersion> kMigrationSteps = {
    createSchemaV1,
    addTlsSessionColumns,
    addReturnPathTables,
    addDeviceTransitions,
    addReturnPathValue,
    addRunRole,
    addReceivedBytesAndDowntime,
    addKernelTcpColumns,
    addRunWarnings,
    addDiagnosisAndOrigin,
};

// Throws when this Migrascope cannot read the file's schema: a newer one, or a negative one
// that no Migrascope writes (another program changed the file).
void refuseUnknownSchema(const std::string& path, int version) {
    const std::string prefix =
        "history database " + path + " has schema version " + std::to_string(version);
    if (version > HistoryStore::kSchemaVersion)
        throw std::runtime_error(prefix + ", newer than version " +
                                 std::to_string(HistoryStore::kSchemaVersion) +
                                 " which this Migrascope understands; use a newer Migrascope or "
                                 "another history file");
    if (version < 0)
        throw std::runtime_error(prefix + ", which no Migrascope writes (another program "
                                          "changed the file); use another history file");
}

// ---- Text spellings stored in the file: a file format, so independent of UI wording ----

constexpr std::pair<RunStatus, const char*> kRunStatusTexts[] = {
    {RunStatus::Active, "active"},           {RunStatus::Completed, "completed"},
    {RunStatus::Failed, "failed"},           {RunStatus::Cancelled, "cancelled"},
    {RunStatus::Interrupted, "interrupted"},
};

// A migration's final status as a stored run's; nullopt for a status that is not final.
std::optional<RunStatus> finalRunStatus(MigrationStatus status) {
    switch (status) {
    case MigrationStatus::Completed:
        return RunStatus::Completed;
    case MigrationStatus::Failed:
        return RunStatus::Failed;
    case MigrationStatus::Cancelled:
        return RunStatus::Cancelled;
    default:
        return std::nullopt;
    }
}

Side sideFromText(const std::string& text) {
    return sideFromString(text).value_or(Side::Source);
}

EventLevel eventLevelFromText(const std::string& text) {
    if (text == "error")
        return EventLevel::Error;
    if (text == "warning")
        return EventLevel::Warning;
    return EventLevel::Info;
}

std::string utcNowIso8601() {
    using namespace std::chrono;
    const auto sinceEpoch = duration_cast<milliseconds>(system_clock::now().time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(sinceEpoch.count() / 1000);
    const int millis = static_cast<int>(sinceEpoch.count() % 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + length, sizeof text - length, ".%03dZ", millis);
    return text;
}

// ---- Which process owns an active run ----

// nullopt when the file does not exist, which for /proc/<pid> means the process is gone.
std::optional<std::string> readSystemFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH)
            return std::nullopt;
        throw std::runtime_error("cannot open " + path + ": " + describeErrno(errno));
    }
    std::string contents;
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            const int error = errno;
            ::close(fd);
            // The process exited between open and read.
            if (error == ESRCH)
                return std::nullopt;
            throw std::runtime_error("cannot read " + path + ": " + describeErrno(error));
        }
        if (got == 0)
            break;
        contents.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    return contents;
}

struct ProcessStat {
    char state = '?';
    std::uint64_t startTime = 0; // clock ticks after boot, field 22 of proc(5)'s stat
};

std::optional<ProcessStat> readProcessStat(const std::string& pid) {
    const std::string path = "/proc/" + pid + "/stat";
    const std::optional<std::string> contents = readSystemFile(path);
    if (!contents)
        return std::nullopt;
    // Field 2 is the command name in parentheses and may itself contain spaces and ')'.
    const std::size_t commandEnd = contents->rfind(')');
    if (commandEnd == std::string::npos)
        throw std::runtime_error("cannot parse " + path);
    std::istringstream fields(contents->substr(commandEnd + 1));
    ProcessStat stat;
    fields >> stat.state; // field 3
    std::string skipped;
    for (int field = 4; field < 22; ++field)
        fields >> skipped;
    fields >> stat.startTime;
    if (!fields)
        throw std::runtime_error("cannot parse field 22 of " + path);
    return stat;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

struct ProcessIdentity {
    std::int64_t pid = 0;
    std::uint64_t startTime = 0;
    std::string bootId;
    std::string pidNamespace; // "pid:[4026531836]"; pids are only comparable within one
};

std::string currentPidNamespace() {
    char target[128];
    const ssize_t length = ::readlink("/proc/self/ns/pid", target, sizeof target);
    return length > 0 ? std::string(target, static_cast<std::size_t>(length)) : std::string();
}

std::string currentBootId() {
    return trimmed(readSystemFile("/proc/sys/kernel/random/boot_id").value_or(""));
}

ProcessIdentity currentProcessIdentity() {
    ProcessIdentity identity;
    identity.pid = ::getpid();
    const std::optional<ProcessStat> stat = readProcessStat("self");
    if (!stat)
        throw std::runtime_error("cannot read /proc/self/stat: /proc is not mounted");
    identity.startTime = stat->startTime;
    identity.bootId = currentBootId();
    identity.pidNamespace = currentPidNamespace();
    return identity;
}

bool ownerHasEnded(const ProcessIdentity& owner, const ProcessIdentity& observer) {
    if (!owner.bootId.empty() && !observer.bootId.empty() && owner.bootId != observer.bootId)
        return true;
    // From another pid namespace (a Flatpak sandbox, say) the owner's pid means nothing here:
    // leave the run alone rather than interrupt a run that may be live.
    if (!owner.pidNamespace.empty() && !observer.pidNamespace.empty() &&
        owner.pidNamespace != observer.pidNamespace)
        return false;
    try {
        const std::optional<ProcessStat> stat = readProcessStat(std::to_string(owner.pid));
        if (!stat)
            return true;
        // A zombie has ended even though its parent has not reaped it yet.
        if (stat->state == 'Z' || stat->state == 'X')
            return true;
        // Same pid, different start time: the pid was reused by an unrelated process.
        return stat->startTime != owner.startTime;
    } catch (const std::runtime_error&) {
        // Unreadable (e.g. hidepid): we cannot tell, and a live run must never be interrupted.
        return false;
    }
}

// ---- Paths ----

void makeDirectories(const std::filesystem::path& dir) {
    std::filesystem::path partial;
    for (const auto& component : dir) {
        partial /= component;
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
            throw std::runtime_error("cannot create directory " + partial.string() + ": " +
                                     describeErrno(errno));
    }
}

// ---- Row readers ----

constexpr char kRunColumns[] =
    "id, uuid, started_at, ended_at, status, error_desc, integrity, config, ram_total, "
    "transferred, total_time_ms, downtime_ms, mbps, multifd_channels, tls, owner_pid, "
    "postcopy_page_requests, postcopy_latency_median_ms, postcopy_latency_p99_ms, "
    "postcopy_recoveries, return_path_count, role, peer, expected_downtime_ms, "
    "downtime_limit_ms, cpu_throttle_percentage, warnings, diagnosis, origin";

RunRecord readRun(const Statement& row) {
    RunRecord run;
    run.id = row.integer(0);
    run.uuid = row.text(1);
    run.startedAt = row.text(2);
    run.endedAt = row.text(3);
    // A status this version does not know reads as interrupted: not finished as far as we know.
    run.status = runStatusFromString(row.text(4)).value_or(RunStatus::Interrupted);
    run.errorDesc = row.text(5);
    run.integrity = row.text(6);
    run.config = row.text(7);
    run.ramTotal = row.unsignedInteger(8);
    run.transferred = row.unsignedInteger(9);
    run.totalTimeMs = row.real(10);
    run.downtimeMs = row.real(11);
    run.mbps = row.real(12);
    run.multifdChannels = static_cast<unsigned>(row.integer(13));
    run.tls = row.integer(14) != 0;
    run.ownerPid = row.integer(15);
    run.postcopyPageRequests = row.unsignedInteger(16);
    run.postcopyLatencyMedianMs = row.real(17);
    run.postcopyLatencyP99Ms = row.real(18);
    run.postcopyRecoveries = static_cast<unsigned>(row.integer(19));
    run.returnPathCount = row.unsignedInteger(20);
    run.role = runRoleFromString(row.text(21)).value_or(RunRole::Source);
    run.peer = row.text(22);
    run.expectedDowntimeMs = row.real(23);
    run.downtimeLimitMs = row.unsignedInteger(24);
    run.cpuThrottlePercentage = static_cast<unsigned>(row.integer(25));
    std::istringstream warnings(row.text(26));
    for (std::string line; std::getline(warnings, line);)
        if (!line.empty())
            run.warnings.push_back(line);
    run.diagnosis = row.text(27);
    run.origin = row.text(28);
    return run;
}

// run_channels' columns for TcpKernelView, all NULL when the kernel's view was not read.
struct TcpColumn {
    const char* name;
    std::uint64_t (*get)(const TcpKernelView&);
    void (*set)(TcpKernelView&, std::uint64_t);
};
constexpr TcpColumn kTcpColumns[] = {
    {"tcp_bytes_acked", [](const TcpKernelView& v) { return v.bytesAcked; },
     [](TcpKernelView& v, std::uint64_t x) { v.bytesAcked = x; }},
    {"tcp_bytes_received", [](const TcpKernelView& v) { return v.bytesReceived; },
     [](TcpKernelView& v, std::uint64_t x) { v.bytesReceived = x; }},
    {"tcp_rtt_us", [](const TcpKernelView& v) -> std::uint64_t { return v.rttUs; },
     [](TcpKernelView& v, std::uint64_t x) { v.rttUs = static_cast<std::uint32_t>(x); }},
    {"tcp_retransmits", [](const TcpKernelView& v) -> std::uint64_t { return v.retransmits; },
     [](TcpKernelView& v, std::uint64_t x) { v.retransmits = static_cast<std::uint32_t>(x); }},
    {"tcp_send_congestion_window",
     [](const TcpKernelView& v) -> std::uint64_t { return v.sendCongestionWindow; },
     [](TcpKernelView& v, std::uint64_t x) {
         v.sendCongestionWindow = static_cast<std::uint32_t>(x);
     }},
};

// run_channels: the channel's words, then one column per stored metric (kChannelMetrics),
// then the kernel's TCP view (kTcpColumns).
std::vector<std::string> channelColumns() {
    std::vector<std::string> columns = {"channel",       "kind",          "state",
                                        "tls_version",   "tls_cipher",    "termination",
                                        "bidirectional", "tls_protection"};
    for (const ChannelMetric& metric : kChannelMetrics)
        if (metric.historyColumn)
            columns.emplace_back(metric.historyColumn);
    for (const auto& column : kTcpColumns)
        columns.emplace_back(column.name);
    return columns;
}
const std::vector<std::string> kChannelColumns = channelColumns();

// One per line; a warning's own line breaks become spaces so that it reads back whole.
std::string joinLines(const std::vector<std::string>& lines) {
    std::string text;
    for (std::string line : lines) {
        std::replace(line.begin(), line.end(), '\n', ' ');
        text += line + "\n";
    }
    return text;
}

std::string join(const std::vector<std::string>& columns) {
    std::string text;
    for (const auto& column : columns)
        text += (text.empty() ? "" : ", ") + column;
    return text;
}

std::string placeholders(std::size_t count) {
    std::string text;
    for (std::size_t i = 1; i <= count; ++i)
        text += (i == 1 ? "?" : ", ?") + std::to_string(i);
    return text;
}

// ---- Moving runs between files ----

// The tables holding a run's rows besides `runs` itself; each has a run_id column.
constexpr const char* kRunTables[] = {"run_channels", "samples", "events", "return_path_messages",
                                      "device_transitions"};

std::string columnsOf(sqlite3* db, const std::string& path, const std::string& schema,
                      const char* table, bool withRunId) {
    const std::string sql = "PRAGMA " + schema + ".table_info(" + table + ")";
    Statement info(db, path, std::string("reading the columns of ") + table, sql.c_str());
    std::string columns;
    while (info.step()) {
        const std::string name = info.text(1);
        if (name == "id" || (!withRunId && name == "run_id"))
            continue;
        columns += (columns.empty() ? "" : ", ") + name;
    }
    return columns;
}

// The attached file `schema` must be a history of this version's schema.
void checkAttachedHistory(sqlite3* db, const std::string& path, const std::string& schema,
                          const std::string& file) {
    const std::string tables =
        "SELECT count(*) FROM " + schema + ".sqlite_master WHERE type = 'table' AND name = 'runs'";
    Statement hasRuns(db, path, "reading " + file, tables.c_str());
    if (!hasRuns.step() || hasRuns.integer(0) == 0)
        throw std::runtime_error(file + " is not a Migrascope history (it has no runs table)");
    const std::string pragma = "PRAGMA " + schema + ".user_version";
    Statement version(db, path, "reading the schema version of " + file, pragma.c_str());
    const int found = version.step() ? static_cast<int>(version.integer(0)) : 0;
    if (found != HistoryStore::kSchemaVersion)
        throw std::runtime_error(file + " has schema version " + std::to_string(found) +
                                 "; this Migrascope moves runs between files of version " +
                                 std::to_string(HistoryStore::kSchemaVersion) +
                                 " (open the file with this version's migrascope once to "
                                 "upgrade it)");
}

// Appends the rows of `table` that run `fromId` of schema `from` owns to run `toId` of schema `to`.
void copyRowsOf(sqlite3* db, const std::string& path, const char* table, const std::string& from,
                std::int64_t fromId, const std::string& to, std::int64_t toId) {
    const std::string columns = columnsOf(db, path, to, table, false);
    const std::string sql = "INSERT INTO " + to + "." + table + " (run_id, " + columns +
                            ") SELECT ?1, " + columns + " FROM " + from + "." + table +
                            " WHERE run_id = ?2 ORDER BY rowid";
    Statement rows(db, path,
                   std::string("copying the ") + table + " of run " + std::to_string(fromId),
                   sql.c_str());
    rows.bindInteger(1, toId).bindInteger(2, fromId);
    rows.step();
}

// Copies run `id` of schema `from` into schema `to` of one connection, under a new id there,
// with every row it owns; the copy's origin is `origin` where the run has none yet. Returns the
// new id.
std::int64_t copyRun(sqlite3* db, const std::string& path, const std::string& from,
                     const std::string& to, std::int64_t id, const std::string& origin) {
    const std::string runColumns = columnsOf(db, path, to, "runs", false);
    const std::string insertRun = "INSERT INTO " + to + ".runs (" + runColumns + ") SELECT " +
                                  runColumns + " FROM " + from + ".runs WHERE id = ?1";
    Statement run(db, path, "copying run " + std::to_string(id), insertRun.c_str());
    run.bindInteger(1, id);
    run.step();
    if (sqlite3_changes(db) == 0)
        throw std::runtime_error("history " + path + " has no run " + std::to_string(id));
    const std::int64_t copy = sqlite3_last_insert_rowid(db);
    const std::string mark = "UPDATE " + to + ".runs SET origin = ?1 WHERE id = ?2 AND origin = ''";
    Statement originOf(db, path, "recording where run " + std::to_string(id) + " comes from",
                       mark.c_str());
    originOf.bindText(1, origin).bindInteger(2, copy);
    originOf.step();
    for (const char* table : kRunTables)
        copyRowsOf(db, path, table, from, id, to, copy);
    return copy;
}

class Attachment {
public:
    Attachment(sqlite3* db, const std::string& path, const std::string& file, const char* schema)
        : db_(db), path_(path), schema_(schema) {
        const std::string sql = std::string("ATTACH DATABASE ?1 AS ") + schema;
        Statement attach(db, path, "opening " + file, sql.c_str());
        attach.bindText(1, file);
        attach.step();
    }
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;
    ~Attachment() {
        const std::string sql = "DETACH DATABASE " + schema_;
        sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    }

private:
    sqlite3* db_;
    const std::string& path_;
    std::string schema_;
};

} // namespace

const char* toString(RunRole role) {
    switch (role) {
    case RunRole::Destination:
        return "destination";
    case RunRole::WatchedQemu:
        return "watched-qemu";
    case RunRole::Source:
        break;
    }
    return "source";
}

std::optional<RunRole> runRoleFromString(std::string_view text) {
    return enumFromString(text, RunRole::Source, RunRole::WatchedQemu);
}

const char* toString(RunStatus status) {
    for (const auto& [value, text] : kRunStatusTexts)
        if (value == status)
            return text;
    return "unknown";
}

std::optional<RunStatus> runStatusFromString(std::string_view text) {
    for (const auto& [value, spelling] : kRunStatusTexts)
        if (text == spelling)
            return value;
    return std::nullopt;
}

void HistoryStore::Closer::operator()(sqlite3* db) const {
    sqlite3_close_v2(db);
}

std::string HistoryStore::defaultPath() {
    const std::filesystem::path dir = userDataHome() / "migrascope";
    makeDirectories(dir);
    return (dir / "history.sqlite").string();
}

HistoryStore::HistoryStore(const std::string& path, Access access,
                           std::chrono::milliseconds busyTimeout)
    : path_(path) {
    sqlite3* raw = nullptr;
    const int flags = access == Access::ReadOnly ? SQLITE_OPEN_READONLY
                                                 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw); // closed by Closer even when opening failed
    if (rc != SQLITE_OK) {
        const std::string reason = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
        throw std::runtime_error("cannot open history database " + path + ": " + reason);
    }
    setBusyTimeout(busyTimeout);
    execute(db_.get(), path_, "PRAGMA foreign_keys = ON", "enabling foreign keys");

    // Before anything writes: a newer schema must stay exactly as its writer left it.
    refuseUnknownSchema(path_, readUserVersion(db_.get(), path_));
    if (access == Access::ReadOnly) {
        if (readUserVersion(db_.get(), path_) != kSchemaVersion)
            upgradeACopyInMemory();
        return;
    }

    // WAL lets a window read history while a headless run writes it. Some filesystems (network
    // ones) cannot do WAL; SQLite then keeps the rollback journal, which is slower but correct.
    {
        Statement journal(db_.get(), path_, "switching to WAL", "PRAGMA journal_mode = WAL");
        journal.step();
    }
    execute(db_.get(), path_, "PRAGMA synchronous = NORMAL", "setting synchronous mode");

    migrate();
    absorbQueuedEnds();
    markInterruptedRuns();
}

void HistoryStore::setBusyTimeout(std::chrono::milliseconds timeout) {
    if (sqlite3_busy_timeout(db_.get(), static_cast<int>(timeout.count())) != SQLITE_OK)
        throwSqlite(db_.get(), path_, "setting the busy timeout");
}

HistoryStore::~HistoryStore() = default;
HistoryStore::HistoryStore(HistoryStore&&) noexcept = default;
HistoryStore& HistoryStore::operator=(HistoryStore&&) noexcept = default;

void HistoryStore::upgradeACopyInMemory() {
    // A viewer never writes the file, so an older file is copied into memory (WAL included:
    // the backup reads through SQLite's pager) and the copy is brought up to this schema.
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, Closer> copy(raw);
    if (rc != SQLITE_OK)
        throw std::runtime_error("history database " + path_ +
                                 ": cannot open an in-memory copy to read its older schema");
    sqlite3_backup* backup = sqlite3_backup_init(copy.get(), "main", db_.get(), "main");
    if (backup == nullptr)
        throwSqlite(copy.get(), path_, "copying the file to read its older schema");
    const int stepped = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (stepped != SQLITE_DONE)
        throw std::runtime_error(
            "history database " + path_ +
            ": cannot copy it to read its older schema: " + sqlite3_errstr(stepped));
    db_ = std::move(copy);
    execute(db_.get(), path_, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    migrate();
}

void HistoryStore::migrate() {
    if (readUserVersion(db_.get(), path_) == kSchemaVersion)
        return;
    Transaction transaction(db_.get(), path_, "the schema upgrade");
    // Read again under the write lock: another process may have upgraded meanwhile.
    const int version = readUserVersion(db_.get(), path_);
    refuseUnknownSchema(path_, version);

    for (int step = version; step < kSchemaVersion; ++step)
        kMigrationSteps[static_cast<std::size_t>(step)](db_.get(), path_);
    const std::string setVersion = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
    execute(db_.get(), path_, setVersion.c_str(), "recording the schema version");
    transaction.commit();
}

void HistoryStore::markInterruptedRuns() {
    struct ActiveRun {
        std::int64_t id;
        ProcessIdentity owner;
    };
    std::vector<ActiveRun> ended;
    const ProcessIdentity observer{0, 0, currentBootId(), currentPidNamespace()};
    {
        Statement active(db_.get(), path_, "listing active runs",
                         "SELECT id, owner_pid, owner_start_time, owner_boot_id, "
                         "owner_pid_namespace FROM runs WHERE status = 'active'");
        while (active.step()) {
            ActiveRun run{
                active.integer(0),
                {active.integer(1), active.unsignedInteger(2), active.text(3), active.text(4)}};
            if (ownerHasEnded(run.owner, observer))
                ended.push_back(std::move(run));
        }
    }
    // Outside the write lock until needed: a process that has ended stays ended.
    if (ended.empty())
        return;
    Transaction transaction(db_.get(), path_, "marking interrupted runs");
    Statement update(db_.get(), path_, "marking a run interrupted",
                     "UPDATE runs SET status = 'interrupted', ended_at = ?1, error_desc = ?2 "
                     "WHERE id = ?3 AND status = 'active'");
    const std::string now = utcNowIso8601();
    for (const ActiveRun& run : ended) {
        update.reset();
        update.bindText(1, now)
            .bindText(2, "interrupted: the process (pid " + std::to_string(run.owner.pid) +
                             ") ended before the run finished")
            .bindInteger(3, run.id);
        update.step();
        storeDiagnosis(run.id);
    }
    transaction.commit();
}

void HistoryStore::storeDiagnosis(std::int64_t runId) {
    const std::optional<RunRecord> record = run(runId);
    if (!record)
        return;
    Statement update(db_.get(), path_, "recording the diagnosis of run " + std::to_string(runId),
                     "UPDATE runs SET diagnosis = ?1 WHERE id = ?2");
    update.bindText(1, diagnose(factsOf(*record))).bindInteger(2, runId);
    update.step();
}

RunFacts HistoryStore::factsOf(const RunRecord& record) const {
    return {record.status,   record.errorDesc,  record.integrity,
            record.warnings, events(record.id), transitions(record.id)};
}

std::optional<double> HistoryStore::firstCauseTimeMs(const RunRecord& record) const {
    return migrascope::firstCauseTimeMs(factsOf(record));
}

std::string HistoryStore::diagnosis(const RunRecord& record) const {
    // Runs recorded before schema version 10 have none stored: their facts are all here.
    return record.diagnosis.empty() ? diagnose(factsOf(record)) : record.diagnosis;
}

int HistoryStore::schemaVersion() const {
    return readUserVersion(db_.get(), path_);
}

std::int64_t HistoryStore::beginRun(const std::string& uuid, const std::string& config,
                                    std::uint64_t ramTotal, unsigned multifdChannels, bool tls,
                                    RunRole role, const std::string& peer) {
    // Read at each run, not at open: a forked child must record itself, not its parent.
    const ProcessIdentity owner = currentProcessIdentity();
    Statement insert(db_.get(), path_, "recording the start of a run",
                     "INSERT INTO runs (uuid, started_at, status, config, ram_total, "
                     "multifd_channels, tls, owner_pid, owner_start_time, owner_boot_id, "
                     "owner_pid_namespace, role, peer) VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?6, "
                     "?7, ?8, ?9, ?10, ?11, ?12)");
    insert.bindText(1, uuid)
        .bindText(2, utcNowIso8601())
        .bindText(3, config)
        .bindUnsigned(4, ramTotal)
        .bindInteger(5, multifdChannels)
        .bindInteger(6, tls ? 1 : 0)
        .bindInteger(7, owner.pid)
        .bindUnsigned(8, owner.startTime)
        .bindText(9, owner.bootId)
        .bindText(10, owner.pidNamespace)
        .bindText(11, toString(role))
        .bindText(12, peer);
    insert.step();
    return sqlite3_last_insert_rowid(db_.get());
}

namespace {

// One transaction, one row per item: ?1 is the run, `bind` binds the rest.
template <typename Item, typename Bind>
void insertRows(sqlite3* db, const std::string& path, std::int64_t runId,
                const std::vector<Item>& items, const std::string& what, const char* sql,
                Bind bind) {
    if (items.empty())
        return;
    Transaction transaction(db, path, "storing " + what);
    Statement insert(db, path, "storing " + what + " of run " + std::to_string(runId), sql);
    for (const Item& item : items) {
        insert.reset();
        insert.bindInteger(1, runId);
        bind(insert, item);
        insert.step();
    }
    transaction.commit();
}

// One row per item of run `runId` (?1), read by `read` from the statement's columns.
template <typename Item, typename Read>
std::vector<Item> selectRows(sqlite3* db, const std::string& path, std::int64_t runId,
                             const std::string& what, const char* sql, Read read) {
    Statement select(db, path, "reading the " + what + " of run " + std::to_string(runId), sql);
    select.bindInteger(1, runId);
    std::vector<Item> items;
    while (select.step())
        items.push_back(read(select));
    return items;
}

} // namespace

void HistoryStore::appendSamples(std::int64_t runId, const std::vector<ChannelSample>& samples) {
    insertRows(db_.get(), path_, runId, samples, "samples",
               "INSERT INTO samples (run_id, time_ms, channel, bytes_per_second, bytes) "
               "VALUES (?1, ?2, ?3, ?4, ?5)",
               [](Statement& insert, const ChannelSample& sample) {
                   insert.bindReal(2, sample.timeMs)
                       .bindText(3, sample.channel)
                       .bindReal(4, sample.bytesPerSecond)
                       .bindUnsigned(5, sample.bytes);
               });
}

void HistoryStore::appendEvents(std::int64_t runId, const std::vector<Event>& events) {
    insertRows(db_.get(), path_, runId, events, "events",
               "INSERT INTO events (run_id, time_ms, level, side, text) "
               "VALUES (?1, ?2, ?3, ?4, ?5)",
               [](Statement& insert, const Event& event) {
                   insert.bindReal(2, event.timeMs)
                       .bindText(3, toString(event.level))
                       .bindText(4, toString(event.side))
                       .bindText(5, event.text);
               });
}

void HistoryStore::appendReturnPath(std::int64_t runId,
                                    const std::vector<ReturnPathRecord>& messages) {
    insertRows(db_.get(), path_, runId, messages, "return-path messages",
               "INSERT INTO return_path_messages (run_id, time_ms, type, text, connection, "
               "value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
               [](Statement& insert, const ReturnPathRecord& message) {
                   insert.bindReal(2, message.timeMs)
                       .bindText(3, toString(message.type))
                       .bindText(4, message.text)
                       .bindInteger(5, message.connection)
                       .bindInteger(6, message.value);
               });
}

void HistoryStore::appendTransitions(std::int64_t runId,
                                     const std::vector<DeviceTransition>& transitions) {
    insertRows(db_.get(), path_, runId, transitions, "device transitions",
               "INSERT INTO device_transitions (run_id, time_ms, side, device, from_state, "
               "to_state, ok, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
               [](Statement& insert, const DeviceTransition& t) {
                   insert.bindReal(2, t.timeMs)
                       .bindText(3, toString(t.side))
                       .bindText(4, t.device)
                       .bindText(5, fromText(t))
                       .bindText(6, vfio::toString(t.to))
                       .bindInteger(7, t.ok ? 1 : 0)
                       .bindText(8, t.error);
               });
}

std::vector<DeviceTransition> HistoryStore::transitions(std::int64_t runId) const {
    return selectRows<DeviceTransition>(
        db_.get(), path_, runId, "device transitions",
        "SELECT time_ms, side, device, from_state, to_state, ok, error FROM device_transitions "
        "WHERE run_id = ?1 ORDER BY time_ms, rowid",
        [](const Statement& row) {
            DeviceTransition t;
            t.timeMs = row.real(0);
            t.side = sideFromText(row.text(1));
            t.device = row.text(2);
            // A state name this version does not know reads as ERROR rather than as a guess.
            t.to = vfio::stateFromString(row.text(4)).value_or(vfio::DeviceState::Error);
            const std::string from = row.text(3);
            t.reset = from == "reset";
            t.from =
                t.reset ? t.to : vfio::stateFromString(from).value_or(vfio::DeviceState::Error);
            t.ok = row.integer(5) != 0;
            t.error = row.text(6);
            return t;
        });
}

std::vector<ReturnPathRecord> HistoryStore::returnPath(std::int64_t runId) const {
    return selectRows<ReturnPathRecord>(
        db_.get(), path_, runId, "return-path messages",
        "SELECT time_ms, type, text, connection, value FROM return_path_messages "
        "WHERE run_id = ?1 ORDER BY time_ms, rowid",
        [](const Statement& row) {
            ReturnPathRecord message;
            message.timeMs = row.real(0);
            message.type = returnPathTypeFromString(row.text(1)).value_or(ReturnPathType::Invalid);
            message.text = row.text(2);
            message.connection = static_cast<unsigned>(row.integer(3));
            message.value = static_cast<std::uint32_t>(row.integer(4));
            return message;
        });
}

void HistoryStore::appendLogs(std::int64_t runId, const RunLogs& logs) {
    Transaction transaction(db_.get(), path_, "storing the logs of run " + std::to_string(runId));
    appendSamples(runId, logs.samples);
    appendEvents(runId, logs.events);
    appendReturnPath(runId, logs.returnPath);
    appendTransitions(runId, logs.transitions);
    transaction.commit();
}

namespace {
// The columns of a run's row that finishRun writes: its end, moved whole by a queued end.
constexpr const char* kEndColumns =
    "ended_at, status, error_desc, integrity, transferred, total_time_ms, downtime_ms, mbps, "
    "postcopy_page_requests, postcopy_latency_median_ms, postcopy_latency_p99_ms, "
    "postcopy_recoveries, return_path_count, expected_downtime_ms, downtime_limit_ms, "
    "cpu_throttle_percentage, warnings, ram_total";
} // namespace

void HistoryStore::finishRun(std::int64_t runId, const TelemetrySnapshot& final,
                             const RunLogs& unstored, std::optional<RunStatus> status) {
    const auto finalStatus = status ? status : finalRunStatus(final.status);
    if (!finalStatus)
        throw std::runtime_error("history database " + path_ + ": cannot finish run " +
                                 std::to_string(runId) +
                                 " with a status that is not final (completed, failed or "
                                 "cancelled)");
    Transaction transaction(db_.get(), path_, "finishing run " + std::to_string(runId));
    appendLogs(runId, unstored);
    Statement update(db_.get(), path_, "recording the end of run " + std::to_string(runId),
                     "UPDATE runs SET ended_at = ?1, status = ?2, error_desc = ?3, integrity = ?4, "
                     "transferred = ?5, total_time_ms = ?6, downtime_ms = ?7, mbps = ?8, "
                     "postcopy_page_requests = ?10, postcopy_latency_median_ms = ?11, "
                     "postcopy_latency_p99_ms = ?12, postcopy_recoveries = ?13, "
                     "return_path_count = ?14, expected_downtime_ms = ?16, "
                     "downtime_limit_ms = ?17, cpu_throttle_percentage = ?18, warnings = ?19, "
                     "ram_total = CASE WHEN ?15 > 0 THEN ?15 ELSE ram_total END WHERE id = ?9");
    update.bindText(1, utcNowIso8601())
        .bindText(2, toString(*finalStatus))
        .bindText(3, final.errorDesc)
        .bindText(4, final.integrity)
        .bindUnsigned(5, final.stats.transferred)
        .bindReal(6, final.stats.totalTimeMs)
        .bindReal(7, final.stats.downtimeMs)
        .bindReal(8, final.stats.mbps)
        .bindInteger(9, runId)
        .bindUnsigned(10, final.postcopy.pageRequests)
        .bindReal(11, final.postcopy.latencyMedianMs)
        .bindReal(12, final.postcopy.latencyP99Ms)
        .bindInteger(13, final.postcopy.recoveries)
        .bindUnsigned(14, final.returnPathCount)
        .bindUnsigned(15, final.stats.total)
        .bindReal(16, final.stats.expectedDowntimeMs)
        .bindUnsigned(17, final.stats.downtimeLimitMs)
        .bindInteger(18, final.stats.cpuThrottlePercentage)
        .bindText(19, joinLines(final.warnings));
    update.step();
    if (sqlite3_changes(db_.get()) == 0)
        throw std::runtime_error("history database " + path_ + ": cannot finish run " +
                                 std::to_string(runId) + ": no such run");
    storeDiagnosis(runId);

    Statement clear(db_.get(), path_, "replacing the channels of run " + std::to_string(runId),
                    "DELETE FROM run_channels WHERE run_id = ?1");
    clear.bindInteger(1, runId);
    clear.step();

    const std::string sql = "INSERT INTO run_channels (run_id, position, " + join(kChannelColumns) +
                            ") VALUES (" + placeholders(2 + std::size(kChannelColumns)) + ")";
    Statement insert(db_.get(), path_, "storing a channel of run " + std::to_string(runId),
                     sql.c_str());
    std::int64_t position = 0;
    for (const ChannelSnapshot& channel : final.channels) {
        insert.reset();
        insert.bindInteger(1, runId).bindInteger(2, position++);
        // In kChannelColumns' order.
        insert.bindText(3, channel.id)
            .bindText(4, toString(channel.kind))
            .bindText(5, toString(channel.state))
            .bindText(6, channel.tlsVersion)
            .bindText(7, channel.tlsCipher)
            .bindText(8, toString(channel.termination))
            .bindInteger(9, channel.bidirectional ? 1 : 0)
            .bindText(10, channel.tlsProtection);
        int parameter = 11;
        for (const ChannelMetric& metric : kChannelMetrics)
            if (metric.historyColumn)
                insert.bindUnsigned(parameter++, channel.*metric.field);
        for (const auto& column : kTcpColumns) {
            if (channel.tcp)
                insert.bindUnsigned(parameter++, column.get(*channel.tcp));
            else
                insert.bindNull(parameter++);
        }
        insert.step();
    }
    transaction.commit();
}

std::string HistoryStore::queuedEndsFolder(const std::string& historyPath) {
    return historyPath + ".pending";
}

std::string HistoryStore::queueEnd(std::int64_t runId, const TelemetrySnapshot& final,
                                   const RunLogs& unstored, std::optional<RunStatus> status) const {
    const std::optional<RunRecord> record = run(runId);
    if (!record)
        throw std::runtime_error("history database " + path_ + ": cannot queue the end of run " +
                                 std::to_string(runId) + ": no such run");
    const std::filesystem::path folder = queuedEndsFolder(path_);
    makeDirectories(folder);
    const std::string file =
        (folder / ("run-" + std::to_string(runId) + "-" + record->uuid + ".sqlite")).string();
    std::filesystem::remove(file); // what an earlier attempt may have left half-written
    {
        // A history file of its own holding the run's beginning as recorded here and its end.
        HistoryStore queued(file);
        const std::int64_t id =
            queued.beginRun(record->uuid, record->config, record->ramTotal, record->multifdChannels,
                            record->tls, record->role, record->peer);
        Statement started(queued.db_.get(), file, "recording when the queued run started",
                          "UPDATE runs SET started_at = ?1 WHERE id = ?2");
        started.bindText(1, record->startedAt).bindInteger(2, id);
        started.step();
        queued.finishRun(id, final, unstored, status);
        execute(queued.db_.get(), file, "PRAGMA journal_mode = DELETE", "closing its WAL");
    }
    return file;
}

std::string HistoryStore::describeQueued(const std::string& queuedFile) {
    return "queued in " + queuedFile + ", to be stored when the history is next opened";
}

std::string HistoryStore::finishRunOrQueue(std::int64_t runId, const TelemetrySnapshot& final,
                                           const RunLogs& unstored,
                                           std::optional<RunStatus> status) {
    std::string problem;
    try {
        finishRun(runId, final, unstored, status);
        return {};
    } catch (const std::exception& error) {
        problem = std::string("the end of the run could not be recorded: ") + error.what();
    }
    try {
        return problem + "; " + describeQueued(queueEnd(runId, final, unstored, status));
    } catch (const std::exception& error) {
        return problem + "; it could not be queued either: " + error.what();
    }
}

void HistoryStore::absorbQueuedEnds() {
    const std::filesystem::path folder = queuedEndsFolder(path_);
    std::error_code error;
    if (!std::filesystem::is_directory(folder, error))
        return;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error))
        if (entry.path().extension() == ".sqlite")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const std::filesystem::path& file : files) {
        // One that cannot be stored now (the lock is still held, the disk still full) stays
        // queued for the open after this one; opening the history does not fail for it.
        try {
            absorbQueuedEnd(file.string());
            std::filesystem::remove(file);
        } catch (const std::exception&) {
            continue;
        }
    }
    std::filesystem::remove(folder, error); // only when empty
}

void HistoryStore::absorbQueuedEnd(const std::string& file) {
    Attachment queued(db_.get(), path_, file, "queued");
    checkAttachedHistory(db_.get(), path_, "queued", file);
    Transaction transaction(db_.get(), path_, "storing the queued end in " + file);
    Statement runs(db_.get(), path_, "reading " + file,
                   "SELECT q.id, m.id FROM queued.runs q JOIN main.runs m ON m.uuid = q.uuid AND "
                   "m.started_at = q.started_at AND m.role = q.role WHERE m.status IN "
                   "('active', 'interrupted') AND q.status NOT IN ('active', 'interrupted')");
    while (runs.step()) {
        const std::int64_t from = runs.integer(0);
        const std::int64_t to = runs.integer(1);
        const std::string sql = std::string("UPDATE main.runs SET (") + kEndColumns +
                                ") = (SELECT " + kEndColumns +
                                " FROM queued.runs WHERE id = ?1) WHERE id = ?2";
        Statement end(db_.get(), path_, "storing the queued end of run " + std::to_string(to),
                      sql.c_str());
        end.bindInteger(1, from).bindInteger(2, to);
        end.step();
        Statement clear(db_.get(), path_, "replacing the channels of run " + std::to_string(to),
                        "DELETE FROM main.run_channels WHERE run_id = ?1");
        clear.bindInteger(1, to);
        clear.step();
        for (const char* table : kRunTables)
            copyRowsOf(db_.get(), path_, table, "queued", from, "main", to);
        // From every event of the run: the queued file held only those not stored before.
        storeDiagnosis(to);
    }
    transaction.commit();
}

std::vector<RunRecord> HistoryStore::listRuns(int limit) const {
    const std::string sql =
        std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id DESC LIMIT ?1";
    Statement select(db_.get(), path_, "listing runs", sql.c_str());
    select.bindInteger(1, limit);
    std::vector<RunRecord> runs;
    while (select.step())
        runs.push_back(readRun(select));
    return runs;
}

std::vector<std::int64_t> HistoryStore::runsWhoseEventsMention(std::string_view text) const {
    // instr() rather than LIKE: the operator's text is matched as typed, '%' and '_' included.
    Statement select(db_.get(), path_, "searching the events",
                     "SELECT DISTINCT run_id FROM events WHERE instr(lower(text), lower(?1)) > 0 "
                     "ORDER BY run_id DESC");
    select.bindText(1, text);
    std::vector<std::int64_t> ids;
    while (select.step())
        ids.push_back(select.integer(0));
    return ids;
}

std::optional<RunRecord> HistoryStore::run(std::int64_t id) const {
    const std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1";
    Statement select(db_.get(), path_, "reading run " + std::to_string(id), sql.c_str());
    select.bindInteger(1, id);
    if (!select.step())
        return std::nullopt;
    return readRun(select);
}

std::vector<ChannelSnapshot> HistoryStore::channels(std::int64_t runId) const {
    const std::string sql = "SELECT " + join(kChannelColumns) +
                            " FROM run_channels WHERE run_id = ?1 ORDER BY position";
    Statement select(db_.get(), path_, "reading the channels of run " + std::to_string(runId),
                     sql.c_str());
    select.bindInteger(1, runId);
    std::vector<ChannelSnapshot> channels;
    while (select.step()) {
        ChannelSnapshot channel;
        int column = 0;
        channel.id = select.text(column++);
        channel.kind =
            enumFromString(select.text(column++), ChannelKind::Main, ChannelKind::Multifd)
                .value_or(ChannelKind::Multifd);
        channel.state =
            enumFromString(select.text(column++), ChannelState::Connecting, ChannelState::Failed)
                .value_or(ChannelState::Failed);
        channel.tlsVersion = select.text(column++);
        channel.tlsCipher = select.text(column++);
        channel.termination =
            enumFromString(select.text(column++), Termination::None, kLastTermination)
                .value_or(Termination::Error);
        channel.bidirectional = select.integer(column++) != 0;
        channel.tlsProtection = select.text(column++);
        for (const ChannelMetric& metric : kChannelMetrics)
            if (metric.historyColumn)
                channel.*metric.field = select.unsignedInteger(column++);
        if (!select.isNull(column)) {
            TcpKernelView view;
            for (const auto& tcpColumn : kTcpColumns)
                tcpColumn.set(view, select.unsignedInteger(column++));
            channel.tcp = view;
        }
        channels.push_back(std::move(channel));
    }
    return channels;
}

std::vector<ChannelSample> HistoryStore::samples(std::int64_t runId) const {
    return selectRows<ChannelSample>(
        db_.get(), path_, runId, "samples",
        "SELECT time_ms, channel, bytes_per_second, bytes FROM samples "
        "WHERE run_id = ?1 ORDER BY time_ms, rowid",
        [](const Statement& row) {
            return ChannelSample{row.real(0), row.text(1), row.real(2), row.unsignedInteger(3)};
        });
}

std::vector<Event> HistoryStore::events(std::int64_t runId) const {
    return selectRows<Event>(db_.get(), path_, runId, "events",
                             "SELECT time_ms, level, side, text FROM events WHERE run_id = ?1 "
                             "ORDER BY time_ms, rowid",
                             [](const Statement& row) {
                                 return Event{row.real(0), eventLevelFromText(row.text(1)),
                                              sideFromText(row.text(2)), row.text(3)};
                             });
}

std::vector<std::int64_t> HistoryStore::exportRuns(const std::vector<std::int64_t>& ids,
                                                   const std::string& file,
                                                   const std::string& host) const {
    if (ids.empty())
        throw std::invalid_argument("no runs to export");
    if (std::filesystem::exists(file))
        throw std::invalid_argument(file + " exists already; export writes a new file");
    {
        // The export is a history file of its own; this file is only read.
        HistoryStore exported(file);
        Attachment source(exported.db_.get(), file, path_, "source");
        checkAttachedHistory(exported.db_.get(), file, "source", path_);
        Transaction transaction(exported.db_.get(), file, "exporting runs");
        for (const std::int64_t id : ids)
            copyRun(exported.db_.get(), file, "source", "main", id, host);
        transaction.commit();
    }
    // One self-contained file to attach to a ticket: no WAL beside it.
    HistoryStore exported(file);
    execute(exported.db_.get(), file, "PRAGMA journal_mode = DELETE", "closing the export's WAL");
    std::vector<std::int64_t> copies;
    for (const RunRecord& run : exported.listRuns(-1))
        copies.push_back(run.id);
    return copies;
}

HistoryStore::ImportResult HistoryStore::importRuns(const std::string& file) {
    if (!std::filesystem::is_regular_file(file))
        throw std::invalid_argument(file + " is not a file");
    ImportResult result;
    Attachment imported(db_.get(), path_, file, "imported");
    checkAttachedHistory(db_.get(), path_, "imported", file);
    Transaction transaction(db_.get(), path_, "importing runs from " + file);
    Statement runs(db_.get(), path_, "listing the runs of " + file,
                   "SELECT id, uuid, started_at, origin FROM imported.runs ORDER BY id");
    Statement existing(db_.get(), path_, "looking for runs imported before",
                       "SELECT id FROM main.runs WHERE uuid = ?1 AND started_at = ?2");
    while (runs.step()) {
        const std::int64_t id = runs.integer(0);
        existing.reset();
        existing.bindText(1, runs.text(1)).bindText(2, runs.text(2));
        if (existing.step()) {
            result.alreadyThere.push_back(existing.integer(0));
            continue;
        }
        const std::int64_t copy = copyRun(db_.get(), path_, "imported", "main", id, runs.text(3));
        // Its process ran on another host: whatever it was doing then, it is not running here.
        Statement ended(db_.get(), path_, "closing an imported active run",
                        "UPDATE runs SET status = 'interrupted', error_desc = 'interrupted: it "
                        "was still running where it was exported' WHERE id = ?1 AND status = "
                        "'active'");
        ended.bindInteger(1, copy);
        ended.step();
        result.imported.push_back(copy);
    }
    transaction.commit();
    return result;
}

HistoryStore::Upkeep HistoryStore::keepBounded(int retentionDays, int thinAfterDays) {
    Upkeep upkeep;
    Transaction transaction(db_.get(), path_, "keeping the history bounded");
    // started_at is ISO 8601 UTC, so it compares as text with strftime's same format.
    constexpr const char* kBefore = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)";
    if (retentionDays > 0) {
        const std::string sql = std::string("DELETE FROM runs WHERE status != 'active' AND "
                                            "started_at < ") +
                                kBefore;
        Statement prune(db_.get(), path_, "deleting runs past the retention", sql.c_str());
        prune.bindText(1, "-" + std::to_string(retentionDays) + " days");
        prune.step();
        upkeep.runsDeleted = static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
    }
    const std::string thin =
        std::string("DELETE FROM samples WHERE run_id IN (SELECT id FROM runs WHERE status != "
                    "'active' AND started_at < ") +
        kBefore +
        ") AND rowid NOT IN (SELECT min(rowid) FROM samples WHERE run_id IN (SELECT id FROM runs "
        "WHERE status != 'active' AND started_at < " +
        kBefore + ") GROUP BY run_id, channel, CAST(time_ms / 1000 AS INTEGER))";
    Statement thinning(db_.get(), path_, "thinning old runs' samples", thin.c_str());
    thinning.bindText(1, "-" + std::to_string(thinAfterDays) + " days");
    thinning.step();
    upkeep.samplesThinned = static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
    transaction.commit();
    return upkeep;
}

std::uint64_t HistoryStore::compact() {
    const auto pragma = [this](const char* name) {
        Statement statement(db_.get(), path_, std::string("reading ") + name, name);
        return statement.step() ? statement.unsignedInteger(0) : 0;
    };
    const std::uint64_t free = pragma("PRAGMA freelist_count");
    const std::uint64_t pages = pragma("PRAGMA page_count");
    const std::uint64_t pageSize = pragma("PRAGMA page_size");
    if (free * 4 < pages)
        return 0; // SQLite reuses them for the next runs
    execute(db_.get(), path_, "VACUUM", "compacting the file");
    return (pages - pragma("PRAGMA page_count")) * pageSize;
}

std::uint64_t HistoryStore::deleteRun(std::int64_t id) {
    Statement remove(db_.get(), path_, "deleting run " + std::to_string(id),
                     "DELETE FROM runs WHERE id = ?1 AND status != 'active'");
    remove.bindInteger(1, id);
    remove.step();
    return static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
}

} // namespace migrascope
