// What a migration shows its readers (window, headless progress, JSON, history): the
// statuses, and the snapshot a reader copies out of the engine's telemetry.
#pragma once

#include "engine/api/side.h"
#include "vfio/device_state.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrascope {

// The value whose toString() is `text`, among first..last; for reading back what a file or a
// peer spelled.
template <typename Enum>
std::optional<Enum> enumFromString(std::string_view text, Enum first, Enum last) {
    for (auto raw = static_cast<long long>(first); raw <= static_cast<long long>(last); ++raw)
        if (text == toString(static_cast<Enum>(raw)))
            return static_cast<Enum>(raw);
    return std::nullopt;
}

// query-migrate's MigrationStatus, the subset this engine reaches, in QEMU's spelling.
enum class MigrationStatus {
    None,
    Setup,
    Active,
    Device,
    PostcopyActive,
    PostcopyPaused,
    PostcopyRecoverSetup, // source only: reconnecting for a resume
    PostcopyRecover,      // the resume handshake: bitmaps, then RESUME_ACK
    Completed,
    Failed,
    Cancelling,
    Cancelled,
};
const char* toString(MigrationStatus status);
bool isFinal(MigrationStatus status);
bool isPostcopy(MigrationStatus status);

enum class ChannelKind { Main, Multifd };
const char* toString(ChannelKind kind);

enum class ChannelState { Connecting, Handshake, Open, Closed, Failed };
const char* toString(ChannelState state);

enum class GuestState { Running, Paused, Postmigrate };

// How a channel's TLS session ended, as its receiver saw it.
// How a channel ended, as its receiver saw it, by what happened. Stored in history and sent on
// the return path by number: new classes go at the end.
enum class Termination {
    None,      // still open, or never opened
    Clean,     // close_notify (or, without TLS, an orderly end after the last byte)
    Premature, // the peer closed the connection without close_notify
    Error,     // failed, unclassified (runs recorded before the classes below)
    Cancelled, // it ended because the operator cancelled the migration
    Paused,    // the operator paused a postcopy migration (migrate-pause)
    Network,   // the network failed under it (reset, timed out, unreachable)
    TlsError,  // GnuTLS failed on what arrived (a record it could not decrypt, an alert)
    Local,     // this host ended it (its own error, or it stopped)
    // This host closed it because the migration had already failed elsewhere (another
    // channel, a device, integrity): a consequence, not a failure of its own.
    AfterFailure,
};
inline constexpr Termination kLastTermination = Termination::AfterFailure;
// Whether the end is a failure of the channel (shown as one), not an orderly or operator end.
constexpr bool isFailure(Termination termination) {
    return termination == Termination::Premature || termination == Termination::Error ||
           termination == Termination::Network || termination == Termination::TlsError ||
           termination == Termination::Local;
}
// In words, for the window and reports: "peer closed without close_notify".
const char* describe(Termination termination);
const char* toString(Termination termination);
const char* toString(GuestState state);

enum class EventLevel { Info, Warning, Error };
const char* toString(EventLevel level);

struct Event {
    double timeMs = 0; // since the run started
    EventLevel level = EventLevel::Info;
    Side side = Side::Source;
    std::string text;
};

// The kernel's view of a channel's TCP connection (tcp_info, as TCP_INFO and inet_diag give
// it): payload bytes only, whatever TLS framing they carry.
struct TcpKernelView {
    std::uint64_t bytesAcked = 0;           // tcpi_bytes_acked: sent and acknowledged by the peer
    std::uint64_t bytesReceived = 0;        // tcpi_bytes_received
    std::uint32_t rttUs = 0;                // tcpi_rtt, smoothed
    std::uint32_t retransmits = 0;          // tcpi_total_retrans
    std::uint32_t sendCongestionWindow = 0; // tcpi_snd_cwnd, in segments
};

struct ChannelSnapshot {
    std::string id;
    ChannelKind kind = ChannelKind::Main;
    ChannelState state = ChannelState::Connecting;
    std::uint64_t bytes = 0; // sent by this end: the source's, in a source's run
    // Received by the destination, as it counted them (a remote one reports them on the
    // return path); equal to `bytes` once a channel has delivered everything.
    std::uint64_t bytesReceived = 0;
    std::uint64_t pages = 0;
    std::uint64_t packets = 0;
    std::uint64_t tlsRecordsSent = 0;
    std::uint64_t tlsRecordsReceived = 0;
    std::uint64_t keyUpdatesSent = 0;
    std::uint64_t keyUpdatesReceived = 0;
    std::uint64_t recordsUnderCurrentKey = 0;
    std::uint64_t recordLimit = 0;
    Termination termination = Termination::None;
    bool bidirectional = false;
    std::string tlsVersion; // empty without TLS
    std::string tlsCipher;
    std::string tlsProtection;        // how concurrent use of the session is made safe
    std::optional<TcpKernelView> tcp; // the kernel's counters for its socket, when read
    // Watched from outside the process that owns it (a real QEMU's connection): its label is
    // inferred from connection order, and its TLS session, if any, cannot be seen.
    bool seenFromOutside = false;
    bool tlsUnseen = false; // seen from outside, and TLS protects it: its session is unknown
};

// The statistics query-migrate reports, plus what Migrascope adds.
struct MigrationStats {
    std::uint64_t total = 0; // every RAM block's bytes, as QEMU's ram.total counts them
    // The guest's RAM as configured (the "pc.ram" block); total also counts the 8 MiB of
    // video RAM a QEMU guest has, which the screen shows apart. 0 when unknown (a watch).
    std::uint64_t guestRam = 0;
    std::uint64_t transferred = 0; // bytes on all channels
    std::uint64_t remaining = 0;   // dirty bytes at the last sync
    std::uint64_t duplicate = 0;   // zero pages
    std::uint64_t normal = 0;      // pages sent with data
    std::uint64_t dirtySyncCount = 0;
    double dirtyPagesRate = 0; // pages/s at the last sync
    double mbps = 0;           // megabits/s over the last window
    // Before switchover the downtime switching would cause; after it, what was expected then.
    double expectedDowntimeMs = 0;
    std::uint64_t downtimeLimitMs = 0; // the downtime-limit parameter
    // auto-converge: how much the source guest's vCPUs are throttled (QEMU's
    // cpu-throttle-percentage); after switchover, the last throttle applied.
    unsigned cpuThrottlePercentage = 0;
    double downtimeMs = 0; // measured, once known
    double setupTimeMs = 0;
    double totalTimeMs = 0;
    // QEMU's split of `transferred` by phase (ram.precopy-bytes, downtime-bytes,
    // postcopy-bytes, since QEMU 7.0), where the migration reports it: a watched QEMU.
    std::optional<std::uint64_t> precopyBytes;
    std::optional<std::uint64_t> downtimeBytes;
    std::optional<std::uint64_t> postcopyBytes;
};

// The return path's message types, with QEMU's numbers (enum mig_rp_message_type).
enum class ReturnPathType : std::uint16_t {
    Invalid = 0,
    Shut = 1,
    Pong = 2,
    ReqPagesId = 3,
    ReqPages = 4,
    RecvBitmap = 5,
    ResumeAck = 6,
    SwitchoverAck = 7,
    // Migrascope's own: a destination daemon on another host reports its view of the
    // migration to a Migrascope source (QEMU neither sends nor knows these).
    DestinationChannel = 0x4d01, // a channel as the destination received it
    DestinationArc = 0x4d02,     // a device arc the destination took or refused
    DestinationStatus = 0x4d03,  // its status, its history record, its error
};
bool isDestinationReport(ReturnPathType type);
// QEMU's names: SHUT, PONG, REQ_PAGES, ...
const char* toString(ReturnPathType type);
std::optional<ReturnPathType> returnPathTypeFromString(std::string_view text);

// One message the destination sent on the return path, as the source received it.
struct ReturnPathRecord {
    double timeMs = 0;
    ReturnPathType type = ReturnPathType::Invalid;
    std::uint32_t value = 0; // SHUT's reason (0 = success), PONG's and RESUME_ACK's value
    std::string text;        // the whole message in words
    // A SHUT that carries an error: the destination's verdict against the migration.
    bool isFailureVerdict() const { return type == ReturnPathType::Shut && value != 0; }
    unsigned connection = 0; // 1 for the first main connection, +1 for every resume
};

// Postcopy as both ends see it: page faults the destination guest could not satisfy
// locally, and recoveries after the network failed.
struct PostcopyStats {
    std::uint64_t pageRequests = 0; // pages the destination asked for (REQ_PAGES)
    std::uint64_t pagesServed = 0;  // of those, pages that arrived (latency measured)
    double latencyMedianMs = 0;     // from the fault to the page's arrival
    double latencyP99Ms = 0;
    double latencyMaxMs = 0;
    std::uint64_t urgentPagesSent = 0; // source: pages sent ahead of the background push
    unsigned pauses = 0;
    unsigned recoveries = 0;
    double lastRecoveryMs = 0;                  // from postcopy-paused to postcopy-active again
    std::uint64_t pagesResentAfterRecovery = 0; // missing at the destination per its bitmap
};

// One arc a device took or refused, on either side.
struct DeviceTransition {
    double timeMs = 0;
    Side side = Side::Source;
    std::string device; // "nic0", ...
    vfio::DeviceState from = vfio::DeviceState::Running;
    vfio::DeviceState to = vfio::DeviceState::Running;
    // VFIO_DEVICE_RESET: the device reached `to` by a reset, from whatever state it was in.
    bool reset = false;
    bool ok = true;
    std::string error; // why it failed
};
// "PRE_COPY_P2P -> STOP_COPY", "reset -> RUNNING": the uAPI's names.
std::string arcText(const DeviceTransition& transition);
// The words of the arc's start: the uAPI state, or "reset".
std::string fromText(const DeviceTransition& transition);
// Where the device is after it: `to`, or still `from` when the arc was refused.
inline vfio::DeviceState stateAfter(const DeviceTransition& transition) {
    return transition.ok ? transition.to : transition.from;
}

struct DeviceSnapshot {
    std::string name;
    std::string kind; // "nic", "accel"
    std::uint64_t stateSize = 0;
    vfio::DeviceState sourceState = vfio::DeviceState::Running;
    std::optional<vfio::DeviceState> destinationState; // until the destination has the device
    std::optional<DeviceTransition> lastArc;           // the arc taken last, on either side
    // The first arc refused, on either side: after a failure the last arc is usually the
    // source's rollback, and the window marks both.
    std::optional<DeviceTransition> failedArc;
};

// One point of the throughput plot and of the history's sample table.
// A channel's bytes sent per second are averaged over this window (or since the start): a
// multifd packet is half a MiB, so over 100 ms a rate capped at 200 MiB/s read 176 then 216.
inline constexpr double kSampleRateWindowMs = 500;

struct ChannelSample {
    double timeMs = 0;
    std::string channel;       // channel id, or "total"
    double bytesPerSecond = 0; // over the last kSampleRateWindowMs
    std::uint64_t bytes = 0;
};

struct TelemetrySnapshot {
    MigrationStatus status = MigrationStatus::None;
    // Every status this end went through, in order, even those too brief for a reader's
    // timer to see (QMP's MIGRATION events are sent from it).
    std::vector<MigrationStatus> statusChanges;
    std::string phase; // human words: "bulk copy", "dirty iteration 3", "switchover", ...
    std::string errorDesc;
    std::string integrity; // "verified", "pending", or why not
    // What a completed run must be read with ("completed with warnings"): a fault that never
    // fired, a legacy setting that hid a failure, downtime over the limit. Each is also a
    // warning in the event log; the destination's are prefixed "destination: ".
    std::vector<std::string> warnings;
    // At the last dirty sync: what is left, the downtime switching would cause, the limit.
    std::string convergence;
    // Stepping through the phases (a trainer's "stop at each phase"): the phase the migration
    // is held at, waiting for Continue; empty when it is not held.
    std::string heldAt;
    // A trainer's slow motion: link, workload and downtime limit at 1/slowMotion (1: normal).
    unsigned slowMotion = 1;
    GuestState sourceGuest = GuestState::Running;
    MigrationStats stats;
    double progress = 0; // 0..1, never decreases during a run
    std::vector<ChannelSnapshot> channels;
    std::vector<Event> events; // events with index >= the caller's cursor
    std::size_t nextEventIndex = 0;
    std::vector<ChannelSample> samples; // samples with index >= the caller's cursor
    std::size_t nextSampleIndex = 0;
    std::vector<ReturnPathRecord> returnPath; // records with index >= the caller's cursor
    std::size_t nextReturnPathIndex = 0;
    std::size_t returnPathCount = 0; // every message, including those not kept
    MigrationStatus destinationStatus = MigrationStatus::None;
    // "host:port" of a destination daemon on another host; empty for the in-process one.
    std::string remoteDestination;
    // The destination daemon's record of this migration in its host's history (0: none, or
    // the destination is this process and records nothing of its own).
    std::int64_t destinationHistoryId = 0;
    PostcopyStats postcopy;
    std::vector<DeviceSnapshot> devices;
    std::vector<DeviceTransition> transitions; // every transition, in order
};

} // namespace migrascope
