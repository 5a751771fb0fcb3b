// What the kernel knows of TCP connections, read from outside the process that owns them:
// the socket diagnostics netlink interface (NETLINK_SOCK_DIAG / inet_diag, as `ss` reads it)
// and /proc/PID/fd.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <vector>

struct mnl_socket;

namespace migrascope {

struct TcpSocket {
    std::uint32_t inode = 0;  // 0 once the owning process let go of it
    std::uint64_t cookie = 0; // the kernel's id of the socket, stable for its life
    std::string local;        // "127.0.0.1:40122", "[::1]:4444"
    std::string remote;
    int state = 0; // TCP_ESTABLISHED, TCP_LISTEN, ... (netinet/tcp.h)
    std::optional<TcpKernelView> info;
};

// Every TCP socket of this network namespace (IPv4 and IPv6) with its tcp_info; throws
// std::runtime_error when the kernel refuses the request.
std::vector<TcpSocket> dumpTcpSockets();

// The addresses that name one TCP connection to the kernel, with its SO_COOKIE.
struct TcpSocketId {
    std::uint64_t cookie = 0;
    sockaddr_storage local{};
    sockaddr_storage remote{};
};
// The same connection's own end, from a socket this process holds: empty without a cookie;
// an address the socket cannot give stays AF_UNSPEC, and such an id is never found.
std::optional<TcpSocketId> tcpSocketIdOf(int fd);

// Closes a socket-diagnostics netlink socket: each class below owns one.
struct MnlSocketClose {
    void operator()(mnl_socket* socket) const;
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlSocketClose>;

// tcp_info of given connections through the socket diagnostics, one exact lookup each: the
// kernel finds each in its hash table, where a dump walks every bucket of it (2.5 ms for the
// 262,144 buckets of this machine, ten times a second). Safe where the socket may be closing
// meanwhile: a connection gone (or another with its addresses) is simply not found.
class TcpInfoLookup {
public:
    TcpInfoLookup();

    // Empty when the connection is gone; throws std::runtime_error when the kernel refuses.
    std::optional<TcpKernelView> find(const TcpSocketId& id);

private:
    MnlSocket socket_;
    unsigned sequence_ = 0;
};

// tcp_info of a socket this process holds (TCP_INFO); `unacked`, when given, receives the
// segments sent and not yet acknowledged. Empty when the kernel refuses.
std::optional<TcpKernelView> readTcpInfo(int fd, std::uint32_t* unacked = nullptr);

// The socket inodes a process holds, each with its lowest file descriptor; empty when the
// process is gone or not ours to read.
std::map<std::uint32_t, int> socketInodesOf(pid_t pid);

// The kernel's last word on each TCP socket it destroys (the SKNLGRP_INET_TCP_DESTROY
// multicast group): a connection's final counters, after its owner closed it. Needs
// CAP_NET_ADMIN.
class TcpDestroyListener {
public:
    // Throws std::runtime_error with the reason when the group cannot be joined.
    TcpDestroyListener();

    // The sockets destroyed since the last call; never waits.
    std::vector<TcpSocket> take();

private:
    MnlSocket socket_;
};

} // namespace migrascope
