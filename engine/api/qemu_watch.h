// Following a real QEMU migration from outside: QEMU's own figures over QMP, each migration
// connection's bytes from the kernel's socket counters, each thread's CPU from /proc. The
// result has the shape of one of our own runs (a TelemetrySnapshot, a history record with
// role "watched-qemu"), so every reader of runs reads a watched one too.
// Owns one thread, the watcher, which stop() or the migration's end ends; joined by stop()
// and the destructor.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace migrascope {

struct WatchOptions {
    std::string sourceQmp;      // the source QEMU's QMP Unix socket
    std::string destinationQmp; // optional: the destination QEMU's
    std::chrono::milliseconds pollInterval{200};
    std::chrono::milliseconds qmpTimeout{5000}; // for the greeting and each command
    std::string historyPath;                    // empty = HistoryStore::defaultPath()
    bool recordHistory = true;
    // The operator allows the one change a watch may make: turning on QEMU's `events`
    // migration capability, so that MIGRATION and MIGRATION_PASS arrive as they happen
    // instead of being inferred from polls. Off: nothing in QEMU changes.
    bool turnOnEvents = false;
};

// "qmp:SRC.sock[,dst=DST.sock][,events=on]" (the command line's --watch, the window's dialog);
// throws std::invalid_argument saying what is wrong.
WatchOptions parseWatchTarget(std::string_view text);

// A QEMU thread that works for the migration, and the CPU it used.
struct WatchedThread {
    pid_t tid = 0;
    std::string name; // QEMU's ("live_migration", "multifdsend_0"); see threadNamesKnown
    Side side = Side::Source;
    double cpuPercent = 0; // of one core, over the last second
    double cpuSeconds = 0; // since the thread started
};

// What a watch knows beyond the snapshot: QEMU's own words.
struct WatchReport {
    std::string qemuVersion; // "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)"
    pid_t sourcePid = 0;
    pid_t destinationPid = 0;
    // QEMU's last answers, as JSON text: query-migrate (source, destination), and the
    // parameters and capabilities the source migrates with.
    std::string sourceQueryMigrate;
    std::string destinationQueryMigrate;
    std::string parameters;
    std::string capabilities; // {"multifd": true, ...}, as the migration began
    // What the watch changed in QEMU, as the operator allowed ("events capability turned on
    // in the source QEMU"), or why it could not; empty when it changed nothing.
    std::vector<std::string> changes;
    // QEMU names its threads only with -name ...,debug-threads=on; without, every thread is
    // the process's name and the busiest threads are listed instead.
    bool threadNamesKnown = false;
    // Where the names come from: "query-migrationthreads" (QEMU 8.0 and later, and
    // Migrascope's own runs), "debug-threads" (/proc, with -name ...,debug-threads=on), or
    // "" (not known).
    std::string threadNamesFrom;
    std::vector<WatchedThread> threads;
    // The connections' labels (main, multifd-N) follow their order of appearance and the
    // multifd-channels parameter: QEMU does not say which socket is which.
    std::string channelLabels = "inferred from connection order";
    // Where each closed connection's last counters came from: the kernel's report as it
    // destroyed the socket (needs CAP_NET_ADMIN), or the last poll before it closed.
    std::string finalCounters;
};

class QemuWatch {
public:
    // Connects to the QMP socket(s), negotiates, and reads QEMU's version, parameters and
    // capabilities; throws std::runtime_error naming the socket and what is wrong (missing,
    // not QMP, silent). Records nothing yet.
    explicit QemuWatch(WatchOptions options);
    ~QemuWatch();
    QemuWatch(const QemuWatch&) = delete;
    QemuWatch& operator=(const QemuWatch&) = delete;

    // Begins the record and the watcher thread; returns at once.
    void start();
    // Stops watching (QEMU's migration is not touched) and joins the watcher; a migration
    // still running is recorded as interrupted, with what was seen.
    void stop();
    // The same, without waiting: the watcher ends at its next wake-up (a window's way).
    void requestStop();
    bool finished() const;
    bool waitFor(std::chrono::milliseconds timeout) const;

    TelemetrySnapshot snapshot(std::size_t eventCursor = 0, std::size_t sampleCursor = 0) const;
    WatchReport report() const;
    std::int64_t historyId() const;
    std::string historyError() const;

    struct Watcher; // the watcher thread's own state (qemu_watch.cpp)

private:
    void run();
    void turnOnEvents();

    WatchOptions options_;
    std::unique_ptr<Watcher> watcher_; // used by the watcher thread only, once started
    std::thread thread_;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool stopRequested_ = false;
    bool finished_ = false;
    TelemetrySnapshot current_; // events and samples: every one, cursors cut them
    WatchReport report_;
    std::int64_t historyId_ = 0;
    std::string historyError_;
};

} // namespace migrascope
