#include "engine/transport/socket_diag.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <memory>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace migrascope {
namespace {

// MNL_SOCKET_BUFFER_SIZE is computed at run time; the kernel sends dumps in pages of at most
// 32 KiB.
constexpr std::size_t kBufferSize = 32768;

std::string endpoint(int family, const __be32* address, __be16 port) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, address, text, sizeof(text));
    const std::string host = family == AF_INET6 ? "[" + std::string(text) + "]" : text;
    return host + ":" + std::to_string(ntohs(port));
}

TcpKernelView viewOf(const tcp_info& info) {
    TcpKernelView view;
    view.bytesAcked = info.tcpi_bytes_acked;
    view.bytesReceived = info.tcpi_bytes_received;
    view.rttUs = info.tcpi_rtt;
    view.retransmits = info.tcpi_total_retrans;
    view.sendCongestionWindow = info.tcpi_snd_cwnd;
    return view;
}

int readSocket(const nlmsghdr* header, void* data) {
    auto* sockets = static_cast<std::vector<TcpSocket>*>(data);
    const auto* message = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(header));
    TcpSocket socket;
    socket.inode = message->idiag_inode;
    socket.cookie = (static_cast<std::uint64_t>(message->id.idiag_cookie[1]) << 32) |
                    message->id.idiag_cookie[0];
    socket.local = endpoint(message->idiag_family, message->id.idiag_src, message->id.idiag_sport);
    socket.remote = endpoint(message->idiag_family, message->id.idiag_dst, message->id.idiag_dport);
    socket.state = message->idiag_state;
    const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(header));
    for (auto* attribute =
             static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(header, sizeof(*message)));
         mnl_attr_ok(attribute, static_cast<int>(tail - reinterpret_cast<const char*>(attribute)));
         attribute = mnl_attr_next(attribute)) {
        if (mnl_attr_get_type(attribute) != INET_DIAG_INFO)
            continue;
        // An older kernel's tcp_info is shorter: what it lacks stays zero.
        tcp_info info{};
        std::memcpy(&info, mnl_attr_get_payload(attribute),
                    std::min<std::size_t>(mnl_attr_get_payload_len(attribute), sizeof(info)));
        socket.info = viewOf(info);
    }
    sockets->push_back(std::move(socket));
    return MNL_CB_OK;
}

// An IPv4 or IPv6 address and port, as inet_diag names a socket's end.
void putEndpoint(const sockaddr_storage& from, __be16& port, __be32* address) {
    if (from.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(from);
        port = in.sin_port;
        std::memcpy(address, &in.sin_addr, sizeof(in.sin_addr));
    } else {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(from);
        port = in6.sin6_port;
        std::memcpy(address, &in6.sin6_addr, sizeof(in6.sin6_addr));
    }
}

MnlSocket openDiagSocket(unsigned groups) {
    MnlSocket socket(mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC));
    if (!socket)
        throw std::runtime_error(std::string("cannot open a socket-diagnostics netlink socket: ") +
                                 std::strerror(errno));
    if (mnl_socket_bind(socket.get(), groups, MNL_SOCKET_AUTOPID) < 0)
        throw std::runtime_error(std::string("cannot bind a socket-diagnostics netlink socket: ") +
                                 std::strerror(errno));
    return socket;
}

void dumpFamily(mnl_socket* socket, std::uint8_t family, std::vector<TcpSocket>& sockets) {
    alignas(nlmsghdr) char buffer[kBufferSize];
    nlmsghdr* header = mnl_nlmsg_put_header(buffer);
    header->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    header->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    const unsigned sequence = static_cast<unsigned>(::time(nullptr));
    header->nlmsg_seq = sequence;
    auto* request = static_cast<inet_diag_req_v2*>(
        mnl_nlmsg_put_extra_header(header, sizeof(inet_diag_req_v2)));
    request->sdiag_family = family;
    request->sdiag_protocol = IPPROTO_TCP;
    request->idiag_ext = 1u << (INET_DIAG_INFO - 1);
    request->idiag_states = ~0u;
    if (mnl_socket_sendto(socket, header, header->nlmsg_len) < 0)
        throw std::runtime_error(std::string("cannot ask the kernel for its TCP sockets: ") +
                                 std::strerror(errno));
    const unsigned portId = mnl_socket_get_portid(socket);
    for (;;) {
        const ssize_t got = mnl_socket_recvfrom(socket, buffer, sizeof(buffer));
        if (got < 0)
            throw std::runtime_error(std::string("reading the kernel's TCP sockets: ") +
                                     std::strerror(errno));
        const int result = mnl_cb_run(buffer, static_cast<std::size_t>(got), sequence, portId,
                                      readSocket, &sockets);
        if (result == MNL_CB_STOP)
            return;
        if (result == MNL_CB_ERROR)
            throw std::runtime_error(std::string("the kernel refused to list its TCP sockets: ") +
                                     std::strerror(errno));
    }
}

} // namespace

void MnlSocketClose::operator()(mnl_socket* socket) const {
    mnl_socket_close(socket);
}

std::vector<TcpSocket> dumpTcpSockets() {
    auto socket = openDiagSocket(0);
    std::vector<TcpSocket> sockets;
    dumpFamily(socket.get(), AF_INET, sockets);
    dumpFamily(socket.get(), AF_INET6, sockets);
    return sockets;
}

std::optional<TcpSocketId> tcpSocketIdOf(int fd) {
    TcpSocketId id;
    socklen_t length = sizeof(id.cookie);
    if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &id.cookie, &length) != 0)
        return std::nullopt;
    length = sizeof(id.local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&id.local), &length) != 0)
        id.local.ss_family = AF_UNSPEC;
    length = sizeof(id.remote);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&id.remote), &length) != 0)
        id.remote.ss_family = AF_UNSPEC;
    return id;
}

TcpInfoLookup::TcpInfoLookup() : socket_(openDiagSocket(0)) {}

std::optional<TcpKernelView> TcpInfoLookup::find(const TcpSocketId& id) {
    const int family = id.local.ss_family;
    if ((family != AF_INET && family != AF_INET6) || id.remote.ss_family != family)
        return std::nullopt;
    alignas(nlmsghdr) char buffer[kBufferSize];
    nlmsghdr* header = mnl_nlmsg_put_header(buffer);
    header->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    header->nlmsg_flags = NLM_F_REQUEST; // one socket, found by its addresses: no dump
    header->nlmsg_seq = ++sequence_;
    auto* request = static_cast<inet_diag_req_v2*>(
        mnl_nlmsg_put_extra_header(header, sizeof(inet_diag_req_v2)));
    request->sdiag_family = static_cast<std::uint8_t>(family);
    request->sdiag_protocol = IPPROTO_TCP;
    request->idiag_ext = 1u << (INET_DIAG_INFO - 1);
    request->idiag_states = ~0u;
    putEndpoint(id.local, request->id.idiag_sport, request->id.idiag_src);
    putEndpoint(id.remote, request->id.idiag_dport, request->id.idiag_dst);
    // The kernel answers only for the socket with this cookie: addresses reused by a later
    // connection are not taken for this one.
    request->id.idiag_cookie[0] = static_cast<std::uint32_t>(id.cookie);
    request->id.idiag_cookie[1] = static_cast<std::uint32_t>(id.cookie >> 32);
    if (mnl_socket_sendto(socket_.get(), header, header->nlmsg_len) < 0)
        throw std::runtime_error(std::string("cannot ask the kernel for a TCP socket: ") +
                                 std::strerror(errno));
    const ssize_t got = mnl_socket_recvfrom(socket_.get(), buffer, sizeof(buffer));
    if (got < 0)
        throw std::runtime_error(std::string("reading the kernel's TCP socket: ") +
                                 std::strerror(errno));
    std::vector<TcpSocket> found;
    const int result = mnl_cb_run(buffer, static_cast<std::size_t>(got), sequence_,
                                  mnl_socket_get_portid(socket_.get()), readSocket, &found);
    if (result == MNL_CB_ERROR) {
        if (errno == ENOENT || errno == ESTALE)
            return std::nullopt; // closed meanwhile, or its addresses belong to another now
        throw std::runtime_error(std::string("the kernel refused to look up a TCP socket: ") +
                                 std::strerror(errno));
    }
    if (found.empty() || found.front().cookie != id.cookie)
        return std::nullopt;
    return found.front().info;
}

std::optional<TcpKernelView> readTcpInfo(int fd, std::uint32_t* unacked) {
    tcp_info info{};
    socklen_t length = sizeof(info);
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0)
        return std::nullopt;
    if (unacked)
        *unacked = info.tcpi_unacked;
    return viewOf(info);
}

std::map<std::uint32_t, int> socketInodesOf(pid_t pid) {
    std::map<std::uint32_t, int> inodes;
    const std::string folder = "/proc/" + std::to_string(pid) + "/fd";
    std::unique_ptr<DIR, int (*)(DIR*)> directory(::opendir(folder.c_str()), ::closedir);
    if (!directory)
        return inodes;
    while (const dirent* entry = ::readdir(directory.get())) {
        if (entry->d_name[0] == '.')
            continue;
        char target[64] = {};
        const std::string link = folder + "/" + entry->d_name;
        const ssize_t length = ::readlink(link.c_str(), target, sizeof(target) - 1);
        unsigned long inode = 0;
        if (length <= 0 || std::sscanf(target, "socket:[%lu]", &inode) != 1)
            continue;
        const int fd = std::atoi(entry->d_name);
        const auto key = static_cast<std::uint32_t>(inode);
        if (const auto known = inodes.find(key); known == inodes.end() || fd < known->second)
            inodes[key] = fd;
    }
    return inodes;
}

TcpDestroyListener::TcpDestroyListener() {
    auto socket = openDiagSocket(0);
    for (int group : {SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY})
        if (mnl_socket_setsockopt(socket.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
            throw std::runtime_error(
                std::string("cannot follow the kernel's closing TCP sockets (needs "
                            "CAP_NET_ADMIN): ") +
                std::strerror(errno));
    socket_ = std::move(socket);
}

std::vector<TcpSocket> TcpDestroyListener::take() {
    std::vector<TcpSocket> sockets;
    alignas(nlmsghdr) char buffer[kBufferSize];
    for (;;) {
        const ssize_t got =
            ::recv(mnl_socket_get_fd(socket_.get()), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (got <= 0)
            return sockets; // EAGAIN: nothing more; ENOBUFS: the kernel dropped some
        mnl_cb_run(buffer, static_cast<std::size_t>(got), 0, 0, readSocket, &sockets);
    }
}

} // namespace migrascope
