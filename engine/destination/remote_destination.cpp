#include "engine/destination/remote_destination.h"

#include "engine/telemetry/telemetry.h"

namespace migrascope {

MigrationStatus RemoteDestination::status() const {
    if (const auto shut = source_.lastShut())
        return *shut == 0 ? MigrationStatus::Completed : MigrationStatus::Failed;
    return source_.destinationReport().status;
}

std::string RemoteDestination::error() const {
    return source_.destinationReport().errorDesc;
}

TelemetrySnapshot RemoteDestination::view(std::size_t eventCursor) const {
    TelemetrySnapshot view = source_.destinationReport();
    if (const auto shut = source_.lastShut())
        view.status = *shut == 0 ? MigrationStatus::Completed : MigrationStatus::Failed;
    view.nextEventIndex = eventCursor; // its events stay in its own history
    return view;
}

} // namespace migrascope
