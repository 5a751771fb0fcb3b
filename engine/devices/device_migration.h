// VFIO devices in a migration (QEMU's hw/vfio/migration.c, fixed so that a failed load no
// longer starts the guest). The source saves each device through its data file: precopy
// data while the guest runs where the device has PRE_COPY, then, with the guest stopped and
// every device quiesced for P2P, the rest in STOP_COPY. The destination loads it in
// RESUMING, leaves RESUMING with an explicit RESUMING -> STOP where the device validates
// what it got, and starts the device only when everything was verified; any failure goes
// back to the source as SHUT 4.
// With x-migration-multifd-transfer (QEMU 10, on by default here when there are multifd
// channels) the STOP_COPY state goes over the multifd channels as device-state packets, each
// a VFIODeviceStatePacket with its index; the destination writes them into the device in
// index order, and the device's End section on the main channel only closes it.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/common/migration_error.h"
#include "engine/source/switchover.h"
#include "engine/telemetry/telemetry.h"
#include "engine/wire/main_stream.h"
#include "vfio/emulated_device.h"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

// QEMU's VFIODeviceStatePacket (hw/vfio/migration-multifd.c): be32 version (0), be32 index,
// be32 flags, then the data. The last packet carries the config state (flag 1); its index
// is the last one.
namespace device_state_packet {
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::uint32_t kVersion = 0;
inline constexpr std::uint32_t kFlagConfigState = 1;
} // namespace device_state_packet

class MultifdSender;

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
    switchover::DeviceBytes pendingBytes();
    // One precopy round: up to `budget` bytes from each PRE_COPY device.
    void iterate(StreamWriter& out, std::size_t budget);
    // The guest is stopped: P2P quiescing of every device when all have P2P, then
    // STOP_COPY and all that is left: over `multifd` for the devices that transfer that way,
    // else in the device's End section.
    void switchover(StreamWriter& out, MultifdSender* multifd);
    DeviceDigests digests() const;
    // After the destination's SHUT 0: STOP_COPY -> STOP, sessions closed.
    void completed();
    // After a failure or cancel: every device RUNNING again (reset if it will not go).
    void resumeAfterFailure();

private:
    struct Device;
    void set(Device& device, vfio::DeviceState state);
    void sendData(StreamWriter& out, Device& device, std::size_t budget, bool final);
    void sendStateOverMultifd(MultifdSender& multifd, Device& device);

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
    // Data into the device; after its End section, the explicit RESUMING -> STOP. A device
    // whose state comes over multifd waits there until all of it was written.
    void loadData(StreamReader& in, std::uint32_t sectionId, bool final);
    // A multifd receiving thread: one device-state packet (QEMU's load_state_buffer). Written
    // into the device in index order, by whichever thread completes the order.
    void loadStateBuffer(const std::string& idstr, std::uint32_t instanceId,
                         const std::uint8_t* packet, std::size_t size);
    // The migration failed or stops: a wait for device-state packets ends.
    void abandon();
    // "" when every device's state equals the source's, else what differs.
    std::string verify(const DeviceDigests& source) const;
    // Before the guest starts: every device RUNNING. Legacy: RESUMING -> RUNNING in one
    // request and a failure only logged, as QEMU before the fix.
    void start();
    std::size_t count() const { return devices_.size(); }

private:
    struct Device;
    void set(Device& device, vfio::DeviceState state);
    Device& find(std::uint32_t sectionId);
    // Writes the buffered packets that are next in order (with buffersMutex_ held).
    void writeInOrder(Device& device);
    void writeData(Device& device, const std::uint8_t* data, std::size_t size);
    void waitForMultifdState(Device& device);

    Options options_;
    Telemetry& telemetry_;
    // Created by the main channel's loader at setup, before any multifd sync, so the multifd
    // threads (which only see them after a sync) read the list without a lock.
    std::vector<std::unique_ptr<Device>> devices_;
    // Guards each device's multifd buffers and its data file while they are written.
    std::mutex buffersMutex_;
    std::condition_variable buffersChanged_;
    bool abandoned_ = false;
    // Buffers of packets already written, reused for the next early ones (under
    // buffersMutex_): a fresh half-MiB buffer per packet page-faulted inside the downtime.
    std::vector<std::vector<std::uint8_t>> spareBuffers_;
};

} // namespace migrascope
