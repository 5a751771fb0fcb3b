// When precopy may stop the guest and switch over (QEMU's migration_iteration_run): when the
// downtime it would cause fits the limit. Unlike QEMU's rule (remaining bytes over the whole
// bandwidth), the estimate counts what switchover really costs here: device state that
// travels on the main channel alone (x-migration-multifd-transfer=off, or no multifd) gets
// one channel's share of the bandwidth, and the verdict needs a round trip. Pure functions,
// so the rule can be tested without a migration.
#pragma once

#include <algorithm>
#include <cstdint>

namespace migrascope::switchover {

// The devices' pending state, by the way it will travel at switchover.
struct DeviceBytes {
    std::uint64_t overMultifd = 0; // with the RAM, over every channel
    std::uint64_t overMain = 0;    // on the main channel alone
    constexpr std::uint64_t total() const { return overMultifd + overMain; }
};

struct DowntimeEstimate {
    double ramMs = 0;       // the dirty RAM, over every channel
    double deviceMs = 0;    // the devices' state, each part at the rate it will get
    double roundTripMs = 0; // the destination's verdict coming back
    bool known = false;     // false while no bandwidth was measured
    double totalMs() const { return ramMs + deviceMs + roundTripMs; }
};

// `bandwidthBytesPerMs`: measured over all channels; `multifdChannels`: how many channels
// share it besides the main one (0: the main channel carries everything).
constexpr DowntimeEstimate estimate(std::uint64_t ramBytes, DeviceBytes deviceBytes,
                                    double bandwidthBytesPerMs, unsigned multifdChannels,
                                    double roundTripMs) {
    DowntimeEstimate result;
    if (bandwidthBytesPerMs <= 0)
        return result;
    result.known = true;
    result.ramMs = static_cast<double>(ramBytes) / bandwidthBytesPerMs;
    const double mainChannelShare = bandwidthBytesPerMs / std::max(1u, multifdChannels);
    result.deviceMs = static_cast<double>(deviceBytes.overMultifd) / bandwidthBytesPerMs +
                      static_cast<double>(deviceBytes.overMain) / mainChannelShare;
    result.roundTripMs = roundTripMs;
    return result;
}

// The share of the limit the estimate may use. The rest is headroom for what the estimate
// cannot see before switching: the destination validating device state and loading the last
// data, and the link slowing once device state and RAM compete for it. Measured: a 2 GiB guest
// dirtying 64 MiB/s with a 64 MiB accelerator and two NICs overshot a 300 ms limit by 2 %
// when switching at an estimate of 259 ms.
inline constexpr double kLimitShare = 0.8;

constexpr double switchAtMs(std::uint64_t downtimeLimitMs) {
    return static_cast<double>(downtimeLimitMs) * kLimitShare;
}

// Whether switching now keeps the downtime within the limit. With no bandwidth measured yet
// nothing fits, unless nothing is left.
constexpr bool converged(const DowntimeEstimate& downtime, std::uint64_t remainingBytes,
                         std::uint64_t downtimeLimitMs) {
    if (!downtime.known)
        return remainingBytes == 0;
    return downtime.totalMs() <= switchAtMs(downtimeLimitMs);
}

} // namespace migrascope::switchover
