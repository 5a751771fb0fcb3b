// Text for numbers the engine reports, shared by every view so that one quantity always
// reads the same way wherever it appears.
#pragma once

#include "engine/api/history_store.h"
#include "engine/api/telemetry_snapshot.h"

#include <QString>
#include <string>
#include <vector>

namespace migrascope::ui {

QString bytesText(double bytes);
QString rateText(double bytesPerSecond);
// "850 ms", "12.4 s", "3 min 07 s"
QString durationText(double milliseconds);
// QEMU's word for the status; operators know these, so they are not translated.
QString statusText(MigrationStatus status);
// The result as the operator reads it: "completed with warnings" when a completed run has any.
QString resultText(MigrationStatus status, bool hasWarnings);
// The warnings as one paragraph for a label or tooltip: "Warnings: a; b".
QString warningsText(const std::vector<std::string>& warnings);
// The history's ISO 8601 UTC timestamp in the user's local time; the input itself if unreadable.
QString localTimeText(const std::string& isoUtc);
// Statuses an operator looking for trouble must not overlook.
bool isTroubleStatus(RunStatus status);

} // namespace migrascope::ui
