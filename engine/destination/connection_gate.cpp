#include "engine/destination/connection_gate.h"

#include "engine/common/migration_error.h"
#include "engine/telemetry/telemetry.h"
#include "engine/wire/main_stream.h"
#include "engine/wire/multifd_wire.h"
#include "engine/wire/wire.h"

#include <cerrno>
#include <cstdio>

namespace migrascope {

void RejectionLog::reject(const std::string& peer, const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        if (!first_.empty()) {
            ++unreported_[why];
            reportLocked(false);
            return;
        }
        first_ = why;
        lastReport_ = std::chrono::steady_clock::now();
    }
    telemetry_.event(EventLevel::Error, Side::Destination,
                     "rejected connection from " + peer + ": " + why);
}

void RejectionLog::report(bool force) {
    std::lock_guard lock(mutex_);
    reportLocked(force);
}

void RejectionLog::reportLocked(bool force) {
    constexpr auto kReportEvery = std::chrono::seconds(5);
    const auto now = std::chrono::steady_clock::now();
    if (unreported_.empty() || (!force && now - lastReport_ < kReportEvery))
        return;
    unsigned total = 0;
    std::string reasons;
    for (const auto& [why, count] : unreported_) {
        total += count;
        reasons += (reasons.empty() ? "" : "; ") + std::to_string(count) + " x " + why;
    }
    unreported_.clear();
    lastReport_ = now;
    telemetry_.event(EventLevel::Warning, Side::Destination,
                     "rejected " + std::to_string(total) + " more connections: " + reasons);
}

std::string RejectionLog::first() const {
    std::lock_guard lock(mutex_);
    return first_;
}

void readBefore(Connection& connection, void* data, std::size_t length,
                std::chrono::steady_clock::time_point deadline, const std::string& what) {
    auto* bytes = static_cast<std::uint8_t*>(data);
    while (length > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !connection.waitReadable(left))
            throw MigrationError(what);
        const std::size_t got = connection.recvSome(bytes, length);
        if (got == 0)
            throw MigrationError("the connection closed before it said what it is");
        bytes += got;
        length -= got;
    }
}

ConnectionGate::ConnectionGate(Options options, const TlsCredentials* credentials,
                               RejectionLog& rejections, Telemetry& telemetry, Route route)
    : options_(std::move(options)), credentials_(credentials), rejections_(rejections),
      telemetry_(telemetry), route_(std::move(route)),
      listener_(options_.listenHost, options_.port) {}

ConnectionGate::~ConnectionGate() {
    stop();
}

void ConnectionGate::start() {
    acceptor_ = std::thread([this] { acceptLoop(); });
}

void ConnectionGate::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !acceptor_.joinable())
            return;
        stopping_ = true;
        for (auto& pending : pending_)
            if (pending.connection)
                pending.connection->shutdown();
    }
    changed_.notify_all();
    listener_.shutdown();
    if (acceptor_.joinable())
        acceptor_.join();
    // The acceptor has stopped, so no thread is added from here on; an entry is erased only
    // by the acceptor, after its thread was joined.
    for (auto& pending : pending_)
        if (pending.thread.joinable())
            pending.thread.join();
    std::lock_guard lock(mutex_);
    pending_.clear();
}

void ConnectionGate::acceptLoop() {
    for (;;) {
        {
            // A connection is taken only when a slot to identify it is free; the rest wait in
            // the kernel's backlog, so a flood cannot take a thread and a descriptor each, and
            // a real channel behind it is served once the flood's silent ones time out.
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [this] {
                reapFinished();
                return pending_.size() < options_.maxUnidentified || stopping_;
            });
            if (stopping_)
                return;
        }
        std::string peer;
        int error = 0;
        UniqueFd fd = listener_.accept(peer, error);
        if (!fd.valid() &&
            (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM)) {
            backOff(error);
            continue;
        }
        std::lock_guard lock(mutex_);
        if (!fd.valid() || stopping_)
            return;
        backingOff_ = false;
        auto connection = std::make_unique<Connection>(std::move(fd), peer);
        auto pending = pending_.emplace(pending_.end());
        pending->connection = connection.get();
        pending->thread =
            std::thread([this, pending, peer, owned = std::move(connection)]() mutable {
                identify(pending, std::move(owned), peer);
            });
    }
}

void ConnectionGate::reapFinished() {
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (!it->finished) {
            ++it;
            continue;
        }
        it->thread.join(); // it has set finished as its last act
        it = pending_.erase(it);
    }
}

void ConnectionGate::backOff(int error) {
    std::unique_lock lock(mutex_);
    if (!backingOff_) {
        backingOff_ = true;
        lock.unlock();
        telemetry_.event(EventLevel::Warning, Side::Destination,
                         "cannot accept connections: " + errnoText(error) +
                             "; retrying every 100 ms until descriptors are free");
        lock.lock();
    }
    // The pending connection stays in the kernel's backlog; it is taken once one is free.
    changed_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
}

void ConnectionGate::classifyBeforeTls(Connection& connection) {
    std::uint8_t first[4] = {};
    const std::size_t got = connection.peek(first, sizeof first);
    if (got == 0)
        throw MigrationError("the connection closed before sending anything");
    if (first[0] == 0x16) // a TLS handshake record
        return;
    if (got == 4 && (wire::get32(first) == kVmFileMagic || wire::get32(first) == kMultifdMagic))
        throw MigrationError("a plain-text migration channel arrived at a TLS destination (is "
                             "TLS off at the source?)");
    char text[32];
    std::snprintf(text, sizeof text, "0x%02x%02x%02x%02x", first[0], first[1], first[2], first[3]);
    throw MigrationError(std::string("not a TLS handshake: the first bytes are ") +
                         std::string(text, 2 + 2 * got));
}

void ConnectionGate::identify(std::list<Pending>::iterator pending,
                              std::unique_ptr<Connection> connection, const std::string& peer) {
    Handoff handoff;
    try {
        // Bounded: a connection that says nothing, or stalls in its handshake, is dropped.
        const auto timeout = options_.handshakeTimeout;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        const std::string within = std::to_string(timeout.count()) + " ms (handshake-timeout)";
        if (!connection->waitReadable(timeout))
            throw MigrationError("it sent nothing within " + within);
        if (credentials_) {
            classifyBeforeTls(*connection);
            // Any connection may turn out to be the main channel, read and written at once.
            connection->setProtection(TlsProtection::SessionLock);
            connection->setHandshakeTimeout(timeout);
            connection->startTlsServer(*credentials_, options_.tls.priority, options_.tls.authz);
        }
        std::uint8_t first4[4];
        readBefore(*connection, first4, sizeof first4, deadline,
                   "it named no channel within " + within + " of connecting");
        if (!credentials_ && first4[0] == 0x16 && first4[1] == 0x03)
            throw MigrationError("a TLS handshake arrived at a plain-text destination (is TLS on "
                                 "at the source and off here?)");
        connection->unread(first4, sizeof first4);
        handoff = route_(*connection, peer, deadline);
    } catch (const std::exception& error) {
        rejections_.reject(peer, error.what());
        connection->shutdown();
    }
    {
        std::lock_guard lock(mutex_);
        pending->connection = nullptr;
    }
    if (handoff)
        handoff(std::move(connection));
    connection.reset();
    {
        std::lock_guard lock(mutex_);
        pending->finished = true;
    }
    changed_.notify_all(); // the acceptor may take the next connection
}

} // namespace migrascope
