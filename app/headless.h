#pragma once

#include "app/command_line.h"

namespace migrascope::app {

// Runs one migration without a window; progress lines on stderr, the JSON result on stdout.
// Returns the process exit status: 0 only when the migration completed.
int runHeadless(const CommandLine& line);

} // namespace migrascope::app
