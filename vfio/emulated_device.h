// Emulated VFIO migration devices behind the interface a kernel device has (uAPI v2,
// <linux/vfio.h>): the VFIO_DEVICE_FEATURE ioctl with MIGRATION, MIG_DEVICE_STATE and
// MIG_DATA_SIZE, VFIO_DEVICE_RESET, and a migration data file that is read while saving,
// written while resuming, and answers VFIO_MIG_GET_PRECOPY_INFO. Results are the kernel's:
// 0 or a byte count, or a negative errno. No hardware can exist on this machine, so these
// stand in for it; nothing else in Migrascope touches a device any other way.
#pragma once

#include "vfio/device_state.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace migrascope::vfio {

// Not in this machine's 6.1 header (added with PRE_COPY in 6.2); the uAPI's layout.
struct PrecopyInfo {
    std::uint32_t argsz;
    std::uint32_t flags;
    std::uint64_t initial_bytes;
    std::uint64_t dirty_bytes;
};
inline constexpr unsigned long kMigGetPrecopyInfo = _IO(VFIO_TYPE, VFIO_BASE + 21);
inline constexpr std::uint32_t kFeatureMigDataSize = 9;
struct FeatureMigDataSize {
    std::uint64_t stop_copy_length;
};

// NIC-like: STOP_COPY | P2P | PRE_COPY, rings and counters that change while it runs.
// Accelerator: STOP_COPY only, with a task in flight whose progress must survive migration.
enum class DeviceKind { Nic, Accelerator };
const char* toString(DeviceKind kind);
// "nic" / "accel", as toString() spells them.
std::optional<DeviceKind> deviceKindFromString(const std::string& text);
// What VFIO_DEVICE_FEATURE_MIGRATION reports for a device of this kind.
std::uint64_t migrationFlagsFor(DeviceKind kind);

// A device's arc that fails on purpose, or its saved data corrupted on the way out.
struct DeviceFault {
    enum class Kind { FailArc, CorruptData };
    Kind kind = Kind::FailArc;
    DeviceState from = DeviceState::Running;
    DeviceState to = DeviceState::Stop;
};

class EmulatedDevice;

// The file a session-starting arc returns (its number is the data_fd the SET reported).
// It refers to its device and must not outlive it (a kernel fd would hold a reference).
class MigrationDataFile {
public:
    // Saving: up to `length` bytes of the device's stream. -ENOMSG when PRE_COPY has nothing
    // more for now; 0 at the end of STOP_COPY; -ENODEV once the session has ended.
    ssize_t read(void* buffer, std::size_t length);
    // Resuming: appends to the stream; a header that does not match this device is -EINVAL.
    ssize_t write(const void* data, std::size_t length);
    // VFIO_MIG_GET_PRECOPY_INFO with a PrecopyInfo; -EINVAL outside PRE_COPY(_P2P).
    int ioctl(unsigned long request, void* argument);
    int fd() const { return fd_; }

private:
    friend class EmulatedDevice;
    MigrationDataFile(EmulatedDevice& device, int fd, bool saving)
        : device_(device), fd_(fd), saving_(saving) {}
    EmulatedDevice& device_;
    int fd_;
    bool saving_;
    bool active_ = true;
};

class EmulatedDevice {
public:
    // `stateSize` bytes of device state; `changeRate` bytes per second change while it runs.
    EmulatedDevice(std::string name, DeviceKind kind, std::uint64_t stateSize,
                   std::uint64_t changeRate, std::uint32_t seed);
    ~EmulatedDevice();
    EmulatedDevice(const EmulatedDevice&) = delete;
    EmulatedDevice& operator=(const EmulatedDevice&) = delete;

    const std::string& name() const { return name_; }
    DeviceKind kind() const { return kind_; }
    std::uint64_t migrationFlags() const { return flags_; }
    std::uint64_t stateSize() const { return content_.size(); }

    // VFIO_DEVICE_FEATURE (with a struct vfio_device_feature) and VFIO_DEVICE_RESET.
    int ioctl(unsigned long request, void* argument);
    // The data file behind a data_fd this device returned, or nullptr; close it when done.
    std::shared_ptr<MigrationDataFile> dataFile(int fd) const;
    void closeDataFile(int fd);

    // Why the last failing call failed, in words ("RESUMING -> STOP: checksum mismatch").
    std::string lastError() const;
    // Every single arc the device took or refused, as it happens (for logs and telemetry).
    // It runs under the device's lock, as a driver's trace point would: it must not call
    // back into this device.
    using ArcObserver =
        std::function<void(DeviceState from, DeviceState to, int result, const std::string& error)>;
    void setArcObserver(ArcObserver observer);
    void addFault(const DeviceFault& fault);

    // XXH64 of the device's state: equal on both ends after a correct migration.
    std::uint64_t stateDigest() const;
    DeviceState currentState() const;

private:
    friend class MigrationDataFile;
    struct Session;

    int feature(void* argument);
    int setState(DeviceState target, std::int32_t& dataFd);
    int performArc(DeviceState from, DeviceState to, std::int32_t& dataFd);
    void advanceLocked();
    bool runningLocked() const;
    // Queues changed chunks until `budget` bytes are queued (STOP_COPY reads them as they go,
    // as a device streams its state rather than staging all of it), then, when `final` and
    // nothing changed is left, the end record.
    void fillSavingQueueLocked(bool final, std::size_t budget = SIZE_MAX);
    std::uint64_t digestLocked() const;
    void queueChunkLocked(std::uint32_t index);
    ssize_t readLocked(MigrationDataFile& file, void* buffer, std::size_t length);
    ssize_t writeLocked(MigrationDataFile& file, const void* data, std::size_t length);
    int precopyInfoLocked(MigrationDataFile& file, void* argument);
    int validateResumedLocked();
    void endSessionLocked();
    int fail(int error, std::string why);

    const std::string name_;
    const DeviceKind kind_;
    const std::uint64_t flags_;
    const std::uint64_t changeRate_;

    mutable std::mutex mutex_;
    DeviceState state_ = DeviceState::Running;
    std::vector<std::uint8_t> content_;
    mutable std::optional<std::uint64_t> digest_; // of content_, until it changes
    std::vector<bool> dirty_; // per chunk, since the saving session last read it
    std::uint64_t random_;
    std::chrono::steady_clock::time_point lastAdvance_;
    double pendingChange_ = 0;
    std::unique_ptr<Session> session_;
    std::map<int, std::shared_ptr<MigrationDataFile>> files_;
    int nextFd_ = 3;
    std::vector<DeviceFault> faults_;
    bool corrupted_ = false;
    bool corruptNext_ = false;
    std::string lastError_;
    ArcObserver observer_;
};

} // namespace migrascope::vfio
