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
    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
}

bool stopRequested() {
    return requested.load();
}

} // namespace migrascope::app
