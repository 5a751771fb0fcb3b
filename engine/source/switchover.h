// When precopy may stop the guest and switch over (QEMU's migration_iteration_run): when what
// is left can be sent within the downtime limit at the bandwidth measured so far. Pure
// functions, so the rule can be tested without a migration.
#pragma once

#include <cstdint>

namespace migrascope::switchover {

// Bytes that fit in the downtime limit at the measured bandwidth.
constexpr double thresholdBytes(double bandwidthBytesPerMs, std::uint64_t downtimeLimitMs) {
    return bandwidthBytesPerMs * static_cast<double>(downtimeLimitMs);
}

// Whether `remainingBytes` fit. With no bandwidth measured yet nothing fits, unless nothing
// is left.
constexpr bool converged(std::uint64_t remainingBytes, double bandwidthBytesPerMs,
                         std::uint64_t downtimeLimitMs) {
    return static_cast<double>(remainingBytes) <=
           thresholdBytes(bandwidthBytesPerMs, downtimeLimitMs);
}

// How long sending `remainingBytes` would stop the guest; 0 while no bandwidth is known.
constexpr double expectedDowntimeMs(std::uint64_t remainingBytes, double bandwidthBytesPerMs) {
    return bandwidthBytesPerMs > 0 ? static_cast<double>(remainingBytes) / bandwidthBytesPerMs : 0;
}

} // namespace migrascope::switchover
