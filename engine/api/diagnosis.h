// One sentence that tells a support engineer what happened to a run: the first cause (which
// side, which channel, device arc or check, in which phase), what followed from it, and what
// became of the source's guest. Built only from what the run recorded, so the history, the
// JSON and the window say the same.
#pragma once

#include "engine/api/history_store.h"
#include "engine/api/telemetry_snapshot.h"

#include <optional>
#include <string>
#include <vector>

namespace migrascope {

struct RunFacts {
    RunStatus status = RunStatus::Active;
    std::string errorDesc;
    std::string integrity;
    std::vector<std::string> warnings;
    std::vector<Event> events;                 // both sides, ordered by time
    std::vector<DeviceTransition> transitions; // in order
};

// The first cause leads; knock-on errors (channels closed because the run was already
// failing, the other side's report of it) come after it as consequences. Empty for a run
// still active.
std::string diagnose(const RunFacts& facts);
// A stretch of a run between two milestones it logged: "setup", "bulk copy", "dirty sync 3"
// (the iteration after it), "switchover", "postcopy", "postcopy was paused", ...
struct PhaseSpan {
    std::string name;
    double startMs = 0;
    double endMs = 0;
};
// The run's phases in order, the last ending at `endMs`.
std::vector<PhaseSpan> phasesOf(const std::vector<Event>& events, double endMs);

// When the first cause happened (ms since the run started): where a replay jumps to. None for
// a run with no error, failed arc or fired fault.
std::optional<double> firstCauseTimeMs(const RunFacts& facts);
// The same from a run's final snapshot taken with cursors at 0 (every event and transition).
std::string diagnose(const TelemetrySnapshot& final);

} // namespace migrascope
