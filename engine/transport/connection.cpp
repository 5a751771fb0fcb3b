#include "engine/transport/connection.h"

#include "engine/api/migration_config.h"
#include "engine/common/migration_error.h"
#include "engine/telemetry/telemetry.h"
#include "engine/transport/socket_diag.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>

namespace migrascope {
namespace {

// Matches what our receivers accept (4 per 1500 ms, below), so a reader rarely has to stop.
constexpr auto kMinimumKeyUpdateSpacing = std::chrono::milliseconds(kKeyUpdateSpacingMs);
// GnuTLS fails a session on the 9th KeyUpdate received within 1000 ms of the first of a
// window. We allow at most 4 per window of 1500 ms of our own, whatever the offset between
// our clock readings and GnuTLS's: any 1000 ms then holds at most two of our windows' worth.
constexpr unsigned kKeyUpdatesBeforePause = 4;
constexpr auto kKeyUpdateWindowMirror = std::chrono::milliseconds(1500);
constexpr auto kKeyUpdateWindowWait = std::chrono::milliseconds(1500);

std::string percentOfLimit(std::uint64_t records) {
    char text[16];
    std::snprintf(text, sizeof text, "%.1f%%",
                  100.0 * static_cast<double>(records) / static_cast<double>(kTlsRecordLimit));
    return text;
}

// DNs are written in both orders (RFC 4514 lists the RDNs backwards from the certificate,
// and GnuTLS, OpenSSL and QEMU's docs differ), so compare the set of RDNs.
std::vector<std::string> rdnSet(const std::string& dn) {
    std::vector<std::string> parts;
    std::string part;
    for (std::size_t i = 0; i < dn.size(); ++i) {
        if (dn[i] == '\\' && i + 1 < dn.size()) {
            part += dn[i];
            part += dn[++i];
        } else if (dn[i] == ',') {
            parts.push_back(part);
            part.clear();
        } else if (dn[i] != ' ' || !part.empty()) {
            part += dn[i];
        }
    }
    parts.push_back(part);
    std::sort(parts.begin(), parts.end());
    return parts;
}

bool sameDistinguishedName(const std::string& a, const std::string& b) {
    return rdnSet(a) == rdnSet(b);
}

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

void checkTlsSetup(const std::string& credsDir, const std::string& priority, bool asClient,
                   bool asServer) {
    try {
        if (asClient)
            TlsCredentials(credsDir, TlsCredentials::Endpoint::Client);
        if (asServer)
            TlsCredentials(credsDir, TlsCredentials::Endpoint::Server);
    } catch (const MigrationError& error) {
        throw std::invalid_argument(error.what());
    }
    gnutls_priority_t parsed = nullptr;
    const char* errorPosition = nullptr;
    if (gnutls_priority_init(&parsed, priority.c_str(), &errorPosition) < 0)
        throw std::invalid_argument("--tls-priority: '" + priority + "' is invalid near '" +
                                    (errorPosition ? errorPosition : "") + "'");
    gnutls_priority_deinit(parsed);
}

TlsCredentials::~TlsCredentials() {
    gnutls_certificate_free_credentials(credentials_);
}

Connection::Connection(UniqueFd fd, std::string name)
    : fd_(std::move(fd)), name_(std::move(name)) {}

void Connection::setCounters(ChannelCounters* counters) {
    counters_ = counters;
    if (!counters_)
        return;
    if (const auto id = tcpSocketIdOf(fd_.get()))
        counters_->setSocket(*id);
}

void Connection::recordKernelView(std::chrono::milliseconds bound) {
    if (!counters_ || !fd_.valid() || kernelViewKept_.load())
        return;
    const auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
        std::uint32_t unacked = 0;
        const auto view = readTcpInfo(fd_.get(), &unacked);
        if (!view)
            return;
        counters_->setKernelView(*view, counters_->socketCookie.load(),
                                 ChannelCounters::KernelViewKind::Final);
        if (unacked == 0 || std::chrono::steady_clock::now() >= deadline)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

Connection::~Connection() {
    if (session_)
        gnutls_deinit(session_);
}

void Connection::failErrno(const std::string& what, int error) const {
    if (shutDown_.load())
        throw ConnectionError("channel " + name_ + ": " + what + ": connection shut down");
    throw ConnectionError("channel " + name_ + ": " + what + ": " + describeSocketError(error));
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
    // GnuTLS says only that its transport failed; the socket says why.
    const int socketError = socketErrno_.load();
    if ((gnutlsError == GNUTLS_E_PUSH_ERROR || gnutlsError == GNUTLS_E_PULL_ERROR) &&
        socketError != 0 && socketError != EAGAIN && socketError != EINTR)
        detail += " (" + describeSocketError(socketError) + ")";
    if (shutDown_.load())
        detail = "connection shut down";
    throw ConnectionError("channel " + name_ + ": " + what + ": " + detail);
}

const char* toString(TlsProtection protection) {
    switch (protection) {
    case TlsProtection::None:
        return "none";
    case TlsProtection::SessionLock:
        return "session lock";
    }
    return "unknown";
}

// One GnuTLS call. Under SessionLock the socket is non-blocking and the call runs under the
// session lock; when GnuTLS would block, the lock is let go and this thread waits in poll()
// for the direction GnuTLS asked for, then calls again (GnuTLS wants the same call repeated).
// So GnuTLS never sees two threads at once, and no thread holds the lock while it waits.
template <typename Operation> ssize_t Connection::sessionCall(Operation&& operation) {
    for (;;) {
        ssize_t rc = 0;
        bool wantsWrite = false;
        {
            std::unique_lock lock(sessionMutex_, std::defer_lock);
            if (protection_ == TlsProtection::SessionLock)
                lock.lock();
            rc = operation();
            if (rc == GNUTLS_E_AGAIN)
                wantsWrite = gnutls_record_get_direction(session_) == 1;
        }
        if (rc == GNUTLS_E_INTERRUPTED ||
            (rc == GNUTLS_E_AGAIN && protection_ != TlsProtection::SessionLock))
            continue;
        if (rc != GNUTLS_E_AGAIN)
            return rc;
        // Bounded, so that a writer stuck on a full socket sees a pause's deadline pass.
        pollfd poller{fd_.get(), static_cast<short>(wantsWrite ? POLLOUT : POLLIN), 0};
        while (::poll(&poller, 1, 250) < 0 && errno == EINTR) {
        }
    }
}

void Connection::setTlsPolicy(const TlsPolicy& policy, Telemetry* telemetry, Side side) {
    policy_ = policy;
    telemetry_ = telemetry;
    side_ = side;
}

void Connection::initSession(unsigned flags, const std::string& priority) {
    gnutls_init(&session_, flags | GNUTLS_NO_TICKETS);
    const char* errorPosition = nullptr;
    if (gnutls_priority_set_direct(session_, priority.c_str(), &errorPosition) < 0)
        throw MigrationError("TLS priority string '" + priority + "' is invalid near '" +
                             (errorPosition ? errorPosition : "") + "'");
    gnutls_session_set_ptr(session_, this);
    gnutls_transport_set_ptr(session_, this);
    gnutls_transport_set_vec_push_function(session_, &Connection::push);
    gnutls_transport_set_pull_function(session_, &Connection::pull);
    gnutls_transport_set_pull_timeout_function(session_, &Connection::pullTimeout);
    gnutls_handshake_set_hook_function(session_, GNUTLS_HANDSHAKE_KEY_UPDATE, GNUTLS_HOOK_POST,
                                       &Connection::keyUpdateHook);
}

ssize_t Connection::push(gnutls_transport_ptr_t self, const giovec_t* pieces, int count) {
    auto& connection = *static_cast<Connection*>(self);
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(reinterpret_cast<const iovec*>(pieces));
    message.msg_iovlen = static_cast<std::size_t>(count);
    const ssize_t sent = ::sendmsg(connection.fd_.get(), &message, MSG_NOSIGNAL);
    if (sent < 0) {
        connection.socketErrno_.store(errno);
        gnutls_transport_set_errno(connection.session_, errno);
    }
    return sent;
}

ssize_t Connection::pull(gnutls_transport_ptr_t self, void* data, std::size_t length) {
    auto& connection = *static_cast<Connection*>(self);
    const ssize_t got = ::recv(connection.fd_.get(), data, length, 0);
    if (got < 0) {
        connection.socketErrno_.store(errno);
        gnutls_transport_set_errno(connection.session_, errno);
    } else
        connection.countIncomingRecords(static_cast<const std::uint8_t*>(data),
                                        static_cast<std::size_t>(got));
    return got;
}

int Connection::pullTimeout(gnutls_transport_ptr_t self, unsigned milliseconds) {
    auto& connection = *static_cast<Connection*>(self);
    pollfd poller{connection.fd_.get(), POLLIN, 0};
    const int timeout =
        milliseconds == GNUTLS_INDEFINITE_TIMEOUT ? -1 : static_cast<int>(milliseconds);
    return ::poll(&poller, 1, timeout);
}

void Connection::countIncomingRecords(const std::uint8_t* data, std::size_t length) {
    // Every TLS record starts with 5 bytes: type, version (2), length (2).
    while (length > 0) {
        if (recordBodyLeft_ > 0) {
            const std::size_t skip = std::min(recordBodyLeft_, length);
            recordBodyLeft_ -= skip;
            data += skip;
            length -= skip;
            continue;
        }
        const std::size_t take = std::min(sizeof recordHeader_ - recordHeaderFilled_, length);
        std::memcpy(recordHeader_ + recordHeaderFilled_, data, take);
        recordHeaderFilled_ += take;
        data += take;
        length -= take;
        if (recordHeaderFilled_ == sizeof recordHeader_) {
            recordHeaderFilled_ = 0;
            recordBodyLeft_ = static_cast<std::size_t>(recordHeader_[3] << 8 | recordHeader_[4]);
            if (counters_)
                counters_->tlsRecordsReceived.fetch_add(1, std::memory_order_relaxed);
        }
    }
}

int Connection::keyUpdateHook(gnutls_session_t session, unsigned, unsigned, unsigned incoming,
                              const gnutls_datum_t*) {
    auto& connection = *static_cast<Connection*>(gnutls_session_get_ptr(session));
    if (incoming) {
        if (connection.counters_)
            connection.counters_->keyUpdatesReceived.fetch_add(1, std::memory_order_relaxed);
        const auto now = std::chrono::steady_clock::now();
        if (connection.keyUpdatesInWindow_ == 0 ||
            now - connection.keyUpdateWindowStart_ > kKeyUpdateWindowMirror) {
            connection.keyUpdateWindowStart_ = now;
            connection.keyUpdatesInWindow_ = 0;
        }
        if (++connection.keyUpdatesInWindow_ >= kKeyUpdatesBeforePause)
            connection.readPauseUntilNs_.store(
                std::chrono::duration_cast<std::chrono::nanoseconds>(
                    (connection.keyUpdateWindowStart_ + kKeyUpdateWindowWait).time_since_epoch())
                    .count());
    } else {
        // Our sending key changed: the record count towards the limit starts again.
        connection.recordsUnderKey_ = 0;
        if (connection.counters_) {
            connection.counters_->keyUpdatesSent.fetch_add(1, std::memory_order_relaxed);
            connection.counters_->recordsUnderCurrentKey.store(0, std::memory_order_relaxed);
        }
    }
    return 0;
}

void Connection::afterRecordSent() {
    ++recordsUnderKey_;
    if (counters_) {
        counters_->tlsRecordsSent.fetch_add(1, std::memory_order_relaxed);
        counters_->recordsUnderCurrentKey.store(recordsUnderKey_, std::memory_order_relaxed);
    }
    if (recordLimitApplies_ && policy_.recordWarning > 0 && !warnedAboutRecordLimit_ &&
        recordsUnderKey_ >= policy_.recordWarning) {
        warnedAboutRecordLimit_ = true;
        if (telemetry_)
            telemetry_->event(EventLevel::Warning, side_,
                              "channel " + name_ + " has sent " + std::to_string(recordsUnderKey_) +
                                  " TLS records under one key, " +
                                  percentOfLimit(recordsUnderKey_) + " of the " +
                                  std::to_string(kTlsRecordLimit) + "-record limit of " +
                                  tlsCipher() + "; GnuTLS re-keys at the limit");
    }
    // GnuTLS refuses more than 8 KeyUpdates a second from its peer (a DoS guard; we saw
    // "Too many handshake packets"), so forced updates are paced well below that.
    const auto now = std::chrono::steady_clock::now();
    if (policy_.rekeyInterval > 0 && recordsUnderKey_ >= policy_.rekeyInterval &&
        now - lastForcedKeyUpdate_ >= kMinimumKeyUpdateSpacing) {
        lastForcedKeyUpdate_ = now;
        const int rc =
            static_cast<int>(sessionCall([&] { return gnutls_session_key_update(session_, 0); }));
        if (rc < 0)
            fail("forced TLS key update failed", rc);
    }
}

void Connection::endSession() {
    if (session_) {
        const int rc =
            static_cast<int>(sessionCall([&] { return gnutls_bye(session_, GNUTLS_SHUT_WR); }));
        if (rc < 0)
            fail("ending the TLS session (close_notify) failed", rc);
    }
    ::shutdown(fd_.get(), SHUT_WR);
}

void Connection::closeWithoutBye() {
    ::shutdown(fd_.get(), SHUT_WR);
}

void Connection::startTlsClient(const TlsCredentials& credentials, const std::string& priority,
                                const std::string& hostname) {
    initSession(GNUTLS_CLIENT, priority);
    gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials.get());
    // SNI carries DNS names only; an address is still checked against the IP SANs below.
    if (!isIpLiteral(hostname))
        gnutls_server_name_set(session_, GNUTLS_NAME_DNS, hostname.data(), hostname.size());
    gnutls_session_set_verify_cert(session_, hostname.c_str(), 0);
    // A name that does not match is a typo or the wrong host: say which name was expected.
    handshake("TLS handshake with the destination (expecting its certificate to name '" + hostname +
              "')");
}

bool Connection::waitReadable(std::chrono::milliseconds timeout) {
    if (!unread_.empty())
        return true;
    if (session_ && gnutls_record_check_pending(session_) > 0)
        return true;
    pollfd readable{fd_.get(), POLLIN, 0};
    int rc;
    while ((rc = ::poll(&readable, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    return rc > 0;
}

std::size_t Connection::peek(void* data, std::size_t length) {
    ssize_t got;
    while ((got = ::recv(fd_.get(), data, 1, MSG_PEEK)) < 0 && errno == EINTR) {
    }
    if (got <= 0)
        return 0;
    // Whatever else already arrived, without waiting for more.
    got = ::recv(fd_.get(), data, length, MSG_PEEK | MSG_DONTWAIT);
    return got > 0 ? static_cast<std::size_t>(got) : 1;
}

void Connection::startTlsServer(const TlsCredentials& credentials, const std::string& priority,
                                const std::vector<std::string>& allowedClients) {
    initSession(GNUTLS_SERVER, priority);
    gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials.get());
    gnutls_certificate_server_set_request(session_, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(session_, nullptr, 0);
    handshake("TLS handshake with the source");
    unsigned count = 0;
    const gnutls_datum_t* chain = gnutls_certificate_get_peers(session_, &count);
    std::string dn = "(none)";
    gnutls_x509_crt_t certificate = nullptr;
    if (count > 0 && gnutls_x509_crt_init(&certificate) == 0) {
        gnutls_datum_t text{};
        if (gnutls_x509_crt_import(certificate, &chain[0], GNUTLS_X509_FMT_DER) == 0 &&
            gnutls_x509_crt_get_dn3(certificate, &text, 0) == 0) {
            dn.assign(reinterpret_cast<const char*>(text.data), text.size);
            gnutls_free(text.data);
        }
        gnutls_x509_crt_deinit(certificate);
    }
    peerDn_ = dn;
    if (allowedClients.empty())
        return;
    for (const auto& allowed : allowedClients)
        if (sameDistinguishedName(allowed, dn))
            return;
    sessionCall(
        [&] { return gnutls_alert_send(session_, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED); });
    std::string allowed;
    for (const auto& entry : allowedClients)
        allowed += (allowed.empty() ? "'" : ", '") + entry + "'";
    throw MigrationError("channel " + name_ + ": client certificate '" + dn +
                         "' is not allowed by tls-authz (allowed: " + allowed + ")");
}

void Connection::handshake(const std::string& role) {
    gnutls_handshake_set_timeout(session_, static_cast<unsigned>(handshakeTimeout_.count()));
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
    if (protection_ == TlsProtection::SessionLock) {
        const int flags = ::fcntl(fd_.get(), F_GETFL);
        ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
    }
    // ChaCha20-Poly1305 has no practical record limit; the AEAD ciphers with one do.
    const auto cipher = gnutls_cipher_get(session_);
    recordLimitApplies_ = gnutls_protocol_get_version(session_) == GNUTLS_TLS1_3 &&
                          cipher != GNUTLS_CIPHER_CHACHA20_POLY1305;
    if (counters_)
        counters_->recordLimit.store(recordLimitApplies_ ? kTlsRecordLimit : 0);
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
    // Not where another thread reads: this read would take application data from its stream
    // (a network cut in postcopy left the destination's loader reading mid-page), and that
    // reader sees the alert itself.
    pollfd poller{fd_.get(), POLLIN, 0};
    if (!session_ || readElsewhere_.load() || ::poll(&poller, 1, 50) <= 0)
        return {};
    std::uint8_t scratch[256];
    // One attempt, not sessionCall(): with nothing complete to read it must not wait.
    std::unique_lock lock(sessionMutex_, std::defer_lock);
    if (protection_ == TlsProtection::SessionLock)
        lock.lock();
    else
        gnutls_record_set_timeout(session_, 50);
    const ssize_t rc = gnutls_record_recv(session_, scratch, sizeof scratch);
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
        return std::string(" (peer sent TLS alert: ") +
               gnutls_alert_get_name(gnutls_alert_get(session_)) + ")";
    return {};
}

namespace {
// sendRecord's own answers from inside the session lock, beyond GnuTLS's error codes.
constexpr ssize_t kWriterSaysPause = -1'000'001;
constexpr ssize_t kWriterStopped = -1'000'002;
} // namespace

void Connection::sendRecord(const std::uint8_t* data, std::size_t length) {
    while (length > 0) {
        const ssize_t rc = sessionCall([&]() -> ssize_t {
            if (pauseGoodbye_ == PauseGoodbye::Requested && !recordHalfSent_) {
                pauseGoodbye_ = PauseGoodbye::Taken;
                return kWriterSaysPause;
            }
            if (pauseGoodbye_ == PauseGoodbye::Taken && !recordHalfSent_)
                return kWriterStopped;
            if (pauseGoodbye_ == PauseGoodbye::Requested &&
                std::chrono::steady_clock::now() >= pauseGoodbyeDeadline_) {
                // The half-sent record did not get out in time: the pause goes unsaid.
                pauseGoodbye_ = PauseGoodbye::Taken;
                shutdown(Termination::Paused);
            }
            const ssize_t sent = gnutls_record_send(session_, data, length);
            recordHalfSent_ = sent == GNUTLS_E_AGAIN;
            return sent;
        });
        if (rc == kWriterSaysPause) {
            sayPaused(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
            shutdown(Termination::Paused);
            throw ConnectionError("channel " + name_ + ": paused by the operator (migrate-pause)");
        }
        if (rc == kWriterStopped)
            throw ConnectionError("channel " + name_ + ": paused by the operator (migrate-pause)");
        if (rc < 0) {
            const std::string alert = pendingAlert();
            if (!alert.empty())
                throw ConnectionError("channel " + name_ + ": send failed" + alert);
            fail("send failed", static_cast<int>(rc));
        }
        data += rc;
        length -= static_cast<std::size_t>(rc);
        afterRecordSent();
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

void Connection::waitOutKeyUpdateWindow() {
    using namespace std::chrono;
    for (;;) {
        const auto until = steady_clock::time_point(nanoseconds(readPauseUntilNs_.load()));
        const auto now = steady_clock::now();
        if (now >= until || shutDown_.load())
            return;
        std::this_thread::sleep_for(
            std::min<steady_clock::duration>(until - now, milliseconds(10)));
    }
}

std::size_t Connection::counted(std::size_t received) {
    if (counters_)
        counters_->bytesReceived.fetch_add(received, std::memory_order_relaxed);
    return received;
}

void Connection::unread(const void* data, std::size_t length) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    unread_.insert(unread_.begin(), bytes, bytes + length);
}

std::size_t Connection::recvSome(void* data, std::size_t length) {
    if (!unread_.empty() && length > 0) {
        const std::size_t taken = std::min(length, unread_.size());
        std::memcpy(data, unread_.data(), taken);
        unread_.erase(unread_.begin(), unread_.begin() + static_cast<std::ptrdiff_t>(taken));
        return counted(taken);
    }
    for (;;) {
        if (session_) {
            waitOutKeyUpdateWindow();
            const ssize_t rc =
                sessionCall([&] { return gnutls_record_recv(session_, data, length); });
            if (rc > 0)
                return counted(static_cast<std::size_t>(rc));
            if (rc == 0) {
                termination_ = Termination::Clean; // the peer's close_notify, whatever we did
                return 0;
            }
            if ((rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED) &&
                gnutls_alert_get(session_) == GNUTLS_A_USER_CANCELED && !shutDown_.load()) {
                termination_ = Termination::Paused; // the peer's shutdownForPause()
                throw ConnectionError("channel " + name_ +
                                      ": the peer paused the migration (TLS user_canceled)");
            }
            if (rc == GNUTLS_E_PREMATURE_TERMINATION && !shutDown_.load()) {
                termination_ = Termination::Premature;
                throw PrematureTermination("channel " + name_ +
                                           ": The TLS connection was non-properly terminated "
                                           "(the peer closed it without close_notify)");
            }
            termination_ = classifyFailure(static_cast<int>(rc), socketErrno_.load());
            fail("receive failed", static_cast<int>(rc));
        }
        const ssize_t rc = ::recv(fd_.get(), data, length, 0);
        if (rc > 0)
            return counted(static_cast<std::size_t>(rc));
        if (rc == 0) {
            termination_ = endOfStream();
            return 0;
        }
        if (errno == EINTR)
            continue;
        termination_ = classifyFailure(0, errno);
        failErrno("receive failed", errno);
    }
}

Termination Connection::endOfStream() const {
    // Without TLS an end after this host's own shutdown is its doing: the socket cannot say.
    return shutDown_.load() ? shutdownReason_.load() : Termination::Clean;
}

Termination Connection::classifyFailure(int gnutlsError, int socketError) const {
    if (shutDown_.load())
        return shutdownReason_.load();
    const bool transport = gnutlsError == 0 || gnutlsError == GNUTLS_E_PULL_ERROR ||
                           gnutlsError == GNUTLS_E_PUSH_ERROR;
    if (!transport)
        return Termination::TlsError;
    switch (socketError) {
    case ECONNRESET:
    case ECONNABORTED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
    case EPIPE:
        return Termination::Network;
    default:
        return Termination::Local;
    }
}

void Connection::recvExact(void* data, std::size_t length) {
    auto* bytes = static_cast<std::uint8_t*>(data);
    while (length > 0) {
        const std::size_t got = recvSome(bytes, length);
        if (got == 0)
            failEndedMidMessage();
        bytes += got;
        length -= got;
    }
}

void Connection::failEndedMidMessage() {
    if (shutDown_.load())
        throw ConnectionError("channel " + name_ + ": connection shut down");
    if (!session_)
        termination_ = Termination::Premature; // an orderly end, but mid-message
    throw ConnectionError("channel " + name_ + ": connection closed by the peer");
}

void Connection::recvExactv(iovec* pieces, std::size_t count) {
    if (session_ || !unread_.empty()) {
        for (std::size_t i = 0; i < count; ++i)
            recvExact(pieces[i].iov_base, pieces[i].iov_len);
        return;
    }
    std::size_t first = 0;
    while (first < count && pieces[first].iov_len == 0)
        ++first;
    while (first < count) {
        const int batch = static_cast<int>(std::min<std::size_t>(count - first, IOV_MAX));
        const ssize_t rc = ::readv(fd_.get(), pieces + first, batch);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            termination_ = classifyFailure(0, errno);
            failErrno("receive failed", errno);
        }
        if (rc == 0) {
            termination_ = endOfStream(); // as recvSome() says it
            failEndedMidMessage();
        }
        std::size_t left = counted(static_cast<std::size_t>(rc));
        while (first < count && left >= pieces[first].iov_len) {
            left -= pieces[first].iov_len;
            ++first;
        }
        if (left > 0) {
            pieces[first].iov_base = static_cast<std::uint8_t*>(pieces[first].iov_base) + left;
            pieces[first].iov_len -= left;
        }
    }
}

void Connection::limitUnsentBytes(int bytes) {
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof bytes);
}

void Connection::shutdown(Termination why) {
    // The first reason is the one: a later teardown (the host stopping after the migration
    // failed) does not rename an end that already had its cause.
    Termination unset = Termination::None;
    shutdownReason_.compare_exchange_strong(unset, why);
    shutDown_.store(true);
    ::shutdown(fd_.get(), SHUT_RDWR);
}

void Connection::shutdownForPause() {
    if (session_ && protection_ == TlsProtection::SessionLock) {
        bool writerSaysIt = false;
        {
            std::lock_guard lock(sessionMutex_);
            if (pauseGoodbye_ != PauseGoodbye::None)
                return;
            writerSaysIt = recordHalfSent_;
            pauseGoodbye_ = writerSaysIt ? PauseGoodbye::Requested : PauseGoodbye::Taken;
            pauseGoodbyeDeadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        }
        if (writerSaysIt)
            return;
        sayPaused(std::chrono::steady_clock::now() + std::chrono::milliseconds(300));
    }
    shutdown(Termination::Paused);
}

bool Connection::sayPaused(std::chrono::steady_clock::time_point deadline) {
    // TLS 1.3 makes user_canceled a closure alert: the peer stops reading there, with
    // everything before it delivered.
    for (;;) {
        int rc = 0;
        {
            std::lock_guard lock(sessionMutex_);
            rc = gnutls_alert_send(session_, GNUTLS_AL_WARNING, GNUTLS_A_USER_CANCELED);
        }
        if (rc == 0)
            return true;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if ((rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) || left.count() <= 0)
            return false;
        pollfd poller{fd_.get(), POLLOUT, 0};
        ::poll(&poller, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 50)));
    }
}

void Connection::failNetwork() {
    // A failed network sends no FIN: the peer learns of it by a reset (or a timeout), and
    // classifies it as the network's failure, not as a close without close_notify.
    // Disconnecting a TCP socket (connect to AF_UNSPEC) sends the RST at once, and wakes this
    // side's blocked reads with ECONNRESET. It also clears the socket's counters: the
    // kernel's last view is kept first.
    recordKernelView(std::chrono::milliseconds(0));
    kernelViewKept_.store(true);
    sockaddr unspecified{};
    unspecified.sa_family = AF_UNSPEC;
    // The system call itself: ThreadSanitizer's connect() models a descriptor being created,
    // and would call the other threads' reads of this socket a race with it. A disconnect
    // creates nothing, and the kernel orders it with those reads.
    ::syscall(SYS_connect, fd_.get(), &unspecified, sizeof unspecified);
    shutdown(Termination::Network);
}

} // namespace migrascope
