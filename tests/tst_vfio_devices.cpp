// The emulated devices through the uAPI a VMM uses: the feature ioctl, the data file, the
// kernel's paths, injected arc failures, and validation when a device leaves RESUMING.
#include "vfio/emulated_device.h"

#include <QtTest>
#include <cerrno>
#include <cstring>
#include <thread>

using namespace migrascope::vfio;

namespace {

// vfio_device_feature followed by its payload in one buffer, as a VMM lays it out.
template <typename Payload> struct FeatureCall {
    alignas(8) std::uint8_t bytes[sizeof(vfio_device_feature) + sizeof(Payload)] = {};
    Payload payload{};

    explicit FeatureCall(std::uint32_t flags) {
        vfio_device_feature header{};
        header.argsz = sizeof bytes;
        header.flags = flags;
        std::memcpy(bytes, &header, sizeof header);
    }
    // Runs the ioctl with `payload` in place and reads back what the device wrote there.
    int call(EmulatedDevice& device) {
        std::memcpy(bytes + sizeof(vfio_device_feature), &payload, sizeof payload);
        const int rc = device.ioctl(VFIO_DEVICE_FEATURE, bytes);
        std::memcpy(&payload, bytes + sizeof(vfio_device_feature), sizeof payload);
        return rc;
    }
};

std::uint64_t migrationFlags(EmulatedDevice& device) {
    FeatureCall<vfio_device_feature_migration> call(VFIO_DEVICE_FEATURE_GET |
                                                    VFIO_DEVICE_FEATURE_MIGRATION);
    return call.call(device) == 0 ? call.payload.flags : 0;
}

DeviceState getState(EmulatedDevice& device) {
    FeatureCall<vfio_device_feature_mig_state> call(VFIO_DEVICE_FEATURE_GET |
                                                    VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
    if (call.call(device) != 0)
        return DeviceState::Error;
    return static_cast<DeviceState>(call.payload.device_state);
}

// SET_STATE: returns the ioctl's result and the data_fd it reported.
int setState(EmulatedDevice& device, DeviceState state, int& dataFd) {
    FeatureCall<vfio_device_feature_mig_state> call(VFIO_DEVICE_FEATURE_SET |
                                                    VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
    call.payload.device_state = static_cast<std::uint32_t>(state);
    const int rc = call.call(device);
    dataFd = call.payload.data_fd;
    return rc;
}
int setState(EmulatedDevice& device, DeviceState state) {
    int fd = -1;
    return setState(device, state, fd);
}

// What a saving file gives until it says "nothing more" (ENOMSG) or "end" (0). A running
// device can keep producing changes; like a VMM's iteration this reads a bounded amount.
std::vector<std::uint8_t> drain(MigrationDataFile& file, ssize_t& last) {
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> buffer(100000);
    while (out.size() < (64u << 20) && (last = file.read(buffer.data(), buffer.size())) > 0)
        out.insert(out.end(), buffer.begin(), buffer.begin() + last);
    return out;
}

// A whole migration of one device, as the source and destination VMMs would drive it.
// Returns the destination's RESUMING -> STOP result.
int migrate(EmulatedDevice& source, EmulatedDevice& destination) {
    int saveFd = -1;
    const bool precopy = source.migrationFlags() & kMigrationPreCopy;
    std::vector<std::uint8_t> stream;
    ssize_t last = 0;
    if (precopy) {
        if (setState(source, DeviceState::PreCopy, saveFd) != 0)
            return -1000;
        auto file = source.dataFile(saveFd);
        stream = drain(*file, last);
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // it keeps running
        if (setState(source, DeviceState::StopCopy) != 0)
            return -1001;
        const auto rest = drain(*file, last);
        stream.insert(stream.end(), rest.begin(), rest.end());
        source.closeDataFile(saveFd);
    } else {
        if (setState(source, DeviceState::StopCopy, saveFd) != 0)
            return -1002;
        stream = drain(*source.dataFile(saveFd), last);
        source.closeDataFile(saveFd);
    }
    if (last != 0 || setState(source, DeviceState::Stop) != 0)
        return -1003;
    int loadFd = -1;
    if (setState(destination, DeviceState::Resuming, loadFd) != 0)
        return -1004;
    auto file = destination.dataFile(loadFd);
    // Any segmentation of the writes is allowed.
    for (std::size_t at = 0; at < stream.size(); at += 7777) {
        const std::size_t n = std::min<std::size_t>(7777, stream.size() - at);
        if (file->write(stream.data() + at, n) != static_cast<ssize_t>(n))
            break;
    }
    destination.closeDataFile(loadFd);
    return setState(destination, DeviceState::Stop);
}

} // namespace

class TestVfioDevices : public QObject {
    Q_OBJECT

private slots:
    void kindsAdvertiseTheirFlags() {
        EmulatedDevice nic("nic0", DeviceKind::Nic, 1 << 20, 0, 1);
        EmulatedDevice accel("accel0", DeviceKind::Accelerator, 1 << 20, 0, 2);
        QCOMPARE(migrationFlags(nic), kMigrationStopCopy | kMigrationP2P | kMigrationPreCopy);
        QCOMPARE(migrationFlags(accel), kMigrationStopCopy);
        QVERIFY(getState(nic) == DeviceState::Running);
        // PROBE answers without doing anything; GET and SET together are refused.
        FeatureCall<vfio_device_feature_mig_state> probe(VFIO_DEVICE_FEATURE_PROBE |
                                                         VFIO_DEVICE_FEATURE_SET |
                                                         VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
        QCOMPARE(probe.call(nic), 0);
        FeatureCall<vfio_device_feature_mig_state> both(VFIO_DEVICE_FEATURE_GET |
                                                        VFIO_DEVICE_FEATURE_SET |
                                                        VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
        QCOMPARE(both.call(nic), -EINVAL);
        FeatureCall<vfio_device_feature_migration> setFlags(VFIO_DEVICE_FEATURE_SET |
                                                            VFIO_DEVICE_FEATURE_MIGRATION);
        QCOMPARE(setFlags.call(nic), -EINVAL);
        FeatureCall<FeatureMigDataSize> size(VFIO_DEVICE_FEATURE_GET | kFeatureMigDataSize);
        QCOMPARE(size.call(accel), 0);
        QVERIFY(size.payload.stop_copy_length > (1u << 20));
        QCOMPARE(accel.ioctl(VFIO_DEVICE_RESET + 1000, nullptr), -ENOTTY);
    }

    void bothKindsMigrateTheirStateExactly() {
        for (const DeviceKind kind : {DeviceKind::Nic, DeviceKind::Accelerator}) {
            // It keeps changing while it runs (PRE_COPY included), about 16 descriptors a ms.
            EmulatedDevice source("src", kind, 3 << 20, 1 << 20, 7);
            EmulatedDevice destination("dst", kind, 3 << 20, 1 << 20, 8);
            QVERIFY(source.stateDigest() != destination.stateDigest());
            QCOMPARE(migrate(source, destination), 0);
            QCOMPARE(destination.stateDigest(), source.stateDigest());
            QVERIFY(getState(destination) == DeviceState::Stop);
            QCOMPARE(setState(destination, DeviceState::Running), 0);
        }
    }

    void precopyInfoDrainsAndReadsFollowTheUapi() {
        EmulatedDevice nic("nic0", DeviceKind::Nic, 1 << 20, 0, 3);
        int fd = -1;
        QCOMPARE(setState(nic, DeviceState::PreCopy, fd), 0);
        QVERIFY(fd >= 0);
        auto file = nic.dataFile(fd);
        PrecopyInfo info{sizeof(PrecopyInfo), 0, 0, 0};
        QCOMPARE(file->ioctl(kMigGetPrecopyInfo, &info), 0);
        QVERIFY(info.initial_bytes > (1u << 20));
        QCOMPARE(info.dirty_bytes, std::uint64_t{0});
        std::uint8_t buffer[4096];
        QCOMPARE(file->read(buffer, sizeof buffer), ssize_t{4096});
        PrecopyInfo after{sizeof(PrecopyInfo), 0, 0, 0};
        QCOMPARE(file->ioctl(kMigGetPrecopyInfo, &after), 0);
        QCOMPARE(after.initial_bytes, info.initial_bytes - 4096);
        ssize_t last = 0;
        drain(*file, last);
        QCOMPARE(last, ssize_t{-ENOMSG}); // PRE_COPY: nothing more for now
        PrecopyInfo short_{8, 0, 0, 0};
        QCOMPARE(file->ioctl(kMigGetPrecopyInfo, &short_), -EINVAL);
        // PRE_COPY -> STOP_COPY keeps the session: no new data_fd.
        int again = 123;
        QCOMPARE(setState(nic, DeviceState::StopCopy, again), 0);
        QCOMPARE(again, -1);
        QCOMPARE(file->ioctl(kMigGetPrecopyInfo, &info), -EINVAL); // not in PRE_COPY now
        drain(*file, last);
        QCOMPARE(last, ssize_t{0});
        QCOMPARE(file->read(buffer, sizeof buffer), ssize_t{0}); // end, and it stays so
        QCOMPARE(setState(nic, DeviceState::Stop), 0);
        QCOMPARE(file->read(buffer, sizeof buffer), ssize_t{-ENODEV}); // session over
    }

    void blockedAndErrorRequestsAreRefused() {
        EmulatedDevice nic("nic0", DeviceKind::Nic, 1 << 20, 0, 4);
        QCOMPARE(setState(nic, DeviceState::StopCopy), 0);
        // The loop fix: STOP_COPY -> PRE_COPY is an error, and nothing moves.
        QCOMPARE(setState(nic, DeviceState::PreCopy), -EINVAL);
        QVERIFY(getState(nic) == DeviceState::StopCopy);
        QCOMPARE(setState(nic, DeviceState::Error), -EINVAL);
        EmulatedDevice accel("accel0", DeviceKind::Accelerator, 1 << 20, 0, 5);
        QCOMPARE(setState(accel, DeviceState::PreCopy), -EINVAL); // not supported there
        QVERIFY(getState(accel) == DeviceState::Running);
    }

    void everyArcOfAPathIsObservedAndAFailedArcStopsThere() {
        EmulatedDevice nic("nic0", DeviceKind::Nic, 1 << 20, 0, 6);
        std::vector<std::pair<DeviceState, DeviceState>> arcs;
        nic.setArcObserver([&](DeviceState from, DeviceState to, int, const std::string&) {
            arcs.emplace_back(from, to);
        });
        nic.addFault(
            DeviceFault{DeviceFault::Kind::FailArc, DeviceState::RunningP2P, DeviceState::Stop});
        // RUNNING -> STOP on a P2P device: RUNNING -> RUNNING_P2P -> STOP; the second fails.
        QCOMPARE(setState(nic, DeviceState::Stop), -EIO);
        QCOMPARE(arcs.size(), std::size_t{2});
        QVERIFY(arcs[0].second == DeviceState::RunningP2P);
        QVERIFY(getState(nic) == DeviceState::RunningP2P);
        QVERIFY(nic.lastError().find("RUNNING_P2P -> STOP failed (fault injected)") !=
                std::string::npos);
        QCOMPARE(setState(nic, DeviceState::Running), 0); // the VMM goes back
    }

    void corruptedDataFailsValidationLeavingResuming() {
        EmulatedDevice source("accel0", DeviceKind::Accelerator, 2 << 20, 0, 9);
        EmulatedDevice destination("accel0", DeviceKind::Accelerator, 2 << 20, 0, 10);
        source.addFault(DeviceFault{DeviceFault::Kind::CorruptData, {}, {}});
        QCOMPARE(migrate(source, destination), -EINVAL);
        QVERIFY(getState(destination) == DeviceState::Resuming);
        QVERIFY2(destination.lastError().find("checksum mismatch") != std::string::npos,
                 destination.lastError().c_str());
        // Only a reset leaves an aborted RESUMING; it returns the device to RUNNING.
        QCOMPARE(destination.ioctl(VFIO_DEVICE_RESET, nullptr), 0);
        QVERIFY(getState(destination) == DeviceState::Running);
    }

    void streamFromAnotherDeviceIsRejectedAtItsHeader() {
        EmulatedDevice nic("nic0", DeviceKind::Nic, 1 << 20, 0, 11);
        EmulatedDevice accel("accel0", DeviceKind::Accelerator, 1 << 20, 0, 12);
        int fd = -1;
        QCOMPARE(setState(nic, DeviceState::StopCopy, fd), 0);
        ssize_t last = 0;
        const auto stream = drain(*nic.dataFile(fd), last);
        int loadFd = -1;
        QCOMPARE(setState(accel, DeviceState::Resuming, loadFd), 0);
        auto resuming = accel.dataFile(loadFd);
        std::uint8_t byte = 0;
        QCOMPARE(resuming->read(&byte, 1), ssize_t{-EBADF}); // write-only
        PrecopyInfo info{sizeof(PrecopyInfo), 0, 0, 0};
        QCOMPARE(resuming->ioctl(kMigGetPrecopyInfo, &info), -ENOTTY);
        QCOMPARE(nic.dataFile(fd)->write(&byte, 1), ssize_t{-EBADF}); // read-only
        QCOMPARE(resuming->write(stream.data(), stream.size()), ssize_t{-EINVAL});
        QCOMPARE(setState(accel, DeviceState::Stop), -EINVAL);
        QVERIFY2(accel.lastError().find("different device") != std::string::npos,
                 accel.lastError().c_str());
    }

    void truncatedStreamFailsValidation() {
        EmulatedDevice source("nic0", DeviceKind::Nic, 1 << 20, 0, 13);
        EmulatedDevice destination("nic0", DeviceKind::Nic, 1 << 20, 0, 14);
        int fd = -1;
        QCOMPARE(setState(source, DeviceState::StopCopy, fd), 0);
        ssize_t last = 0;
        auto stream = drain(*source.dataFile(fd), last);
        stream.resize(stream.size() / 2);
        int loadFd = -1;
        QCOMPARE(setState(destination, DeviceState::Resuming, loadFd), 0);
        QCOMPARE(destination.dataFile(loadFd)->write(stream.data(), stream.size()),
                 static_cast<ssize_t>(stream.size()));
        QCOMPARE(setState(destination, DeviceState::Stop), -EINVAL);
        QVERIFY(getState(destination) == DeviceState::Resuming);
    }
};

QTEST_GUILESS_MAIN(TestVfioDevices)
#include "tst_vfio_devices.moc"
