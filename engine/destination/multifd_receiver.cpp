// The destination's multifd channels: each recognises itself by its hello, loads the pages of
// its packets and hands device-state packets to the devices, and meets the main channel's
// loader at every flush (QEMU's multifd_recv_sync).
#include "engine/destination/migration_destination.h"
#include "engine/wire/multifd_wire.h"

#include <cstring>

namespace migrascope {

void MigrationDestination::waitForChannelsSynced() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
        return barrier_.arrived == session_.expectedChannels || state_ == State::Failed ||
               stopping_;
    });
    if (state_ == State::Failed || stopping_)
        throw MigrationError("main channel: stopped while waiting for multifd channels to sync");
    barrier_.arrived = 0;
    ++barrier_.generation;
    if (barrier_.inFinalSection)
        barrier_.finalSyncDone = true;
    changed_.notify_all();
}

void MigrationDestination::recognised(Connection& connection, ChannelKind kind,
                                      std::size_t alreadyRead) {
    ChannelCounters& counters = telemetry_.channel(connection.name(), kind);
    connection.setCounters(&counters);
    counters.bytesReceived.fetch_add(alreadyRead);
    // A resume's main connection reuses the entry; one that already ended keeps its end.
    if (counters.termination.load() == Termination::None)
        counters.state.store(ChannelState::Open);
    counters.bidirectional.store(kind == ChannelKind::Main);
    if (connection.isTls())
        counters.setTlsInfo(connection.tlsVersion(), connection.tlsCipher(),
                            toString(connection.protection()));
}

void MigrationDestination::channelEnded(const std::string& channel, Termination termination) {
    if (ChannelCounters* counters = telemetry_.findChannel(channel)) {
        counters->markEnded(termination);
    }
    if (channel == "main")
        return;
    {
        std::lock_guard lock(mutex_);
        ++barrier_.channelsEnded;
    }
    changed_.notify_all();
}

void MigrationDestination::waitForChannelsEnded() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
        return barrier_.channelsEnded == session_.expectedChannels || state_ == State::Failed ||
               stopping_;
    });
    if (barrier_.channelsEnded != session_.expectedChannels)
        throw MigrationError("main channel: stopped while waiting for multifd channels to end");
}

void MigrationDestination::arriveAtSync() {
    std::unique_lock lock(mutex_);
    const std::uint64_t generation = barrier_.generation;
    ++barrier_.arrived;
    changed_.notify_all();
    changed_.wait(lock, [&] {
        return barrier_.generation != generation || state_ == State::Failed || stopping_;
    });
}

void MigrationDestination::receiveMultifd(Connection& connection, const std::uint8_t* first4) {
    std::uint8_t helloBytes[kMultifdInitSize];
    std::memcpy(helloBytes, first4, 4);
    connection.recvExact(helloBytes + 4, sizeof helloBytes - 4);
    const MultifdHello hello = decodeHello(helloBytes);
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock,
                      [this] { return session_.mainSeen || stopping_ || state_ == State::Failed; });
        if (!session_.mainSeen)
            return;
        if (hello.uuid != session_.uuid)
            throw MigrationError("multifd channel " + std::to_string(hello.channel) +
                                 " names migration " + uuidToString(hello.uuid) +
                                 ", but this destination is receiving " +
                                 uuidToString(session_.uuid));
        if (hello.channel >= session_.expectedChannels)
            throw MigrationError("multifd channel id " + std::to_string(hello.channel) +
                                 " is out of range: the source announced " +
                                 std::to_string(session_.expectedChannels) + " channels");
        if (session_.channelSeen[hello.channel])
            throw MigrationError("multifd channel id " + std::to_string(hello.channel) +
                                 " is already connected (duplicate id)");
        session_.channelSeen[hello.channel] = true;
        connection.setName("multifd-" + std::to_string(hello.channel));
        recognised(connection, ChannelKind::Multifd, sizeof helloBytes);
        changed_.wait(
            lock, [this] { return session_.guestReady || stopping_ || state_ == State::Failed; });
        if (!session_.guestReady)
            return;
    }
    telemetry_.event(EventLevel::Info, Side::Destination,
                     "channel " + connection.name() + " accepted");

    std::vector<std::uint8_t> header(kMultifdHeaderSize);
    std::vector<std::uint8_t> deviceState; // this channel's device-state packets, in turn
    std::vector<iovec> pieces;             // where a packet's pages go
    for (;;) {
        std::size_t got = 0;
        try {
            got = connection.recvSome(header.data(), kMultifdCommonHeaderSize);
        } catch (const PrematureTermination& error) {
            // A source before the close_notify fix ends like this after its last packet.
            std::unique_lock lock(mutex_);
            if (!(barrier_.finalSyncDone || session_.postcopyListening) ||
                options_.cleanTlsTermination)
                throw;
            lock.unlock();
            telemetry_.warning(Side::Destination, std::string(error.what()) +
                                                      "; tolerated after the last packet because "
                                                      "multifd-clean-tls-termination is off");
            channelEnded(connection.name(), Termination::Premature);
            return;
        }
        if (got == 0) {
            std::unique_lock lock(mutex_);
            if (!barrier_.finalSyncDone && !session_.postcopyListening)
                throw MigrationError("channel " + connection.name() +
                                     ": the source closed it before the migration finished");
            lock.unlock();
            channelEnded(connection.name(), connection.termination());
            return;
        }
        connection.recvExact(header.data() + got, kMultifdCommonHeaderSize - got);
        if (isDeviceStatePacket(header.data())) {
            connection.recvExact(header.data() + kMultifdCommonHeaderSize,
                                 kMultifdDeviceStateHeaderSize - kMultifdCommonHeaderSize);
            const MultifdDeviceStatePacket state = decodeDeviceStateHeader(header.data());
            deviceState.resize(state.payloadSize);
            connection.recvExact(deviceState.data(), deviceState.size());
            devices_->loadStateBuffer(state.idstr, state.instanceId, deviceState.data(),
                                      deviceState.size());
            continue;
        }
        connection.recvExact(header.data() + kMultifdCommonHeaderSize,
                             header.size() - kMultifdCommonHeaderSize);
        const MultifdPacket packet = decodePacketHeader(header.data());
        if (packet.flags & kMultifdFlagSync) {
            arriveAtSync();
            continue;
        }
        RamBlock* block = guest_->findBlock(packet.ramBlock);
        if (!block)
            throw MigrationError("channel " + connection.name() + ": unknown RAM block '" +
                                 packet.ramBlock + "'");
        const std::size_t index = blockIndex(block);
        for (const std::uint64_t offset : packet.offsets)
            if (offset % kPageSize != 0 || offset + kPageSize > block->size())
                throw MigrationError("channel " + connection.name() + ": page offset " +
                                     std::to_string(offset) + " is outside RAM block '" +
                                     block->name() + "'");
        // Straight into the guest's pages, neighbours as one piece.
        pieces.clear();
        for (std::uint32_t i = 0; i < packet.normalPages; ++i) {
            std::uint8_t* page = block->data() + packet.offsets[i];
            if (!pieces.empty() &&
                static_cast<std::uint8_t*>(pieces.back().iov_base) + pieces.back().iov_len == page)
                pieces.back().iov_len += kPageSize;
            else
                pieces.push_back(iovec{page, kPageSize});
        }
        connection.recvExactv(pieces.data(), pieces.size());
        for (std::size_t i = 0; i < packet.offsets.size(); ++i) {
            const std::uint64_t page = packet.offsets[i] / kPageSize;
            AtomicPageBitmap& received = received_[index];
            const bool zero = i >= packet.normalPages;
            // A zero page that was never received is already zero here (QEMU skips it too).
            if (zero && received.test(page, std::memory_order_relaxed))
                std::memset(block->data() + packet.offsets[i], 0, kPageSize);
            arrivalHashes_[index][page] =
                zero ? zeroPageHash() : hashPage(block->data() + packet.offsets[i]);
            received.set(page, std::memory_order_relaxed);
        }
    }
}

} // namespace migrascope
