// Every migration run, kept in one SQLite file for post-mortem review.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace migrascope {

struct RunFacts; // engine/api/diagnosis.h

// What a run logged since it was last stored; stored in one transaction, all or nothing, so a
// retry after a failure stores nothing twice.
struct RunLogs {
    std::vector<ChannelSample> samples;
    std::vector<Event> events;
    std::vector<ReturnPathRecord> returnPath;
    std::vector<DeviceTransition> transitions;
};

// A stored run's status: a migration's final status, or what the history knows of a run
// that did not finish.
enum class RunStatus {
    Active, // its process is still running it
    Completed,
    Failed,
    Cancelled,
    Interrupted, // the process that ran it ended without finishing it (crash, kill, reboot)
};
// The file's spelling: QEMU's words for completed, failed and cancelled; "active" and
// "interrupted" are Migrascope's.
const char* toString(RunStatus status);
std::optional<RunStatus> runStatusFromString(std::string_view text);

// Which end of the migration this history's host was, or that it watched a QEMU migration
// from outside.
enum class RunRole { Source, Destination, WatchedQemu };
const char* toString(RunRole role); // "source", "destination", "watched-qemu"
std::optional<RunRole> runRoleFromString(std::string_view text);

struct RunRecord {
    std::int64_t id = 0;
    std::string uuid;
    std::string startedAt; // ISO 8601 UTC with milliseconds, e.g. 2026-11-22T10:15:00.123Z
    std::string endedAt;   // empty while active
    RunStatus status = RunStatus::Active;
    RunRole role = RunRole::Source;
    std::string peer; // the other end: a destination's source address ("10.0.0.1:40122")
    std::string errorDesc;
    std::string integrity;
    std::string config; // describe(MigrationConfig)
    std::uint64_t ramTotal = 0;
    std::uint64_t transferred = 0;
    double totalTimeMs = 0;
    double downtimeMs = 0;
    double expectedDowntimeMs = 0; // as the guest stopped
    std::uint64_t downtimeLimitMs = 0;
    unsigned cpuThrottlePercentage = 0; // auto-converge's last throttle
    double mbps = 0;
    unsigned multifdChannels = 0;
    bool tls = false;
    std::int64_t ownerPid = 0; // the process that began the run
    // Postcopy, when the run reached it.
    std::uint64_t postcopyPageRequests = 0;
    double postcopyLatencyMedianMs = 0;
    double postcopyLatencyP99Ms = 0;
    unsigned postcopyRecoveries = 0;
    std::uint64_t returnPathCount = 0; // messages, including those beyond the stored log
    // A completed run with warnings is "completed with warnings" (TelemetrySnapshot::warnings).
    std::vector<std::string> warnings;
    // What happened, in one sentence (engine/api/diagnosis.h); stored when the run ended.
    std::string diagnosis;
    // The host an imported run was recorded on; empty for this history's own runs.
    std::string origin;
};

// One instance is used by one thread at a time. Separate instances on the same file, in other
// threads or processes, may write concurrently: the file is in WAL mode and writers wait up to
// 5 s for each other. Every failure throws std::runtime_error naming the file and SQLite's text.
class HistoryStore {
public:
    static constexpr int kSchemaVersion = 10;

    // $XDG_DATA_HOME/migrascope/history.sqlite (XDG_DATA_HOME defaults to $HOME/.local/share);
    // creates the folder.
    static std::string defaultPath();

    enum class Access {
        // Opens or creates the file and brings its schema up to kSchemaVersion. Stores the
        // ends of runs queued by queueEnd. Marks 'interrupted' every active run whose process
        // has ended (crash, kill, reboot); runs of live processes, including this one, are left
        // alone.
        ReadWrite,
        // For viewers: changes nothing in the file, not even a schema upgrade. Refuses a file
        // that does not exist. A file of an older schema is read from a copy in memory
        // brought up to this version's.
        ReadOnly,
    };
    // Refuses a schema newer than kSchemaVersion either way. `busyTimeout` is how long each
    // statement waits for another process's lock (setBusyTimeout changes it later).
    explicit HistoryStore(const std::string& path, Access access = Access::ReadWrite,
                          std::chrono::milliseconds busyTimeout = kDefaultBusyTimeout);
    ~HistoryStore();
    HistoryStore(const HistoryStore&) = delete;
    HistoryStore& operator=(const HistoryStore&) = delete;
    HistoryStore(HistoryStore&&) noexcept;
    HistoryStore& operator=(HistoryStore&&) noexcept;

    static constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};
    void setBusyTimeout(std::chrono::milliseconds timeout);
    const std::string& path() const { return path_; }
    int schemaVersion() const; // PRAGMA user_version

    // Records a new run owned by the calling process, status "active"; returns its id.
    std::int64_t beginRun(const std::string& uuid, const std::string& config,
                          std::uint64_t ramTotal, unsigned multifdChannels, bool tls,
                          RunRole role = RunRole::Source, const std::string& peer = {});
    void appendSamples(std::int64_t runId, const std::vector<ChannelSample>& samples);
    void appendEvents(std::int64_t runId, const std::vector<Event>& events);
    void appendReturnPath(std::int64_t runId, const std::vector<ReturnPathRecord>& messages);
    void appendTransitions(std::int64_t runId, const std::vector<DeviceTransition>& transitions);
    void appendLogs(std::int64_t runId, const RunLogs& logs);
    // Stores `unstored` and final.status (which must be Completed, Failed or Cancelled), error,
    // integrity, statistics and one row per channel of final.channels, replacing earlier
    // channel rows, in one transaction: the run is either finished with all of it or still
    // active with none of it. `status` overrides final.status: a watch that lost sight of
    // its migration records it Interrupted.
    void finishRun(std::int64_t runId, const TelemetrySnapshot& final, const RunLogs& unstored = {},
                   std::optional<RunStatus> status = std::nullopt);

    // When finishRun fails (a full disk, another process's lock), the end is written into a
    // file of its own in queuedEndsFolder(path()), and the next ReadWrite open of this history
    // stores it, whichever process opens it. Returns that file; throws when it cannot be written.
    std::string queueEnd(std::int64_t runId, const TelemetrySnapshot& final,
                         const RunLogs& unstored = {},
                         std::optional<RunStatus> status = std::nullopt) const;
    static std::string queuedEndsFolder(const std::string& historyPath); // "<history>.pending"
    // finishRun, or queueEnd when it fails. Returns "" when the end is stored; otherwise what
    // went wrong and where the end waits, or that it could not be queued either.
    std::string finishRunOrQueue(std::int64_t runId, const TelemetrySnapshot& final,
                                 const RunLogs& unstored = {},
                                 std::optional<RunStatus> status = std::nullopt);
    static std::string describeQueued(const std::string& queuedFile);

    std::vector<RunRecord> listRuns(int limit = 500) const; // newest first; limit < 0: all
    // The runs one of whose events contains `text` (ASCII letters in any case), newest first.
    std::vector<std::int64_t> runsWhoseEventsMention(std::string_view text) const;
    std::optional<RunRecord> run(std::int64_t id) const;
    std::vector<ChannelSnapshot> channels(std::int64_t runId) const;     // in the order stored
    std::vector<ChannelSample> samples(std::int64_t runId) const;        // ordered by time
    std::vector<Event> events(std::int64_t runId) const;                 // ordered by time
    std::vector<ReturnPathRecord> returnPath(std::int64_t runId) const;  // ordered by time
    std::vector<DeviceTransition> transitions(std::int64_t runId) const; // in order
    // Writes runs `ids`, with every row they own, into a new history file `file` (refused if it
    // exists): one self-contained file another machine's `importRuns` takes. Each run is marked
    // with the host it was recorded on: `host` for this history's own runs. Returns the ids in
    // the export.
    std::vector<std::int64_t> exportRuns(const std::vector<std::int64_t>& ids,
                                         const std::string& file, const std::string& host) const;
    struct ImportResult {
        std::vector<std::int64_t> imported;     // the new ids here
        std::vector<std::int64_t> alreadyThere; // runs imported before (same UUID and start)
    };
    // Copies every run of history file `file` into this one, under new ids, keeping where each
    // was recorded; a run imported before is not copied twice. One transaction.
    ImportResult importRuns(const std::string& file);
    // Keeps years of history small. Finished runs that started more than `retentionDays` ago
    // are deleted with everything they own (0 keeps every run); the throughput samples of
    // finished runs older than `thinAfterDays` are thinned to one per channel per second (their
    // events, channels and figures stay whole). One transaction.
    struct Upkeep {
        std::uint64_t runsDeleted = 0;
        std::uint64_t samplesThinned = 0;
    };
    Upkeep keepBounded(int retentionDays, int thinAfterDays = 7);
    // Gives the pages deleted runs and samples left back to the file system (VACUUM), when
    // they are at least a quarter of the file; returns the bytes the file shrank by.
    std::uint64_t compact();
    // Deletes a finished run and everything it owns; returns 0 for an active or unknown run.
    std::uint64_t deleteRun(std::int64_t id);
    // The run's diagnosis: the stored one, or for a run recorded before diagnoses were stored,
    // built from its record now.
    std::string diagnosis(const RunRecord& run) const;
    // When the run's first cause happened, if it had one (engine/api/diagnosis.h).
    std::optional<double> firstCauseTimeMs(const RunRecord& run) const;

private:
    struct Closer {
        void operator()(sqlite3* db) const;
    };

    void migrate();
    void upgradeACopyInMemory();
    void absorbQueuedEnds();
    void absorbQueuedEnd(const std::string& file);
    void markInterruptedRuns();
    void storeDiagnosis(std::int64_t runId);
    RunFacts factsOf(const RunRecord& run) const;

    std::string path_;
    std::unique_ptr<sqlite3, Closer> db_;
};

} // namespace migrascope
