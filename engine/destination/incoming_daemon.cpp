#include "engine/api/incoming_daemon.h"

#include "engine/api/history_store.h"
#include "engine/destination/connection_gate.h"
#include "engine/destination/migration_destination.h"
#include "engine/memory/guest.h"
#include "engine/telemetry/telemetry.h"
#include "engine/wire/main_stream.h"
#include "engine/wire/multifd_wire.h"
#include "engine/wire/return_path.h"
#include "engine/wire/wire.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace migrascope {
namespace {

constexpr auto kNoMore = std::numeric_limits<std::size_t>::max();
constexpr double kHistoryFlushMs = 1000;
// After its verdict a migration's source closes the channels; a source that does not is not
// waited for longer than this before the record is written and the next one may come.
constexpr double kDrainAfterVerdictMs = 5000;

std::uint16_t parsePort(const std::string& text, const std::string& whole) {
    std::size_t used = 0;
    unsigned long port = 0;
    try {
        port = std::stoul(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (text.empty() || used != text.size() || port > 65535)
        throw std::invalid_argument("'" + whole + "': the port must be a number from 0 to 65535");
    return static_cast<std::uint16_t>(port);
}

} // namespace

std::pair<std::string, std::uint16_t> parseHostPort(const std::string& text) {
    std::string host;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw std::invalid_argument("'" + text + "': expected [ADDRESS]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon)
            throw std::invalid_argument("'" + text +
                                        "': expected HOST:PORT ([ADDRESS]:PORT for "
                                        "IPv6)");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty())
        throw std::invalid_argument("'" + text + "': the host is missing");
    return {host, parsePort(port, text)};
}

std::pair<std::string, std::uint16_t> parseMigrateUri(const std::string& text) {
    if (text.rfind("tcp:", 0) != 0 || text.rfind("tcp://", 0) == 0)
        throw std::invalid_argument("'" + text + "': expected tcp:HOST:PORT, as QEMU spells it");
    return parseHostPort(text.substr(4));
}

IncomingAddress parseIncomingAddress(const std::string& text) {
    IncomingAddress address;
    std::string rest;
    if (text.rfind("tls://", 0) == 0) {
        rest = text.substr(6);
    } else if (text.rfind("tcp://", 0) == 0) {
        address.tls = false;
        rest = text.substr(6);
    } else {
        throw std::invalid_argument("'" + text + "': expected tls://HOST:PORT or tcp://HOST:PORT");
    }
    std::tie(address.host, address.port) = parseHostPort(rest);
    return address;
}

// One migration the daemon receives (or has just received), with its own telemetry and its
// record in the history. Shared: the gate's threads hand it connections while poll() runs it.
struct IncomingMigration {
    Uuid uuid{};
    std::string tag; // the UUID's first 8 digits, before each of its lines in the daemon's log
    std::unique_ptr<Telemetry> telemetry;
    std::unique_ptr<MigrationDestination> destination;
    // poll()'s own, on the daemon's thread.
    // migrate-recover's other address: takes this migration's resume, closed once resumed.
    std::unique_ptr<ConnectionGate> recoveryGate;
    std::string recoveryAddress;
    bool begun = false;
    bool recoverArmed = false;
    double pausedSinceMs = -1;
    double endedAtMs = -1;
    double lastFlushMs = 0;
    std::size_t logCursor = 0;
    std::size_t historyEventCursor = 0;
    // Under the daemon's historyMutex: written once by the main channel's thread as it arrives.
    std::int64_t runId = 0;
    std::string arrivalHistoryError;

    bool ended() const {
        const auto state = destination->state();
        return state == MigrationDestination::State::Completed ||
               state == MigrationDestination::State::Failed;
    }
};

struct IncomingDaemon::Impl {
    IncomingOptions options;
    std::unique_ptr<HistoryStore> history;
    // The history is written by the daemon's thread and, once per migration, by its main
    // channel's thread as it arrives (recordArrival): under this lock.
    std::mutex historyMutex;
    std::uint16_t port = 0;
    unsigned received = 0;
    unsigned completed = 0;
    // The daemon's own words (listening, connections turned away), between and beside its
    // migrations.
    Telemetry daemonTelemetry;
    std::size_t daemonLogCursor = 0;
    std::vector<Event> stoppedLog; // what the migrations said as stop() ended them
    std::unique_ptr<TlsCredentials> credentials;
    std::unique_ptr<RejectionLog> rejections;
    std::unique_ptr<ConnectionGate> gate;

    // Routed to by the gate's threads; ended and recorded by poll().
    std::mutex migrationsMutex;
    std::condition_variable migrationAdded;
    std::list<std::shared_ptr<IncomingMigration>> migrations;
    // Migrations turned away lately: their multifd channels are refused at once, not held
    // until their handshake's deadline waiting for a main channel that will not come.
    std::deque<Uuid> refused;
    bool stopping = false;

    void note(EventLevel level, const std::string& text) {
        daemonTelemetry.event(level, Side::Destination, text);
    }

    std::string describeDaemon() const {
        return "role=destination\nlisten=" +
               std::string(options.tls.enabled ? "tls://" : "tcp://") + options.listenHost + ":" +
               std::to_string(port) + "\ntls-priority=" + options.tls.priority +
               "\nmultifd-clean-tls-termination=" +
               (options.multifdCleanTlsTermination ? "on" : "off") +
               "\nvfio-explicit-resuming-stop=" +
               (options.vfioExplicitResumingStop ? "on" : "off") +
               "\nmax-incoming=" + std::to_string(options.maxIncoming) + "\n";
    }

    static std::string describePeer(const std::string& address, const std::string& dn) {
        return dn.empty() ? address : address + " (" + dn + ")";
    }

    // A gate thread, with migrationsMutex held: a new migration's main channel has arrived.
    std::shared_ptr<IncomingMigration> add(const Uuid& uuid) {
        auto migration = std::make_shared<IncomingMigration>();
        migration->uuid = uuid;
        migration->tag = uuidToString(uuid).substr(0, 8);
        migration->telemetry = std::make_unique<Telemetry>();
        MigrationDestination::Options destinationOptions;
        destinationOptions.listen = false;
        destinationOptions.listenHost = options.listenHost;
        destinationOptions.port = port;
        destinationOptions.tls = options.tls;
        destinationOptions.expectedUuid = uuid;
        destinationOptions.cleanTlsTermination = options.multifdCleanTlsTermination;
        destinationOptions.vfioExplicitResumingStop = options.vfioExplicitResumingStop;
        destinationOptions.faults = options.faults;
        destinationOptions.reportToSource = true;
        IncomingMigration* raw = migration.get();
        destinationOptions.recordArrival = [this, raw](const Uuid& arrived, const std::string& peer,
                                                       const std::string& certificateDn) {
            return recordArrival(*raw, arrived, peer, certificateDn);
        };
        migration->destination =
            std::make_unique<MigrationDestination>(destinationOptions, *migration->telemetry);
        migrations.push_back(migration);
        migrationAdded.notify_all();
        return migration;
    }

    // On the migration's main channel thread, before it loads anything: its record exists
    // before the source could hear of its end, so the record's id travels in every report.
    std::int64_t recordArrival(IncomingMigration& migration, const Uuid& uuid,
                               const std::string& address, const std::string& certificateDn) {
        std::lock_guard lock(historyMutex);
        if (!history)
            return 0;
        try {
            migration.runId =
                history->beginRun(uuidToString(uuid), describeDaemon(), 0, 0, options.tls.enabled,
                                  RunRole::Destination, describePeer(address, certificateDn));
        } catch (const std::exception& error) {
            migration.arrivalHistoryError = error.what();
        }
        return migration.runId;
    }

    std::shared_ptr<IncomingMigration> find(const Uuid& uuid) const {
        for (const auto& migration : migrations)
            if (migration->uuid == uuid)
                return migration;
        return nullptr;
    }

    void rememberRefused(const Uuid& uuid) {
        constexpr std::size_t kRemembered = 64;
        refused.push_back(uuid);
        if (refused.size() > kRemembered)
            refused.pop_front();
        migrationAdded.notify_all();
    }

    std::size_t inFlight() const {
        return static_cast<std::size_t>(std::count_if(migrations.begin(), migrations.end(),
                                                      [](const auto& m) { return !m->ended(); }));
    }

    // The gate's Route: which migration a connection belongs to, by the UUID its first bytes
    // carry. A main channel with a new UUID starts one, while fewer than --max-incoming are in
    // flight; a multifd channel waits (until its deadline) for its main channel to arrive.
    // `recoveryAddress`: the connection came to a migrate-recover address, which takes resumes
    // and nothing else.
    ConnectionGate::Handoff route(Connection& connection, const std::string& peer,
                                  std::chrono::steady_clock::time_point deadline,
                                  const std::string& recoveryAddress = {}) {
        const std::string late = "it did not finish its channel's first bytes within " +
                                 std::to_string(options.handshakeTimeoutMs) +
                                 " ms (handshake-timeout)";
        // The channel's first bytes, put back for its MigrationDestination to read again.
        const auto readStart = [&](std::uint8_t* bytes, std::size_t length) {
            readBefore(connection, bytes, length, deadline, late);
            connection.unread(bytes, length);
        };
        std::uint8_t first4[4];
        readStart(first4, sizeof first4);
        const std::uint32_t magic = wire::get32(first4);
        std::shared_ptr<IncomingMigration> migration;
        if (magic == kVmFileMagic) {
            std::uint8_t bytes[kStreamStartSize];
            readStart(bytes, sizeof bytes);
            const StreamStart start = decodeStreamStart(bytes);
            if (!recoveryAddress.empty() && !start.resume)
                throw MigrationError("a new migration came to " + recoveryAddress +
                                     ", which migrate-recover opened for a resume only");
            std::unique_lock lock(migrationsMutex);
            migration = find(start.uuid);
            if (migration && !recoveryAddress.empty())
                note(EventLevel::Info, "migration " + migration->tag + ": its resume came to " +
                                           recoveryAddress + " (migrate-recover)");
            if (!migration && start.resume) {
                rememberRefused(start.uuid);
                lock.unlock();
                return refuse(connection, peer, start.uuid,
                              "resume refused: this daemon holds no paused migration " +
                                  uuidToString(start.uuid) +
                                  " (it failed, or the daemon was restarted, and its incoming "
                                  "state is gone)");
            }
            if (!migration) {
                if (stopping)
                    throw MigrationError("the destination daemon is stopping");
                if (const auto busy = inFlight(); busy >= options.maxIncoming) {
                    rememberRefused(start.uuid);
                    lock.unlock();
                    return refuse(connection, peer, start.uuid,
                                  "refused: this destination daemon is already receiving " +
                                      std::to_string(busy) + " migration" + (busy == 1 ? "" : "s") +
                                      ", its limit (--max-incoming " +
                                      std::to_string(options.maxIncoming) + "); try again later");
                }
                migration = add(start.uuid);
                migration->destination->start();
            }
        } else if (magic == kMultifdMagic) {
            std::uint8_t bytes[kMultifdInitSize];
            readStart(bytes, sizeof bytes);
            const MultifdHello hello = decodeHello(bytes);
            std::unique_lock lock(migrationsMutex);
            migrationAdded.wait_until(lock, deadline, [&] {
                migration = find(hello.uuid);
                return migration || stopping ||
                       std::find(refused.begin(), refused.end(), hello.uuid) != refused.end();
            });
            // Without its channel number, so that one migration's channels count as one reason.
            if (!migration)
                throw MigrationError(
                    "a multifd channel of migration " + uuidToString(hello.uuid) +
                    (stopping ? ", as the daemon stopped"
                     : std::find(refused.begin(), refused.end(), hello.uuid) != refused.end()
                         ? ", which this daemon refused"
                         : ", which this daemon is not receiving"));
        } else {
            char text[16];
            std::snprintf(text, sizeof text, "0x%08x", magic);
            throw MigrationError(std::string("unknown channel magic ") + text +
                                 " (not a migration stream)");
        }
        return [migration, peer](std::unique_ptr<Connection> taken) {
            migration->destination->adopt(std::move(taken), peer);
        };
    }

    // Tells a main channel's source why it is turned away, as a failed destination would (its
    // report, then SHUT), so that it fails at once with the reason; the daemon's log says it
    // in full, every time. The gate then closes the connection.
    ConnectionGate::Handoff refuse(Connection& connection, const std::string& peer,
                                   const Uuid& uuid, const std::string& why) {
        note(EventLevel::Warning, "migration " + uuidToString(uuid) + " from " + peer + ": " + why);
        try {
            ReturnPathSender returnPath(connection);
            TelemetrySnapshot view;
            view.status = MigrationStatus::Failed;
            view.errorDesc = why;
            returnPath.destinationReport(view, 0, 0, 0);
            returnPath.shut(ShutReason::Refused);
            MigrationDestination::drainUntilTheSourceHangsUp(connection);
        } catch (const std::exception&) {
            // It will still see the connection close.
        }
        return {};
    }

    void begin(IncomingMigration& m) {
        m.begun = true;
        ++received;
        note(EventLevel::Info,
             "incoming migration " + uuidToString(m.uuid) + " from " +
                 describePeer(m.destination->sourcePeer(), m.destination->sourceCertificateDn()));
        std::lock_guard lock(historyMutex);
        if (!m.arrivalHistoryError.empty())
            note(EventLevel::Warning, "history: " + std::exchange(m.arrivalHistoryError, {}));
    }

    void flushEvents(IncomingMigration& m) {
        std::lock_guard lock(historyMutex);
        if (!history || m.runId == 0)
            return;
        try {
            const auto snap = m.telemetry->snapshot(m.historyEventCursor, kNoMore, kNoMore);
            history->appendEvents(m.runId, snap.events);
            m.historyEventCursor = snap.nextEventIndex;
        } catch (const std::exception& error) {
            note(EventLevel::Warning, std::string("history: ") + error.what());
        }
    }

    // Its events since the last call, each line tagged with the migration it belongs to.
    void drainLog(IncomingMigration& m, std::vector<Event>& out) {
        const auto snap = m.telemetry->snapshot(m.logCursor, kNoMore, kNoMore);
        m.logCursor = snap.nextEventIndex;
        for (Event event : snap.events) {
            event.text = "migration " + m.tag + ": " + event.text;
            out.push_back(std::move(event));
        }
    }

    // Records the end of a migration and lets its guest go.
    void finish(IncomingMigration& m, const std::string& stoppedBecause, std::vector<Event>& out) {
        closeRecoveryGate(m);
        m.destination->stop();
        m.destination->stopGuest();
        drainLog(m, out); // what it said while stopping still reaches the log
        if (!m.begun)
            return;
        const MigrationDestination::State state = m.destination->state();
        TelemetrySnapshot final = m.telemetry->snapshot(0, kNoMore, kNoMore);
        const bool ok = state == MigrationDestination::State::Completed;
        final.status = ok ? MigrationStatus::Completed : MigrationStatus::Failed;
        final.errorDesc = ok ? std::string() : m.destination->error();
        if (!ok && final.errorDesc.empty())
            final.errorDesc = stoppedBecause.empty()
                                  ? "the source went away before the migration ended"
                                  : stoppedBecause;
        final.integrity = ok ? "verified" : "not verified: migration failed";
        if (Guest* guest = m.destination->guest())
            final.stats.total = guest->totalBytes();
        completed += ok ? 1 : 0;
        note(ok ? EventLevel::Info : EventLevel::Error,
             "incoming migration " + uuidToString(m.uuid) +
                 (ok ? " completed and verified" : " failed: " + final.errorDesc));
        flushEvents(m);
        std::lock_guard lock(historyMutex);
        if (history && m.runId != 0) {
            const std::string problem =
                history->finishRunOrQueue(m.runId, final, RunLogs{{}, {}, {}, final.transitions});
            if (!problem.empty())
                note(EventLevel::Warning, "history: " + problem);
        }
    }

    // One migration's turn of poll(). True once it has ended and been recorded.
    bool follow(IncomingMigration& m, std::vector<Event>& out) {
        using State = MigrationDestination::State;
        const State state = m.destination->state();
        if (!m.begun && m.destination->migration())
            begin(m);
        m.telemetry->sample();
        m.destination->reportDueRejections();
        const double now = m.telemetry->elapsedMs();
        if (now - m.lastFlushMs >= kHistoryFlushMs) {
            flushEvents(m);
            m.lastFlushMs = now;
        }
        // A daemon has nobody to type migrate-recover: a paused postcopy is armed at once for
        // its source's resume (only the same migration's main channel may resume it).
        if (state == State::PostcopyPaused) {
            if (!m.recoverArmed)
                m.recoverArmed = m.destination->recover().empty();
            if (m.pausedSinceMs < 0)
                m.pausedSinceMs = now;
            const auto limit = static_cast<double>(options.postcopyRecoverTimeoutMs);
            if (now - m.pausedSinceMs >= limit)
                m.destination->abandonPausedPostcopy(
                    "its source did not resume the paused postcopy within " +
                    std::to_string(options.postcopyRecoverTimeoutMs) +
                    " ms (postcopy-recover-timeout)");
        } else {
            m.recoverArmed = false;
            m.pausedSinceMs = -1;
            if (state != State::PostcopyRecover)
                closeRecoveryGate(m);
        }
        drainLog(m, out);
        if (state != State::Completed && state != State::Failed)
            return false;
        if (m.endedAtMs < 0)
            m.endedAtMs = now;
        if (m.destination->openConnections() != 0 && now - m.endedAtMs < kDrainAfterVerdictMs)
            return false;
        finish(m, {}, out);
        return true;
    }

    // The one migration an operator's command names: by UUID, or the only one that is `what`
    // ("in flight", "postcopy-paused"). Null with `why` when none or several are.
    template <typename Predicate>
    std::shared_ptr<IncomingMigration> findOnly(const std::string& uuid, Predicate matches,
                                                const std::string& what, std::string& why) {
        std::lock_guard lock(migrationsMutex);
        std::vector<std::shared_ptr<IncomingMigration>> candidates;
        for (const auto& m : migrations)
            if (matches(*m) && (uuid.empty() || uuidToString(m->uuid) == uuid))
                candidates.push_back(m);
        if (candidates.size() == 1)
            return candidates.front();
        why = candidates.empty() ? (uuid.empty() ? "no incoming migration is " + what
                                                 : "no incoming migration " + uuid + " is " + what)
                                 : std::to_string(candidates.size()) + " incoming migrations are " +
                                       what + ": name one by its uuid";
        return nullptr;
    }

    // migrate-recover on another address: a gate of its own, routing as the daemon's does.
    std::string openRecoveryGate(IncomingMigration& m, const std::string& uri) {
        std::string host;
        std::uint16_t recoveryPort = 0;
        try {
            std::tie(host, recoveryPort) = parseMigrateUri(uri);
        } catch (const std::invalid_argument& error) {
            return error.what();
        }
        closeRecoveryGate(m);
        const std::string address = host + ":" + std::to_string(recoveryPort);
        ConnectionGate::Options gateOptions{host, recoveryPort, options.tls,
                                            std::chrono::milliseconds(options.handshakeTimeoutMs)};
        try {
            m.recoveryGate = std::make_unique<ConnectionGate>(
                std::move(gateOptions), credentials.get(), *rejections, daemonTelemetry,
                [this, address](Connection& connection, const std::string& peer,
                                std::chrono::steady_clock::time_point deadline) {
                    return route(connection, peer, deadline, address);
                });
            m.recoveryGate->start();
        } catch (const std::exception& error) {
            m.recoveryGate.reset();
            return "migrate-recover: cannot listen on " + address + ": " + error.what();
        }
        m.recoveryAddress = address;
        note(EventLevel::Info, "migration " + m.tag + ": migrate-recover: listening on " + address +
                                   " for its source's resume (and on the daemon's address)");
        return {};
    }

    void closeRecoveryGate(IncomingMigration& m) {
        if (!m.recoveryGate)
            return;
        m.recoveryGate->stop();
        m.recoveryGate.reset();
        note(EventLevel::Info, "migration " + m.tag + ": stopped listening on " +
                                   std::exchange(m.recoveryAddress, {}) + " (migrate-recover)");
    }

    void drainDaemonLog(std::vector<Event>& out) {
        const auto snap = daemonTelemetry.snapshot(daemonLogCursor, kNoMore, kNoMore);
        daemonLogCursor = snap.nextEventIndex;
        out.insert(out.end(), snap.events.begin(), snap.events.end());
    }
};

IncomingDaemon::IncomingDaemon(IncomingOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->options.maxIncoming = std::max(1u, impl_->options.maxIncoming);
    impl_->port = impl_->options.port;
}

IncomingDaemon::~IncomingDaemon() {
    stop();
}

void IncomingDaemon::start() {
    Impl& d = *impl_;
    if (d.options.recordHistory) {
        try {
            d.history = std::make_unique<HistoryStore>(d.options.historyPath.empty()
                                                           ? HistoryStore::defaultPath()
                                                           : d.options.historyPath);
        } catch (const std::exception& error) {
            d.note(EventLevel::Warning, std::string("history is not recorded: ") + error.what());
        }
    }
    if (d.options.tls.enabled)
        d.credentials = std::make_unique<TlsCredentials>(d.options.tls.credsDir,
                                                         TlsCredentials::Endpoint::Server);
    d.rejections = std::make_unique<RejectionLog>(d.daemonTelemetry);
    ConnectionGate::Options gate{d.options.listenHost, d.options.port, d.options.tls,
                                 std::chrono::milliseconds(d.options.handshakeTimeoutMs)};
    d.gate = std::make_unique<ConnectionGate>(std::move(gate), d.credentials.get(), *d.rejections,
                                              d.daemonTelemetry,
                                              [&d](Connection& connection, const std::string& peer,
                                                   std::chrono::steady_clock::time_point deadline) {
                                                  return d.route(connection, peer, deadline);
                                              });
    d.port = d.gate->port();
    d.gate->start();
    d.note(EventLevel::Info, "listening on " +
                                 std::string(d.options.tls.enabled ? "tls://" : "tcp://") +
                                 d.options.listenHost + ":" + std::to_string(d.port) +
                                 " (max-incoming " + std::to_string(d.options.maxIncoming) + ")");
}

std::uint16_t IncomingDaemon::port() const {
    return impl_->port;
}

std::vector<Event> IncomingDaemon::poll() {
    Impl& d = *impl_;
    std::vector<Event> out = std::exchange(d.stoppedLog, {});
    std::vector<std::shared_ptr<IncomingMigration>> migrations;
    {
        std::lock_guard lock(d.migrationsMutex);
        migrations.assign(d.migrations.begin(), d.migrations.end());
    }
    for (const auto& migration : migrations) {
        if (!d.follow(*migration, out))
            continue;
        std::lock_guard lock(d.migrationsMutex);
        d.migrations.remove(migration);
    }
    if (d.rejections)
        d.rejections->report(false);
    d.drainDaemonLog(out);
    return out;
}

void IncomingDaemon::stop() {
    Impl& d = *impl_;
    {
        std::lock_guard lock(d.migrationsMutex);
        d.stopping = true;
    }
    d.migrationAdded.notify_all();
    if (d.gate)
        d.gate->stop(); // no connection is routed from here on
    std::list<std::shared_ptr<IncomingMigration>> migrations;
    {
        std::lock_guard lock(d.migrationsMutex);
        migrations.swap(d.migrations);
    }
    for (const auto& migration : migrations)
        d.finish(*migration, "the destination daemon stopped during the incoming migration",
                 d.stoppedLog);
    if (d.rejections)
        d.rejections->report(true);
}

std::vector<IncomingMigrationState> IncomingDaemon::migrations() const {
    Impl& d = *impl_;
    std::vector<std::shared_ptr<IncomingMigration>> migrations;
    {
        std::lock_guard lock(d.migrationsMutex);
        migrations.assign(d.migrations.begin(), d.migrations.end());
    }
    std::vector<IncomingMigrationState> states;
    for (const auto& m : migrations) {
        IncomingMigrationState state;
        state.uuid = uuidToString(m->uuid);
        state.source =
            Impl::describePeer(m->destination->sourcePeer(), m->destination->sourceCertificateDn());
        {
            std::lock_guard lock(d.historyMutex);
            state.historyId = m->runId;
        }
        state.snapshot = m->telemetry->snapshot(kNoMore, kNoMore, kNoMore);
        states.push_back(std::move(state));
    }
    return states;
}

std::string IncomingDaemon::cancel(const std::string& uuid) {
    std::string why;
    const auto target = impl_->findOnly(
        uuid, [](const IncomingMigration& m) { return !m.ended(); }, "in flight", why);
    if (!target)
        return why;
    return target->destination->cancel(
        "cancelled on the destination host by its operator (migrate_cancel)");
}

std::string IncomingDaemon::recover(const std::string& uuid, const std::string& uri) {
    std::string why;
    const auto target = impl_->findOnly(
        uuid,
        [](const IncomingMigration& m) {
            return m.destination->state() == MigrationDestination::State::PostcopyPaused;
        },
        "postcopy-paused", why);
    if (!target)
        return uuid.empty() && why.rfind("no ", 0) == 0
                   ? "Migrate recover can only be run when postcopy is paused."
                   : why;
    if (uri.empty())
        return {}; // armed by itself on the daemon's address
    return impl_->openRecoveryGate(*target, uri);
}

unsigned IncomingDaemon::received() const {
    return impl_->received;
}

unsigned IncomingDaemon::completed() const {
    return impl_->completed;
}

} // namespace migrascope
