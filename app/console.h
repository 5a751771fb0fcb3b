// What the headless modes print on stderr besides their progress lines.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <vector>

namespace migrascope::app {

// "[src warning] text", one line per event at `minimum` level or above.
void printEvents(const std::vector<Event>& events, EventLevel minimum = EventLevel::Info);

} // namespace migrascope::app
