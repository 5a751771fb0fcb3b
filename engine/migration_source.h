// The outgoing side: connects the channels, runs precopy (bulk pass, dirty iterations),
// switches over, and ends in a named state. The source guest is running again after any
// failure or cancel.
#pragma once

#include "connection.h"
#include "guest.h"
#include "main_stream.h"
#include "migration_config.h"
#include "rate_limiter.h"
#include "telemetry.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace migrascope {

class MultifdSender;

class MigrationSource {
public:
    MigrationSource(const MigrationConfig& config, Guest& guest, Telemetry& telemetry);
    ~MigrationSource();

    // Runs the whole migration on the calling thread (the migration thread) and returns
    // its final status. Never throws.
    MigrationStatus run(std::uint16_t destinationPort);
    // Any thread. The migration thread ends in `cancelled` soon after.
    void cancel();

private:
    void connectChannels(std::uint16_t port);
    std::unique_ptr<Connection> openChannel(std::uint16_t port, const std::string& id);
    void sendSetup();
    // Sends every page dirty in `dirty`; returns when done or throws.
    void sendRound(std::vector<std::vector<std::uint64_t>>& dirty);
    void sendPageOnMainChannel(std::size_t block, std::uint64_t offset, bool& continued);
    void endRound();
    std::uint64_t harvest(std::vector<std::vector<std::uint64_t>>& dirty);
    void publishStats(std::uint64_t remainingBytes, bool roundEnded = false);
    void complete(std::vector<std::vector<std::uint64_t>>& dirty);
    void throwIfCancelled() const;
    void checkMainChannelFault();
    void warnAboutFaultsThatNeverFired();
    std::uint64_t transferredBytes() const;

    MigrationConfig config_;
    Guest& guest_;
    Telemetry& telemetry_;
    RateLimiter limiter_;
    std::unique_ptr<TlsCredentials> credentials_;

    std::atomic<bool> cancelRequested_{false};
    std::mutex connectionsMutex_; // guards the list cancel() walks while channels are opened
    std::vector<Connection*> connections_;

    std::unique_ptr<Connection> main_;
    ChannelCounters* mainCounters_ = nullptr;
    std::vector<ChannelCounters*> multifdCounters_;
    std::unique_ptr<MultifdSender> multifd_;
    std::unique_ptr<StreamWriter> stream_;

    // Measurements of the current iteration window (QEMU's migration_update_counters).
    double windowStartMs_ = 0;
    std::uint64_t windowStartBytes_ = 0;
    double bandwidthBytesPerMs_ = 0;
    std::uint64_t dirtySyncCount_ = 0;
    std::uint64_t mainNormalPages_ = 0;
    std::uint64_t mainZeroPages_ = 0;
    double lastSyncMs_ = 0;
    double dirtyPagesRate_ = 0;
    double setupTimeMs_ = 0;
    double startMs_ = 0;
    double downtimeMs_ = 0;
};

} // namespace migrascope
