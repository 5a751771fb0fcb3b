#include "engine/api/incoming_daemon.h"

#include "engine/api/history_store.h"
#include "engine/destination/migration_destination.h"
#include "engine/memory/guest.h"
#include "engine/telemetry/telemetry.h"

#include <limits>
#include <mutex>
#include <stdexcept>
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

struct IncomingDaemon::Impl {
    IncomingOptions options;
    std::unique_ptr<HistoryStore> history;
    std::uint16_t port = 0;
    unsigned received = 0;
    unsigned completed = 0;
    std::vector<Event> daemonEvents; // the daemon's own words, between migrations

    // The migration being received (or awaited), with its own telemetry.
    std::unique_ptr<Telemetry> telemetry;
    std::unique_ptr<MigrationDestination> destination;
    // The history is written by this thread and, once per migration, by its main channel's
    // thread as it arrives (recordArrival): under this lock.
    std::mutex historyMutex;
    std::int64_t runId = 0;          // under historyMutex once a destination listens
    std::string arrivalHistoryError; // under historyMutex
    bool begun = false;
    bool recoverArmed = false;
    double pausedSinceMs = -1;
    double endedAtMs = -1;
    double lastFlushMs = 0;
    std::size_t logCursor = 0;
    std::size_t historyEventCursor = 0;

    void note(EventLevel level, const std::string& text) {
        // The daemon's own lines; poll() prints them after the migration's events.
        daemonEvents.push_back(
            Event{telemetry ? telemetry->elapsedMs() : 0, level, Side::Destination, text});
    }

    void listen() {
        telemetry = std::make_unique<Telemetry>();
        MigrationDestination::Options destinationOptions;
        destinationOptions.listenHost = options.listenHost;
        destinationOptions.port = port;
        destinationOptions.tls = options.tls;
        destinationOptions.cleanTlsTermination = options.multifdCleanTlsTermination;
        destinationOptions.vfioExplicitResumingStop = options.vfioExplicitResumingStop;
        destinationOptions.faults = options.faults;
        destinationOptions.handshakeTimeout = std::chrono::milliseconds(options.handshakeTimeoutMs);
        destinationOptions.reportToSource = true;
        destinationOptions.recordArrival = [this](const Uuid& uuid, const std::string& peer,
                                                  const std::string& certificateDn) {
            return recordArrival(uuid, peer, certificateDn);
        };
        runId = 0;
        destination = std::make_unique<MigrationDestination>(destinationOptions, *telemetry);
        destination->start();
        port = destination->port();
        begun = false;
        recoverArmed = false;
        pausedSinceMs = -1;
        endedAtMs = -1;
        lastFlushMs = 0;
        logCursor = 0;
        historyEventCursor = 0;
    }

    // On the migration's main channel thread, before it loads anything: its record exists
    // before the source could hear of its end, so the record's id travels in every report.
    std::int64_t recordArrival(const Uuid& uuid, const std::string& address,
                               const std::string& certificateDn) {
        std::lock_guard lock(historyMutex);
        if (!history)
            return 0;
        try {
            runId =
                history->beginRun(uuidToString(uuid), describeDaemon(), 0, 0, options.tls.enabled,
                                  RunRole::Destination, describePeer(address, certificateDn));
        } catch (const std::exception& error) {
            arrivalHistoryError = error.what();
        }
        return runId;
    }

    static std::string describePeer(const std::string& address, const std::string& dn) {
        return dn.empty() ? address : address + " (" + dn + ")";
    }

    void begin() {
        begun = true;
        ++received;
        note(EventLevel::Info,
             "incoming migration " + uuidToString(*destination->migration()) + " from " +
                 describePeer(destination->sourcePeer(), destination->sourceCertificateDn()));
        std::lock_guard lock(historyMutex);
        if (!arrivalHistoryError.empty())
            note(EventLevel::Warning, "history: " + std::exchange(arrivalHistoryError, {}));
    }

    std::string describeDaemon() const {
        return "role=destination\nlisten=" +
               std::string(options.tls.enabled ? "tls://" : "tcp://") + options.listenHost + ":" +
               std::to_string(port) + "\ntls-priority=" + options.tls.priority +
               "\nmultifd-clean-tls-termination=" +
               (options.multifdCleanTlsTermination ? "on" : "off") +
               "\nvfio-explicit-resuming-stop=" +
               (options.vfioExplicitResumingStop ? "on" : "off") + "\n";
    }

    void flushEvents() {
        std::lock_guard lock(historyMutex);
        if (!history || runId == 0)
            return;
        try {
            const auto snap = telemetry->snapshot(historyEventCursor, kNoMore, kNoMore);
            history->appendEvents(runId, snap.events);
            historyEventCursor = snap.nextEventIndex;
        } catch (const std::exception& error) {
            note(EventLevel::Warning, std::string("history: ") + error.what());
        }
    }

    // Records the end of the migration (or of waiting for one) and lets its guest go.
    void finish(const std::string& stoppedBecause) {
        destination->stop();
        destination->stopGuest();
        // What it said while stopping (the last rejections' count) still reaches the log.
        const auto last = telemetry->snapshot(logCursor, kNoMore, kNoMore);
        daemonEvents.insert(daemonEvents.end(), last.events.begin(), last.events.end());
        const MigrationDestination::State state = destination->state();
        if (begun) {
            TelemetrySnapshot final = telemetry->snapshot(0, kNoMore, kNoMore);
            const bool ok = state == MigrationDestination::State::Completed;
            final.status = ok ? MigrationStatus::Completed : MigrationStatus::Failed;
            final.errorDesc = ok ? std::string() : destination->error();
            if (!ok && final.errorDesc.empty())
                final.errorDesc = stoppedBecause.empty()
                                      ? "the source went away before the migration ended"
                                      : stoppedBecause;
            final.integrity = ok ? "verified" : "not verified: migration failed";
            if (Guest* guest = destination->guest())
                final.stats.total = guest->totalBytes();
            completed += ok ? 1 : 0;
            note(ok ? EventLevel::Info : EventLevel::Error,
                 "incoming migration " + uuidToString(*destination->migration()) +
                     (ok ? " completed and verified" : " failed: " + final.errorDesc));
            flushEvents();
            std::lock_guard lock(historyMutex);
            if (history && runId != 0) {
                try {
                    history->finishRun(runId, final, RunLogs{{}, {}, {}, final.transitions});
                } catch (const std::exception& error) {
                    note(EventLevel::Warning,
                         std::string("history: cannot record the end of the run: ") + error.what());
                }
            }
        }
        destination.reset();
        telemetry.reset();
    }
};

IncomingDaemon::IncomingDaemon(IncomingOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->port = impl_->options.port;
}

IncomingDaemon::~IncomingDaemon() {
    stop();
}

void IncomingDaemon::start() {
    if (impl_->options.recordHistory) {
        try {
            impl_->history = std::make_unique<HistoryStore>(impl_->options.historyPath.empty()
                                                                ? HistoryStore::defaultPath()
                                                                : impl_->options.historyPath);
        } catch (const std::exception& error) {
            impl_->note(EventLevel::Warning,
                        std::string("history is not recorded: ") + error.what());
        }
    }
    impl_->listen();
    impl_->note(EventLevel::Info,
                "listening on " + std::string(impl_->options.tls.enabled ? "tls://" : "tcp://") +
                    impl_->options.listenHost + ":" + std::to_string(impl_->port));
}

std::uint16_t IncomingDaemon::port() const {
    return impl_->port;
}

std::vector<Event> IncomingDaemon::poll() {
    Impl& d = *impl_;
    std::vector<Event> out;
    if (d.destination) {
        using State = MigrationDestination::State;
        const State state = d.destination->state();
        if (!d.begun && d.destination->migration())
            d.begin();
        d.telemetry->sample();
        d.destination->reportDueRejections();
        const double now = d.telemetry->elapsedMs();
        if (now - d.lastFlushMs >= kHistoryFlushMs) {
            d.flushEvents();
            d.lastFlushMs = now;
        }
        // A daemon has nobody to type migrate-recover: a paused postcopy is armed at once for
        // its source's resume (only the same migration's main channel may resume it).
        if (state == State::PostcopyPaused) {
            if (!d.recoverArmed)
                d.recoverArmed = d.destination->recover().empty();
            if (d.pausedSinceMs < 0)
                d.pausedSinceMs = now;
            const auto limit = static_cast<double>(d.options.postcopyRecoverTimeoutMs);
            if (now - d.pausedSinceMs >= limit)
                d.destination->abandonPausedPostcopy(
                    "its source did not resume the paused postcopy within " +
                    std::to_string(d.options.postcopyRecoverTimeoutMs) +
                    " ms (postcopy-recover-timeout)");
        } else {
            d.recoverArmed = false;
            d.pausedSinceMs = -1;
        }
        const auto snap = d.telemetry->snapshot(d.logCursor, kNoMore, kNoMore);
        d.logCursor = snap.nextEventIndex;
        out = snap.events;
        if (state == State::Completed || state == State::Failed) {
            if (d.endedAtMs < 0)
                d.endedAtMs = now;
            if (d.destination->openConnections() == 0 ||
                now - d.endedAtMs >= kDrainAfterVerdictMs) {
                d.finish({});
                d.listen();
            }
        }
    }
    out.insert(out.end(), d.daemonEvents.begin(), d.daemonEvents.end());
    d.daemonEvents.clear();
    return out;
}

void IncomingDaemon::stop() {
    if (impl_->destination)
        impl_->finish("the destination daemon stopped during the incoming migration");
}

unsigned IncomingDaemon::received() const {
    return impl_->received;
}

unsigned IncomingDaemon::completed() const {
    return impl_->completed;
}

} // namespace migrascope
