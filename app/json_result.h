// The JSON object a headless run ends with; QEMU's query-migrate spelling where it exists.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/telemetry_snapshot.h"

#include <QJsonArray>
#include <QJsonObject>

namespace migrascope::app {

QJsonObject jsonResult(const TelemetrySnapshot& snapshot, std::int64_t historyId);
// One channel as the result's channels[] holds it (the history command shows stored ones so).
QJsonObject channelJson(const ChannelSnapshot& channel);
QJsonArray stringsJson(const std::vector<std::string>& texts);

} // namespace migrascope::app
