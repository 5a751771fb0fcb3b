#include "connection.h"

#include "migration_error.h"
#include "telemetry.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace migrascope {
namespace {

constexpr unsigned kHandshakeTimeoutMs = 20000;

bool isIpLiteral(const std::string& host) {
    std::uint8_t address[16];
    return inet_pton(AF_INET, host.c_str(), address) == 1 ||
           inet_pton(AF_INET6, host.c_str(), address) == 1;
}

void requireFile(const std::filesystem::path& path) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        throw MigrationError("TLS credentials: " + path.string() + " is missing");
}

} // namespace

TlsCredentials::TlsCredentials(const std::string& dir, Endpoint endpoint) : endpoint_(endpoint) {
    const std::filesystem::path base(dir);
    const auto ca = base / "ca-cert.pem";
    const std::string prefix = endpoint == Endpoint::Server ? "server" : "client";
    const auto cert = base / (prefix + "-cert.pem");
    const auto key = base / (prefix + "-key.pem");
    requireFile(ca);
    requireFile(cert);
    requireFile(key);
    gnutls_certificate_allocate_credentials(&credentials_);
    int rc = gnutls_certificate_set_x509_trust_file(credentials_, ca.c_str(), GNUTLS_X509_FMT_PEM);
    if (rc <= 0) {
        gnutls_certificate_free_credentials(credentials_);
        throw MigrationError("TLS credentials: no CA certificate could be read from " +
                             ca.string() + (rc < 0 ? std::string(": ") + gnutls_strerror(rc) : ""));
    }
    const auto crl = base / "ca-crl.pem";
    if (std::filesystem::exists(crl))
        gnutls_certificate_set_x509_crl_file(credentials_, crl.c_str(), GNUTLS_X509_FMT_PEM);
    rc = gnutls_certificate_set_x509_key_file(credentials_, cert.c_str(), key.c_str(),
                                              GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        gnutls_certificate_free_credentials(credentials_);
        throw MigrationError("TLS credentials: cannot load " + cert.string() + " with " +
                             key.string() + ": " + gnutls_strerror(rc));
    }
}

TlsCredentials::~TlsCredentials() {
    gnutls_certificate_free_credentials(credentials_);
}

Connection::Connection(UniqueFd fd, std::string name)
    : fd_(std::move(fd)), name_(std::move(name)) {}

Connection::~Connection() {
    if (session_)
        gnutls_deinit(session_);
}

void Connection::failErrno(const std::string& what, int error) const {
    if (shutDown_.load())
        throw MigrationError("channel " + name_ + ": " + what + ": connection shut down");
    throw MigrationError("channel " + name_ + ": " + what + ": " + errnoText(error));
}

void Connection::fail(const std::string& what, int gnutlsError) const {
    std::string detail = gnutls_strerror(gnutlsError);
    if (gnutlsError == GNUTLS_E_FATAL_ALERT_RECEIVED ||
        gnutlsError == GNUTLS_E_WARNING_ALERT_RECEIVED)
        detail += std::string(" (peer sent alert: ") +
                  gnutls_alert_get_name(gnutls_alert_get(session_)) + ")";
    if (gnutlsError == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        const unsigned status = gnutls_session_get_verify_cert_status(session_);
        gnutls_datum_t text{};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
            detail = "peer certificate rejected: " +
                     std::string(reinterpret_cast<const char*>(text.data), text.size);
            gnutls_free(text.data);
        }
    }
    if (shutDown_.load())
        detail = "connection shut down";
    throw MigrationError("channel " + name_ + ": " + what + ": " + detail);
}

void Connection::startTlsClient(const TlsCredentials& credentials, const std::string& priority,
                                const std::string& hostname) {
    gnutls_init(&session_, GNUTLS_CLIENT | GNUTLS_NO_TICKETS);
    const char* errorPosition = nullptr;
    if (gnutls_priority_set_direct(session_, priority.c_str(), &errorPosition) < 0)
        throw MigrationError("TLS priority string '" + priority + "' is invalid near '" +
                             (errorPosition ? errorPosition : "") + "'");
    gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials.get());
    // SNI carries DNS names only; an address is still checked against the IP SANs below.
    if (!isIpLiteral(hostname))
        gnutls_server_name_set(session_, GNUTLS_NAME_DNS, hostname.data(), hostname.size());
    gnutls_session_set_verify_cert(session_, hostname.c_str(), 0);
    handshake("TLS handshake with the destination");
}

void Connection::startTlsServer(const TlsCredentials& credentials, const std::string& priority) {
    gnutls_init(&session_, GNUTLS_SERVER | GNUTLS_NO_TICKETS);
    const char* errorPosition = nullptr;
    if (gnutls_priority_set_direct(session_, priority.c_str(), &errorPosition) < 0)
        throw MigrationError("TLS priority string '" + priority + "' is invalid near '" +
                             (errorPosition ? errorPosition : "") + "'");
    gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials.get());
    gnutls_certificate_server_set_request(session_, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(session_, nullptr, 0);
    handshake("TLS handshake with the source");
}

void Connection::handshake(const std::string& role) {
    gnutls_transport_set_int(session_, fd_.get());
    gnutls_handshake_set_timeout(session_, kHandshakeTimeoutMs);
    int rc;
    do {
        rc = gnutls_handshake(session_);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) {
        // Tell the peer why, so its operator reads the cause and not a bare reset.
        gnutls_alert_send_appropriate(session_, rc);
        fail(role + " failed", rc);
    }
    staging_.resize(gnutls_record_get_max_size(session_));
}

std::string Connection::tlsVersion() const {
    if (!session_)
        return {};
    const char* name = gnutls_protocol_get_name(gnutls_protocol_get_version(session_));
    return name ? name : "";
}

std::string Connection::tlsCipher() const {
    if (!session_)
        return {};
    const char* suite = gnutls_ciphersuite_get(session_);
    if (suite)
        return suite;
    const char* name = gnutls_cipher_get_name(gnutls_cipher_get(session_));
    return name ? name : "";
}

std::string Connection::pendingAlert() {
    // After a failed send the peer may have told us why before closing; read it if it is there.
    pollfd poller{fd_.get(), POLLIN, 0};
    if (!session_ || ::poll(&poller, 1, 50) <= 0)
        return {};
    std::uint8_t scratch[256];
    gnutls_record_set_timeout(session_, 50);
    const ssize_t rc = gnutls_record_recv(session_, scratch, sizeof scratch);
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
        return std::string(" (peer sent TLS alert: ") +
               gnutls_alert_get_name(gnutls_alert_get(session_)) + ")";
    return {};
}

void Connection::sendRecord(const std::uint8_t* data, std::size_t length) {
    while (length > 0) {
        const ssize_t rc = gnutls_record_send(session_, data, length);
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
            continue;
        if (rc < 0) {
            const std::string alert = pendingAlert();
            if (!alert.empty())
                throw MigrationError("channel " + name_ + ": send failed" + alert);
            fail("send failed", static_cast<int>(rc));
        }
        data += rc;
        length -= static_cast<std::size_t>(rc);
        if (counters_)
            counters_->tlsRecordsSent.fetch_add(1, std::memory_order_relaxed);
    }
}

void Connection::sendAll(const void* data, std::size_t length) {
    const iovec piece{const_cast<void*>(data), length};
    sendv(&piece, 1);
}

void Connection::sendv(const iovec* pieces, std::size_t count) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i)
        total += pieces[i].iov_len;
    if (!session_) {
        // The kernel gathers for us: no copy at all on the plain path.
        std::vector<iovec> rest(pieces, pieces + count);
        std::size_t first = 0;
        while (first < rest.size()) {
            msghdr message{};
            message.msg_iov = rest.data() + first;
            message.msg_iovlen = std::min<std::size_t>(rest.size() - first, IOV_MAX);
            const ssize_t sent = ::sendmsg(fd_.get(), &message, MSG_NOSIGNAL);
            if (sent < 0) {
                if (errno == EINTR)
                    continue;
                failErrno("send failed", errno);
            }
            std::size_t left = static_cast<std::size_t>(sent);
            while (first < rest.size() && left >= rest[first].iov_len)
                left -= rest[first++].iov_len;
            if (left > 0) {
                rest[first].iov_base = static_cast<std::uint8_t*>(rest[first].iov_base) + left;
                rest[first].iov_len -= left;
            }
        }
    } else {
        // Walk the pieces one record at a time. A record inside one piece goes straight from
        // guest RAM to GnuTLS; only a record that straddles pieces is staged.
        const std::size_t recordSize = staging_.size();
        std::size_t piece = 0;
        std::size_t offset = 0; // within pieces[piece]
        while (piece < count) {
            const auto* base = static_cast<const std::uint8_t*>(pieces[piece].iov_base);
            const std::size_t available = pieces[piece].iov_len - offset;
            if (available >= recordSize || piece + 1 == count) {
                const std::size_t chunk = std::min(available, recordSize);
                sendRecord(base + offset, chunk);
                offset += chunk;
            } else {
                std::size_t filled = 0;
                while (piece < count && filled < recordSize) {
                    const auto* from = static_cast<const std::uint8_t*>(pieces[piece].iov_base);
                    const std::size_t take =
                        std::min(pieces[piece].iov_len - offset, recordSize - filled);
                    std::memcpy(staging_.data() + filled, from + offset, take);
                    filled += take;
                    offset += take;
                    if (offset == pieces[piece].iov_len) {
                        ++piece;
                        offset = 0;
                    }
                }
                sendRecord(staging_.data(), filled);
                continue;
            }
            if (offset == pieces[piece].iov_len) {
                ++piece;
                offset = 0;
            }
        }
    }
    if (counters_)
        counters_->bytes.fetch_add(total, std::memory_order_relaxed);
}

std::size_t Connection::recvSome(void* data, std::size_t length) {
    for (;;) {
        if (session_) {
            const ssize_t rc = gnutls_record_recv(session_, data, length);
            if (rc >= 0)
                return static_cast<std::size_t>(rc);
            if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
                continue;
            fail("receive failed", static_cast<int>(rc));
        }
        const ssize_t rc = ::recv(fd_.get(), data, length, 0);
        if (rc >= 0)
            return static_cast<std::size_t>(rc);
        if (errno == EINTR)
            continue;
        failErrno("receive failed", errno);
    }
}

void Connection::recvExact(void* data, std::size_t length) {
    auto* bytes = static_cast<std::uint8_t*>(data);
    while (length > 0) {
        const std::size_t got = recvSome(bytes, length);
        if (got == 0) {
            if (shutDown_.load())
                throw MigrationError("channel " + name_ + ": connection shut down");
            throw MigrationError("channel " + name_ + ": connection closed by the peer");
        }
        bytes += got;
        length -= got;
    }
}

void Connection::shutdown() {
    shutDown_.store(true);
    ::shutdown(fd_.get(), SHUT_RDWR);
}

} // namespace migrascope
