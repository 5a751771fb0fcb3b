#include "vfio/device_state.h"

#include <array>

namespace migrascope::vfio {
namespace {

using S = DeviceState;

constexpr std::size_t index(DeviceState state) {
    return static_cast<std::size_t>(state);
}

// vfio_from_fsm_table[current][target]: the next state on the way. Blocked requests are
// ERROR. Rows and columns in enum order: ERROR, STOP, RUNNING, STOP_COPY, RESUMING,
// RUNNING_P2P, PRE_COPY, PRE_COPY_P2P.
constexpr std::array<std::array<DeviceState, kStateCount>, kStateCount> kNextHop = {{
    /* ERROR */ {S::Error, S::Error, S::Error, S::Error, S::Error, S::Error, S::Error, S::Error},
    /* STOP */
    {S::Error, S::Stop, S::RunningP2P, S::StopCopy, S::Resuming, S::RunningP2P, S::RunningP2P,
     S::RunningP2P},
    /* RUNNING */
    {S::Error, S::RunningP2P, S::Running, S::RunningP2P, S::RunningP2P, S::RunningP2P, S::PreCopy,
     S::RunningP2P},
    /* STOP_COPY */
    {S::Error, S::Stop, S::Stop, S::StopCopy, S::Stop, S::Stop, S::Error, S::Error},
    /* RESUMING */
    {S::Error, S::Stop, S::Stop, S::Stop, S::Resuming, S::Stop, S::Stop, S::Stop},
    /* RUNNING_P2P */
    {S::Error, S::Stop, S::Running, S::Stop, S::Stop, S::RunningP2P, S::Running, S::PreCopyP2P},
    /* PRE_COPY */
    {S::Error, S::Running, S::Running, S::PreCopyP2P, S::Running, S::Running, S::PreCopy,
     S::PreCopyP2P},
    /* PRE_COPY_P2P */
    {S::Error, S::RunningP2P, S::RunningP2P, S::StopCopy, S::RunningP2P, S::RunningP2P, S::PreCopy,
     S::PreCopyP2P},
}};

// state_flags_table: the migration flags a state needs. ERROR needs everything, so it is
// never "supported".
constexpr std::uint64_t requiredFlags(DeviceState state) {
    switch (state) {
    case S::Stop:
    case S::Running:
    case S::StopCopy:
    case S::Resuming:
        return kMigrationStopCopy;
    case S::RunningP2P:
        return kMigrationStopCopy | kMigrationP2P;
    case S::PreCopy:
        return kMigrationStopCopy | kMigrationPreCopy;
    case S::PreCopyP2P:
        return kMigrationStopCopy | kMigrationP2P | kMigrationPreCopy;
    case S::Error:
        break;
    }
    return ~std::uint64_t{0};
}

bool inRange(DeviceState state) {
    return static_cast<std::uint32_t>(state) < kStateCount;
}

} // namespace

const char* toString(DeviceState state) {
    switch (state) {
    case S::Error:
        return "ERROR";
    case S::Stop:
        return "STOP";
    case S::Running:
        return "RUNNING";
    case S::StopCopy:
        return "STOP_COPY";
    case S::Resuming:
        return "RESUMING";
    case S::RunningP2P:
        return "RUNNING_P2P";
    case S::PreCopy:
        return "PRE_COPY";
    case S::PreCopyP2P:
        return "PRE_COPY_P2P";
    }
    return "INVALID";
}

std::optional<DeviceState> stateFromString(const std::string& text) {
    for (std::uint32_t value = 0; value < kStateCount; ++value)
        if (text == toString(static_cast<DeviceState>(value)))
            return static_cast<DeviceState>(value);
    return std::nullopt;
}

std::string describeFlags(std::uint64_t migrationFlags) {
    std::string text;
    auto add = [&](std::uint64_t flag, const char* name) {
        if (!(migrationFlags & flag))
            return;
        if (!text.empty())
            text += '|';
        text += name;
    };
    add(kMigrationStopCopy, "STOP_COPY");
    add(kMigrationP2P, "P2P");
    add(kMigrationPreCopy, "PRE_COPY");
    return text.empty() ? "none" : text;
}

bool supports(std::uint64_t migrationFlags, DeviceState state) {
    const std::uint64_t required = requiredFlags(state);
    return inRange(state) && (migrationFlags & required) == required;
}

bool isSavingState(DeviceState state) {
    return state == S::PreCopy || state == S::PreCopyP2P || state == S::StopCopy;
}

bool isDirectArc(std::uint64_t flags, DeviceState from, DeviceState to) {
    if (!supports(flags, from) || !supports(flags, to) || from == to)
        return false;
    const bool p2p = flags & kMigrationP2P;
    const bool preCopy = flags & kMigrationPreCopy;
    auto is = [&](DeviceState a, DeviceState b) { return from == a && to == b; };
    // Arcs every device has.
    if (is(S::Resuming, S::Stop) || is(S::Stop, S::Resuming) || is(S::Stop, S::StopCopy) ||
        is(S::StopCopy, S::Stop))
        return true;
    if (p2p && (is(S::Running, S::RunningP2P) || is(S::RunningP2P, S::Running) ||
                is(S::RunningP2P, S::Stop) || is(S::Stop, S::RunningP2P)))
        return true;
    // Without P2P nothing stands between RUNNING and STOP.
    if (!p2p && (is(S::Running, S::Stop) || is(S::Stop, S::Running)))
        return true;
    if (preCopy && (is(S::Running, S::PreCopy) || is(S::PreCopy, S::Running)))
        return true;
    if (preCopy && !p2p && is(S::PreCopy, S::StopCopy))
        return true;
    if (preCopy && p2p &&
        (is(S::PreCopy, S::PreCopyP2P) || is(S::PreCopyP2P, S::PreCopy) ||
         is(S::PreCopyP2P, S::RunningP2P) || is(S::PreCopyP2P, S::StopCopy) ||
         is(S::RunningP2P, S::PreCopyP2P)))
        return true;
    return false;
}

std::optional<DeviceState> nextState(std::uint64_t flags, DeviceState current, DeviceState target) {
    if (!supports(flags, current) || !supports(flags, target))
        return std::nullopt;
    DeviceState next = kNextHop[index(current)][index(target)];
    // Skip over states the device does not have; stop at ERROR (the June 2026 fix: before
    // it, a blocked request spun here forever under the device's state mutex).
    while (next != S::Error && !supports(flags, next))
        next = kNextHop[index(next)][index(target)];
    if (next == S::Error)
        return std::nullopt;
    return next;
}

std::optional<std::vector<DeviceState>> resolvePath(std::uint64_t flags, DeviceState current,
                                                    DeviceState target) {
    std::vector<DeviceState> path;
    DeviceState state = current;
    while (state != target) {
        const auto next = nextState(flags, state, target);
        if (!next || path.size() >= kStateCount)
            return std::nullopt;
        path.push_back(*next);
        state = *next;
    }
    if (!supports(flags, current) || !supports(flags, target))
        return std::nullopt;
    return path;
}

} // namespace migrascope::vfio
