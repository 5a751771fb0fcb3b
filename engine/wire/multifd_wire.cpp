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

MultifdPacket decodePacketHeader(const std::uint8_t* in) {
    if (wire::get32(in) != kMultifdMagic)
        throw MigrationError("multifd packet has a wrong magic number");
    if (wire::get32(in + 4) != kMultifdVersion)
        throw MigrationError("multifd packet has an unknown version");
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

} // namespace migrascope
