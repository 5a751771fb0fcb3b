// The JSON object a headless run ends with; QEMU's query-migrate spelling where it exists.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/telemetry_snapshot.h"

#include <QJsonObject>

namespace migrascope::app {

QJsonObject jsonResult(const TelemetrySnapshot& snapshot, std::int64_t historyId);

} // namespace migrascope::app
