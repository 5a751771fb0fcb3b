// The engine's side of telemetry: counters the data path writes (atomics only), and the
// Telemetry that copies them into a snapshot (engine/api/telemetry_snapshot.h) for readers,
// who never block the writers.
#pragma once

#include "engine/api/telemetry_snapshot.h"
#include "engine/transport/socket_diag.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace migrascope {

// Counters for one channel, updated by the one thread that drives the channel.
struct ChannelCounters {
    std::string id; // "main", "multifd-0", ...
    ChannelKind kind = ChannelKind::Main;
    std::atomic<std::uint64_t> bytes{0};         // this end sent (payload, before TLS)
    std::atomic<std::uint64_t> bytesReceived{0}; // this end received (payload, after TLS)
    std::atomic<std::uint64_t> pages{0};
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> tlsRecordsSent{0};
    std::atomic<std::uint64_t> tlsRecordsReceived{0};
    std::atomic<std::uint64_t> keyUpdatesSent{0};
    std::atomic<std::uint64_t> keyUpdatesReceived{0};
    std::atomic<std::uint64_t> recordsUnderCurrentKey{0}; // sent since the last KeyUpdate
    std::atomic<std::uint64_t> recordLimit{0};            // 0 = the cipher has none
    std::atomic<ChannelState> state{ChannelState::Connecting};
    std::atomic<Termination> termination{Termination::None};
    // How the channel ended, and the state that goes with it: closed, or failed when the end
    // is a failure of the channel itself.
    void markEnded(Termination end) {
        termination.store(end);
        state.store(isFailure(end) ? ChannelState::Failed : ChannelState::Closed);
    }
    // The main channel carries the stream one way and the return path the other.
    std::atomic<bool> bidirectional{false};

    // Written once after the handshake, read by snapshots.
    void setTlsInfo(std::string version, std::string cipher, std::string protection);
    void tlsInfo(std::string& version, std::string& cipher, std::string& protection) const;

    // The kernel's id of the channel's current socket (SO_COOKIE; 0 = none yet), and the
    // kernel's counters for it as last read. The sampler (KernelTcpReader) reads every
    // channel at once and can finish after the connection recorded its final counters: a
    // sampled view never replaces the final one of the same socket.
    std::atomic<std::uint64_t> socketCookie{0};
    // The channel's current socket (a resumed postcopy brings a new one): sets socketCookie
    // and the addresses the sampler finds it by, together.
    void setSocket(const TcpSocketId& current);
    std::optional<TcpSocketId> socket() const; // empty before a socket was set
    enum class KernelViewKind { Sampled, Final };
    void setKernelView(const TcpKernelView& view, std::uint64_t cookie, KernelViewKind viewKind);
    std::optional<TcpKernelView> kernelView() const;

private:
    mutable std::mutex kernelMutex_;
    std::optional<TcpKernelView> kernelView_;
    std::uint64_t finalViewCookie_ = 0; // the socket whose final counters kernelView_ holds
    std::optional<TcpSocketId> socket_;
    mutable std::mutex tlsMutex_;
    std::string tlsVersion_;
    std::string tlsCipher_;
    std::string tlsProtection_;
};

// 0..1 for the progress bar: the bulk pass up to 90 %, then the share of RAM not dirty;
// never below `shownBefore`.
double migrationProgress(const MigrationStats& stats, double shownBefore);

class Telemetry {
public:
    // `start` is time zero of every timestamp; the in-process destination shares the source's.
    explicit Telemetry(
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now());
    std::chrono::steady_clock::time_point startTime() const { return start_; }

    double elapsedMs() const;

    // Channels live as long as the Telemetry. The source registers its channels before the
    // data path starts; a destination registers each as it recognises it.
    ChannelCounters& addChannel(std::string id, ChannelKind kind);
    // The registered channel, or a new one.
    ChannelCounters& channel(const std::string& id, ChannelKind kind);
    // The counters of a registered channel, or nullptr.
    ChannelCounters* findChannel(const std::string& id);
    // Every channel registered so far, in order (counters live as long as the Telemetry).
    std::vector<ChannelCounters*> channels();

    void setStatus(MigrationStatus status);
    MigrationStatus status() const { return status_.load(); }
    void setPhase(std::string phase);
    // Records the first error only (later ones are consequences and go to the event log),
    // unless `replace` says the caller is refining that first error.
    void setError(const std::string& error, bool replace = false);
    std::string error() const;
    void setIntegrity(std::string integrity);
    // Why precopy goes on (or that it converged): the downtime estimate against the limit.
    void setConvergence(std::string convergence);
    void setHeldAt(std::string phase); // "" once released
    void setSlowMotion(unsigned divisor);
    void setSourceGuest(GuestState state) { sourceGuest_.store(state); }
    void updateStats(const MigrationStats& stats);
    MigrationStats stats() const;

    void event(EventLevel level, Side side, const std::string& text);
    // A warning event that also qualifies the run's result (TelemetrySnapshot::warnings).
    void warning(Side side, const std::string& text);
    void returnPathMessage(ReturnPathType type, std::uint32_t value, const std::string& text,
                           unsigned connection);
    // The value of the last SHUT the destination sent (0 = success), if it sent one.
    std::optional<std::uint32_t> lastShut() const;

    // Devices are registered before the migration starts.
    void addDevice(const std::string& name, const std::string& kind, std::uint64_t stateSize);
    void deviceTransition(Side side, const std::string& device, vfio::DeviceState from,
                          vfio::DeviceState to, bool ok, const std::string& error);
    // VFIO_DEVICE_RESET brought the device to `to` (RUNNING), whatever its state was.
    void deviceReset(Side side, const std::string& device, vfio::DeviceState to);

    // What a destination daemon on another host reported of itself on the return path
    // (Migrascope's own messages). An arc's time is already on this telemetry's clock.
    void destinationReported(MigrationStatus status, std::int64_t historyId, std::string error);
    void destinationReported(const ChannelSnapshot& channel);
    void destinationReported(DeviceTransition arc);
    // Those reports as the destination's own view: its status and error, its history record,
    // its channels as it received them, its devices' states and arcs. No events travel.
    TelemetrySnapshot destinationReport() const;

    void pageRequested();
    void pageRequestServed(double latencyMs);
    void urgentPageSent();
    void postcopyPaused();
    void postcopyRecovered(double recoveryMs, std::uint64_t pagesMissing);
    PostcopyStats postcopyStats() const;

    // Appends one sample per channel plus "total", computed from byte deltas since the last call.
    void sample();

    // eventCursor/sampleCursor: return only what is newer (pass 0 for everything).
    TelemetrySnapshot snapshot(std::size_t eventCursor = 0, std::size_t sampleCursor = 0,
                               std::size_t returnPathCursor = 0) const;

private:
    ChannelCounters& addChannelLocked(std::string id, ChannelKind kind); // with mutex_ held
    void recordTransition(DeviceTransition transition);

    std::chrono::steady_clock::time_point start_;
    std::atomic<MigrationStatus> status_{MigrationStatus::None};
    std::atomic<GuestState> sourceGuest_{GuestState::Running};

    mutable std::mutex mutex_; // guards everything below; never held on the data path
    std::deque<std::unique_ptr<ChannelCounters>> channels_;
    std::string phase_;
    std::vector<MigrationStatus> statusChanges_;
    std::string error_;
    std::string integrity_ = "pending";
    std::string convergence_;
    std::string heldAt_;
    unsigned slowMotion_ = 1;
    MigrationStats stats_;
    double progress_ = 0;
    std::vector<Event> events_;
    std::vector<std::string> warnings_;
    std::vector<ChannelSample> samples_;
    std::vector<ReturnPathRecord> returnPath_;
    std::size_t returnPathCount_ = 0;
    std::optional<std::uint32_t> lastShut_;
    PostcopyStats postcopy_;
    std::vector<double> requestLatenciesMs_;
    std::vector<DeviceSnapshot> devices_;
    std::vector<DeviceTransition> transitions_;
    struct DestinationReport {
        MigrationStatus status = MigrationStatus::None;
        std::int64_t historyId = 0;
        std::string error;
        std::vector<ChannelSnapshot> channels;
        std::vector<DeviceTransition> transitions;
    } destinationReport_;
    // Each channel's bytes at recent samples, oldest first, reaching back one rate window.
    struct ByteCount {
        double timeMs;
        std::vector<std::uint64_t> bytes; // by channel index; channels added later are absent
    };
    std::deque<ByteCount> recentBytes_;
};

} // namespace migrascope
