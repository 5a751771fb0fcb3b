#include "engine/watch/qmp_client.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace migrascope::watch {
namespace {

// QEMU's largest answers (query-qmp-schema) are a few hundred KiB; a peer that sends more
// without a newline is not speaking QMP.
constexpr std::size_t kMaxLine = 16u << 20;

std::string excerpt(std::string_view text) {
    constexpr std::size_t kShown = 80;
    std::string shown(text.substr(0, kShown));
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20)
            c = ' ';
    return "'" + shown + (text.size() > kShown ? "...'" : "'");
}

} // namespace

QmpCommandError::QmpCommandError(std::string command, std::string errorClass, std::string desc)
    : QmpError("QMP " + command + " failed: " + desc + " (" + errorClass + ")"),
      errorClass_(std::move(errorClass)), desc_(std::move(desc)) {}

QmpClient::QmpClient(std::string path, std::chrono::milliseconds timeout) : path_(std::move(path)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.empty() || path_.size() >= sizeof(address.sun_path))
        throw QmpError("QMP socket path '" + path_ + "' is empty or longer than " +
                       std::to_string(sizeof(address.sun_path) - 1) + " bytes");
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0)
        throw QmpError(std::string("cannot create a Unix socket: ") + std::strerror(errno));
    // A Unix socket connects at once or fails: no deadline needed here.
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        const int error = errno;
        ::close(fd_);
        fd_ = -1;
        throw QmpError("cannot connect to QMP socket " + path_ + ": " + std::strerror(error));
    }
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    if (::getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0)
        peerPid_ = credentials.pid;

    try {
        const auto deadline = Clock::now() + timeout;
        // QEMU serves one client per QMP socket and leaves the next waiting, silent, in the
        // backlog: a missing greeting usually means someone else holds the monitor.
        const nlohmann::json greeting = readMessage(
            deadline, "its greeting (a QMP socket serves one client at a time: if libvirt or a "
                      "script holds it, give QEMU a second monitor for Migrascope, -qmp "
                      "unix:PATH,server=on,wait=off)");
        const auto qmp = greeting.find("QMP");
        if (qmp == greeting.end() || !qmp->is_object())
            throw QmpError(path_ + " is not a QMP socket: its first message " +
                           excerpt(greeting.dump()) + " is not a QMP greeting");
        const auto& qemu =
            qmp->value("version", nlohmann::json::object()).value("qemu", nlohmann::json::object());
        version_ = std::to_string(qemu.value("major", 0)) + "." +
                   std::to_string(qemu.value("minor", 0)) + "." +
                   std::to_string(qemu.value("micro", 0));
        package_ = qmp->value("version", nlohmann::json::object()).value("package", "");
        execute("qmp_capabilities", nlohmann::json::object(), timeout);
    } catch (...) {
        ::close(fd_);
        fd_ = -1;
        throw;
    }
}

QmpClient::~QmpClient() {
    if (fd_ >= 0)
        ::close(fd_);
}

nlohmann::json QmpClient::execute(const std::string& command, const nlohmann::json& arguments,
                                  std::chrono::milliseconds timeout) {
    const auto id = nextId_++;
    nlohmann::json request = {{"execute", command}, {"id", id}};
    if (!arguments.empty())
        request["arguments"] = arguments;
    writeLine(request.dump() + "\n");
    const auto deadline = Clock::now() + timeout;
    const std::string waitingFor = "the answer to " + command;
    for (;;) {
        nlohmann::json message = readMessage(deadline, waitingFor.c_str());
        if (message.contains("event")) {
            queueIfEvent(message);
            continue;
        }
        // An answer without our id belongs to nobody: this client sends one command at a time.
        if (message.value("id", nlohmann::json()) != nlohmann::json(id))
            continue;
        if (const auto error = message.find("error"); error != message.end())
            throw QmpCommandError(command, error->value("class", "unknown"),
                                  error->value("desc", "no description"));
        if (const auto result = message.find("return"); result != message.end())
            return *result;
        throw QmpError(path_ + " answered " + command +
                       " with neither return nor error: " + excerpt(message.dump()));
    }
}

std::deque<QmpEvent> QmpClient::takeEvents() {
    while (readAvailable(Clock::now(), "events")) {
        std::size_t newline;
        while ((newline = buffer_.find('\n')) != std::string::npos) {
            const std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            const auto message = nlohmann::json::parse(line, nullptr, false);
            if (message.is_object())
                queueIfEvent(message);
        }
    }
    return std::exchange(events_, {});
}

nlohmann::json QmpClient::readMessage(Clock::time_point deadline, const char* waitingFor) {
    for (;;) {
        std::size_t newline;
        while ((newline = buffer_.find('\n')) != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (line.empty())
                continue;
            auto message = nlohmann::json::parse(line, nullptr, false);
            if (message.is_discarded() || !message.is_object())
                throw QmpError(path_ + " is not a QMP socket: it sent " + excerpt(line) +
                               ", which is not a JSON object");
            return message;
        }
        if (buffer_.size() > kMaxLine)
            throw QmpError(path_ + " is not a QMP socket: it sent " +
                           std::to_string(buffer_.size()) + " bytes without a line end");
        if (Clock::now() >= deadline)
            throw QmpError(path_ + " sent nothing more within the deadline while waiting for " +
                           waitingFor);
        if (!readAvailable(deadline, waitingFor) && Clock::now() >= deadline)
            throw QmpError(path_ + " did not answer within the deadline while waiting for " +
                           waitingFor);
    }
}

// Waits until data arrives or the deadline passes; appends what arrived. False when nothing
// did. Throws when the peer closed the connection.
bool QmpClient::readAvailable(Clock::time_point deadline, const char* waitingFor) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd entry{fd_, POLLIN, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::max<long long>(0, left)));
    if (ready < 0 && errno != EINTR)
        throw QmpError("waiting on QMP socket " + path_ + ": " + std::strerror(errno));
    if (ready <= 0)
        return false;
    char chunk[65536];
    const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got == 0)
        throw QmpError(path_ + " closed the QMP connection while Migrascope was waiting for " +
                       waitingFor);
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return false;
        throw QmpError("reading QMP socket " + path_ + ": " + std::strerror(errno));
    }
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
}

void QmpClient::writeLine(const std::string& line) {
    std::size_t written = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (written < line.size()) {
        const ssize_t sent =
            ::send(fd_, line.data() + written, line.size() - written, MSG_NOSIGNAL);
        if (sent > 0) {
            written += static_cast<std::size_t>(sent);
            continue;
        }
        if (sent < 0 && errno != EAGAIN && errno != EINTR)
            throw QmpError("writing to QMP socket " + path_ + ": " + std::strerror(errno));
        if (Clock::now() >= deadline)
            throw QmpError("QMP socket " + path_ + " accepted no command for 5 s");
        pollfd entry{fd_, POLLOUT, 0};
        ::poll(&entry, 1, 100);
    }
}

void QmpClient::queueIfEvent(const nlohmann::json& message) {
    const auto name = message.find("event");
    if (name == message.end() || !name->is_string())
        return;
    QmpEvent event;
    event.name = name->get<std::string>();
    event.data = message.value("data", nlohmann::json::object());
    const auto stamp = message.value("timestamp", nlohmann::json::object());
    event.timestampSeconds = static_cast<double>(stamp.value("seconds", 0LL)) +
                             static_cast<double>(stamp.value("microseconds", 0LL)) / 1e6;
    events_.push_back(std::move(event));
}

} // namespace migrascope::watch
