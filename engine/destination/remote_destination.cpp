#include "engine/destination/remote_destination.h"

#include "engine/telemetry/telemetry.h"

namespace migrascope {

namespace {

// Its SHUT is its verdict; before it, what it last reported.
MigrationStatus statusOf(const Telemetry& source, MigrationStatus reported) {
    if (const auto shut = source.lastShut())
        return *shut == 0 ? MigrationStatus::Completed : MigrationStatus::Failed;
    return reported;
}

} // namespace

MigrationStatus RemoteDestination::status() const {
    return statusOf(source_, source_.destinationReport().status);
}

std::string RemoteDestination::error() const {
    return source_.destinationReport().errorDesc;
}

TelemetrySnapshot RemoteDestination::view(std::size_t eventCursor) const {
    TelemetrySnapshot view = source_.destinationReport();
    view.status = statusOf(source_, view.status);
    view.nextEventIndex = eventCursor; // its events stay in its own history
    return view;
}

} // namespace migrascope
