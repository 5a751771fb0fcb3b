#pragma once

#include "app/command_line.h"

namespace migrascope::app {

// Runs the destination daemon until SIGINT or SIGTERM; its log on stderr. Returns the process
// exit status: 0 after a clean stop, 2 when it cannot listen (address or credentials).
int runIncoming(const CommandLine& line);

} // namespace migrascope::app
