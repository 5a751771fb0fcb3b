#include "engine/devices/device_migration.h"

#include "engine/source/multifd_sender.h"
#include "engine/wire/wire.h"

#include <cerrno>
#include <cstring>

namespace migrascope {

namespace {
// Enough reusable packet buffers for what several channels deliver out of order (16 MiB).
constexpr std::size_t kSpareDeviceBuffers = 32;
} // namespace
namespace {

using vfio::DeviceState;
using vfio::EmulatedDevice;

// Descriptors a running device rewrites per second: enough that its state keeps changing
// during precopy, as a NIC's rings and an accelerator's task do.
std::uint64_t changeRate(vfio::DeviceKind kind) {
    return kind == vfio::DeviceKind::Nic ? 1ull << 20 : 256ull << 10;
}

// Configurations are checked when parsed: an unknown kind never gets this far.
vfio::DeviceKind kindOf(const std::string& kind) {
    return vfio::deviceKindFromString(kind).value_or(vfio::DeviceKind::Accelerator);
}

// The uAPI calls, laid out as a VMM lays them out: vfio_device_feature, then its payload.
template <typename Payload>
int featureCall(EmulatedDevice& device, std::uint32_t flags, Payload& payload) {
    alignas(8) std::uint8_t bytes[sizeof(vfio_device_feature) + sizeof(Payload)] = {};
    vfio_device_feature header{};
    header.argsz = sizeof bytes;
    header.flags = flags;
    std::memcpy(bytes, &header, sizeof header);
    std::memcpy(bytes + sizeof header, &payload, sizeof payload);
    const int rc = device.ioctl(VFIO_DEVICE_FEATURE, bytes);
    std::memcpy(&payload, bytes + sizeof header, sizeof payload);
    return rc;
}

std::uint64_t migrationFlags(EmulatedDevice& device) {
    vfio_device_feature_migration migration{};
    featureCall(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, migration);
    return migration.flags;
}

std::uint64_t stopCopySize(EmulatedDevice& device) {
    vfio::FeatureMigDataSize size{};
    if (featureCall(device, VFIO_DEVICE_FEATURE_GET | vfio::kFeatureMigDataSize, size) != 0)
        return 100ull << 30; // unknown: QEMU assumes 100 GiB so the limit is never broken
    return size.stop_copy_length;
}

DeviceState currentState(EmulatedDevice& device) {
    vfio_device_feature_mig_state state{};
    featureCall(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, state);
    return static_cast<DeviceState>(state.device_state);
}

// SET_STATE. Returns the errno result; `dataFd` gets the session's file number, or -1.
int setDeviceState(EmulatedDevice& device, DeviceState target, int& dataFd) {
    vfio_device_feature_mig_state state{};
    state.device_state = static_cast<std::uint32_t>(target);
    const int rc =
        featureCall(device, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, state);
    dataFd = state.data_fd;
    return rc;
}

void addFaults(EmulatedDevice& device, const std::vector<FaultSpec>& faults, bool destination) {
    for (const auto& fault : faults) {
        if (fault.device != device.name())
            continue;
        if (fault.kind == FaultSpec::Kind::VfioCorrupt && !destination) {
            device.addFault(vfio::DeviceFault{vfio::DeviceFault::Kind::CorruptData, {}, {}});
        } else if (fault.kind == FaultSpec::Kind::VfioFailArc &&
                   (fault.side == Side::Destination) == destination) {
            const auto from = vfio::stateFromString(fault.arcFrom);
            const auto to = vfio::stateFromString(fault.arcTo);
            if (from && to)
                device.addFault(vfio::DeviceFault{vfio::DeviceFault::Kind::FailArc, *from, *to});
        }
    }
}

void observe(EmulatedDevice& device, Telemetry& telemetry, Side side) {
    device.setArcObserver([&telemetry, side, name = device.name()](DeviceState from, DeviceState to,
                                                                   int result,
                                                                   const std::string& error) {
        telemetry.deviceTransition(side, name, from, to, result == 0, error);
    });
}

// One read of a device's data file: its size, or 0 at the end (STOP_COPY) or when nothing
// more is there for now (PRE_COPY).
std::size_t readState(EmulatedDevice& device, vfio::MigrationDataFile& file, std::uint8_t* buffer,
                      std::size_t size) {
    const ssize_t got = file.read(buffer, size);
    if (got == 0 || got == -ENOMSG)
        return 0;
    if (got < 0)
        throw DeviceError("device " + device.name() + ": reading its state failed (" +
                          std::strerror(static_cast<int>(-got)) + ")");
    return static_cast<std::size_t>(got);
}

constexpr std::size_t kStateChunk = 1 << 20;

[[noreturn]] void refuse(EmulatedDevice& device, DeviceState target) {
    throw DeviceError("device " + device.name() + ": " + device.lastError() + " (requested " +
                      vfio::toString(target) + ")");
}

} // namespace

// ---- Source ----

struct SourceDevices::Device {
    std::unique_ptr<EmulatedDevice> device;
    std::uint32_t sectionId = 0;
    std::uint64_t flags = 0;
    int dataFd = -1;
    bool stateOverMultifd = false;
    std::string idstr() const { return device->name() + "/vfio"; }
};

SourceDevices::SourceDevices(const MigrationConfig& config, Telemetry& telemetry)
    : telemetry_(telemetry) {
    std::uint32_t seed = config.guest.seed * 131;
    for (std::size_t i = 0; i < config.devices.size(); ++i) {
        const DeviceConfig& wanted = config.devices[i];
        auto entry = std::make_unique<Device>();
        const auto kind = kindOf(wanted.kind);
        entry->device = std::make_unique<EmulatedDevice>(wanted.name, kind, wanted.stateSize,
                                                         changeRate(kind), ++seed);
        entry->sectionId = kDeviceSectionBase + static_cast<std::uint32_t>(i);
        entry->flags = migrationFlags(*entry->device);
        entry->stateOverMultifd = wanted.multifdTransfer && config.multifdChannels > 0;
        addFaults(*entry->device, config.faults, false);
        telemetry_.addDevice(wanted.name, wanted.kind, wanted.stateSize);
        observe(*entry->device, telemetry_, Side::Source);
        devices_.push_back(std::move(entry));
    }
}

SourceDevices::~SourceDevices() = default;

void SourceDevices::set(Device& entry, DeviceState state) {
    int fd = -1;
    if (setDeviceState(*entry.device, state, fd) != 0)
        refuse(*entry.device, state);
    if (fd >= 0)
        entry.dataFd = fd;
}

void SourceDevices::setup(StreamWriter& out) {
    for (auto& entry : devices_) {
        if (entry->flags & vfio::kMigrationPreCopy)
            set(*entry, DeviceState::PreCopy);
        out.put8(static_cast<std::uint8_t>(Section::Start));
        out.put32(entry->sectionId);
        out.putString8(entry->idstr());
        out.put32(0); // instance
        out.put32(1); // version
        out.put64(device_marker::kSetupState);
        out.putString8(vfio::toString(entry->device->kind()));
        out.put64(entry->device->stateSize());
        out.put64(entry->flags);
        out.put8(entry->stateOverMultifd ? 1 : 0);
        out.put64(device_marker::kEndOfState);
        out.put8(static_cast<std::uint8_t>(Section::Footer));
        out.put32(entry->sectionId);
    }
}

switchover::DeviceBytes SourceDevices::pendingBytes() {
    switchover::DeviceBytes pending;
    for (auto& entry : devices_) {
        std::uint64_t bytes = stopCopySize(*entry->device);
        const auto state = currentState(*entry->device);
        if ((state == DeviceState::PreCopy || state == DeviceState::PreCopyP2P) &&
            entry->dataFd >= 0) {
            vfio::PrecopyInfo info{sizeof(vfio::PrecopyInfo), 0, 0, 0};
            if (entry->device->dataFile(entry->dataFd)->ioctl(vfio::kMigGetPrecopyInfo, &info) == 0)
                bytes = info.initial_bytes + info.dirty_bytes;
        }
        (entry->stateOverMultifd ? pending.overMultifd : pending.overMain) += bytes;
    }
    return pending;
}

void SourceDevices::sendData(StreamWriter& out, Device& entry, std::size_t budget, bool final) {
    out.put8(static_cast<std::uint8_t>(final ? Section::End : Section::Part));
    out.put32(entry.sectionId);
    if (entry.dataFd >= 0) {
        auto file = entry.device->dataFile(entry.dataFd);
        std::vector<std::uint8_t> buffer(kStateChunk);
        std::size_t sent = 0;
        while (final || sent < budget) {
            const std::size_t got = readState(*entry.device, *file, buffer.data(), buffer.size());
            if (got == 0)
                break;
            out.put64(device_marker::kDataState);
            out.put64(got);
            out.putBytes(buffer.data(), got);
            sent += got;
        }
    }
    out.put64(device_marker::kEndOfState);
    out.put8(static_cast<std::uint8_t>(Section::Footer));
    out.put32(entry.sectionId);
}

void SourceDevices::iterate(StreamWriter& out, std::size_t budget) {
    for (auto& entry : devices_) {
        const auto state = currentState(*entry->device);
        if (state == DeviceState::PreCopy || state == DeviceState::PreCopyP2P)
            sendData(out, *entry, budget, false);
    }
}

void SourceDevices::switchover(StreamWriter& out, MultifdSender* multifd) {
    // P2P quiescing first, for every device, before any of them stops: a device still
    // running must not DMA into one already stopped.
    bool allP2P = !devices_.empty();
    for (const auto& entry : devices_)
        allP2P = allP2P && (entry->flags & vfio::kMigrationP2P);
    if (allP2P)
        for (auto& entry : devices_)
            set(*entry, currentState(*entry->device) == DeviceState::PreCopy
                            ? DeviceState::PreCopyP2P
                            : DeviceState::RunningP2P);
    // Every device stops before any is read: none may still run while another is saved.
    for (auto& entry : devices_)
        set(*entry, DeviceState::StopCopy);
    for (auto& entry : devices_) {
        if (entry->stateOverMultifd && multifd) {
            // The End section only closes the device's precopy data; its state follows over
            // multifd. Sent first, so the destination writes each packet as it arrives
            // instead of holding them all until the main channel reaches it.
            out.put8(static_cast<std::uint8_t>(Section::End));
            out.put32(entry->sectionId);
            out.put64(device_marker::kEndOfState);
            out.put8(static_cast<std::uint8_t>(Section::Footer));
            out.put32(entry->sectionId);
            out.flush();
            sendStateOverMultifd(*multifd, *entry);
        } else {
            sendData(out, *entry, 0, true);
        }
    }
}

void SourceDevices::sendStateOverMultifd(MultifdSender& multifd, Device& entry) {
    namespace packet = device_state_packet;
    auto file = entry.dataFd >= 0 ? entry.device->dataFile(entry.dataFd) : nullptr;
    std::uint32_t index = 0;
    auto queue = [&](std::vector<std::uint8_t>& bytes, std::uint32_t flags) {
        wire::put32(bytes.data(), packet::kVersion);
        wire::put32(bytes.data() + 4, index++);
        wire::put32(bytes.data() + 8, flags);
        multifd.queueDeviceState(entry.idstr(), 0);
    };
    while (file) {
        std::vector<std::uint8_t>& bytes = multifd.deviceStatePayload();
        bytes.resize(packet::kHeaderSize + kStateChunk);
        const std::size_t got =
            readState(*entry.device, *file, bytes.data() + packet::kHeaderSize, kStateChunk);
        if (got == 0)
            break;
        bytes.resize(packet::kHeaderSize + got);
        queue(bytes, 0);
    }
    // The emulated device has no config space: the last packet only says it is the last.
    std::vector<std::uint8_t>& last = multifd.deviceStatePayload();
    last.resize(packet::kHeaderSize);
    queue(last, packet::kFlagConfigState);
}

DeviceDigests SourceDevices::digests() const {
    DeviceDigests digests;
    for (const auto& entry : devices_)
        digests.emplace_back(entry->device->name(), entry->device->stateDigest());
    return digests;
}

void SourceDevices::completed() {
    for (auto& entry : devices_) {
        int fd = -1;
        // The destination has verified everything: the migration stands, but a source device
        // that did not stop cleanly is worth the operator's attention (completed with warnings).
        if (setDeviceState(*entry->device, DeviceState::Stop, fd) != 0)
            telemetry_.warning(Side::Source, "device " + entry->device->name() +
                                                 " did not stop on the source after the "
                                                 "destination's verdict: " +
                                                 entry->device->lastError());
        if (entry->dataFd >= 0)
            entry->device->closeDataFile(entry->dataFd);
        entry->dataFd = -1;
    }
}

void SourceDevices::resumeAfterFailure() {
    for (auto& entry : devices_) {
        int fd = -1;
        if (setDeviceState(*entry->device, DeviceState::Running, fd) != 0) {
            // QEMU's recovery: a device that will not go back is reset, which is RUNNING.
            telemetry_.event(EventLevel::Warning, Side::Source,
                             "device " + entry->device->name() + ": " + entry->device->lastError() +
                                 "; resetting it");
            entry->device->ioctl(VFIO_DEVICE_RESET, nullptr);
            telemetry_.deviceReset(Side::Source, entry->device->name(), DeviceState::Running);
        }
        if (entry->dataFd >= 0)
            entry->device->closeDataFile(entry->dataFd);
        entry->dataFd = -1;
    }
}

// ---- Destination ----

struct DestinationDevices::Device {
    std::unique_ptr<EmulatedDevice> device;
    std::uint32_t sectionId = 0;
    std::string idstr;
    int dataFd = -1;
    bool loaded = false;
    bool stateOverMultifd = false;
    // Multifd device-state packets, guarded by buffersMutex_: those that arrived ahead of
    // their turn, the next index to write, and the last index once the config packet came.
    std::map<std::uint32_t, std::vector<std::uint8_t>> early;
    std::uint32_t nextIndex = 0;
    std::optional<std::uint32_t> lastIndex;
    // The main channel reached the device's End section: its precopy data is all written, so
    // the STOP_COPY state may follow (QEMU starts its load thread at switchover start).
    bool precopyLoaded = false;
    std::string error; // a write into the device failed
    bool allWritten() const { return lastIndex && nextIndex > *lastIndex; }
};

DestinationDevices::DestinationDevices(Options options, Telemetry& telemetry)
    : options_(std::move(options)), telemetry_(telemetry) {}

DestinationDevices::~DestinationDevices() = default;

bool DestinationDevices::owns(std::uint32_t sectionId) const {
    for (const auto& entry : devices_)
        if (entry->sectionId == sectionId)
            return true;
    return false;
}

void DestinationDevices::set(Device& entry, DeviceState state) {
    int fd = -1;
    if (setDeviceState(*entry.device, state, fd) != 0)
        refuse(*entry.device, state);
    if (fd >= 0)
        entry.dataFd = fd;
}

void DestinationDevices::loadSetup(StreamReader& in, std::uint32_t sectionId,
                                   const std::string& idstr) {
    const std::string name = idstr.substr(0, idstr.size() - 5); // "<name>/vfio"
    if (in.get64() != device_marker::kSetupState)
        throw MigrationError("main channel: device section '" + idstr + "' has no setup state");
    const std::string kind = in.getString8();
    const std::uint64_t stateSize = in.get64();
    const std::uint64_t flags = in.get64();
    const std::uint8_t stateOverMultifd = in.get8();
    if (in.get64() != device_marker::kEndOfState)
        throw MigrationError("main channel: device section '" + idstr + "' setup is not closed");
    if (!vfio::deviceKindFromString(kind) || stateSize == 0 || stateSize > (1ull << 30) ||
        owns(sectionId) || sectionId < kDeviceSectionBase || stateOverMultifd > 1)
        throw MigrationError("main channel: device section '" + idstr + "' is invalid");
    auto entry = std::make_unique<Device>();
    entry->sectionId = sectionId;
    entry->idstr = idstr;
    entry->stateOverMultifd = stateOverMultifd != 0;
    entry->device = std::make_unique<EmulatedDevice>(name, kindOf(kind), stateSize,
                                                     changeRate(kindOf(kind)), sectionId * 977);
    if (migrationFlags(*entry->device) != flags)
        throw DeviceError("device " + name + ": the destination's device has migration flags " +
                          vfio::describeFlags(migrationFlags(*entry->device)) + ", the source's " +
                          vfio::describeFlags(flags));
    addFaults(*entry->device, options_.faults, true);
    telemetry_.addDevice(name, kind, stateSize);
    observe(*entry->device, telemetry_, Side::Destination);
    Device& device = *entry;
    devices_.push_back(std::move(entry));
    set(device, DeviceState::Resuming);
}

DestinationDevices::Device& DestinationDevices::find(std::uint32_t sectionId) {
    Device* found = nullptr;
    for (auto& entry : devices_)
        if (entry->sectionId == sectionId)
            found = entry.get();
    return *found; // owns() was checked
}

void DestinationDevices::loadData(StreamReader& in, std::uint32_t sectionId, bool final) {
    Device& entry = find(sectionId);
    auto file = entry.device->dataFile(entry.dataFd);
    std::vector<std::uint8_t> buffer;
    for (;;) {
        const std::uint64_t marker = in.get64();
        if (marker == device_marker::kEndOfState)
            break;
        if (marker != device_marker::kDataState)
            throw MigrationError("main channel: device " + entry.device->name() +
                                 ": unknown marker in its data");
        const std::uint64_t size = in.get64();
        if (size > (64ull << 20))
            throw MigrationError("main channel: device " + entry.device->name() +
                                 ": a data chunk of " + std::to_string(size) + " bytes");
        buffer.resize(size);
        in.getBytes(buffer.data(), buffer.size());
        if (!file || file->write(buffer.data(), buffer.size()) != static_cast<ssize_t>(size))
            throw DeviceError("device " + entry.device->name() + ": " + entry.device->lastError());
    }
    if (!final)
        return;
    if (entry.stateOverMultifd)
        waitForMultifdState(entry);
    entry.device->closeDataFile(entry.dataFd);
    entry.dataFd = -1;
    entry.loaded = true;
    if (options_.explicitResumingStop) {
        // The explicit RESUMING -> STOP: this is where the device validates what it was given.
        set(entry, DeviceState::Stop);
        telemetry_.event(EventLevel::Info, Side::Destination,
                         "device " + entry.device->name() +
                             ": RESUMING -> STOP: its state is complete and valid");
    }
}

void DestinationDevices::loadStateBuffer(const std::string& idstr, std::uint32_t instanceId,
                                         const std::uint8_t* packet, std::size_t size) {
    namespace layout = device_state_packet;
    Device* found = nullptr;
    for (auto& entry : devices_)
        if (entry->idstr == idstr && entry->stateOverMultifd)
            found = entry.get();
    if (!found || instanceId != 0)
        throw MigrationError("multifd device-state packet for '" + idstr + "' instance " +
                             std::to_string(instanceId) +
                             ", which is not a device migrating its state over multifd");
    if (size < layout::kHeaderSize)
        throw MigrationError("multifd device-state packet for '" + idstr + "' is too short");
    const std::uint32_t version = wire::get32(packet);
    const std::uint32_t index = wire::get32(packet + 4);
    const std::uint32_t flags = wire::get32(packet + 8);
    if (version != layout::kVersion || index == UINT32_MAX ||
        (flags & ~layout::kFlagConfigState) != 0)
        throw MigrationError("multifd device-state packet for '" + idstr + "' has version " +
                             std::to_string(version) + ", index " + std::to_string(index) +
                             ", flags " + std::to_string(flags));
    Device& entry = *found;
    std::lock_guard lock(buffersMutex_);
    if (index < entry.nextIndex || entry.early.count(index) != 0 ||
        (entry.lastIndex && index > *entry.lastIndex) ||
        ((flags & layout::kFlagConfigState) && entry.lastIndex))
        throw MigrationError("multifd device-state packet for '" + idstr + "': index " +
                             std::to_string(index) + " arrived twice or after the last");
    if (flags & layout::kFlagConfigState) {
        if (!entry.early.empty() && entry.early.rbegin()->first > index)
            throw MigrationError("multifd device-state packet for '" + idstr +
                                 "': the config state came before data after it");
        entry.lastIndex = index;
    }
    const bool config = flags & layout::kFlagConfigState;
    if (entry.precopyLoaded && index == entry.nextIndex) {
        // Its turn: written from the channel's buffer, then whatever waited behind it.
        if (!config)
            writeData(entry, packet + layout::kHeaderSize, size - layout::kHeaderSize);
        ++entry.nextIndex;
    } else {
        std::vector<std::uint8_t> buffer;
        if (!spareBuffers_.empty()) {
            buffer = std::move(spareBuffers_.back());
            spareBuffers_.pop_back();
        }
        buffer.assign(packet, packet + size);
        entry.early.emplace(index, std::move(buffer));
    }
    writeInOrder(entry);
    buffersChanged_.notify_all();
}

void DestinationDevices::writeData(Device& entry, const std::uint8_t* data, std::size_t size) {
    auto file = entry.device->dataFile(entry.dataFd);
    if (size > 0 && (!file || file->write(data, size) != static_cast<ssize_t>(size))) {
        entry.error = "device " + entry.device->name() + ": " + entry.device->lastError();
        throw DeviceError(entry.error);
    }
}

void DestinationDevices::writeInOrder(Device& entry) {
    if (!entry.precopyLoaded)
        return;
    for (auto next = entry.early.find(entry.nextIndex); next != entry.early.end();
         next = entry.early.find(entry.nextIndex)) {
        const std::vector<std::uint8_t>& packet = next->second;
        // The config packet carries no data: the emulated device has no config space.
        const bool config = entry.lastIndex && next->first == *entry.lastIndex;
        if (!config)
            writeData(entry, packet.data() + device_state_packet::kHeaderSize,
                      packet.size() - device_state_packet::kHeaderSize);
        if (spareBuffers_.size() < kSpareDeviceBuffers)
            spareBuffers_.push_back(std::move(next->second));
        entry.early.erase(next);
        ++entry.nextIndex;
    }
}

void DestinationDevices::waitForMultifdState(Device& entry) {
    std::unique_lock lock(buffersMutex_);
    entry.precopyLoaded = true;
    writeInOrder(entry);
    // Bounded by the channels: each packet is on its way before the final multifd sync, and a
    // channel that fails or stops the migration abandons this wait.
    buffersChanged_.wait(lock,
                         [&] { return entry.allWritten() || !entry.error.empty() || abandoned_; });
    if (!entry.error.empty())
        throw DeviceError(entry.error);
    if (!entry.allWritten())
        throw MigrationError("main channel: device " + entry.device->name() +
                             ": stopped while waiting for its state on the multifd channels");
}

void DestinationDevices::abandon() {
    {
        std::lock_guard lock(buffersMutex_);
        abandoned_ = true;
    }
    buffersChanged_.notify_all();
}

std::string DestinationDevices::verify(const DeviceDigests& source) const {
    if (source.size() != devices_.size())
        return std::to_string(source.size()) + " devices at the source, " +
               std::to_string(devices_.size()) + " here";
    for (const auto& [name, digest] : source) {
        const Device* match = nullptr;
        for (const auto& entry : devices_)
            if (entry->device->name() == name)
                match = entry.get();
        if (!match)
            return "device " + name + " is missing here";
        if (match->device->stateDigest() != digest)
            return "device " + name + " state differs from the source's";
    }
    return {};
}

void DestinationDevices::start() {
    for (auto& entry : devices_) {
        if (options_.explicitResumingStop) {
            set(*entry, DeviceState::Running);
            continue;
        }
        int fd = -1;
        if (setDeviceState(*entry->device, DeviceState::Running, fd) != 0) {
            // The old behaviour, on purpose: the failure is logged and nobody acts on it.
            telemetry_.warning(Side::Destination,
                               "device " + entry->device->name() + ": " +
                                   entry->device->lastError() +
                                   " -- ignored (legacy VFIO resume, as QEMU before the fix): "
                                   "the device is reset and the guest runs with it");
            entry->device->ioctl(VFIO_DEVICE_RESET, nullptr);
            telemetry_.deviceReset(Side::Destination, entry->device->name(), DeviceState::Running);
        }
    }
}

} // namespace migrascope
