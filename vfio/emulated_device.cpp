#include "vfio/emulated_device.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <xxhash.h>

namespace migrascope::vfio {
namespace {

// The device's own stream (opaque to the VMM, as the uAPI says): records of
// be32 tag, be32 index, be32 length, payload.
constexpr std::uint64_t kStreamMagic = 0x4d53435056464931ull; // "MSCPVFI1"
constexpr std::uint32_t kStreamVersion = 1;
constexpr std::uint32_t kChunkSize = 64 * 1024;
// What STOP_COPY stages at a time for reading.
constexpr std::size_t kStopCopyQueueBytes = 1 << 20;
constexpr std::size_t kRecordHeader = 12;
constexpr std::size_t kHeaderPayload = 28;
enum Tag : std::uint32_t { kHeader = 0, kChunk = 1, kEnd = 2 };
// Each change the running device makes rewrites one 64-byte descriptor.
constexpr std::uint64_t kChangeBytes = 64;

void put32(std::vector<std::uint8_t>& out, std::uint32_t value) {
    for (int i = 3; i >= 0; --i)
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}
void put64(std::vector<std::uint8_t>& out, std::uint64_t value) {
    for (int i = 7; i >= 0; --i)
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}
std::uint32_t get32(const std::uint8_t* in) {
    return static_cast<std::uint32_t>(in[0]) << 24 | static_cast<std::uint32_t>(in[1]) << 16 |
           static_cast<std::uint32_t>(in[2]) << 8 | in[3];
}
std::uint64_t get64(const std::uint8_t* in) {
    return static_cast<std::uint64_t>(get32(in)) << 32 | get32(in + 4);
}
std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::string arcText(DeviceState from, DeviceState to) {
    return std::string(toString(from)) + " -> " + toString(to);
}

} // namespace

const char* toString(DeviceKind kind) {
    switch (kind) {
    case DeviceKind::Nic:
        return "nic";
    case DeviceKind::Accelerator:
        return "accel";
    }
    return "unknown";
}

std::optional<DeviceKind> deviceKindFromString(const std::string& text) {
    if (text == "nic")
        return DeviceKind::Nic;
    if (text == "accel")
        return DeviceKind::Accelerator;
    return std::nullopt;
}

std::uint64_t migrationFlagsFor(DeviceKind kind) {
    return kind == DeviceKind::Nic ? kMigrationStopCopy | kMigrationP2P | kMigrationPreCopy
                                   : kMigrationStopCopy;
}

struct EmulatedDevice::Session {
    int fd = -1;
    bool saving = true;
    // Saving: bytes queued for read(); the first `initialRemaining` of them are the initial
    // image (PRE_COPY's initial_bytes).
    std::vector<std::uint8_t> queue;
    std::size_t readOffset = 0;
    std::uint64_t initialRemaining = 0;
    bool endQueued = false;
    // Resuming: what was written and not yet parsed, and the state being rebuilt.
    std::vector<std::uint8_t> incoming;
    std::vector<std::uint8_t> image;
    std::vector<bool> received;
    bool headerSeen = false;
    bool endSeen = false;
    std::uint64_t checksum = 0;
    std::string invalid; // why the stream cannot be accepted
};

EmulatedDevice::EmulatedDevice(std::string name, DeviceKind kind, std::uint64_t stateSize,
                               std::uint64_t changeRate, std::uint32_t seed)
    : name_(std::move(name)), kind_(kind), flags_(migrationFlagsFor(kind)), changeRate_(changeRate),
      content_(std::max<std::uint64_t>(stateSize, 64)),
      dirty_((content_.size() + kChunkSize - 1) / kChunkSize, false),
      random_(seed * 0x2545f4914f6cdd1dull + 1), lastAdvance_(std::chrono::steady_clock::now()) {
    for (std::size_t i = 0; i + 8 <= content_.size(); i += 8) {
        const std::uint64_t value = splitmix(random_);
        std::memcpy(content_.data() + i, &value, 8);
    }
}

EmulatedDevice::~EmulatedDevice() = default;

void EmulatedDevice::setArcObserver(ArcObserver observer) {
    std::lock_guard lock(mutex_);
    observer_ = std::move(observer);
}

void EmulatedDevice::addFault(const DeviceFault& fault) {
    std::lock_guard lock(mutex_);
    faults_.push_back(fault);
}

std::string EmulatedDevice::lastError() const {
    std::lock_guard lock(mutex_);
    return lastError_;
}

DeviceState EmulatedDevice::currentState() const {
    std::lock_guard lock(mutex_);
    return state_;
}

std::uint64_t EmulatedDevice::stateDigest() const {
    std::lock_guard lock(mutex_);
    return digestLocked();
}

std::uint64_t EmulatedDevice::digestLocked() const {
    if (!digest_)
        digest_ = XXH64(content_.data(), content_.size(), 0);
    return *digest_;
}

std::shared_ptr<MigrationDataFile> EmulatedDevice::dataFile(int fd) const {
    std::lock_guard lock(mutex_);
    const auto file = files_.find(fd);
    return file == files_.end() ? nullptr : file->second;
}

void EmulatedDevice::closeDataFile(int fd) {
    std::lock_guard lock(mutex_);
    files_.erase(fd);
}

int EmulatedDevice::fail(int error, std::string why) {
    lastError_ = std::move(why);
    return error;
}

bool EmulatedDevice::runningLocked() const {
    return state_ == DeviceState::Running || state_ == DeviceState::RunningP2P ||
           state_ == DeviceState::PreCopy || state_ == DeviceState::PreCopyP2P;
}

// The device works while it runs: its descriptors change, and an accelerator's task in
// flight makes progress. Modelled from the time elapsed, without a thread of its own.
void EmulatedDevice::advanceLocked() {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - lastAdvance_).count();
    lastAdvance_ = now;
    if (!runningLocked() || changeRate_ == 0)
        return;
    pendingChange_ += seconds * static_cast<double>(changeRate_) / kChangeBytes;
    digest_.reset();
    const std::size_t descriptors = content_.size() / kChangeBytes;
    for (; pendingChange_ >= 1; pendingChange_ -= 1) {
        const std::size_t offset = (splitmix(random_) % descriptors) * kChangeBytes;
        const std::uint64_t value = splitmix(random_);
        std::memcpy(content_.data() + offset, &value, 8);
        dirty_[offset / kChunkSize] = true;
    }
    if (kind_ == DeviceKind::Accelerator) {
        // Bytes 8..15: the in-flight task's progress, in microseconds of work done.
        std::uint64_t progress = 0;
        std::memcpy(&progress, content_.data() + 8, 8);
        progress += static_cast<std::uint64_t>(seconds * 1e6);
        std::memcpy(content_.data() + 8, &progress, 8);
        dirty_[0] = true;
    }
}

void EmulatedDevice::queueChunkLocked(std::uint32_t index) {
    Session& session = *session_;
    const std::size_t begin = std::size_t{index} * kChunkSize;
    const std::size_t length = std::min<std::size_t>(kChunkSize, content_.size() - begin);
    put32(session.queue, kChunk);
    put32(session.queue, index);
    put32(session.queue, static_cast<std::uint32_t>(length));
    const std::size_t at = session.queue.size();
    session.queue.insert(session.queue.end(), content_.begin() + static_cast<std::ptrdiff_t>(begin),
                         content_.begin() + static_cast<std::ptrdiff_t>(begin + length));
    dirty_[index] = false;
    if (corruptNext_) {
        session.queue[at + length / 2] ^= 0x5a; // one flipped byte on the way out
        corruptNext_ = false;
        corrupted_ = true;
    }
}

// Initial image: header and every chunk. Later: the chunks changed since they were read,
// and at the end of STOP_COPY the checksum of the whole state.
void EmulatedDevice::fillSavingQueueLocked(bool final, std::size_t budget) {
    Session& session = *session_;
    // The corruption goes into the last copy of a chunk that is sent, so that no clean
    // copy can overwrite it at the destination.
    if (final && !session.endQueued && !corrupted_ && !corruptNext_)
        for (const auto& fault : faults_)
            if (fault.kind == DeviceFault::Kind::CorruptData) {
                dirty_[0] = true;
                corruptNext_ = true;
            }
    bool changedLeft = false;
    for (std::uint32_t index = 0; index < dirty_.size(); ++index) {
        if (!dirty_[index])
            continue;
        if (session.queue.size() - session.readOffset >= budget) {
            changedLeft = true;
            break;
        }
        queueChunkLocked(index);
    }
    if (final && !session.endQueued && !changedLeft) {
        put32(session.queue, kEnd);
        put32(session.queue, 0);
        put32(session.queue, 8);
        put64(session.queue, digestLocked());
        session.endQueued = true;
    }
}

int EmulatedDevice::performArc(DeviceState from, DeviceState to, std::int32_t& dataFd) {
    using S = DeviceState;
    for (const auto& fault : faults_)
        if (fault.kind == DeviceFault::Kind::FailArc && fault.from == from && fault.to == to)
            return fail(-EIO, arcText(from, to) + " failed (fault injected)");
    auto startSession = [&](bool saving) {
        endSessionLocked();
        session_ = std::make_unique<Session>();
        session_->saving = saving;
        session_->fd = nextFd_++;
        files_[session_->fd] =
            std::shared_ptr<MigrationDataFile>(new MigrationDataFile(*this, session_->fd, saving));
        dataFd = session_->fd;
        if (saving) {
            put32(session_->queue, kHeader);
            put32(session_->queue, 0);
            put32(session_->queue, kHeaderPayload);
            put64(session_->queue, kStreamMagic);
            put32(session_->queue, kStreamVersion);
            put32(session_->queue, static_cast<std::uint32_t>(kind_));
            put64(session_->queue, content_.size());
            put32(session_->queue, kChunkSize);
            std::fill(dirty_.begin(), dirty_.end(), true);
            // PRE_COPY stages its initial image (initial_bytes counts it); STOP_COPY reads
            // the state as it goes.
            if (to != S::StopCopy) {
                fillSavingQueueLocked(false);
                session_->initialRemaining = session_->queue.size();
            }
        } else {
            session_->image.assign(content_.size(), 0);
            session_->received.assign(dirty_.size(), false);
        }
    };
    if ((from == S::Running && to == S::PreCopy) ||
        (from == S::RunningP2P && to == S::PreCopyP2P) || (from == S::Stop && to == S::StopCopy)) {
        startSession(true);
    } else if (from == S::Stop && to == S::Resuming) {
        startSession(false);
    } else if (from == S::Resuming && to == S::Stop) {
        if (const int rc = validateResumedLocked(); rc < 0)
            return rc; // stays RESUMING; only a reset aborts it
        content_ = std::move(session_->image);
        digest_ = session_->checksum; // validated just now
        endSessionLocked();
    } else if ((from == S::StopCopy && to == S::Stop) || (from == S::PreCopy && to == S::Running) ||
               (from == S::PreCopyP2P && to == S::RunningP2P)) {
        endSessionLocked();
    } else if (!isDirectArc(flags_, from, to)) {
        return fail(-EINVAL, arcText(from, to) + " is not an arc of this device");
    }
    // The other arcs (P2P quiescing, PRE_COPY <-> PRE_COPY_P2P, into STOP_COPY from a
    // precopy state) change what the device does, not its session.
    return 0;
}

int EmulatedDevice::validateResumedLocked() {
    const Session* session = session_.get();
    std::string why;
    if (!session || session->saving)
        why = "no resuming session";
    else if (!session->invalid.empty())
        why = session->invalid;
    else if (!session->headerSeen)
        why = "no stream header was written";
    else if (!session->incoming.empty())
        why = std::to_string(session->incoming.size()) + " bytes of an unfinished record";
    else if (std::count(session->received.begin(), session->received.end(), false) > 0)
        why =
            std::to_string(std::count(session->received.begin(), session->received.end(), false)) +
            " chunks of state never arrived";
    else if (!session->endSeen)
        why = "the stream has no end record";
    else if (const auto sum = XXH64(session->image.data(), session->image.size(), 0);
             sum != session->checksum)
        why = "checksum mismatch: the loaded state hashes to " + std::to_string(sum) +
              ", the source's to " + std::to_string(session->checksum);
    if (why.empty())
        return 0;
    return fail(-EINVAL, "RESUMING -> STOP: the device state is invalid: " + why);
}

void EmulatedDevice::endSessionLocked() {
    if (!session_)
        return;
    if (const auto file = files_.find(session_->fd); file != files_.end())
        file->second->active_ = false;
    session_.reset();
}

int EmulatedDevice::setState(DeviceState target, std::int32_t& dataFd) {
    dataFd = -1;
    if (static_cast<std::uint32_t>(target) >= kStateCount || !supports(flags_, target))
        return fail(-EINVAL, std::string("state ") + toString(target) +
                                 " cannot be requested on this device (" + describeFlags(flags_) +
                                 ")");
    if (state_ == DeviceState::Error)
        return fail(-EINVAL, "the device is in ERROR; only VFIO_DEVICE_RESET recovers it");
    while (state_ != target) {
        const auto next = nextState(flags_, state_, target);
        if (!next)
            return fail(-EINVAL, arcText(state_, target) + " is refused (no path)");
        advanceLocked();
        std::int32_t fd = -1;
        const DeviceState from = state_;
        const int rc = performArc(from, *next, fd);
        if (observer_)
            observer_(from, *next, rc, rc < 0 ? lastError_ : std::string());
        if (rc < 0)
            return rc; // the device stays where the last arc left it
        state_ = *next;
        if (fd >= 0) {
            if (state_ != target) // drivers return an fd only on the final arc
                return fail(-EINVAL, "a data session opened in the middle of a path");
            dataFd = fd;
        }
    }
    return 0;
}

int EmulatedDevice::feature(void* argument) {
    auto* feature = static_cast<vfio_device_feature*>(argument);
    if (!feature || feature->argsz < sizeof(vfio_device_feature))
        return fail(-EINVAL, "vfio_device_feature: argsz too small");
    const std::uint32_t operations = feature->flags & ~VFIO_DEVICE_FEATURE_MASK;
    const std::uint32_t index = feature->flags & VFIO_DEVICE_FEATURE_MASK;
    if (operations &
        ~(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE))
        return fail(-EINVAL, "vfio_device_feature: unknown flags");
    if ((operations & VFIO_DEVICE_FEATURE_GET) && (operations & VFIO_DEVICE_FEATURE_SET) &&
        !(operations & VFIO_DEVICE_FEATURE_PROBE))
        return fail(-EINVAL, "vfio_device_feature: GET and SET at once");
    const std::size_t payload = feature->argsz - sizeof(vfio_device_feature);
    // vfio_check_feature(): 1 = go on, 0 = probe answered, < 0 = refused.
    auto check = [&](std::uint32_t supported, std::size_t minimum) {
        if (operations & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET) & ~supported)
            return -EINVAL;
        if (operations & VFIO_DEVICE_FEATURE_PROBE)
            return 0;
        if (!(operations & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
            return -EINVAL;
        return payload < minimum ? -EINVAL : 1;
    };
    switch (index) {
    case VFIO_DEVICE_FEATURE_MIGRATION: {
        const int go = check(VFIO_DEVICE_FEATURE_GET, sizeof(vfio_device_feature_migration));
        if (go <= 0)
            return go;
        vfio_device_feature_migration migration{};
        migration.flags = flags_;
        std::memcpy(feature->data, &migration, sizeof migration);
        return 0;
    }
    case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE: {
        const int go = check(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET,
                             sizeof(vfio_device_feature_mig_state));
        if (go <= 0)
            return go;
        vfio_device_feature_mig_state state{};
        std::memcpy(&state, feature->data, sizeof state);
        if (operations & VFIO_DEVICE_FEATURE_GET) {
            state.device_state = static_cast<std::uint32_t>(state_);
            state.data_fd = -1;
        } else {
            // On failure the kernel copies back the requested state, not the actual one.
            std::int32_t fd = -1;
            const int rc = setState(static_cast<DeviceState>(state.device_state), fd);
            state.data_fd = rc < 0 ? -1 : fd;
            std::memcpy(feature->data, &state, sizeof state);
            return rc;
        }
        std::memcpy(feature->data, &state, sizeof state);
        return 0;
    }
    case kFeatureMigDataSize: {
        const int go = check(VFIO_DEVICE_FEATURE_GET, sizeof(FeatureMigDataSize));
        if (go <= 0)
            return go;
        FeatureMigDataSize size{};
        size.stop_copy_length = kRecordHeader + kHeaderPayload + dirty_.size() * kRecordHeader +
                                content_.size() + kRecordHeader + 8;
        std::memcpy(feature->data, &size, sizeof size);
        return 0;
    }
    default:
        return fail(-ENOTTY,
                    "vfio_device_feature: feature " + std::to_string(index) + " is not supported");
    }
}

int EmulatedDevice::ioctl(unsigned long request, void* argument) {
    std::lock_guard lock(mutex_);
    if (request == VFIO_DEVICE_FEATURE)
        return feature(argument);
    if (request == VFIO_DEVICE_RESET) {
        advanceLocked();
        endSessionLocked();
        state_ = DeviceState::Running;
        return 0;
    }
    return fail(-ENOTTY, "unknown device ioctl");
}

ssize_t EmulatedDevice::readLocked(MigrationDataFile& file, void* buffer, std::size_t length) {
    if (!file.saving_)
        return -EBADF; // a resuming file is write-only
    if (!file.active_ || !session_ || session_->fd != file.fd())
        return -ENODEV;
    advanceLocked();
    Session& session = *session_;
    if (session.readOffset == session.queue.size()) {
        session.queue.clear();
        session.readOffset = 0;
        if (state_ == DeviceState::StopCopy) {
            if (session.endQueued)
                return 0; // the whole state is out
            fillSavingQueueLocked(true, kStopCopyQueueBytes);
        } else {
            fillSavingQueueLocked(false);
            if (session.queue.empty())
                return -ENOMSG; // nothing more for now; poll again later
        }
    }
    const std::size_t n = std::min(length, session.queue.size() - session.readOffset);
    std::memcpy(buffer, session.queue.data() + session.readOffset, n);
    session.readOffset += n;
    session.initialRemaining -= std::min<std::uint64_t>(session.initialRemaining, n);
    return static_cast<ssize_t>(n);
}

ssize_t EmulatedDevice::writeLocked(MigrationDataFile& file, const void* data, std::size_t length) {
    if (file.saving_)
        return -EBADF; // a saving file is read-only
    if (!file.active_ || !session_ || session_->fd != file.fd())
        return -ENODEV;
    Session& session = *session_;
    if (!session.invalid.empty())
        return -EINVAL;
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    // Records are parsed where they are: in the caller's buffer, unless part of one waits
    // from an earlier write.
    const bool pending = !session.incoming.empty();
    if (pending)
        session.incoming.insert(session.incoming.end(), bytes, bytes + length);
    const std::uint8_t* input = pending ? session.incoming.data() : bytes;
    const std::size_t inputSize = pending ? session.incoming.size() : length;
    std::size_t at = 0;
    auto reject = [&](std::string why) {
        session.invalid = std::move(why);
        lastError_ = "RESUMING: " + session.invalid;
        return -EINVAL;
    };
    while (inputSize - at >= kRecordHeader) {
        const std::uint8_t* record = input + at;
        const std::uint32_t tag = get32(record);
        const std::uint32_t index = get32(record + 4);
        const std::uint32_t size = get32(record + 8);
        if (size > kChunkSize)
            return reject("a record of " + std::to_string(size) + " bytes is too long");
        if (inputSize - at < kRecordHeader + size)
            break;
        const std::uint8_t* payload = record + kRecordHeader;
        if (session.endSeen) {
            return reject("data after the end record");
        } else if (tag == kHeader) {
            if (session.headerSeen)
                return reject("a second stream header");
            if (size != kHeaderPayload || get64(payload) != kStreamMagic)
                return reject("the stream does not start with this device model's magic");
            if (get32(payload + 8) != kStreamVersion)
                return reject("stream version " + std::to_string(get32(payload + 8)) +
                              " is not supported");
            if (get32(payload + 12) != static_cast<std::uint32_t>(kind_) ||
                get64(payload + 16) != content_.size() || get32(payload + 24) != kChunkSize)
                return reject("the stream comes from a different device (kind or state size)");
            session.headerSeen = true;
        } else if (!session.headerSeen) {
            return reject("data before the stream header");
        } else if (tag == kChunk) {
            const std::size_t begin = std::size_t{index} * kChunkSize;
            if (index >= session.received.size() ||
                size != std::min<std::size_t>(kChunkSize, content_.size() - begin))
                return reject("chunk " + std::to_string(index) + " does not fit the state");
            std::memcpy(session.image.data() + begin, payload, size);
            session.received[index] = true;
        } else if (tag == kEnd) {
            if (size != 8)
                return reject("an end record of " + std::to_string(size) + " bytes");
            session.checksum = get64(payload);
            session.endSeen = true;
        } else {
            return reject("unknown record tag " + std::to_string(tag));
        }
        at += kRecordHeader + size;
    }
    if (pending)
        session.incoming.erase(session.incoming.begin(),
                               session.incoming.begin() + static_cast<std::ptrdiff_t>(at));
    else
        session.incoming.assign(bytes + at, bytes + length);
    return static_cast<ssize_t>(length);
}

int EmulatedDevice::precopyInfoLocked(MigrationDataFile& file, void* argument) {
    auto* info = static_cast<PrecopyInfo*>(argument);
    if (!file.saving_)
        return -ENOTTY; // a resuming file has no ioctls
    if (!file.active_ || !session_ || session_->fd != file.fd())
        return -ENODEV;
    if (!info || info->argsz < sizeof(PrecopyInfo))
        return -EINVAL;
    if (state_ != DeviceState::PreCopy && state_ != DeviceState::PreCopyP2P)
        return -EINVAL;
    advanceLocked();
    const Session& session = *session_;
    const std::uint64_t queued = session.queue.size() - session.readOffset;
    const auto dirtyChunks =
        static_cast<std::uint64_t>(std::count(dirty_.begin(), dirty_.end(), true));
    info->flags = 0;
    info->initial_bytes = session.initialRemaining;
    info->dirty_bytes =
        queued - session.initialRemaining + dirtyChunks * (kRecordHeader + kChunkSize);
    return 0;
}

ssize_t MigrationDataFile::read(void* buffer, std::size_t length) {
    std::lock_guard lock(device_.mutex_);
    return device_.readLocked(*this, buffer, length);
}

ssize_t MigrationDataFile::write(const void* data, std::size_t length) {
    std::lock_guard lock(device_.mutex_);
    return device_.writeLocked(*this, data, length);
}

int MigrationDataFile::ioctl(unsigned long request, void* argument) {
    std::lock_guard lock(device_.mutex_);
    if (request != kMigGetPrecopyInfo)
        return -ENOTTY;
    return device_.precopyInfoLocked(*this, argument);
}

} // namespace migrascope::vfio
