// SIGINT and SIGTERM ask a headless run or a daemon to stop; its loop polls the request.
#pragma once

namespace migrascope::app {

void installStopSignals();
bool stopRequested();

} // namespace migrascope::app
