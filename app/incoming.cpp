#include "app/incoming.h"

#include "app/console.h"
#include "app/signals.h"
#include "engine/api/incoming_daemon.h"

#include <chrono>
#include <cstdio>
#include <thread>

namespace migrascope::app {
int runIncoming(const CommandLine& line) {
    installStopSignals();
    IncomingDaemon daemon(line.incoming);
    try {
        daemon.start();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "migrascope: --incoming: %s\n", error.what());
        return 2;
    }
    // Scripts and tests wait for this line to know the daemon listens.
    std::fprintf(stderr, "migrascope: destination daemon listening on port %u\n",
                 static_cast<unsigned>(daemon.port()));
    while (!stopRequested()) {
        printEvents(daemon.poll());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    daemon.stop();
    printEvents(daemon.poll());
    std::fprintf(stderr,
                 "migrascope: destination daemon stopped: %u migrations received, %u "
                 "completed\n",
                 daemon.received(), daemon.completed());
    return 0;
}

} // namespace migrascope::app
