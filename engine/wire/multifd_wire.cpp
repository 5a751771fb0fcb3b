#include "engine/wire/multifd_wire.h"

#include "engine/common/migration_error.h"
#include "engine/memory/guest.h"
#include "engine/wire/wire.h"

#include <algorithm>
#include <cstring>

namespace migrascope {

void encodeHello(const MultifdHello& hello, std::uint8_t* out) {
    std::memset(out, 0, kMultifdInitSize);
    wire::put32(out, kMultifdMagic);
    wire::put32(out + 4, kMultifdVersion);
    std::memcpy(out + 8, hello.uuid.data(), hello.uuid.size());
    out[24] = hello.channel;
}

MultifdHello decodeHello(const std::uint8_t* in) {
    if (wire::get32(in) != kMultifdMagic)
        throw MigrationError("multifd hello has a wrong magic number");
    if (const auto version = wire::get32(in + 4); version != kMultifdVersion)
        throw MigrationError("multifd hello has version " + std::to_string(version) +
                             ", expected " + std::to_string(kMultifdVersion));
    MultifdHello hello;
    std::memcpy(hello.uuid.data(), in + 8, hello.uuid.size());
    hello.channel = in[24];
    return hello;
}

void encodePacketHeader(const MultifdPacket& packet, std::uint8_t* out) {
    std::memset(out, 0, kMultifdHeaderSize);
    wire::put32(out, kMultifdMagic);
    wire::put32(out + 4, kMultifdVersion);
    wire::put32(out + 8, packet.flags);
    wire::put32(out + 12, kMultifdPagesPerPacket);
    wire::put32(out + 16, packet.normalPages);
    wire::put32(out + 20, static_cast<std::uint32_t>(packet.normalPages * kPageSize));
    wire::put64(out + 24, packet.packetNumber);
    wire::put32(out + 32, packet.zeroPages);
    std::memcpy(out + 64, packet.ramBlock.data(),
                std::min(packet.ramBlock.size(), kRamBlockNameSize - 1));
    for (std::size_t i = 0; i < packet.offsets.size(); ++i)
        wire::put64(out + kMultifdHeaderFixedSize + 8 * i, packet.offsets[i]);
}

bool isDeviceStatePacket(const std::uint8_t* common) {
    if (wire::get32(common) != kMultifdMagic)
        throw MigrationError("multifd packet has a wrong magic number");
    if (wire::get32(common + 4) != kMultifdVersion)
        throw MigrationError("multifd packet has an unknown version");
    return (wire::get32(common + 8) & kMultifdFlagDeviceState) != 0;
}

MultifdPacket decodePacketHeader(const std::uint8_t* in) {
    if (isDeviceStatePacket(in))
        throw MigrationError("multifd packet: a device-state packet where RAM was expected");
    MultifdPacket packet;
    packet.flags = wire::get32(in + 8);
    if (packet.flags & ~kMultifdFlagSync)
        throw MigrationError("multifd packet has unsupported flags " +
                             std::to_string(packet.flags) + " (compression is not negotiated)");
    const std::uint32_t pagesAlloc = wire::get32(in + 12);
    packet.normalPages = wire::get32(in + 16);
    const std::uint32_t payload = wire::get32(in + 20);
    packet.packetNumber = wire::get64(in + 24);
    packet.zeroPages = wire::get32(in + 32);
    if (pagesAlloc > kMultifdPagesPerPacket || packet.normalPages > pagesAlloc ||
        packet.zeroPages > pagesAlloc - packet.normalPages)
        throw MigrationError("multifd packet page counts are inconsistent (alloc " +
                             std::to_string(pagesAlloc) + ", normal " +
                             std::to_string(packet.normalPages) + ", zero " +
                             std::to_string(packet.zeroPages) + ")");
    if (payload != packet.normalPages * kPageSize)
        throw MigrationError("multifd packet payload size does not match its page count");
    char name[kRamBlockNameSize];
    std::memcpy(name, in + 64, kRamBlockNameSize);
    name[kRamBlockNameSize - 1] = '\0';
    packet.ramBlock = name;
    const std::uint32_t used = packet.normalPages + packet.zeroPages;
    packet.offsets.resize(used);
    for (std::uint32_t i = 0; i < used; ++i)
        packet.offsets[i] = wire::get64(in + kMultifdHeaderFixedSize + 8 * i);
    return packet;
}

void encodeDeviceStateHeader(const MultifdDeviceStatePacket& packet, std::uint8_t* out) {
    std::memset(out, 0, kMultifdDeviceStateHeaderSize);
    wire::put32(out, kMultifdMagic);
    wire::put32(out + 4, kMultifdVersion);
    wire::put32(out + 8, kMultifdFlagDeviceState);
    std::memcpy(out + kMultifdCommonHeaderSize, packet.idstr.data(),
                std::min(packet.idstr.size(), kDeviceIdstrSize - 1));
    wire::put32(out + kMultifdCommonHeaderSize + kDeviceIdstrSize, packet.instanceId);
    wire::put32(out + kMultifdCommonHeaderSize + kDeviceIdstrSize + 4, packet.payloadSize);
}

MultifdDeviceStatePacket decodeDeviceStateHeader(const std::uint8_t* in) {
    if (!isDeviceStatePacket(in))
        throw MigrationError("multifd packet: RAM where a device-state packet was expected");
    if (const std::uint32_t flags = wire::get32(in + 8); flags != kMultifdFlagDeviceState)
        throw MigrationError("multifd device-state packet has flags " + std::to_string(flags) +
                             (flags & kMultifdFlagSync ? " (SYNC with device state)"
                                                       : " (compression is not negotiated)"));
    MultifdDeviceStatePacket packet;
    char idstr[kDeviceIdstrSize];
    std::memcpy(idstr, in + kMultifdCommonHeaderSize, kDeviceIdstrSize);
    if (std::memchr(idstr, '\0', kDeviceIdstrSize) == nullptr)
        throw MigrationError("multifd device-state packet: its idstr is not terminated");
    packet.idstr = idstr;
    packet.instanceId = wire::get32(in + kMultifdCommonHeaderSize + kDeviceIdstrSize);
    packet.payloadSize = wire::get32(in + kMultifdCommonHeaderSize + kDeviceIdstrSize + 4);
    if (packet.payloadSize == 0 || packet.payloadSize > kMultifdDeviceStateMaxPayload)
        throw MigrationError("multifd device-state packet for '" + packet.idstr + "' has " +
                             std::to_string(packet.payloadSize) + " bytes of payload (1 to " +
                             std::to_string(kMultifdDeviceStateMaxPayload) + " allowed)");
    return packet;
}

} // namespace migrascope
