// TCP sockets with one owner each; shutdown() is the one call another thread may make.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace migrascope {

// How long a connection may go without its peer acknowledging anything (sent data, or a
// keepalive on an idle connection) before it fails with ETIMEDOUT: a link that is down.
inline constexpr std::chrono::milliseconds kLinkLossTimeout{15000};

// Why a socket operation failed, in words; a timeout says what it means here.
std::string describeSocketError(int error);

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = other.release();
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset();

private:
    int fd_ = -1;
};

// Throws ConnectionError naming host:port and the reason: no answer within `timeout` (a host
// that drops our SYNs), or `cancelled` returned true (asked every 100 ms while waiting).
UniqueFd connectTcp(const std::string& host, std::uint16_t port,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20),
                    const std::function<bool()>& cancelled = {});

class TcpListener {
public:
    // port 0 = an ephemeral port, read back with port().
    TcpListener(const std::string& host, std::uint16_t port);
    std::uint16_t port() const { return port_; }
    // Blocks until a connection arrives. An invalid fd with `error` set when none could be
    // taken: EINVAL once shutdown() was called; EMFILE, ENFILE, ENOBUFS or ENOMEM while the
    // process or system is out of descriptors or memory, which the owner should wait out.
    UniqueFd accept(std::string& peer, int& error);
    // For owners that stop at any failure.
    UniqueFd accept(std::string& peer) {
        int error = 0;
        return accept(peer, error);
    }
    void shutdown();

private:
    UniqueFd fd_;
    std::uint16_t port_ = 0;
};

std::string errnoText(int error);

} // namespace migrascope
