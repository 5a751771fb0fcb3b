#include "engine/run/run_view.h"

#include "engine/destination/destination_endpoint.h"
#include "engine/telemetry/telemetry.h"

#include <algorithm>

namespace migrascope {

void mergeDestinationView(TelemetrySnapshot& snapshot, const TelemetrySnapshot& destination) {
    snapshot.destinationStatus = destination.status;
    // A channel's end is what its receiver saw: the destination's, where it has one.
    for (auto& channel : snapshot.channels)
        for (const auto& theirs : destination.channels)
            if (theirs.id == channel.id && theirs.termination != Termination::None)
                channel.termination = theirs.termination;

    // Page requests start at the destination's faults; their latency is measured there.
    snapshot.postcopy.pageRequests = destination.postcopy.pageRequests;
    snapshot.postcopy.pagesServed = destination.postcopy.pagesServed;
    snapshot.postcopy.latencyMedianMs = destination.postcopy.latencyMedianMs;
    snapshot.postcopy.latencyP99Ms = destination.postcopy.latencyP99Ms;
    snapshot.postcopy.latencyMaxMs = destination.postcopy.latencyMaxMs;

    auto& transitions = snapshot.transitions;
    transitions.insert(transitions.end(), destination.transitions.begin(),
                       destination.transitions.end());
    std::stable_sort(
        transitions.begin(), transitions.end(),
        [](const DeviceTransition& a, const DeviceTransition& b) { return a.timeMs < b.timeMs; });
    for (auto& device : snapshot.devices) {
        for (const auto& theirs : destination.devices)
            if (theirs.name == device.name)
                device.destinationState = theirs.destinationState;
        // The arc taken last, on either side.
        for (auto it = transitions.rbegin(); it != transitions.rend(); ++it) {
            if (it->device == device.name) {
                device.lastArc = *it;
                break;
            }
        }
    }
}

void RunView::attachDestination(const DestinationEndpoint* destination) {
    std::lock_guard lock(mutex_);
    destination_ = destination;
}

TelemetrySnapshot RunView::snapshot(std::size_t eventCursor, std::size_t sampleCursor,
                                    std::size_t returnPathCursor) const {
    std::lock_guard lock(mutex_);
    TelemetrySnapshot snapshot = source_.snapshot(sourceEvents_, sampleCursor, returnPathCursor);
    sourceEvents_ = snapshot.nextEventIndex;
    std::vector<Event> fresh = std::move(snapshot.events);
    if (destination_) {
        TelemetrySnapshot theirs = destination_->view(destinationEvents_);
        destinationEvents_ = theirs.nextEventIndex;
        fresh.insert(fresh.end(), theirs.events.begin(), theirs.events.end());
        mergeDestinationView(snapshot, theirs);
    }
    // Both sides stamp events on one clock; what arrived since the last call is put in
    // order before it joins the log, which only ever grows at its end.
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const Event& a, const Event& b) { return a.timeMs < b.timeMs; });
    events_.insert(events_.end(), fresh.begin(), fresh.end());
    snapshot.events.clear();
    if (eventCursor < events_.size())
        snapshot.events.assign(events_.begin() + static_cast<std::ptrdiff_t>(eventCursor),
                               events_.end());
    snapshot.nextEventIndex = events_.size();
    return snapshot;
}

} // namespace migrascope
