#include "engine/api/qemu_watch.h"

#include "engine/api/history_store.h"
#include "engine/api/migration_config.h"
#include "engine/transport/socket_diag.h"
#include "engine/watch/qmp_client.h"
#include "engine/watch/thread_cpu.h"

#include <algorithm>
#include <deque>
#include <map>
#include <netinet/tcp.h>
#include <set>
#include <stdexcept>

namespace migrascope {
namespace {

using watch::QmpClient;
using watch::QmpError;
using Clock = std::chrono::steady_clock;

constexpr double kHistoryFlushMs = 1000;
constexpr double kThreadCpuWindowMs = 1000;
// After QEMU reports the end: how long the kernel gets to report the closed sockets.
constexpr std::chrono::milliseconds kFinalCountersWait{300};

// query-migrate's status, in our enum where it has one. QEMU's others are precopy stages
// (pre-switchover, wait-unplug, colo) and read as active.
MigrationStatus statusFromQemu(const std::string& text) {
    if (const auto status = enumFromString(text, MigrationStatus::None, MigrationStatus::Cancelled))
        return *status;
    return MigrationStatus::Active;
}

std::string describeValue(const nlohmann::json& value) {
    if (value.is_string())
        return "'" + value.get<std::string>() + "'";
    if (value.is_boolean())
        return value.get<bool>() ? "on" : "off";
    return value.dump();
}

// "multifd on, events off" from [{"capability": "multifd", "state": true}, ...], as an
// object {"multifd": true, ...}.
nlohmann::json capabilitiesObject(const nlohmann::json& list) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& entry : list)
        object[entry.value("capability", "?")] = entry.value("state", false);
    return object;
}

bool isMigrationThreadName(const std::string& name) {
    for (const char* prefix :
         {"live_migration", "multifd", "mig/", "return path", "postcopy", "mig-", "migration"})
        if (name.rfind(prefix, 0) == 0)
            return true;
    return false;
}

struct Connection {
    std::uint64_t cookie = 0;
    int fd = 0;
    std::string local;
    std::string remote;
    std::string label;
    ChannelKind kind = ChannelKind::Multifd;
    bool open = true;
    TcpKernelView counters;
    std::optional<TcpKernelView> atDestination;          // the destination QEMU's end of it
    std::deque<std::pair<double, std::uint64_t>> recent; // (ms, bytes) for the rate
};

struct ThreadSample {
    double timeMs = 0;
    std::map<pid_t, double> cpuSeconds;
};

} // namespace

WatchOptions parseWatchTarget(std::string_view text) {
    constexpr std::string_view kScheme = "qmp:";
    constexpr const char* kForm = "qmp:SRC.sock[,dst=DST.sock][,events=on]";
    if (text.substr(0, kScheme.size()) != kScheme)
        throw std::invalid_argument("'" + std::string(text) + "' does not start with qmp: (" +
                                    kForm + ")");
    WatchOptions options;
    std::string_view rest = text.substr(kScheme.size());
    auto comma = rest.find(',');
    options.sourceQmp = std::string(rest.substr(0, comma));
    if (options.sourceQmp.empty())
        throw std::invalid_argument("no source QMP socket after qmp:");
    while (comma != std::string_view::npos) {
        rest = rest.substr(comma + 1);
        comma = rest.find(',');
        const std::string_view option = rest.substr(0, comma);
        constexpr std::string_view kDestination = "dst=";
        if (option.substr(0, kDestination.size()) == kDestination &&
            option.size() > kDestination.size())
            options.destinationQmp = std::string(option.substr(kDestination.size()));
        else if (option == "events=on" || option == "events=off")
            options.turnOnEvents = option == "events=on";
        else
            throw std::invalid_argument("'" + std::string(option) +
                                        "' is neither dst=DST.sock nor events=on|off (" + kForm +
                                        ")");
    }
    return options;
}

struct QemuWatch::Watcher {
    std::unique_ptr<QmpClient> source;
    std::unique_ptr<QmpClient> destination;
    std::unique_ptr<TcpDestroyListener> destroyed;
    std::string destroyedUnavailable; // why the kernel's final counters are not followed
    Clock::time_point start = Clock::now();
    double startEpochSeconds = 0;
    nlohmann::json parameters;
    nlohmann::json capabilities;
    bool multifd = false;
    unsigned multifdChannels = 0;
    bool tls = false;

    bool migrationSeen = false; // a migration began after the watch did (or was under way)
    std::string lastStatusText;
    std::set<std::uint64_t> preexisting;            // sockets that were there before the migration
    std::map<std::uint32_t, int> preexistingInodes; // QEMU's sockets when last looked at
    std::vector<Connection> connections;            // in order of appearance
    std::map<std::uint64_t, TcpSocket> destroyedSockets;
    bool kernelWarned = false;
    ThreadSample threadSample;
    // query-migrationthreads' answer: the source's migration threads by thread id. QEMU before
    // 8.0 has no such command; then the names come from /proc.
    std::map<pid_t, std::string> migrationThreads;
    bool migrationThreadsMissing = false;
    double lastFlushMs = 0;
    std::size_t historyEventCursor = 0;
    std::size_t historySampleCursor = 0;

    double nowMs() const {
        return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }
};

QemuWatch::QemuWatch(WatchOptions options)
    : options_(std::move(options)), watcher_(std::make_unique<Watcher>()) {
    Watcher& w = *watcher_;
    w.startEpochSeconds =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    w.source = std::make_unique<QmpClient>(options_.sourceQmp, options_.qmpTimeout);
    if (!options_.destinationQmp.empty())
        w.destination = std::make_unique<QmpClient>(options_.destinationQmp, options_.qmpTimeout);
    w.parameters = w.source->execute("query-migrate-parameters", {}, options_.qmpTimeout);
    w.capabilities = capabilitiesObject(
        w.source->execute("query-migrate-capabilities", {}, options_.qmpTimeout));
    if (options_.turnOnEvents)
        turnOnEvents();
    w.multifd = w.capabilities.value("multifd", false);
    w.multifdChannels = w.multifd ? w.parameters.value("multifd-channels", 2u) : 0u;
    w.tls = !w.parameters.value("tls-creds", std::string()).empty();
    if (w.source->peerPid() <= 0)
        throw std::runtime_error("QMP socket " + options_.sourceQmp +
                                 ": the kernel does not say which process serves it, so its "
                                 "connections cannot be found");
    try {
        w.destroyed = std::make_unique<TcpDestroyListener>();
    } catch (const std::exception& error) {
        w.destroyedUnavailable = error.what();
    }

    report_.qemuVersion =
        w.source->version() + (w.source->package().empty() ? "" : " (" + w.source->package() + ")");
    report_.sourcePid = w.source->peerPid();
    report_.destinationPid = w.destination ? w.destination->peerPid() : 0;
    report_.parameters = w.parameters.dump();
    report_.capabilities = w.capabilities.dump();
    report_.finalCounters = w.destroyed ? "the kernel's report as it destroyed each socket"
                                        : "the last poll before each connection closed (" +
                                              w.destroyedUnavailable + ")";
    for (const std::string& change : report_.changes)
        current_.events.push_back({w.nowMs(), EventLevel::Info, Side::Source, "watch: " + change});
    current_.phase = "waiting for QEMU to start a migration";
    current_.integrity = "not checked: QEMU sends no digest of the guest";
    current_.stats.downtimeLimitMs = w.parameters.value("downtime-limit", 0u);
}

void QemuWatch::turnOnEvents() {
    // QEMU refuses a capability change while a migration runs; the watch then polls, and says
    // why. Each QEMU is asked on its own: the destination reports its own MIGRATION events.
    Watcher& w = *watcher_;
    const nlohmann::json on = {
        {"capabilities", nlohmann::json::array({{{"capability", "events"}, {"state", true}}})}};
    const auto ask = [&](watch::QmpClient& qemu, const char* which, bool alreadyOn) {
        if (alreadyOn) {
            report_.changes.push_back(std::string("events capability already on in the ") + which +
                                      " QEMU");
            return;
        }
        try {
            qemu.execute("migrate-set-capabilities", on, options_.qmpTimeout);
            report_.changes.push_back(std::string("events capability turned on in the ") + which +
                                      " QEMU");
        } catch (const watch::QmpError& error) {
            report_.changes.push_back(std::string("events capability not turned on in the ") +
                                      which + " QEMU: " + error.what());
        }
    };
    ask(*w.source, "source", w.capabilities.value("events", false));
    if (w.destination) {
        const nlohmann::json theirs = capabilitiesObject(
            w.destination->execute("query-migrate-capabilities", {}, options_.qmpTimeout));
        ask(*w.destination, "destination", theirs.value("events", false));
    }
}

QemuWatch::~QemuWatch() {
    stop();
}

void QemuWatch::start() {
    thread_ = std::thread([this] { run(); });
}

void QemuWatch::requestStop() {
    {
        std::lock_guard lock(mutex_);
        stopRequested_ = true;
    }
    changed_.notify_all();
}

void QemuWatch::stop() {
    requestStop();
    if (thread_.joinable())
        thread_.join();
}

bool QemuWatch::finished() const {
    std::lock_guard lock(mutex_);
    return finished_;
}

bool QemuWatch::waitFor(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return finished_; });
}

TelemetrySnapshot QemuWatch::snapshot(std::size_t eventCursor, std::size_t sampleCursor) const {
    std::lock_guard lock(mutex_);
    TelemetrySnapshot copy = current_;
    copy.events.assign(current_.events.begin() + static_cast<std::ptrdiff_t>(
                                                     std::min(eventCursor, current_.events.size())),
                       current_.events.end());
    copy.nextEventIndex = current_.events.size();
    copy.samples.assign(current_.samples.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                       sampleCursor, current_.samples.size())),
                        current_.samples.end());
    copy.nextSampleIndex = current_.samples.size();
    return copy;
}

WatchReport QemuWatch::report() const {
    std::lock_guard lock(mutex_);
    return report_;
}

std::int64_t QemuWatch::historyId() const {
    std::lock_guard lock(mutex_);
    return historyId_;
}

std::string QemuWatch::historyError() const {
    std::lock_guard lock(mutex_);
    return historyError_;
}

namespace {

// Everything the watcher thread does between two polls; the mutex guards `current` and
// `report`, which readers copy.
class Poller {
public:
    Poller(QemuWatch::Watcher& watcher, std::mutex& mutex, TelemetrySnapshot& current,
           WatchReport& report)
        : w_(watcher), mutex_(mutex), current_(current), report_(report) {}

    void event(EventLevel level, Side side, std::string text, double timeMs = -1) {
        pending_.push_back({timeMs < 0 ? w_.nowMs() : timeMs, level, side, std::move(text)});
        if (!batching_)
            flushEvents();
    }

    // One poll of everything; throws QmpError when the source's QMP socket is lost. What a
    // poll learns joins the log in time order: QEMU stamps its events when they happened,
    // which is before this poll saw them.
    void poll() {
        batching_ = true;
        struct Flush {
            Poller& poller;
            ~Flush() {
                poller.batching_ = false;
                poller.flushEvents();
            }
        } flush{*this};
        const double now = w_.nowMs();
        takeEvents(*w_.source, Side::Source);
        const nlohmann::json migrate = w_.source->execute("query-migrate");
        const std::string statusText = migrate.value("status", "none");
        const MigrationStatus status = statusFromQemu(statusText);
        if (!w_.migrationSeen) {
            // A migration that ended before the watch began is not this watch's.
            if (status == MigrationStatus::None || isFinal(status)) {
                rememberPreexistingSockets();
                return;
            }
            w_.migrationSeen = true;
            event(EventLevel::Info, Side::Source,
                  "watching QEMU " + report_.qemuVersion + ", pid " +
                      std::to_string(report_.sourcePid) + ": migration " + statusText);
        }
        // A postcopy outage and its recovery, as QEMU's status goes through them.
        const bool paused = statusText == "postcopy-paused" && w_.lastStatusText != statusText;
        const bool recovered =
            statusText == "postcopy-active" &&
            (w_.lastStatusText == "postcopy-recover" || w_.lastStatusText == "postcopy-paused");
        if (statusText != w_.lastStatusText) {
            const bool failed = status == MigrationStatus::Failed;
            event(failed ? EventLevel::Error : EventLevel::Info, Side::Source,
                  "QEMU status " + statusText +
                      (failed ? ": " + migrate.value("error-desc", std::string("no error-desc"))
                              : ""));
            w_.lastStatusText = statusText;
        }
        const nlohmann::json guest = w_.source->execute("query-status");
        nlohmann::json destinationMigrate;
        if (w_.destination) {
            try {
                takeEvents(*w_.destination, Side::Destination);
                destinationMigrate = w_.destination->execute("query-migrate");
            } catch (const QmpError& error) {
                event(EventLevel::Warning, Side::Destination,
                      std::string("stopped watching the destination QEMU: ") + error.what());
                w_.destination.reset();
            }
        }
        pollKernel(now);
        pollThreads(now);

        std::lock_guard lock(mutex_);
        current_.status = status;
        current_.postcopy.pauses += paused ? 1 : 0;
        current_.postcopy.recoveries += recovered ? 1 : 0;
        updateStats(migrate);
        current_.phase = phaseOf(statusText, current_.stats.dirtySyncCount);
        if (status == MigrationStatus::Failed)
            current_.errorDesc =
                migrate.value("error-desc", std::string("QEMU gave no error-desc"));
        const std::string running = guest.value("status", "");
        current_.sourceGuest = running == "running"       ? GuestState::Running
                               : running == "postmigrate" ? GuestState::Postmigrate
                                                          : GuestState::Paused;
        if (!destinationMigrate.is_null())
            current_.destinationStatus = statusFromQemu(destinationMigrate.value("status", "none"));
        report_.sourceQueryMigrate = migrate.dump();
        if (!destinationMigrate.is_null())
            report_.destinationQueryMigrate = destinationMigrate.dump();
        publishChannels(now);
    }

    // After QEMU's final status: the kernel's last word on the sockets QEMU closed.
    void settle() {
        const double now = w_.nowMs();
        pollKernel(now);
        std::lock_guard lock(mutex_);
        publishChannels(now);
    }

private:
    void flushEvents() {
        std::stable_sort(pending_.begin(), pending_.end(),
                         [](const Event& a, const Event& b) { return a.timeMs < b.timeMs; });
        std::lock_guard lock(mutex_);
        current_.events.insert(current_.events.end(), pending_.begin(), pending_.end());
        pending_.clear();
    }

    void takeEvents(QmpClient& client, Side side) {
        for (const auto& qmpEvent : client.takeEvents()) {
            const double timeMs = (qmpEvent.timestampSeconds - w_.startEpochSeconds) * 1000;
            if (qmpEvent.name == "MIGRATION")
                event(EventLevel::Info, side,
                      "QMP event MIGRATION: " + qmpEvent.data.value("status", std::string("?")),
                      timeMs);
            else if (qmpEvent.name == "MIGRATION_PASS")
                event(EventLevel::Info, side,
                      "QMP event MIGRATION_PASS: dirty-sync-count " +
                          std::to_string(qmpEvent.data.value("pass", 0)),
                      timeMs);
            else if (qmpEvent.name == "SHUTDOWN" || qmpEvent.name == "STOP" ||
                     qmpEvent.name == "RESUME")
                event(EventLevel::Info, side, "QMP event " + qmpEvent.name, timeMs);
        }
    }

    void updateStats(const nlohmann::json& migrate) {
        MigrationStats& stats = current_.stats;
        const nlohmann::json ram = migrate.value("ram", nlohmann::json::object());
        stats.total = ram.value("total", stats.total);
        stats.transferred = ram.value("transferred", stats.transferred);
        stats.remaining = ram.value("remaining", stats.remaining);
        stats.duplicate = ram.value("duplicate", stats.duplicate);
        stats.normal = ram.value("normal", stats.normal);
        stats.dirtySyncCount = ram.value("dirty-sync-count", stats.dirtySyncCount);
        stats.dirtyPagesRate = ram.value("dirty-pages-rate", 0.0);
        stats.mbps = ram.value("mbps", 0.0);
        stats.expectedDowntimeMs = migrate.value("expected-downtime", stats.expectedDowntimeMs);
        stats.downtimeMs = migrate.value("downtime", stats.downtimeMs);
        stats.setupTimeMs = migrate.value("setup-time", stats.setupTimeMs);
        stats.totalTimeMs = migrate.value("total-time", stats.totalTimeMs);
        stats.cpuThrottlePercentage = migrate.value("cpu-throttle-percentage", 0u);
        const auto optional = [&ram](const char* name) -> std::optional<std::uint64_t> {
            if (const auto found = ram.find(name); found != ram.end() && found->is_number())
                return found->get<std::uint64_t>();
            return std::nullopt;
        };
        stats.precopyBytes = optional("precopy-bytes");
        stats.downtimeBytes = optional("downtime-bytes");
        stats.postcopyBytes = optional("postcopy-bytes");
        // QEMU counts the pages the destination faulted on and asked for; the latency of each
        // is not visible from outside.
        current_.postcopy.pageRequests = ram.value("postcopy-requests", std::uint64_t{0});
        if (current_.status == MigrationStatus::Completed)
            current_.progress = 1;
        else if (stats.total > 0 && current_.status == MigrationStatus::Active)
            current_.progress = std::max(current_.progress,
                                         std::min(0.99, 1 - static_cast<double>(stats.remaining) /
                                                                static_cast<double>(stats.total)));
    }

    static std::string phaseOf(const std::string& statusText, std::uint64_t dirtySyncCount) {
        if (statusText == "active")
            return dirtySyncCount <= 1 ? "bulk copy"
                                       : "dirty sync " + std::to_string(dirtySyncCount);
        if (statusText == "device" || statusText == "pre-switchover")
            return "switchover (" + statusText + ")";
        return statusText;
    }

    void rememberPreexistingSockets() {
        try {
            // Waiting costs one look at /proc while QEMU's sockets stay the same; the kernel
            // is asked only when they change.
            auto inodes = socketInodesOf(report_.sourcePid);
            if (inodes == w_.preexistingInodes)
                return;
            w_.preexistingInodes = inodes;
            for (const auto& socket : dumpTcpSockets())
                if (inodes.count(socket.inode))
                    w_.preexisting.insert(socket.cookie);
        } catch (const std::exception&) {
            // pollKernel reports the same failure once the migration is under way
        }
    }

    void pollKernel(double now) {
        std::vector<TcpSocket> sockets;
        try {
            sockets = dumpTcpSockets();
        } catch (const std::exception& error) {
            if (!w_.kernelWarned)
                event(EventLevel::Warning, Side::Source,
                      std::string("per-connection counters unavailable: ") + error.what());
            w_.kernelWarned = true;
            return;
        }
        if (w_.destroyed)
            for (auto& socket : w_.destroyed->take())
                w_.destroyedSockets[socket.cookie] = std::move(socket);
        const auto sourceInodes = socketInodesOf(report_.sourcePid);
        const auto destinationInodes = report_.destinationPid > 0
                                           ? socketInodesOf(report_.destinationPid)
                                           : std::map<std::uint32_t, int>{};
        std::map<std::uint64_t, const TcpSocket*> seen;
        std::vector<Connection> arrived;
        std::map<std::pair<std::string, std::string>, const TcpSocket*> atDestination;
        for (const auto& socket : sockets) {
            if (socket.state == TCP_LISTEN || !socket.info)
                continue;
            if (destinationInodes.count(socket.inode))
                atDestination[{socket.local, socket.remote}] = &socket;
            const auto fd = sourceInodes.find(socket.inode);
            if (fd == sourceInodes.end() || w_.preexisting.count(socket.cookie))
                continue;
            seen[socket.cookie] = &socket;
            const bool known =
                std::any_of(w_.connections.begin(), w_.connections.end(),
                            [&](const Connection& c) { return c.cookie == socket.cookie; });
            if (!known) {
                Connection connection;
                connection.cookie = socket.cookie;
                connection.fd = fd->second;
                connection.local = socket.local;
                connection.remote = socket.remote;
                arrived.push_back(std::move(connection));
            }
        }
        // Connections that appeared in the same poll: QEMU opens the main one first, and a
        // process gets the lowest free descriptor, so descriptor order is connection order.
        std::sort(arrived.begin(), arrived.end(),
                  [](const Connection& a, const Connection& b) { return a.fd < b.fd; });
        for (auto& connection : arrived) {
            label(connection, w_.connections.size());
            event(EventLevel::Info, Side::Source,
                  "connection " + connection.local + " -> " + connection.remote + " (fd " +
                      std::to_string(connection.fd) + ") labelled " + connection.label);
            w_.connections.push_back(std::move(connection));
        }
        for (auto& connection : w_.connections) {
            if (!connection.open)
                continue;
            if (const auto live = seen.find(connection.cookie); live != seen.end()) {
                connection.counters = *live->second->info;
            } else {
                connection.open = false;
                if (const auto last = w_.destroyedSockets.find(connection.cookie);
                    last != w_.destroyedSockets.end() && last->second.info)
                    connection.counters = *last->second.info;
            }
            if (const auto peer = atDestination.find({connection.remote, connection.local});
                peer != atDestination.end())
                connection.atDestination = *peer->second->info;
            else
                for (const auto& [cookie, socket] : w_.destroyedSockets)
                    if (socket.local == connection.remote && socket.remote == connection.local &&
                        socket.info)
                        connection.atDestination = *socket.info;
            connection.recent.emplace_back(now, connection.counters.bytesAcked);
        }
    }

    void label(Connection& connection, std::size_t order) const {
        if (order == 0) {
            connection.label = "main";
            connection.kind = ChannelKind::Main;
        } else if (w_.multifd && order <= w_.multifdChannels) {
            connection.label = "multifd-" + std::to_string(order - 1);
        } else {
            connection.label = "connection-" + std::to_string(order);
            connection.kind = ChannelKind::Main;
        }
    }

    void pollThreads(double now) {
        if (now - w_.threadSample.timeMs < kThreadCpuWindowMs &&
            !w_.threadSample.cpuSeconds.empty())
            return;
        askForMigrationThreads();
        std::vector<WatchedThread> threads;
        ThreadSample sample{now, {}};
        bool named = false;
        for (const auto& [side, pid] : {std::pair{Side::Source, report_.sourcePid},
                                        std::pair{Side::Destination, report_.destinationPid}}) {
            if (pid <= 0)
                continue;
            for (const auto& thread : watch::threadsOf(pid)) {
                sample.cpuSeconds[thread.tid] = thread.cpuSeconds;
                double percent = 0;
                if (const auto before = w_.threadSample.cpuSeconds.find(thread.tid);
                    before != w_.threadSample.cpuSeconds.end() && now > w_.threadSample.timeMs)
                    percent =
                        (thread.cpuSeconds - before->second) * 1e5 / (now - w_.threadSample.timeMs);
                std::string name = thread.name;
                if (const auto listed = w_.migrationThreads.find(thread.tid);
                    side == Side::Source && listed != w_.migrationThreads.end())
                    name = listed->second;
                named = named || isMigrationThreadName(name);
                threads.push_back({thread.tid, name, side, percent, thread.cpuSeconds});
            }
        }
        w_.threadSample = std::move(sample);
        if (named)
            std::erase_if(threads,
                          [](const WatchedThread& t) { return !isMigrationThreadName(t.name); });
        std::sort(threads.begin(), threads.end(),
                  [](const auto& a, const auto& b) { return a.cpuPercent > b.cpuPercent; });
        if (!named && threads.size() > 6)
            threads.resize(6);
        std::lock_guard lock(mutex_);
        report_.threadNamesKnown = named;
        report_.threadNamesFrom = !named                        ? ""
                                  : w_.migrationThreads.empty() ? "debug-threads"
                                                                : "query-migrationthreads";
        report_.threads = std::move(threads);
    }

    // The source's own list of its migration threads, where its QEMU has the command.
    void askForMigrationThreads() {
        if (w_.migrationThreadsMissing || !w_.migrationSeen)
            return;
        try {
            const nlohmann::json list = w_.source->execute("query-migrationthreads");
            std::map<pid_t, std::string> threads;
            for (const auto& thread : list)
                threads[thread.value("thread-id", 0)] = thread.value("name", std::string("?"));
            // Threads that ended keep their last name: a finished migration lists none.
            for (auto& [tid, name] : threads)
                w_.migrationThreads[tid] = std::move(name);
        } catch (const watch::QmpCommandError& error) {
            if (error.errorClass() != "CommandNotFound")
                return; // asked again at the next thread sample
            w_.migrationThreadsMissing = true;
            event(EventLevel::Info, Side::Source,
                  "QEMU " + report_.qemuVersion +
                      " has no query-migrationthreads (QEMU 8.0 added it): the threads' names "
                      "come from /proc (-name ...,debug-threads=on)");
        }
    }

    // Under the mutex.
    void publishChannels(double now) {
        current_.channels.clear();
        std::uint64_t totalBytes = 0;
        double totalRate = 0;
        for (auto& connection : w_.connections) {
            while (connection.recent.size() > 2 &&
                   connection.recent[1].first <= now - kSampleRateWindowMs)
                connection.recent.pop_front();
            const auto& [sinceMs, sinceBytes] = connection.recent.front();
            const double rate =
                now > sinceMs && connection.open
                    ? static_cast<double>(connection.counters.bytesAcked - sinceBytes) * 1000 /
                          (now - sinceMs)
                    : 0;
            ChannelSnapshot channel;
            channel.id = connection.label;
            channel.kind = connection.kind;
            channel.state = connection.open ? ChannelState::Open : ChannelState::Closed;
            channel.bytes = connection.counters.bytesAcked;
            channel.bytesReceived =
                connection.atDestination ? connection.atDestination->bytesReceived : 0;
            channel.tcp = connection.counters;
            channel.seenFromOutside = true;
            channel.tlsUnseen = w_.tls;
            channel.bidirectional = connection.kind == ChannelKind::Main;
            current_.channels.push_back(channel);
            current_.samples.push_back({now, channel.id, rate, channel.bytes});
            totalBytes += channel.bytes;
            totalRate += rate;
        }
        if (!w_.connections.empty())
            current_.samples.push_back({now, "total", totalRate, totalBytes});
    }

    QemuWatch::Watcher& w_;
    std::vector<Event> pending_; // this poll's events, until they join the log in order
    bool batching_ = false;
    std::mutex& mutex_;
    TelemetrySnapshot& current_;
    WatchReport& report_;
};

std::string describeConfig(const QemuWatch::Watcher& w, const WatchReport& report,
                           const WatchOptions& options) {
    std::string text = "watched QEMU " + report.qemuVersion + ", source pid " +
                       std::to_string(report.sourcePid) + " (QMP " + options.sourceQmp + ")";
    if (!options.destinationQmp.empty())
        text += ", destination pid " + std::to_string(report.destinationPid) + " (QMP " +
                options.destinationQmp + ")";
    text += "; capabilities:";
    for (const auto& [name, on] : w.capabilities.items())
        if (on.get<bool>())
            text += " " + name;
    text += "; parameters:";
    for (const auto& [name, value] : w.parameters.items())
        text += " " + name + "=" + describeValue(value);
    return text;
}

} // namespace

void QemuWatch::run() {
    Watcher& w = *watcher_;
    Poller poller(w, mutex_, current_, report_);
    std::unique_ptr<HistoryStore> history;
    std::int64_t runId = 0;
    if (options_.recordHistory) {
        try {
            history = std::make_unique<HistoryStore>(
                options_.historyPath.empty() ? HistoryStore::defaultPath() : options_.historyPath);
            runId = history->beginRun(uuidToString(generateUuid()),
                                      describeConfig(w, report(), options_), 0, w.multifdChannels,
                                      w.tls, RunRole::WatchedQemu,
                                      "pid " + std::to_string(report().sourcePid));
            std::lock_guard lock(mutex_);
            historyId_ = runId;
        } catch (const std::exception& error) {
            std::lock_guard lock(mutex_);
            historyError_ = error.what();
            history.reset();
        }
    }
    const auto takeLogs = [&] {
        std::lock_guard lock(mutex_);
        RunLogs logs;
        logs.events.assign(current_.events.begin() +
                               static_cast<std::ptrdiff_t>(w.historyEventCursor),
                           current_.events.end());
        logs.samples.assign(current_.samples.begin() +
                                static_cast<std::ptrdiff_t>(w.historySampleCursor),
                            current_.samples.end());
        return logs;
    };
    const auto markStored = [&](const RunLogs& logs) {
        w.historyEventCursor += logs.events.size();
        w.historySampleCursor += logs.samples.size();
    };

    std::optional<RunStatus> endedAs;
    std::string endNote;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, options_.pollInterval, [this] { return stopRequested_; });
            if (stopRequested_) {
                if (!isFinal(current_.status)) {
                    endedAs = RunStatus::Interrupted;
                    endNote = "the watch was stopped while QEMU's migration was " +
                              std::string(toString(current_.status)) +
                              "; the record keeps what was seen until then";
                }
                break;
            }
        }
        try {
            poller.poll();
        } catch (const QmpError& error) {
            endedAs = RunStatus::Interrupted;
            endNote = std::string("lost the source QEMU's QMP socket (") + error.what() +
                      "); the record keeps what was seen until then";
            break;
        }
        if (w.migrationSeen && isFinal(snapshot().status)) {
            std::this_thread::sleep_for(kFinalCountersWait);
            poller.settle();
            break;
        }
        if (history && w.nowMs() - w.lastFlushMs >= kHistoryFlushMs) {
            w.lastFlushMs = w.nowMs();
            try {
                const RunLogs logs = takeLogs();
                history->appendLogs(runId, logs);
                markStored(logs);
            } catch (const std::exception& error) {
                poller.event(EventLevel::Warning, Side::Source,
                             std::string("history: ") + error.what());
            }
        }
    }
    if (endedAs) {
        poller.event(EventLevel::Warning, Side::Source, endNote);
        std::lock_guard lock(mutex_);
        current_.errorDesc = endNote;
    }
    if (history) {
        const std::string problem =
            history->finishRunOrQueue(runId, snapshot(), takeLogs(), endedAs);
        if (!problem.empty()) {
            std::lock_guard lock(mutex_);
            historyError_ = problem;
        }
    }
    {
        std::lock_guard lock(mutex_);
        finished_ = true;
    }
    changed_.notify_all();
}

} // namespace migrascope
