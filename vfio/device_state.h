// The Linux VFIO device migration uAPI v2 state machine (include/uapi/linux/vfio.h,
// drivers/vfio/vfio_main.c): states, migration flags, direct arcs, and the kernel's
// resolution of a requested state into a path of arcs. No Qt, no device: pure rules.
#pragma once

#include <cstdint>
#include <linux/vfio.h>
#include <optional>
#include <string>
#include <vector>

namespace migrascope::vfio {

// Numbers as <linux/vfio.h>. This machine's header is from Linux 6.1 and predates PRE_COPY
// (added for 6.2), so those two states and their flag are defined here.
enum class DeviceState : std::uint32_t {
    Error = VFIO_DEVICE_STATE_ERROR,
    Stop = VFIO_DEVICE_STATE_STOP,
    Running = VFIO_DEVICE_STATE_RUNNING,
    StopCopy = VFIO_DEVICE_STATE_STOP_COPY,
    Resuming = VFIO_DEVICE_STATE_RESUMING,
    RunningP2P = VFIO_DEVICE_STATE_RUNNING_P2P,
    PreCopy = 6,
    PreCopyP2P = 7,
};
inline constexpr std::uint32_t kStateCount = 8; // VFIO_DEVICE_STATE_NR

inline constexpr std::uint64_t kMigrationStopCopy = VFIO_MIGRATION_STOP_COPY;
inline constexpr std::uint64_t kMigrationP2P = VFIO_MIGRATION_P2P;
#ifdef VFIO_MIGRATION_PRE_COPY
inline constexpr std::uint64_t kMigrationPreCopy = VFIO_MIGRATION_PRE_COPY;
#else
inline constexpr std::uint64_t kMigrationPreCopy = std::uint64_t{1} << 2;
#endif

const char* toString(DeviceState state);
std::optional<DeviceState> stateFromString(const std::string& text);
std::string describeFlags(std::uint64_t migrationFlags);

// Whether a device with these migration flags has the state at all (ERROR never counts:
// it cannot be requested).
bool supports(std::uint64_t migrationFlags, DeviceState state);

// A single arc the driver itself performs (the uAPI's FSM diagram, pruned by the flags).
bool isDirectArc(std::uint64_t migrationFlags, DeviceState from, DeviceState to);

// PRE_COPY, PRE_COPY_P2P and STOP_COPY share one data session; they are never the interior
// of a resolved path.
bool isSavingState(DeviceState state);

// The kernel's vfio_mig_get_next_state(): the next arc towards `target`, or nullopt where
// the kernel returns -EINVAL (current state unsupported or ERROR, target unsupported or
// ERROR, or a blocked request such as STOP_COPY -> PRE_COPY). Implements the fixed loop:
// a blocked request is an error, not an endless walk through ERROR.
std::optional<DeviceState> nextState(std::uint64_t migrationFlags, DeviceState current,
                                     DeviceState target);

// The whole path a SET_STATE from `current` to `target` takes, as the states after each arc
// (empty when current == target); nullopt when the kernel refuses the request.
std::optional<std::vector<DeviceState>> resolvePath(std::uint64_t migrationFlags,
                                                    DeviceState current, DeviceState target);

} // namespace migrascope::vfio
