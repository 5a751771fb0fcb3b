// One migration connection: a TCP socket, optionally wrapped in its own GnuTLS session.
// One thread drives it at a time; shutdown() may come from any thread to unblock it.
#pragma once

#include "engine/common/migration_error.h"
#include "engine/telemetry/telemetry.h"
#include "engine/transport/socket.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <gnutls/gnutls.h>
#include <memory>
#include <mutex>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace migrascope {

struct ChannelCounters;
class Telemetry;

// How a session that two threads use at once (one reads, one writes) is kept safe.
// GnuTLS is not safe when a TLS 1.3 KeyUpdate happens while one thread is in
// gnutls_record_recv and another in gnutls_record_send: the re-key race on the bidirectional
// main channel, where QEMU's return-path reader and stream writer crashed or corrupted the
// session.
enum class TlsProtection {
    None,        // one thread at a time uses the session (multifd), or the demo of the bug
    SessionLock, // every GnuTLS call under one lock; never held while waiting on the socket
};
const char* toString(TlsProtection protection);

// What the session does besides carrying bytes.
struct TlsPolicy {
    std::uint64_t rekeyInterval = 0; // force a KeyUpdate every N records sent; 0 = never
    std::uint64_t recordWarning = 0; // warn once N records went under one key; 0 = never
};

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

// How long an owner ending a channel waits for the peer's last acks before reading the
// kernel's final counters (recordKernelView).
inline constexpr std::chrono::milliseconds kFinalAckWait{500};

class Connection {
public:
    Connection(UniqueFd fd, std::string name);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // The name errors use: the channel id once known, the peer address before.
    const std::string& name() const { return name_; }
    void setName(std::string name) { name_ = std::move(name); }
    // Also tells the counters which socket is the channel's (its SO_COOKIE), so that the
    // kernel's counters for it can be read beside ours.
    void setCounters(ChannelCounters* counters);
    // The kernel's last word on the channel's socket into its counters, once the peer has
    // acknowledged everything sent (or after `bound`): for an owner ending the channel.
    void recordKernelView(std::chrono::milliseconds bound);
    // Warnings (record limit) go to `telemetry` as events of `side`. Set before the handshake.
    void setTlsPolicy(const TlsPolicy& policy, Telemetry* telemetry, Side side);
    // How long the TLS handshake may take. Set before the handshake.
    void setHandshakeTimeout(std::chrono::milliseconds timeout) { handshakeTimeout_ = timeout; }
    // Whether something arrived to read (or TLS holds decrypted bytes) within `timeout`.
    bool waitReadable(std::chrono::milliseconds timeout);
    // For a channel one thread reads while another writes. Set before the handshake.
    void setProtection(TlsProtection protection) { protection_ = protection; }
    TlsProtection protection() const { return protection_; }

    // Both peers are verified; the client also checks the server's certificate names `hostname`.
    void startTlsClient(const TlsCredentials& credentials, const std::string& priority,
                        const std::string& hostname);
    // A non-empty `allowedClients` restricts the client certificate's DN (tls-authz).
    void startTlsServer(const TlsCredentials& credentials, const std::string& priority,
                        const std::vector<std::string>& allowedClients = {});
    // Looks at up to `length` bytes the peer sent without consuming them; waits for the first.
    std::size_t peek(void* data, std::size_t length);
    // Puts back bytes already read, to be read again before anything else: whoever reads a
    // channel's first bytes to decide where it goes hands it on whole. Under TLS the socket
    // cannot be peeked, since those bytes were decrypted.
    void unread(const void* data, std::size_t length);
    bool isTls() const { return session_ != nullptr; }
    // The distinguished name of the peer's certificate once a TLS server's handshake is done
    // ("" without TLS).
    const std::string& peerCertificateDn() const { return peerDn_; }
    std::string tlsVersion() const;
    std::string tlsCipher() const;

    void sendAll(const void* data, std::size_t length);
    // Gathers the pieces into full-size TLS records, copying only where a record spans pieces.
    void sendv(const iovec* pieces, std::size_t count);
    // Throws MigrationError at end of stream or on error.
    void recvExact(void* data, std::size_t length);
    // Fills every piece in turn, as recvExact does each; `pieces` is used up. Without TLS one
    // readv() takes as many pieces as have arrived (a multifd packet's pages in one system
    // call instead of 128); under TLS GnuTLS decrypts record by record in any case.
    void recvExactv(iovec* pieces, std::size_t count);
    // Returns 0 at a clean end of stream (TCP FIN, or TLS close_notify).
    std::size_t recvSome(void* data, std::size_t length);

    // Ends the session after the last byte: close_notify (gnutls_bye with the write side),
    // then the socket's write side. Without TLS only the latter.
    void endSession();
    // What a source did before the close_notify fix: the write side closes, nothing is said.
    void closeWithoutBye();
    // How the peer ended the stream; set once recvSome() saw it.
    Termination termination() const { return termination_; }

    // Keeps at most `bytes` not yet sent in the kernel (TCP_NOTSENT_LOWAT), so that data
    // queued later, such as a page a postcopy guest waits for, is not stuck behind megabytes.
    void limitUnsentBytes(int bytes);

    // Unblocks any thread inside this connection; later I/O fails. Safe from any thread.
    // `why` is how the receive side's end is classified (Local: this host stopped it).
    void shutdown(Termination why = Termination::Local);
    // An injected network failure: the peer gets a reset (RST), not an orderly FIN, as from a
    // network that failed; bytes still in flight are lost, as they would be.
    void failNetwork();
    // The operator's pause (migrate-pause), said in the session before the socket goes: a TLS
    // user_canceled alert, so that the peer tells it from a failure. Said at once when no
    // record is half-sent; otherwise the sending thread says it as soon as its record is
    // whole, and gives up after a second (the peer then sees an end without close_notify).
    // Without TLS or without the session lock there is nothing to say it in.
    void shutdownForPause();
    bool wasShutDown() const { return shutDown_.load(); }
    // Another thread reads this connection while this one sends (the main channel with its
    // return path). A failed send then leaves any alert to that reader: GnuTLS allows one
    // reader at a time, and what a second one read would be lost to the stream.
    void markReadElsewhere() { readElsewhere_.store(true); }

private:
    static ssize_t push(gnutls_transport_ptr_t self, const giovec_t* pieces, int count);
    static ssize_t pull(gnutls_transport_ptr_t self, void* data, std::size_t length);
    static int pullTimeout(gnutls_transport_ptr_t self, unsigned milliseconds);
    static int keyUpdateHook(gnutls_session_t session, unsigned type, unsigned when,
                             unsigned incoming, const gnutls_datum_t* message);
    void initSession(unsigned flags, const std::string& priority);
    void countIncomingRecords(const std::uint8_t* data, std::size_t length);
    void afterRecordSent();
    template <typename Operation> ssize_t sessionCall(Operation&& operation);
    void handshake(const std::string& role);
    [[noreturn]] void fail(const std::string& what, int gnutlsError) const;
    [[noreturn]] void failErrno(const std::string& what, int error) const;
    // The stream ended where a message still had bytes to come (recvExact, recvExactv).
    [[noreturn]] void failEndedMidMessage();
    void sendRecord(const std::uint8_t* data, std::size_t length);
    bool sayPaused(std::chrono::steady_clock::time_point deadline);
    std::size_t counted(std::size_t received); // adds to the channel's bytes received
    std::string pendingAlert();

    UniqueFd fd_;
    std::string name_;
    gnutls_session_t session_ = nullptr;
    ChannelCounters* counters_ = nullptr;
    std::atomic<bool> shutDown_{false};
    std::atomic<bool> kernelViewKept_{false}; // the last tcp_info before a network cut
    std::atomic<bool> readElsewhere_{false};
    std::atomic<Termination> shutdownReason_{Termination::None}; // the first shutdown's
    std::vector<std::uint8_t> staging_; // one TLS record's worth, for records spanning pieces
    std::vector<std::uint8_t> unread_;  // put back by unread(), read before the stream
    Termination termination_ = Termination::None;
    // A receive failure by what happened: the socket's error (the network), GnuTLS's (TLS),
    // or this host's shutdown and its reason.
    Termination classifyFailure(int gnutlsError, int socketError) const;
    Termination endOfStream() const; // without TLS
    std::string peerDn_;
    std::atomic<int> socketErrno_{0}; // the last failed send or receive under TLS

    TlsPolicy policy_;
    Telemetry* telemetry_ = nullptr;
    Side side_ = Side::Source;
    TlsProtection protection_ = TlsProtection::None;
    std::chrono::milliseconds handshakeTimeout_{20000};
    std::mutex sessionMutex_; // with SessionLock: held around every GnuTLS call, never in poll()
    // The pause said to the peer (shutdownForPause); under the session lock. Requested: the
    // writer says it once its half-sent record is whole. Taken: one thread is saying it, and
    // no record follows.
    enum class PauseGoodbye { None, Requested, Taken };
    PauseGoodbye pauseGoodbye_ = PauseGoodbye::None;
    bool recordHalfSent_ = false; // GnuTLS holds part of a record (it said EAGAIN)
    std::chrono::steady_clock::time_point pauseGoodbyeDeadline_{};
    // Touched by the writer and, through the key-update hook, by whichever thread GnuTLS
    // sends a KeyUpdate from.
    std::atomic<std::uint64_t> recordsUnderKey_{0};
    bool recordLimitApplies_ = false;
    std::atomic<bool> warnedAboutRecordLimit_{false}; // once per channel, not once per key
    std::chrono::steady_clock::time_point lastForcedKeyUpdate_{};
    // GnuTLS fails a session that receives more than 8 KeyUpdates within 1000 ms of its own
    // processing (lib/tls13/key_update.c), so a reader that falls behind and catches up
    // could trip it however the sender paces. The reader keeps its own, stricter count and
    // stops reading until its window has passed (seen under ThreadSanitizer).
    std::chrono::steady_clock::time_point keyUpdateWindowStart_{}; // under the session lock
    unsigned keyUpdatesInWindow_ = 0;
    std::atomic<std::int64_t> readPauseUntilNs_{0};
    void waitOutKeyUpdateWindow();
    // Incoming TLS record framing, parsed in pull() to count records exactly.
    std::uint8_t recordHeader_[5] = {};
    std::size_t recordHeaderFilled_ = 0;
    std::size_t recordBodyLeft_ = 0;
};

// The peer closed the connection without ending its TLS session (no close_notify).
class PrematureTermination : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};

} // namespace migrascope
