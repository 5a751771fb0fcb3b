// Each counter a channel keeps, declared once. The snapshot copy, the JSON keys and the
// history's run_channels statements are derived from this table, and the engine's atomic
// counters are checked against it at compile time. A new metric: a line here, its counter,
// and for a stored one its column's schema step (docs/ARCHITECTURE.md).
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <cstdint>
#include <span>

namespace migrascope {

struct ChannelMetric {
    std::uint64_t ChannelSnapshot::*field;
    // JSON: the key, and whether it sits in the channel's "tls" object or on the channel.
    const char* jsonKey;
    bool tls;
    // The history's column in run_channels; nullptr = not stored (it only means something
    // while the channel is open).
    const char* historyColumn;
    const char* label;   // what the window calls it
    bool zeroMeansNone;  // 0 is "none" (JSON null), not a count
    bool inChannelTable; // the window's channel table shows it (some in a combined cell)
};

inline constexpr ChannelMetric kChannelMetrics[] = {
    {&ChannelSnapshot::bytes, "bytes", false, "bytes", "Bytes", false, true},
    {&ChannelSnapshot::bytesReceived, "bytes-received", false, "bytes_received",
     "Bytes received by the destination", false, true},
    {&ChannelSnapshot::pages, "pages", false, "pages", "Pages", false, false},
    {&ChannelSnapshot::packets, "packets", false, "packets", "Packets", false, false},
    {&ChannelSnapshot::tlsRecordsSent, "records-sent", true, "tls_records_sent", "TLS records sent",
     false, true},
    {&ChannelSnapshot::tlsRecordsReceived, "records-received", true, "tls_records_received",
     "TLS records received", false, true},
    {&ChannelSnapshot::keyUpdatesSent, "key-updates-sent", true, "key_updates_sent",
     "Key updates sent", false, true},
    {&ChannelSnapshot::keyUpdatesReceived, "key-updates-received", true, "key_updates_received",
     "Key updates received", false, true},
    {&ChannelSnapshot::recordsUnderCurrentKey, "records-under-current-key", true, nullptr,
     "Records under the current key", false, true},
    {&ChannelSnapshot::recordLimit, "record-limit", true, "record_limit",
     "Record limit of the cipher", true, true},
};

constexpr std::span<const ChannelMetric> channelMetrics() {
    return kChannelMetrics;
}

} // namespace migrascope
