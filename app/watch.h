#pragma once

#include "app/command_line.h"

namespace migrascope::app {

// Follows a real QEMU migration (--watch) without a window: progress lines on stderr, the
// JSON result on stdout. Returns 0 when the watched migration completed, 1 when it failed,
// was cancelled or was lost from sight, 2 when the QMP socket(s) could not be used.
int runWatch(const CommandLine& line);

} // namespace migrascope::app
