// Where a destination's connections come in: a listener, and a bounded number of threads that
// see each new connection through its TLS handshake and its first bytes before it is handed on
// as a channel. A flood of connections that never identify themselves holds a few threads and
// descriptors for a bounded time, never one each for good.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/transport/connection.h"
#include "engine/transport/socket.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace migrascope {

class Telemetry;

// Connections turned away. The first is logged in full as the likely cause; later ones are
// usually its consequences, or a flood: counted by reason and logged together.
class RejectionLog {
public:
    explicit RejectionLog(Telemetry& telemetry) : telemetry_(telemetry) {}
    void reject(const std::string& peer, const std::string& why);
    // Logs the rejections counted since the last report, if one is due (or `force`).
    void report(bool force);
    std::string first() const;

private:
    void reportLocked(bool force);

    Telemetry& telemetry_;
    mutable std::mutex mutex_;
    std::string first_;
    std::map<std::string, unsigned> unreported_;
    std::chrono::steady_clock::time_point lastReport_{};
};

class ConnectionGate {
public:
    struct Options {
        std::string listenHost = "127.0.0.1";
        std::uint16_t port = 0; // 0 = ephemeral
        TlsParameters tls;      // credentials already loaded when enabled
        // A connection must finish its handshake and send its first bytes within this.
        std::chrono::milliseconds handshakeTimeout{10000};
        // At most this many connections are being identified at once; more wait in the
        // kernel's backlog until one is done.
        unsigned maxUnidentified = 32;
    };
    // Takes an identified connection, on the gate's thread, once it no longer can be reached
    // by stop(): the new owner serves (or closes) it.
    using Handoff = std::function<void(std::unique_ptr<Connection>)>;
    // Called on a gate thread with a connection whose handshake is done and which has sent
    // something; nothing of it is consumed (bytes read to decide are put back). Decides within
    // `deadline` who takes it (no one: it is closed), or throws to have it rejected with the
    // exception's text.
    using Route = std::function<Handoff(Connection&, const std::string& peer,
                                        std::chrono::steady_clock::time_point deadline)>;

    // `credentials` (null without TLS) and `rejections` must outlive the gate. Binds at once;
    // throws when the address cannot be bound.
    ConnectionGate(Options options, const TlsCredentials* credentials, RejectionLog& rejections,
                   Telemetry& telemetry, Route route);
    ~ConnectionGate();
    ConnectionGate(const ConnectionGate&) = delete;
    ConnectionGate& operator=(const ConnectionGate&) = delete;

    std::uint16_t port() const { return listener_.port(); }
    void start();
    // Stops accepting, shuts the connections still being identified and joins every thread.
    void stop();

private:
    struct Pending {
        Connection* connection = nullptr; // while stop() may shut it; owned by its thread
        std::thread thread;
        bool finished = false;
    };
    void acceptLoop();
    void identify(std::list<Pending>::iterator pending, std::unique_ptr<Connection> connection,
                  const std::string& peer);
    void reapFinished(); // with mutex_ held
    void backOff(int error);
    // Names what arrived when it is not a TLS handshake.
    static void classifyBeforeTls(Connection& connection);

    Options options_;
    const TlsCredentials* credentials_;
    RejectionLog& rejections_;
    Telemetry& telemetry_;
    Route route_;
    TcpListener listener_;
    std::thread acceptor_;

    std::mutex mutex_;
    std::condition_variable changed_;
    bool stopping_ = false;
    bool backingOff_ = false;
    std::list<Pending> pending_;
};

// Reads exactly `length` bytes, each wait bounded by `deadline`; throws MigrationError naming
// `what` when they do not come in time.
void readBefore(Connection& connection, void* data, std::size_t length,
                std::chrono::steady_clock::time_point deadline, const std::string& what);

} // namespace migrascope
