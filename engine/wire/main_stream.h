// The main channel's stream, shaped after QEMU's savevm format (migration/savevm.c, ram.c):
// file header, configuration, RAM sections with page headers, commands, EOF.
// It is QEMU-shaped, not QEMU-compatible: the configuration and integrity sections are ours.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/transport/connection.h"

#include <cstdint>
#include <string>
#include <vector>

namespace migrascope {

inline constexpr std::uint32_t kVmFileMagic = 0x5145564d; // "QEVM"
inline constexpr std::uint32_t kVmFileVersion = 3;

enum class Section : std::uint8_t {
    Eof = 0x00,
    Start = 0x01,
    Part = 0x02,
    End = 0x03,
    Full = 0x04,
    Configuration = 0x07,
    Command = 0x08,
    Footer = 0x7e,
};

namespace ram_flag {
inline constexpr std::uint64_t kZero = 0x002;
inline constexpr std::uint64_t kMemSize = 0x004;
inline constexpr std::uint64_t kPage = 0x008;
inline constexpr std::uint64_t kEos = 0x010;
inline constexpr std::uint64_t kContinue = 0x020;
inline constexpr std::uint64_t kMultifdFlush = 0x200;
inline constexpr std::uint64_t kMask = 0x3ff;
} // namespace ram_flag

inline constexpr std::uint32_t kRamSectionId = 1;
inline constexpr std::uint32_t kIntegritySectionId = 2;
inline constexpr const char* kIntegritySectionName = "migrascope/integrity";

// QEMU_VM_COMMAND numbers (migration/savevm.c, mig_cmd_args): u8 0x08, be16 command,
// be16 length, payload.
enum class StreamCommand : std::uint16_t {
    Invalid = 0,
    OpenReturnPath = 1,
    Ping = 2,
    PostcopyAdvise = 3,
    PostcopyListen = 4,
    PostcopyRun = 5,
    PostcopyRamDiscard = 6,
    PostcopyResume = 9,
    RecvBitmap = 10,
};
const char* toString(StreamCommand command);

// Capabilities, as the configuration section carries them (one bit each).
namespace capability_bit {
inline constexpr std::uint32_t kReturnPath = 1u << 0;
inline constexpr std::uint32_t kPostcopyRam = 1u << 1;
inline constexpr std::uint32_t kSwitchoverAck = 1u << 2;
} // namespace capability_bit

// How a main channel starts: QEMU's file header, then Migrascope's configuration section
// (the migration's UUID, its multifd channel count, page size, capabilities, and whether it
// resumes a paused postcopy). Fixed size, so that a destination can route a connection by it.
struct StreamStart {
    Uuid uuid{};
    std::uint32_t channels = 0;
    std::uint32_t capabilities = 0;
    bool resume = false;
};
inline constexpr std::size_t kStreamStartSize = 4 + 4 + 1 + 1 + 10 + 16 + 4 + 4 + 4 + 1;
// What a source sends first on a main channel: the kStreamStartSize bytes decodeStreamStart
// reads.
std::vector<std::uint8_t> encodeStreamStart(const StreamStart& start);
// Checks and decodes a main channel's first kStreamStartSize bytes (magic included); throws
// MigrationError naming what is wrong.
StreamStart decodeStreamStart(const std::uint8_t* bytes);

// Buffered writer: small fields are gathered, page data goes by reference.
class StreamWriter {
public:
    explicit StreamWriter(Connection& connection) : connection_(connection) {}
    void put8(std::uint8_t value);
    void put32(std::uint32_t value);
    void put64(std::uint64_t value);
    void putBytes(const void* data, std::size_t length);
    void putString8(const std::string& text); // u8 length + bytes
    void putCommand(StreamCommand command, const std::vector<std::uint8_t>& payload = {});
    // Sends the buffered fields followed by `length` bytes at `data` without copying them.
    void putBulk(const void* data, std::size_t length);
    void flush();

private:
    Connection& connection_;
    std::vector<std::uint8_t> buffer_;
};

class StreamReader {
public:
    explicit StreamReader(Connection& connection) : connection_(connection) {}
    std::uint8_t get8();
    std::uint16_t get16();
    std::uint32_t get32();
    std::uint64_t get64();
    void getBytes(void* data, std::size_t length);
    std::string getString8();
    // True when the peer ended the stream cleanly here, between two items.
    bool atEnd();

private:
    void fill();

    Connection& connection_;
    std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(64 * 1024);
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace migrascope
