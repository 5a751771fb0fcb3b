#include "app/signals.h"

#include <atomic>
#include <csignal>

namespace migrascope::app {
namespace {

std::atomic<bool> requested{false};

extern "C" void onStopSignal(int) {
    requested.store(true);
}

} // namespace

void installStopSignals() {
    // Ctrl-C, Ctrl-\, a closed terminal and a service manager all mean "stop": the run is
    // cancelled and recorded, never killed half-way.
    for (const int signalNumber : {SIGINT, SIGQUIT, SIGHUP, SIGTERM})
        std::signal(signalNumber, onStopSignal);
}

bool stopRequested() {
    return requested.load();
}

} // namespace migrascope::app
