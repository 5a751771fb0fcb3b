#include "engine/destination/in_process_destination.h"

#include <limits>

namespace migrascope {

InProcessDestination::InProcessDestination(MigrationDestination::Options options,
                                           std::chrono::steady_clock::time_point clockStart)
    : host_(options.listenHost), telemetry_(clockStart),
      destination_(std::move(options), telemetry_) {}

void InProcessDestination::start() {
    destination_.start();
}

bool InProcessDestination::waitForVerdict(std::chrono::milliseconds timeout) const {
    return destination_.waitUntilFinished(timeout);
}

TelemetrySnapshot InProcessDestination::view(std::size_t eventCursor) const {
    // Samples and return-path messages are the source's: skip copying them.
    constexpr auto kNone = std::numeric_limits<std::size_t>::max();
    return telemetry_.snapshot(eventCursor, kNone, kNone);
}

} // namespace migrascope
