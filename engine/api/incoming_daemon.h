// The destination daemon (migrascope --incoming): listens on one address and receives
// migrations, up to --max-incoming at once, each into a guest of its own, recording each in this
// host's history with the role "destination". Its owner drives it from one thread: start(), then
// poll() on a timer, then stop().
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/telemetry_snapshot.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace migrascope {

// "tls://HOST:PORT" or "tcp://HOST:PORT" (IPv6 as [ADDR]:PORT), as QEMU's -incoming spells it.
struct IncomingAddress {
    bool tls = true;
    std::string host;
    std::uint16_t port = 0;
};
// Throws std::invalid_argument naming what is wrong.
IncomingAddress parseIncomingAddress(const std::string& text);
// "HOST:PORT" or "[ADDR]:PORT" for --destination; throws std::invalid_argument.
std::pair<std::string, std::uint16_t> parseHostPort(const std::string& text);
// QEMU's uri of migrate and migrate-recover, "tcp:HOST:PORT" (TLS follows the tls-creds
// parameter, as in QEMU); throws std::invalid_argument naming what is wrong.
std::pair<std::string, std::uint16_t> parseMigrateUri(const std::string& text);

struct IncomingOptions {
    std::string listenHost = "127.0.0.1";
    std::uint16_t port = 0; // 0 = an ephemeral port (tests)
    TlsParameters tls;
    bool multifdCleanTlsTermination = true;
    bool vfioExplicitResumingStop = true;
    std::vector<FaultSpec> faults; // those that fire at the destination
    // How many migrations may be received at once (--max-incoming); a source over the limit
    // is refused with the reason.
    unsigned maxIncoming = 1;
    // A connection that has not identified itself within this is dropped (--handshake-timeout).
    std::uint64_t handshakeTimeoutMs = 5000;
    // A paused postcopy whose source has not resumed it within this is failed and recorded
    // (--postcopy-recover-timeout); its guest, half here, cannot run on.
    std::uint64_t postcopyRecoverTimeoutMs = 600000;
    std::string historyPath; // empty = HistoryStore::defaultPath()
    bool recordHistory = true;
};

// One migration the daemon is receiving (or has just received), for its QMP socket.
struct IncomingMigrationState {
    std::string uuid;
    std::string source;         // the source's address, and its certificate's DN
    std::int64_t historyId = 0; // the daemon's record (0 before it exists)
    TelemetrySnapshot snapshot; // its status, every status it went through, its channels
};

class IncomingDaemon {
public:
    explicit IncomingDaemon(IncomingOptions options);
    // Stops as stop() does.
    ~IncomingDaemon();
    IncomingDaemon(const IncomingDaemon&) = delete;
    IncomingDaemon& operator=(const IncomingDaemon&) = delete;

    // Listens; throws when the address cannot be bound or the credentials are unusable.
    void start();
    std::uint16_t port() const;
    // The owner's timer (every 100 ms or so): records what each incoming migration did, arms
    // a paused postcopy for its source's resume, and records a migration that has ended.
    // Returns what happened since the last call, for a log (a migration's lines begin with
    // "migration " and its UUID's first 8 digits).
    std::vector<Event> poll();
    // Ends: migrations in flight fail ("the destination daemon stopped") and are recorded;
    // every thread is joined. Idempotent.
    void stop();
    // The owner's thread, like poll(): the migrations in flight (and those ended but not yet
    // recorded), oldest first.
    std::vector<IncomingMigrationState> migrations() const;
    // migrate_cancel of an incoming migration (by UUID; "" = the only one in flight): it
    // fails, its source is told why, and it is recorded. "" when done, or why not.
    std::string cancel(const std::string& uuid);
    // migrate-recover with a uri ("tcp:HOST:PORT"): a paused postcopy (by UUID; "" = the only
    // one paused) is armed at once on its own, on the daemon's address; this also listens on
    // `uri` for its source's resume, until it resumes or ends. "" when listening, or why not.
    std::string recover(const std::string& uuid, const std::string& uri);
    // Migrations received so far, and how many completed.
    unsigned received() const;
    unsigned completed() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace migrascope
