#include "engine/run/run_view.h"

#include "engine/destination/destination_endpoint.h"
#include "engine/telemetry/telemetry.h"

#include <algorithm>

namespace migrascope {

template <typename Row> void appendInTimeOrder(std::vector<Row>& log, std::vector<Row> batch) {
    std::stable_sort(batch.begin(), batch.end(),
                     [](const Row& a, const Row& b) { return a.timeMs < b.timeMs; });
    log.insert(log.end(), std::make_move_iterator(batch.begin()),
               std::make_move_iterator(batch.end()));
}
template void appendInTimeOrder(std::vector<Event>&, std::vector<Event>);
template void appendInTimeOrder(std::vector<DeviceTransition>&, std::vector<DeviceTransition>);

void mergeDestinationView(TelemetrySnapshot& snapshot, const TelemetrySnapshot& destination) {
    snapshot.destinationStatus = destination.status;
    snapshot.warnings.insert(snapshot.warnings.end(), destination.warnings.begin(),
                             destination.warnings.end());
    snapshot.destinationHistoryId = destination.destinationHistoryId;
    // A channel's end is what its receiver saw: the destination's, where it has one. So are
    // the bytes it received (the source's own count is of what came back on the return path).
    for (auto& channel : snapshot.channels) {
        channel.bytesReceived = 0;
        for (const auto& theirs : destination.channels) {
            if (theirs.id != channel.id)
                continue;
            channel.bytesReceived = theirs.bytesReceived;
            if (theirs.termination != Termination::None)
                channel.termination = theirs.termination;
        }
        // The end is what the receiver saw, and the state agrees with it: a send that failed
        // because the destination closed the channel after another failure is no failure.
        if (channel.state == ChannelState::Failed && channel.termination != Termination::None &&
            !isFailure(channel.termination))
            channel.state = ChannelState::Closed;
        // The destination saw a stream end early; what happened is the operator's cancel.
        const bool cancelled = snapshot.status == MigrationStatus::Cancelling ||
                               snapshot.status == MigrationStatus::Cancelled;
        if (cancelled &&
            (isFailure(channel.termination) || channel.termination == Termination::AfterFailure)) {
            channel.termination = Termination::Cancelled;
            channel.state = ChannelState::Closed;
        }
    }

    // Page requests start at the destination's faults; their latency is measured there.
    snapshot.postcopy.pageRequests = destination.postcopy.pageRequests;
    snapshot.postcopy.pagesServed = destination.postcopy.pagesServed;
    snapshot.postcopy.latencyMedianMs = destination.postcopy.latencyMedianMs;
    snapshot.postcopy.latencyP99Ms = destination.postcopy.latencyP99Ms;
    snapshot.postcopy.latencyMaxMs = destination.postcopy.latencyMaxMs;

    for (auto& device : snapshot.devices) {
        for (const auto& theirs : destination.devices)
            if (theirs.name == device.name)
                device.destinationState = theirs.destinationState;
        // The arc taken last, and the first one refused, on either side.
        const auto& transitions = snapshot.transitions;
        for (auto it = transitions.rbegin(); it != transitions.rend(); ++it) {
            if (it->device == device.name) {
                device.lastArc = *it;
                break;
            }
        }
        for (const DeviceTransition& arc : transitions) {
            if (arc.device == device.name && !arc.ok) {
                device.failedArc = arc;
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
    std::vector<Event> events = std::move(snapshot.events);
    // Telemetry hands out every transition each time: only those not merged yet are new.
    auto newSince = [](const std::vector<DeviceTransition>& all, std::size_t& merged) {
        std::vector<DeviceTransition> fresh(all.begin() + static_cast<std::ptrdiff_t>(merged),
                                            all.end());
        merged = all.size();
        return fresh;
    };
    std::vector<DeviceTransition> transitions = newSince(snapshot.transitions, sourceTransitions_);
    TelemetrySnapshot theirs;
    if (destination_) {
        theirs = destination_->view(destinationEvents_);
        destinationEvents_ = theirs.nextEventIndex;
        events.insert(events.end(), theirs.events.begin(), theirs.events.end());
        const auto more = newSince(theirs.transitions, destinationTransitions_);
        transitions.insert(transitions.end(), more.begin(), more.end());
    }
    // Both sides stamp on one clock. What arrived since the last call is put in order before
    // it joins the logs, which only ever grow at their end.
    appendInTimeOrder(events_, std::move(events));
    appendInTimeOrder(transitions_, std::move(transitions));
    snapshot.transitions = transitions_;
    if (destination_)
        mergeDestinationView(snapshot, theirs);
    snapshot.events.clear();
    if (eventCursor < events_.size())
        snapshot.events.assign(events_.begin() + static_cast<std::ptrdiff_t>(eventCursor),
                               events_.end());
    snapshot.nextEventIndex = events_.size();
    return snapshot;
}

} // namespace migrascope
