#include "engine/destination/remote_destination.h"

#include "engine/telemetry/telemetry.h"

namespace migrascope {

MigrationStatus RemoteDestination::status() const {
    const auto shut = source_.lastShut();
    if (!shut)
        return MigrationStatus::None;
    return *shut == 0 ? MigrationStatus::Completed : MigrationStatus::Failed;
}

TelemetrySnapshot RemoteDestination::view(std::size_t eventCursor) const {
    TelemetrySnapshot view;
    view.status = status();
    view.nextEventIndex = eventCursor; // no events of its own come back yet
    return view;
}

} // namespace migrascope
