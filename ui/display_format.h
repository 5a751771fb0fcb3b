// Text for numbers the engine reports, shared by every view so that one quantity always
// reads the same way wherever it appears.
#pragma once

#include "engine/api/history_store.h"
#include "engine/api/telemetry_snapshot.h"

#include <QString>
#include <string>

namespace migrascope::ui {

QString bytesText(double bytes);
QString rateText(double bytesPerSecond);
// "850 ms", "12.4 s", "3 min 07 s"
QString durationText(double milliseconds);
// QEMU's word for the status; operators know these, so they are not translated.
QString statusText(MigrationStatus status);
// The history's ISO 8601 UTC timestamp in the user's local time; the input itself if unreadable.
QString localTimeText(const std::string& isoUtc);
// Statuses an operator looking for trouble must not overlook.
bool isTroubleStatus(RunStatus status);

} // namespace migrascope::ui
