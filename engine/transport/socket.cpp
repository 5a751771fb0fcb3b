#include "engine/transport/socket.h"

#include "engine/common/migration_error.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

namespace {

void tune(int fd) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string describePeer(const sockaddr_storage& address) {
    char host[NI_MAXHOST] = "?";
    char port[NI_MAXSERV] = "?";
    getnameinfo(reinterpret_cast<const sockaddr*>(&address), sizeof address, host, sizeof host,
                port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    return std::string(host) + ":" + port;
}

} // namespace

UniqueFd connectTcp(const std::string& host, std::uint16_t port) {
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
        if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
            tune(fd.get());
            connected = std::move(fd);
            break;
        }
        lastError = errnoText(errno);
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
