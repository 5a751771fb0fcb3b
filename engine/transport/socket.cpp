#include "engine/transport/socket.h"

#include "engine/common/migration_error.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace migrascope {

void UniqueFd::reset() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

std::string errnoText(int error) {
    char buffer[256];
    return strerror_r(error, buffer, sizeof buffer);
}

std::string describeSocketError(int error) {
    if (error == ETIMEDOUT)
        return errnoText(error) + " (the peer acknowledged nothing for " +
               std::to_string(kLinkLossTimeout.count() / 1000) + " s: the network to it is down)";
    if (error == ENETUNREACH || error == EHOSTUNREACH || error == ENETDOWN)
        return errnoText(error) + " (no route to the peer any more: the network to it is down)";
    return errnoText(error);
}

namespace {

void tune(int fd) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A link that goes down takes no FIN or RST with it: without these, a sender waits for the
    // kernel's retransmissions (about 15 minutes) and a reader waits for ever. Data unacknowledged
    // for the bound fails the send; an idle peer that answers no keepalive fails the read.
    const unsigned bound = static_cast<unsigned>(kLinkLossTimeout.count());
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &bound, sizeof bound);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    const int idle = 3;                                           // s before the first probe
    const int interval = 1;                                       // s between probes
    const int probes = static_cast<int>(bound / 1000) - idle + 1; // together about the bound
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

std::string describePeer(const sockaddr_storage& address) {
    char host[NI_MAXHOST] = "?";
    char port[NI_MAXSERV] = "?";
    getnameinfo(reinterpret_cast<const sockaddr*>(&address), sizeof address, host, sizeof host,
                port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    return std::string(host) + ":" + port;
}

} // namespace

namespace {

// A non-blocking connect, waited for in slices so that a cancel is noticed. Returns 0 or the
// errno; ETIMEDOUT when the deadline passed, ECANCELED when cancelled.
int connectWithin(int fd, const sockaddr* address, socklen_t length,
                  std::chrono::steady_clock::time_point deadline,
                  const std::function<bool()>& cancelled) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int error = ::connect(fd, address, length) == 0 ? 0 : errno;
    while (error == EINPROGRESS || error == EINTR) {
        if (cancelled && cancelled())
            return ECANCELED;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return ETIMEDOUT;
        pollfd writable{fd, POLLOUT, 0};
        const int rc =
            ::poll(&writable, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
        if (rc < 0) {
            error = errno;
            continue;
        }
        if (rc == 0)
            continue;
        socklen_t size = sizeof error;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
            error = errno;
    }
    ::fcntl(fd, F_SETFL, flags);
    return error;
}

} // namespace

UniqueFd connectTcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                    const std::function<bool()>& cancelled) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* results = nullptr;
    const std::string service = std::to_string(port);
    const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &results);
    if (rc != 0)
        throw MigrationError("cannot resolve destination host '" + host + "': " + gai_strerror(rc));
    std::string lastError = "no address";
    UniqueFd connected;
    for (addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
        UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        if (!fd.valid()) {
            lastError = errnoText(errno);
            continue;
        }
        const int error = connectWithin(fd.get(), ai->ai_addr, ai->ai_addrlen, deadline, cancelled);
        if (error == 0) {
            tune(fd.get());
            connected = std::move(fd);
            break;
        }
        lastError = error == ETIMEDOUT ? "no answer within " + std::to_string(timeout.count()) +
                                             " ms (connect-timeout)"
                    : error == ECANCELED ? "cancelled while connecting"
                                         : errnoText(error);
        if (error == ETIMEDOUT || error == ECANCELED)
            break;
    }
    freeaddrinfo(results);
    if (!connected.valid())
        throw ConnectionError("cannot connect to " + host + ":" + service + ": " + lastError);
    return connected;
}

TcpListener::TcpListener(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* results = nullptr;
    const std::string service = std::to_string(port);
    const int rc =
        getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &results);
    if (rc != 0)
        throw MigrationError("cannot resolve listen address '" + host + "': " + gai_strerror(rc));
    std::string lastError = "no address";
    for (addrinfo* ai = results; ai != nullptr && !fd_.valid(); ai = ai->ai_next) {
        UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        const int one = 1;
        if (fd.valid())
            setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd.valid() && ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0 &&
            ::listen(fd.get(), 64) == 0)
            fd_ = std::move(fd);
        else
            lastError = errnoText(errno);
    }
    freeaddrinfo(results);
    if (!fd_.valid())
        throw MigrationError("cannot listen on " + host + ":" + service + ": " + lastError);
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

UniqueFd TcpListener::accept(std::string& peer, int& error) {
    error = 0;
    for (;;) {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        const int fd =
            ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
        if (fd >= 0) {
            tune(fd);
            peer = describePeer(address);
            return UniqueFd(fd);
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        error = errno;
        return UniqueFd();
    }
}

void TcpListener::shutdown() {
    ::shutdown(fd_.get(), SHUT_RDWR);
}

} // namespace migrascope
