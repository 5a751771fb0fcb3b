// Parameters of one migration, named as QEMU's migrate-set-parameters names them.
#pragma once

#include "engine/api/faults.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace migrascope {

using Uuid = std::array<std::uint8_t, 16>;

Uuid generateUuid();
std::string uuidToString(const Uuid& uuid);
std::optional<Uuid> uuidFromString(const std::string& text);

// GnuTLS re-keys TLS 1.3 AES-GCM/CCM sessions after 2^24 records (RFC 8446 section 5.5).
inline constexpr std::uint64_t kTlsRecordLimit = std::uint64_t{1} << 24;
// Forced KeyUpdates (tls-rekey-interval) come at most this often: GnuTLS fails a session that
// receives more than 8 within a second, and our readers accept 4 per 1500 ms.
inline constexpr std::uint64_t kKeyUpdateSpacingMs = 400;
// The emulated devices' state when --device does not say (state-size=).
inline constexpr std::uint64_t kNicStateSize = std::uint64_t{4} << 20;
inline constexpr std::uint64_t kAccelStateSize = std::uint64_t{32} << 20;

struct TlsParameters {
    bool enabled = true;
    // Directory in QEMU's tls-creds-x509 layout (ca-cert.pem, server-*.pem, client-*.pem).
    std::string credsDir;
    std::string priority = "NORMAL";
    // Name the source expects in the destination's certificate; empty = the host it dialled.
    std::string hostname;
    // The destination accepts only client certificates with one of these distinguished names
    // (RFC 4514, e.g. "CN=migrascope-source,O=Migrascope"); empty = any the CA signed.
    std::vector<std::string> authz;
    // Force a TLS 1.3 KeyUpdate every N records sent (0 = only GnuTLS's own, at 2^24).
    std::uint64_t rekeyInterval = 0;
    // Warn when a channel has sent this many records under one key (ciphers with a limit).
    std::uint64_t recordWarning = kTlsRecordLimit / 4 * 3;
};

// An emulated VFIO device of the guest
// (--device KIND[,state-size=SIZE][,name=NAME][,x-migration-multifd-transfer=on|off]).
struct DeviceConfig {
    std::string name; // "nic0", "accel0", ...
    std::string kind; // "nic" (PRE_COPY and P2P) or "accel" (STOP_COPY only)
    std::uint64_t stateSize = 0;
    // QEMU 10's device property: the STOP_COPY state travels over the multifd channels (when
    // the migration has them) instead of the main channel alone.
    bool multifdTransfer = true;
};

// The target page size: the unit of RAM transfer, dirty tracking and the wire's offsets.
inline constexpr std::uint64_t kPageSize = 4096;

// What the source guest's RAM holds before the migration (--guest-content).
enum class GuestContent {
    Mixed,  // three pages in four hold incompressible data, the rest are zero
    Random, // every page holds incompressible data: a busy guest, no zero pages
    Zero,   // nothing written yet: a freshly booted guest, only the workload writes
};
const char* toString(GuestContent content);
// "mixed", "random" or "zero"; throws std::invalid_argument naming the choices.
GuestContent parseGuestContent(const std::string& text);

struct GuestConfig {
    std::uint64_t ramSize = 512ull << 20;
    std::uint64_t dirtyRate = 64ull << 20; // bytes per second; 0 = idle guest
    std::uint32_t seed = 1;
    GuestContent content = GuestContent::Mixed;
};

// migrate-set-capabilities. The return path cannot be turned off: "completed" is reported
// only after the destination's verdict, and the verdict comes back on it.
struct Capabilities {
    bool postcopyRam = false;
    bool switchoverAck = false;
    // auto-converge: throttle the guest's vCPUs when it dirties memory faster than the link
    // drains it (QEMU's mig_throttle_guest_down).
    bool autoConverge = false;
};

// QEMU's cpu-throttle-initial / cpu-throttle-increment / max-cpu-throttle, in percent.
struct CpuThrottle {
    unsigned initial = 20;
    unsigned increment = 10;
    unsigned max = 99;
};

// When precopy switches to postcopy without an operator (migrate-start-postcopy).
struct PostcopyStart {
    unsigned afterIterations = 0; // after this many dirty-page iterations; 0 = not by count
    double afterMs = 0;           // after this long in precopy; 0 = not by time
    bool automatic() const { return afterIterations > 0 || afterMs > 0; }
};

struct MigrationConfig {
    GuestConfig guest;
    unsigned multifdChannels = 4; // 0 = everything on the main channel
    std::uint64_t downtimeLimitMs = 300;
    CpuThrottle cpuThrottle;        // with the auto-converge capability
    std::uint64_t maxBandwidth = 0; // bytes per second; 0 = unlimited
    TlsParameters tls;
    // QEMU's migration property of the same name: off tolerates a source that ends multifd
    // channels without close_notify (sources before QEMU 9.1 never sent it).
    bool multifdCleanTlsTermination = true;
    std::vector<FaultSpec> faults;
    Capabilities capabilities;
    PostcopyStart postcopyStart;
    // A paused postcopy recovers by itself (migrate-recover, then migrate resume) after this
    // delay. Off, an operator recovers it.
    bool autoRecover = false;
    std::uint64_t recoverDelayMs = 1000;
    std::vector<DeviceConfig> devices;
    // After a device's last data the destination moves it RESUMING -> STOP, and a failure
    // there or at STOP -> RUNNING fails the migration. Off, the legacy way of QEMU's VFIO
    // destination that started the guest after a failed load: straight to RUNNING when the
    // guest starts, a failure ignored.
    bool vfioExplicitResumingStop = true;
    Uuid uuid{};
    // Destination endpoint. Without a port, the in-process destination listens on an
    // ephemeral port of this host; with one, a destination daemon (--incoming) on another host.
    std::string destinationHost = "127.0.0.1";
    std::optional<std::uint16_t> destinationPort;
    // Each channel's connect gives up after this (a host that drops our SYNs); cancellable.
    std::uint64_t connectTimeoutMs = 10000;
    bool remoteDestination() const { return destinationPort.has_value(); }
};

// "512M", "4G", "65536", "1.5G" -> bytes (binary units). Throws std::invalid_argument naming the
// text.
std::uint64_t parseSize(const std::string& text);
std::string formatBytes(double bytes);
// "NAME=on|off" for --capability; throws std::invalid_argument naming what is wrong.
void applyCapability(const std::string& text, Capabilities& capabilities);
// "nic", "accel,state-size=64M", "nic,name=eth0"; `existing` gives the default name's number.
DeviceConfig parseDevice(const std::string& text, const std::vector<DeviceConfig>& existing);
// "3" (dirty iterations) or "1.5s" / "800ms" (time in precopy).
PostcopyStart parsePostcopyStart(const std::string& text);

// One line per parameter, for the history's configuration column and the event log.
std::string describe(const MigrationConfig& config);
// The configuration describe() wrote, for running a recorded run again; a new UUID. Throws
// std::invalid_argument naming the line it cannot read; lines of keys it does not know (a
// newer Migrascope's) are skipped.
MigrationConfig configFromDescription(const std::string& text);

} // namespace migrascope
