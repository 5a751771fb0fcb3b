// The one snapshot a run shows its readers: the source's telemetry with the destination's
// own view merged in (its status, how each channel ended as its receiver saw it, its device
// states and transitions, its postcopy page requests, its events on the same time axis).
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <cstddef>
#include <mutex>
#include <vector>

namespace migrascope {

class DestinationEndpoint;
class Telemetry;

// Folds a destination's view into the source's snapshot; events are not touched (RunView
// keeps their merged order). A pure function, so that the rules can be tested alone.
void mergeDestinationView(TelemetrySnapshot& snapshot, const TelemetrySnapshot& destination);

class RunView {
public:
    explicit RunView(const Telemetry& source) : source_(source) {}

    // Once the destination exists; it must outlive this view.
    void attachDestination(const DestinationEndpoint* destination);
    // As Telemetry::snapshot, with both sides' events in one log ordered by time.
    TelemetrySnapshot snapshot(std::size_t eventCursor, std::size_t sampleCursor,
                               std::size_t returnPathCursor) const;

private:
    const Telemetry& source_;
    mutable std::mutex mutex_; // guards everything below
    const DestinationEndpoint* destination_ = nullptr;
    mutable std::vector<Event> events_; // both sides, merged
    mutable std::size_t sourceEvents_ = 0;
    mutable std::size_t destinationEvents_ = 0;
};

} // namespace migrascope
