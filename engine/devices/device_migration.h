// VFIO devices in a migration (QEMU's hw/vfio/migration.c, fixed so that a failed load no
// longer starts the guest). The source saves each device through its data file: precopy
// data while the guest runs where the device has PRE_COPY, then, with the guest stopped and
// every device quiesced for P2P, the rest in STOP_COPY. The destination loads it in
// RESUMING, leaves RESUMING with an explicit RESUMING -> STOP where the device validates
// what it got, and starts the device only when everything was verified; any failure goes
// back to the source as SHUT 4.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/common/migration_error.h"
#include "engine/telemetry/telemetry.h"
#include "engine/wire/main_stream.h"
#include "vfio/emulated_device.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace migrascope {

// Device sections are numbered from here, one per device in configuration order.
inline constexpr std::uint32_t kDeviceSectionBase = 16;
// QEMU's VFIO stream markers (be64).
namespace device_marker {
inline constexpr std::uint64_t kEndOfState = 0xffffffffef100001ull;
inline constexpr std::uint64_t kSetupState = 0xffffffffef100003ull;
inline constexpr std::uint64_t kDataState = 0xffffffffef100004ull;
} // namespace device_marker

// A device refused an arc or its data. The message names the device and the arc.
class DeviceError : public MigrationError {
public:
    using MigrationError::MigrationError;
};

using DeviceDigests = std::vector<std::pair<std::string, std::uint64_t>>;

// The source guest's devices. They are created with the guest and run with it; after a
// failed or cancelled migration they are RUNNING again.
class SourceDevices {
public:
    SourceDevices(const MigrationConfig& config, Telemetry& telemetry);
    ~SourceDevices();

    bool empty() const { return devices_.empty(); }
    // Precopy setup: PRE_COPY where the device has it, and one setup section per device.
    void setup(StreamWriter& out);
    // What the devices still have to send: initial plus dirty bytes in PRE_COPY, else the
    // whole stop-copy size (QEMU counts it in the switchover decision the same way).
    std::uint64_t pendingBytes();
    // One precopy round: up to `budget` bytes from each PRE_COPY device.
    void iterate(StreamWriter& out, std::size_t budget);
    // The guest is stopped: P2P quiescing of every device when all have P2P, then
    // STOP_COPY and all that is left, in each device's End section.
    void switchover(StreamWriter& out);
    DeviceDigests digests() const;
    // After the destination's SHUT 0: STOP_COPY -> STOP, sessions closed.
    void completed();
    // After a failure or cancel: every device RUNNING again (reset if it will not go).
    void resumeAfterFailure();

private:
    struct Device;
    void set(Device& device, vfio::DeviceState state);
    void sendData(StreamWriter& out, Device& device, std::size_t budget, bool final);

    Telemetry& telemetry_;
    std::vector<std::unique_ptr<Device>> devices_;
};

// The destination's devices, created as their setup sections arrive.
class DestinationDevices {
public:
    struct Options {
        // After a device's last data, RESUMING -> STOP, and a failure fails the migration.
        // Off: the legacy way, straight to RUNNING when the guest starts, a failure ignored.
        bool explicitResumingStop = true;
        std::vector<FaultSpec> faults; // the destination's faults (vfio-fail ...@dst)
    };
    DestinationDevices(Options options, Telemetry& telemetry);
    ~DestinationDevices();

    bool owns(std::uint32_t sectionId) const;
    // A setup section: creates the device and moves it to RESUMING.
    void loadSetup(StreamReader& in, std::uint32_t sectionId, const std::string& idstr);
    // Data into the device; after its End section, the explicit RESUMING -> STOP.
    void loadData(StreamReader& in, std::uint32_t sectionId, bool final);
    // "" when every device's state equals the source's, else what differs.
    std::string verify(const DeviceDigests& source) const;
    // Before the guest starts: every device RUNNING. Legacy: RESUMING -> RUNNING in one
    // request and a failure only logged, as QEMU before the fix.
    void start();
    std::size_t count() const { return devices_.size(); }

private:
    struct Device;
    void set(Device& device, vfio::DeviceState state);

    Options options_;
    Telemetry& telemetry_;
    std::vector<std::unique_ptr<Device>> devices_;
};

} // namespace migrascope
