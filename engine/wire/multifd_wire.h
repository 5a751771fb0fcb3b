// Multifd on the wire, laid out as QEMU lays it out (migration/multifd.h): a 64-byte hello
// per channel, then packets of a fixed-size header followed by the normal pages' data, or
// (QEMU 10) device-state packets: a 276-byte header followed by a device's opaque bytes.
#pragma once

#include "engine/api/migration_config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace migrascope {

inline constexpr std::uint32_t kMultifdMagic = 0x11223344;
inline constexpr std::uint32_t kMultifdVersion = 1;
inline constexpr std::uint32_t kMultifdFlagSync = 1u << 0;
inline constexpr std::uint32_t kMultifdFlagDeviceState = 32u << 1;
// What every packet starts with (magic, version, flags): read first, it says which header
// follows.
inline constexpr std::size_t kMultifdCommonHeaderSize = 12;
inline constexpr std::size_t kMultifdDeviceStateHeaderSize = 276;
inline constexpr std::size_t kDeviceIdstrSize = 256;
// A device-state packet's payload, at most (the sender reads device state 1 MiB at a time).
inline constexpr std::uint32_t kMultifdDeviceStateMaxPayload = 16u << 20;
inline constexpr std::size_t kMultifdInitSize = 64;
inline constexpr std::uint32_t kMultifdPagesPerPacket = 128; // 512 KiB of 4 KiB pages
inline constexpr std::size_t kMultifdHeaderFixedSize = 320;
inline constexpr std::size_t kMultifdHeaderSize =
    kMultifdHeaderFixedSize + 8 * kMultifdPagesPerPacket; // always sent whole: 1344 bytes
inline constexpr std::size_t kRamBlockNameSize = 256;

struct MultifdHello {
    Uuid uuid{};
    std::uint8_t channel = 0;
};

void encodeHello(const MultifdHello& hello, std::uint8_t* out);
// Checks magic and version; throws MigrationError naming what is wrong. `first4` was already
// read to classify the connection.
MultifdHello decodeHello(const std::uint8_t* in);

struct MultifdPacket {
    std::uint32_t flags = 0;
    std::uint32_t normalPages = 0;
    std::uint32_t zeroPages = 0;
    std::uint64_t packetNumber = 0;
    std::string ramBlock;
    std::vector<std::uint64_t> offsets; // normal pages first, then zero pages
};

void encodePacketHeader(const MultifdPacket& packet, std::uint8_t* out);
// Validates counts as QEMU's receiver does; block lookup and offset range are the caller's.
MultifdPacket decodePacketHeader(const std::uint8_t* in);

// Checks magic and version of the common header; true when a device-state header follows.
bool isDeviceStatePacket(const std::uint8_t* common);

struct MultifdDeviceStatePacket {
    std::string idstr; // the device's section name, e.g. "accel0/vfio"
    std::uint32_t instanceId = 0;
    std::uint32_t payloadSize = 0;
};

void encodeDeviceStateHeader(const MultifdDeviceStatePacket& packet, std::uint8_t* out);
// Refuses SYNC with device state, an empty payload or one over the maximum, as QEMU does.
MultifdDeviceStatePacket decodeDeviceStateHeader(const std::uint8_t* in);

} // namespace migrascope
