// When precopy may stop the guest and switch over (QEMU's migration_iteration_run): when the
// downtime it would cause fits the limit. Unlike QEMU's rule (remaining bytes over the whole
// bandwidth), the estimate counts what switchover really costs here: device state travels on
// the main channel alone, so at one channel's share of the bandwidth, and the verdict needs a
// round trip. Pure functions, so the rule can be tested without a migration.
#pragma once

#include <algorithm>
#include <cstdint>

namespace migrascope::switchover {

struct DowntimeEstimate {
    double ramMs = 0;       // the dirty RAM, over every channel
    double deviceMs = 0;    // the devices' state, over the main channel
    double roundTripMs = 0; // the destination's verdict coming back
    bool known = false;     // false while no bandwidth was measured
    double totalMs() const { return ramMs + deviceMs + roundTripMs; }
};

// `bandwidthBytesPerMs`: measured over all channels; `multifdChannels`: how many channels
// share it besides the main one (0: the main channel carries everything).
constexpr DowntimeEstimate estimate(std::uint64_t ramBytes, std::uint64_t deviceBytes,
                                    double bandwidthBytesPerMs, unsigned multifdChannels,
                                    double roundTripMs) {
    DowntimeEstimate result;
    if (bandwidthBytesPerMs <= 0)
        return result;
    result.known = true;
    result.ramMs = static_cast<double>(ramBytes) / bandwidthBytesPerMs;
    const double mainChannelShare = bandwidthBytesPerMs / std::max(1u, multifdChannels);
    result.deviceMs = static_cast<double>(deviceBytes) / mainChannelShare;
    result.roundTripMs = roundTripMs;
    return result;
}

// Whether switching now keeps the downtime within the limit. With no bandwidth measured yet
// nothing fits, unless nothing is left.
constexpr bool converged(const DowntimeEstimate& downtime, std::uint64_t remainingBytes,
                         std::uint64_t downtimeLimitMs) {
    if (!downtime.known)
        return remainingBytes == 0;
    return downtime.totalMs() <= static_cast<double>(downtimeLimitMs);
}

} // namespace migrascope::switchover
