// A client of QEMU's machine protocol (QMP): JSON objects, one per line, over a Unix socket.
// The server greets, the client negotiates with qmp_capabilities, then every command carries
// an id and is answered by a "return" or an "error" with that id; events arrive in between.
// One thread uses an instance; every read has a deadline.
#pragma once

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <sys/types.h>

namespace migrascope::watch {

// The socket could not be reached, is not QMP, went silent past a deadline, or closed.
class QmpError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// QEMU answered a command with an error: its class ("CommandNotFound", "GenericError") and
// its description.
class QmpCommandError : public QmpError {
public:
    QmpCommandError(std::string command, std::string errorClass, std::string desc);
    const std::string& errorClass() const { return errorClass_; }
    const std::string& desc() const { return desc_; }

private:
    std::string errorClass_;
    std::string desc_;
};

struct QmpEvent {
    std::string name; // "MIGRATION", "MIGRATION_PASS", ...
    nlohmann::json data;
    double timestampSeconds = 0; // QEMU's clock (seconds since the epoch)
};

class QmpClient {
public:
    using Clock = std::chrono::steady_clock;

    // Connects to the socket at `path`, reads the greeting and enters command mode; throws
    // QmpError naming the path and what went wrong.
    QmpClient(std::string path, std::chrono::milliseconds timeout);
    ~QmpClient();
    QmpClient(const QmpClient&) = delete;
    QmpClient& operator=(const QmpClient&) = delete;

    const std::string& path() const { return path_; }
    // The greeting's QEMU version, "7.2.22", and its package string.
    const std::string& version() const { return version_; }
    const std::string& package() const { return package_; }
    // The process at the other end (SO_PEERCRED); 0 when the kernel does not say.
    pid_t peerPid() const { return peerPid_; }

    // Sends a command and waits for its answer; returns the "return" value. Events read in
    // the meantime are queued.
    nlohmann::json execute(const std::string& command,
                           const nlohmann::json& arguments = nlohmann::json::object(),
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Reads what has arrived without waiting and returns the queued events.
    std::deque<QmpEvent> takeEvents();

private:
    nlohmann::json readMessage(Clock::time_point deadline, const char* waitingFor);
    bool readAvailable(Clock::time_point deadline, const char* waitingFor);
    void writeLine(const std::string& line);
    void queueIfEvent(const nlohmann::json& message);

    std::string path_;
    int fd_ = -1;
    std::string buffer_;
    std::deque<QmpEvent> events_;
    std::string version_;
    std::string package_;
    pid_t peerPid_ = 0;
    unsigned long long nextId_ = 1;
};

} // namespace migrascope::watch
