// The main channel's loader: the stream header, then sections and commands until EOF (QEMU's
// qemu_loadvm_state_main). One handler per command, dispatched from kCommands.
#include "engine/destination/destination_errors.h"
#include "engine/destination/migration_destination.h"
#include "engine/wire/wire.h"

#include <cstring>
#include <limits>

namespace migrascope {

StreamStart MigrationDestination::readHeader(StreamReader& in) {
    std::uint8_t bytes[kStreamStartSize];
    wire::put32(bytes, kVmFileMagic); // read already, to classify the connection
    in.getBytes(bytes + 4, sizeof bytes - 4);
    return decodeStreamStart(bytes);
}

void MigrationDestination::acceptFirstMain(const StreamStart& header, const std::string& peer,
                                           const std::string& certificateDn) {
    {
        std::lock_guard lock(mutex_);
        if (session_.mainSeen)
            throw ResumeRefused("a second main channel arrived for migration " +
                                uuidToString(header.uuid) + " (a resume must say so)");
        if (options_.expectedUuid && *options_.expectedUuid != header.uuid)
            throw MigrationError("main channel belongs to migration " + uuidToString(header.uuid) +
                                 ", expected " + uuidToString(*options_.expectedUuid));
        session_.mainSeen = true;
        session_.uuid = header.uuid;
        session_.expectedChannels = header.channels;
        session_.capabilities = header.capabilities;
        session_.channelSeen.assign(header.channels, false);
        session_.sourcePeer = peer;
        session_.sourceDn = certificateDn;
        setState(State::Loading);
    }
    changed_.notify_all();
    if (options_.recordArrival)
        loader_.historyId = options_.recordArrival(header.uuid, peer, certificateDn);
    {
        std::lock_guard lock(mutex_);
        session_.historyId = loader_.historyId;
    }
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "main channel from the source of migration " + uuidToString(header.uuid) +
                         ", " + std::to_string(header.channels) + " multifd channels announced");
}

void MigrationDestination::acceptResume(const StreamStart& header,
                                        const std::string& certificateDn) {
    {
        std::lock_guard lock(mutex_);
        if (!session_.mainSeen || header.uuid != session_.uuid)
            throw ResumeRefused("resume refused: this destination has no paused migration " +
                                uuidToString(header.uuid));
        // The UUID is in every log and history: another client of the same CA that knows it
        // must not take the half-migrated guest over. Only the certificate that started it.
        if (certificateDn != session_.sourceDn)
            throw ResumeRefused("resume refused: migration " + uuidToString(header.uuid) +
                                " was started by client certificate '" + session_.sourceDn +
                                "', not '" + certificateDn + "'");
        if (state_ == State::Completed)
            throw AlreadyCompleted("a resume arrived for migration " + uuidToString(session_.uuid) +
                                   ", which was already verified and completed here; "
                                   "answering SHUT 0 again");
        if (state_ != State::PostcopyPaused)
            throw ResumeRefused(std::string("resume refused: the destination is ") +
                                toString(state_) + ", not postcopy-paused");
        if (!session_.recoverArmed)
            throw ResumeRefused("resume refused: the destination is postcopy-paused but was not "
                                "told to recover (migrate-recover)");
        session_.recoverArmed = false;
        setState(State::PostcopyRecover);
    }
    // The main channel is open again: its earlier end (paused, network) is history now.
    if (ChannelCounters* main = telemetry_.findChannel("main")) {
        main->termination.store(Termination::None);
        main->state.store(ChannelState::Open);
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "postcopy-recover: the source reconnected to resume migration " +
                         uuidToString(header.uuid));
}

void MigrationDestination::loadRamSetup(StreamReader& in) {
    {
        std::lock_guard lock(mutex_);
        if (session_.guestReady)
            throw MigrationError("main channel: a second RAM setup section");
    }
    const std::uint64_t memSize = in.get64();
    if ((memSize & ram_flag::kMask) != ram_flag::kMemSize)
        throw MigrationError("main channel: RAM setup does not start with MEM_SIZE");
    const std::uint64_t total = memSize & ~ram_flag::kMask;
    std::vector<Guest::BlockLayout> layout;
    std::uint64_t announced = 0;
    while (announced < total) {
        Guest::BlockLayout block{in.getString8(), in.get64()};
        if (block.size == 0 || block.size % kPageSize != 0 || announced + block.size > total)
            throw MigrationError("main channel: RAM block '" + block.name +
                                 "' has an invalid size");
        announced += block.size;
        layout.push_back(block);
    }
    auto guest = std::make_unique<Guest>(layout, GuestConfig{0, 0, 2}, Guest::Content::Empty);
    {
        std::lock_guard lock(mutex_);
        for (const auto& block : guest->blocks())
            received_.emplace_back(block->pageCount());
        arrivalHashes_ = emptyPageHashes(guest->blocks());
        guest_ = std::move(guest);
        session_.guestReady = true;
    }
    changed_.notify_all();
    loadRamItems(in);
}

std::size_t MigrationDestination::blockIndex(const RamBlock* block) const {
    std::size_t index = 0;
    while (guest_->blocks()[index].get() != block)
        ++index;
    return index;
}

namespace {

// Every device-state section ends with a footer naming its id (QEMU's check_section_footer).
void expectFooter(StreamReader& in, std::uint32_t id, const std::string& what) {
    if (in.get8() != static_cast<std::uint8_t>(Section::Footer) || in.get32() != id)
        throw MigrationError("main channel: " + what + " has a bad footer");
}

} // namespace

// QEMU's section types, in the stream's order of appearance.
const MigrationDestination::SectionEntry MigrationDestination::kSections[] = {
    {Section::Start, &MigrationDestination::loadSectionStart},
    {Section::Part, &MigrationDestination::loadSectionPart},
    {Section::End, &MigrationDestination::loadSectionEnd},
    {Section::Full, &MigrationDestination::loadSectionFull},
    {Section::Command, &MigrationDestination::loadCommand},
};

void MigrationDestination::loadSections(StreamReader& in, ReturnPathSender& returnPath) {
    for (;;) {
        const auto type = in.get8();
        if (type == static_cast<std::uint8_t>(Section::Eof))
            break;
        const SectionEntry* entry = nullptr;
        for (const auto& candidate : kSections)
            if (static_cast<std::uint8_t>(candidate.type) == type)
                entry = &candidate;
        if (!entry)
            throw MigrationError("main channel: unknown section type " + std::to_string(type));
        (this->*entry->load)(in, returnPath);
        reportToSource(returnPath, false);
    }
    std::lock_guard lock(mutex_);
    if (state_ != State::Completed)
        throw MigrationError("main channel: the stream ended without an integrity section");
}

void MigrationDestination::loadSectionStart(StreamReader& in, ReturnPathSender&) {
    const std::uint32_t id = in.get32();
    const std::string name = in.getString8();
    in.get32(); // instance
    in.get32(); // version
    if (id == kRamSectionId && name == "ram") {
        loadRamSetup(in);
    } else if (name.size() > 5 && name.compare(name.size() - 5, 5, "/vfio") == 0) {
        if (session_.capabilities & capability_bit::kPostcopyRam)
            throw MigrationError("main channel: device " + name +
                                 " in a postcopy migration; VFIO devices cannot migrate in "
                                 "postcopy");
        devices_->loadSetup(in, id, name);
        expectFooter(in, id, "device section '" + name + "'");
    } else {
        throw MigrationError("main channel: unknown section '" + name + "'");
    }
}

void MigrationDestination::loadSectionPart(StreamReader& in, ReturnPathSender& returnPath) {
    loadIteration(in, returnPath, false);
}

void MigrationDestination::loadSectionEnd(StreamReader& in, ReturnPathSender& returnPath) {
    loadIteration(in, returnPath, true);
}

void MigrationDestination::loadIteration(StreamReader& in, ReturnPathSender& returnPath,
                                         bool final) {
    const std::uint32_t id = in.get32();
    if (devices_->owns(id)) {
        devices_->loadData(in, id, final);
        expectFooter(in, id, "device section " + std::to_string(id));
        return;
    }
    if (!session_.guestReady)
        throw MigrationError("main channel: RAM pages before the RAM setup section");
    if (id != kRamSectionId)
        throw MigrationError("main channel: unknown section id " + std::to_string(id));
    {
        std::lock_guard lock(mutex_);
        barrier_.inFinalSection = final;
    }
    loadRamItems(in);
    ++loader_.roundsLoaded;
    maybeAckSwitchover(returnPath);
    // After the last RAM section every page is here (its flush was a barrier): combine the
    // pages' hashes now, while the source combines its own, not after its digest arrives.
    if (final) {
        if (postcopy_) {
            if (const auto missing = postcopy_->missingPages(); missing > 0)
                throw MigrationError("main channel: RAM ended with " + std::to_string(missing) +
                                     " pages never received");
            loader_.ourDigest = guest_->digestOf(postcopy_->arrivalHashes());
        } else {
            loader_.ourDigest = guest_->digestOf(arrivalHashes_);
        }
        waitForChannelsEnded();
    }
}

void MigrationDestination::loadSectionFull(StreamReader& in, ReturnPathSender& returnPath) {
    const auto id = in.get32();
    const std::string name = in.getString8();
    in.get32();
    in.get32();
    if (id != kIntegritySectionId || name != kIntegritySectionName)
        throw MigrationError("main channel: unknown device section '" + name + "'");
    Digest sourceDigest;
    in.getBytes(sourceDigest.data(), sourceDigest.size());
    DeviceDigests deviceDigests(in.get32());
    if (deviceDigests.size() > 255)
        throw MigrationError("main channel: integrity section lists " +
                             std::to_string(deviceDigests.size()) + " devices");
    for (auto& [deviceName, deviceDigest] : deviceDigests) {
        deviceName = in.getString8();
        deviceDigest = in.get64();
    }
    expectFooter(in, id, "integrity section");
    verifyAndComplete(sourceDigest, deviceDigests, returnPath);
}

namespace {
constexpr double kReportIntervalMs = 500;
constexpr auto kNothingNew = std::numeric_limits<std::size_t>::max();
} // namespace

void MigrationDestination::reportToSource(ReturnPathSender& returnPath, bool now,
                                          std::optional<MigrationStatus> status) {
    if (!options_.reportToSource || !returnPath.isOpen())
        return;
    const double nowMs = telemetry_.elapsedMs();
    if (!now && nowMs - loader_.lastReportMs < kReportIntervalMs)
        return;
    loader_.lastReportMs = nowMs;
    TelemetrySnapshot view = telemetry_.snapshot(kNothingNew, kNothingNew, kNothingNew);
    if (status)
        view.status = *status;
    view.errorDesc = error();
    returnPath.destinationReport(view, loader_.arcsReported, nowMs, loader_.historyId);
    loader_.arcsReported = view.transitions.size();
}

void MigrationDestination::maybeAckSwitchover(ReturnPathSender& returnPath) {
    if (returnPath.isOpen() && !loader_.switchoverAckSent &&
        (session_.capabilities & capability_bit::kSwitchoverAck) &&
        loader_.roundsLoaded >= loader_.switchoverAckAfterRounds) {
        returnPath.switchoverAck();
        loader_.switchoverAckSent = true;
    }
}

void MigrationDestination::verifyAndComplete(const Digest& sourceDigest,
                                             const DeviceDigests& deviceDigests,
                                             ReturnPathSender& returnPath) {
    if (!loader_.ourDigest)
        throw MigrationError("main channel: integrity section before the end of RAM");
    if (*loader_.ourDigest != sourceDigest)
        throw IntegrityError("integrity check failed: destination RAM digest " +
                             toHex(*loader_.ourDigest) + " differs from the source's " +
                             toHex(sourceDigest));
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "RAM verified: XXH3-128 " + toHex(*loader_.ourDigest) + " matches the source" +
                         (postcopy_ ? " (pages hashed as they arrived, before the running "
                                      "guest wrote them)"
                                    : ""));
    if (devices_->count() > 0 || !deviceDigests.empty()) {
        if (options_.vfioExplicitResumingStop) {
            if (const std::string differs = devices_->verify(deviceDigests); !differs.empty())
                throw IntegrityError("integrity check failed: " + differs);
            telemetry_.event(EventLevel::Info, Side::Destination,
                             "device state verified: " + std::to_string(devices_->count()) +
                                 " devices match the source");
        } else {
            telemetry_.warning(Side::Destination,
                               "device state not checked (legacy VFIO resume: the devices only "
                               "load their state when they start)");
        }
        // Only now the devices run; a device that will not start keeps the guest stopped
        // and fails the migration (QEMU's VFIO destination started the guest after a failed
        // load).
        devices_->start();
    }
    reportToSource(returnPath, true, MigrationStatus::Completed);
    returnPath.shut(ShutReason::Success);
    guest_->start();
    {
        std::lock_guard lock(mutex_);
        setState(State::Completed);
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "incoming migration completed; guest running");
}

// QEMU's mig_cmd_args: each command with its payload length (kAnyLength: checked by its
// handler) and the handler that acts on it.
const MigrationDestination::CommandEntry MigrationDestination::kCommands[] = {
    {StreamCommand::OpenReturnPath, 0, &MigrationDestination::openReturnPath},
    {StreamCommand::Ping, 4, &MigrationDestination::answerPing},
    {StreamCommand::PostcopyAdvise, 16, &MigrationDestination::postcopyAdvise},
    {StreamCommand::PostcopyListen, 0, &MigrationDestination::postcopyListen},
    {StreamCommand::PostcopyRun, 0, &MigrationDestination::postcopyRun},
    {StreamCommand::PostcopyRamDiscard, kAnyLength, &MigrationDestination::discardPages},
    {StreamCommand::PostcopyResume, 0, &MigrationDestination::postcopyResume},
    {StreamCommand::RecvBitmap, kAnyLength, &MigrationDestination::sendReceivedBitmap},
};

void MigrationDestination::loadCommand(StreamReader& in, ReturnPathSender& returnPath) {
    const auto raw = in.get16();
    const auto length = in.get16();
    std::vector<std::uint8_t> payload(length);
    in.getBytes(payload.data(), payload.size());
    const auto command = static_cast<StreamCommand>(raw);
    for (const auto& entry : kCommands) {
        if (entry.command != command)
            continue;
        if (entry.length != kAnyLength && length != entry.length)
            throw MigrationError(std::string("main channel: command ") + toString(command) +
                                 " has length " + std::to_string(length) + ", expected " +
                                 std::to_string(entry.length));
        (this->*entry.handle)(payload, returnPath);
        return;
    }
    throw MigrationError("main channel: unknown command " + std::to_string(raw) + " (length " +
                         std::to_string(length) + ")");
}

MigrationDestination::State MigrationDestination::currentState() const {
    std::lock_guard lock(mutex_);
    return state_;
}

void MigrationDestination::openReturnPath(const Payload&, ReturnPathSender& returnPath) {
    returnPath.markOpen();
    // No device here needs its precopy data before it can approve: unless a fault holds it
    // back, the acknowledgement goes at once.
    maybeAckSwitchover(returnPath);
}

void MigrationDestination::answerPing(const Payload& payload, ReturnPathSender& returnPath) {
    returnPath.pong(wire::get32(payload.data()));
}

void MigrationDestination::postcopyAdvise(const Payload& payload, ReturnPathSender&) {
    if (wire::get64(payload.data() + 8) != kPageSize)
        throw MigrationError("main channel: POSTCOPY_ADVISE announces target pages of " +
                             std::to_string(wire::get64(payload.data() + 8)) + " bytes");
}

void MigrationDestination::postcopyListen(const Payload&, ReturnPathSender& returnPath) {
    if (!session_.guestReady || !(session_.capabilities & capability_bit::kPostcopyRam) ||
        devices_->count() > 0)
        throw MigrationError("main channel: POSTCOPY_LISTEN without postcopy-ram, before the "
                             "RAM setup, or with VFIO devices");
    auto postcopy = std::make_unique<PostcopyIncoming>(*guest_, received_, telemetry_);
    guest_->setPageGate(postcopy.get());
    postcopy->attach(returnPath);
    {
        std::lock_guard lock(mutex_);
        postcopy_ = std::move(postcopy);
        session_.postcopyListening = true;
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "postcopy listen: the guest's page faults will be served from the source");
}

void MigrationDestination::postcopyRun(const Payload&, ReturnPathSender&) {
    if (!postcopy_)
        throw MigrationError("main channel: POSTCOPY_RUN before POSTCOPY_LISTEN");
    {
        // A channel may have failed the migration while the source switched: the guest must
        // not start here after a failure (the source's guest is the current one).
        std::lock_guard lock(mutex_);
        if (state_ == State::Failed)
            throw MigrationError("main channel: POSTCOPY_RUN after the migration had failed "
                                 "here (" +
                                 error_ + "); the guest does not start here");
    }
    guest_->setDirtyRate(options_.postcopyDirtyRate);
    guest_->start();
    {
        std::lock_guard lock(mutex_);
        setState(State::PostcopyActive);
    }
    changed_.notify_all();
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "postcopy-active: the guest runs here with " +
                         std::to_string(postcopy_->missingPages()) + " pages still missing");
}

void MigrationDestination::sendReceivedBitmap(const Payload& payload,
                                              ReturnPathSender& returnPath) {
    if (payload.empty() || payload.size() != 1u + payload[0])
        throw MigrationError("main channel: RECV_BITMAP has a bad length");
    if (currentState() != State::PostcopyRecover)
        throw MigrationError("main channel: RECV_BITMAP outside postcopy-recover");
    const std::string name(reinterpret_cast<const char*>(payload.data() + 1), payload[0]);
    RamBlock* block = guest_->findBlock(name);
    if (!block)
        throw MigrationError("main channel: RECV_BITMAP for unknown RAM block '" + name + "'");
    returnPath.recvBitmap(name, received_[blockIndex(block)].copy());
}

void MigrationDestination::postcopyResume(const Payload&, ReturnPathSender& returnPath) {
    if (currentState() != State::PostcopyRecover || !postcopy_)
        throw MigrationError("main channel: POSTCOPY_RESUME outside postcopy-recover");
    {
        std::lock_guard lock(mutex_);
        setState(State::PostcopyActive);
    }
    changed_.notify_all();
    returnPath.resumeAck();
    postcopy_->attach(returnPath); // and ask again for what the guest still waits on
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "postcopy-active again: RESUME_ACK sent, pending page requests re-sent");
}

void MigrationDestination::discardPages(const Payload& payload, ReturnPathSender&) {
    if (payload.size() < 3 || payload[0] != 0 || payload.size() < 3u + payload[1] ||
        payload[2u + payload[1]] != 0 || (payload.size() - 3 - payload[1]) % 16 != 0)
        throw MigrationError("main channel: malformed POSTCOPY_RAM_DISCARD");
    const std::string name(reinterpret_cast<const char*>(payload.data() + 2), payload[1]);
    RamBlock* block = guest_ ? guest_->findBlock(name) : nullptr;
    if (!block || postcopy_)
        throw MigrationError("main channel: POSTCOPY_RAM_DISCARD for '" + name +
                             "' is unknown or too late");
    const std::size_t index = blockIndex(block);
    for (std::size_t at = 3u + payload[1]; at < payload.size(); at += 16) {
        const std::uint64_t start = wire::get64(payload.data() + at);
        const std::uint64_t length = wire::get64(payload.data() + at + 8);
        if (start % kPageSize != 0 || length % kPageSize != 0 || start > block->size() ||
            length > block->size() - start)
            throw MigrationError("main channel: POSTCOPY_RAM_DISCARD range outside '" + name + "'");
        // These pages changed after they were sent: not here until they come again.
        for (std::uint64_t page = start / kPageSize; page < (start + length) / kPageSize; ++page)
            received_[index].reset(page, std::memory_order_relaxed);
    }
}

void MigrationDestination::loadRamItems(StreamReader& in) {
    RamBlock* block = nullptr;
    std::size_t index = 0;
    std::vector<std::uint8_t> duplicate;
    for (;;) {
        const std::uint64_t item = in.get64();
        const std::uint64_t flags = item & ram_flag::kMask;
        const std::uint64_t offset = item & ~ram_flag::kMask;
        if (flags & ram_flag::kMultifdFlush)
            waitForChannelsSynced();
        if (flags & ram_flag::kEos)
            break;
        if (!(flags & (ram_flag::kPage | ram_flag::kZero))) {
            if (flags & ~(ram_flag::kMultifdFlush))
                throw MigrationError("main channel: unknown RAM flags " + std::to_string(flags));
            continue;
        }
        if (!(flags & ram_flag::kContinue)) {
            const std::string name = in.getString8();
            block = guest_->findBlock(name);
            if (!block)
                throw MigrationError("main channel: unknown RAM block '" + name + "'");
            index = blockIndex(block);
        } else if (!block) {
            throw MigrationError("main channel: CONTINUE page without a block");
        }
        if (offset % kPageSize != 0 || offset + kPageSize > block->size())
            throw MigrationError("main channel: page offset " + std::to_string(offset) +
                                 " is outside RAM block '" + block->name() + "'");
        const std::uint64_t page = offset / kPageSize;
        if (postcopy_) {
            // Postcopy: a page is placed once. A second copy (asked for and also pushed)
            // is dropped: the running guest may have written the page since.
            const bool already = postcopy_->isReceived(index, page);
            if (flags & ram_flag::kZero) {
                if (in.get8() != 0)
                    throw MigrationError("main channel: zero page with a non-zero fill");
                if (!already)
                    std::memset(block->data() + offset, 0, kPageSize);
            } else if (already) {
                duplicate.resize(kPageSize);
                in.getBytes(duplicate.data(), kPageSize);
            } else {
                in.getBytes(block->data() + offset, kPageSize);
            }
            if (!already)
                postcopy_->arrived(index, page);
            continue;
        }
        AtomicPageBitmap& received = received_[index];
        std::uint64_t& hash = arrivalHashes_[index][page];
        if (flags & ram_flag::kZero) {
            const std::uint8_t fill = in.get8();
            // A zero page never received is already zero here (QEMU skips it too).
            if (fill != 0 || received.test(page, std::memory_order_relaxed))
                std::memset(block->data() + offset, fill, kPageSize);
            hash = fill == 0 ? zeroPageHash() : hashPage(block->data() + offset);
        } else {
            in.getBytes(block->data() + offset, kPageSize);
            hash = hashPage(block->data() + offset);
        }
        received.set(page, std::memory_order_relaxed);
    }
    expectFooter(in, kRamSectionId, "RAM section");
}

} // namespace migrascope
