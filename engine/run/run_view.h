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

// Folds a destination's view into the source's snapshot: its status, how its channels ended,
// its devices' states, its page requests. Events and transitions are not touched (RunView
// keeps their merged logs); each device's last arc is read from `snapshot.transitions`,
// which must hold both sides'. A pure function, so that the rules can be tested alone.
void mergeDestinationView(TelemetrySnapshot& snapshot, const TelemetrySnapshot& destination);

// Appends `batch`, put in time order, to `log`. The log only grows at its end, so a reader's
// cursor (or a model that shows its first N rows) stays valid; rows of two batches are in
// order as far as the clocks' reads allow.
template <typename Row> void appendInTimeOrder(std::vector<Row>& log, std::vector<Row> batch);

class RunView {
public:
    explicit RunView(const Telemetry& source) : source_(source) {}

    // Once the destination exists; it must outlive this view, or be detached (nullptr).
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
    mutable std::vector<DeviceTransition> transitions_; // both sides, merged
    mutable std::size_t sourceTransitions_ = 0;
    mutable std::size_t destinationTransitions_ = 0;
};

} // namespace migrascope
