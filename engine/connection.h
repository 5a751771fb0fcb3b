// One migration connection: a TCP socket, optionally wrapped in its own GnuTLS session.
// One thread drives it at a time; shutdown() may come from any thread to unblock it.
#pragma once

#include "socket.h"

#include <atomic>
#include <cstdint>
#include <gnutls/gnutls.h>
#include <memory>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace migrascope {

struct ChannelCounters;

// X.509 credentials in QEMU's tls-creds-x509 directory layout.
class TlsCredentials {
public:
    enum class Endpoint { Server, Client };
    // Throws MigrationError naming the file that is missing or unreadable.
    TlsCredentials(const std::string& dir, Endpoint endpoint);
    ~TlsCredentials();
    TlsCredentials(const TlsCredentials&) = delete;
    TlsCredentials& operator=(const TlsCredentials&) = delete;

    gnutls_certificate_credentials_t get() const { return credentials_; }
    Endpoint endpoint() const { return endpoint_; }

private:
    gnutls_certificate_credentials_t credentials_ = nullptr;
    Endpoint endpoint_;
};

class Connection {
public:
    Connection(UniqueFd fd, std::string name);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // The name errors use: the channel id once known, the peer address before.
    const std::string& name() const { return name_; }
    void setName(std::string name) { name_ = std::move(name); }
    void setCounters(ChannelCounters* counters) { counters_ = counters; }

    // Both peers are verified; the client also checks the server's certificate names `hostname`.
    void startTlsClient(const TlsCredentials& credentials, const std::string& priority,
                        const std::string& hostname);
    void startTlsServer(const TlsCredentials& credentials, const std::string& priority);
    bool isTls() const { return session_ != nullptr; }
    std::string tlsVersion() const;
    std::string tlsCipher() const;

    void sendAll(const void* data, std::size_t length);
    // Gathers the pieces into full-size TLS records, copying only where a record spans pieces.
    void sendv(const iovec* pieces, std::size_t count);
    // Throws MigrationError at end of stream or on error.
    void recvExact(void* data, std::size_t length);
    // Returns 0 at a clean end of stream (TCP FIN, or TLS close_notify).
    std::size_t recvSome(void* data, std::size_t length);

    // Unblocks any thread inside this connection; later I/O fails. Safe from any thread.
    void shutdown();
    bool wasShutDown() const { return shutDown_.load(); }

private:
    void handshake(const std::string& role);
    [[noreturn]] void fail(const std::string& what, int gnutlsError) const;
    [[noreturn]] void failErrno(const std::string& what, int error) const;
    void sendRecord(const std::uint8_t* data, std::size_t length);
    std::string pendingAlert();

    UniqueFd fd_;
    std::string name_;
    gnutls_session_t session_ = nullptr;
    ChannelCounters* counters_ = nullptr;
    std::atomic<bool> shutDown_{false};
    std::vector<std::uint8_t> staging_; // one TLS record's worth, for records spanning pieces
};

} // namespace migrascope
