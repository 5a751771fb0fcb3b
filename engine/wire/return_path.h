// The return path: what the destination tells the source on the main channel's reverse
// direction (QEMU's enum mig_rp_message_type and rp_cmd_args, migration/migration.c).
// Framing: be16 type, be16 length, payload. The source rejects a length above 512 or one
// that differs from the type's fixed length, and any type it does not know.
#pragma once

#include "engine/api/telemetry_snapshot.h"
#include "engine/memory/page_bitmap.h"
#include "engine/transport/connection.h"
#include "engine/wire/main_stream.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace migrascope {

inline constexpr std::size_t kReturnPathMaxLength = 512;
inline constexpr std::uint64_t kRecvBitmapEndMarker = 0x0123456789abcdefull;
inline constexpr std::uint32_t kResumeAckValue = 1;

// SHUT's value. QEMU sends 0 or 1; Migrascope also says why, so that a source talking to a
// remote destination can name the reason without a second channel.
enum class ShutReason : std::uint32_t {
    Success = 0,
    StreamError = 1,       // the destination could not load the stream
    IntegrityMismatch = 2, // RAM or device state differs from the source's
    ChannelFailure = 3,    // a channel broke or ended without close_notify
    DeviceFailure = 4,     // a device refused a state transition or its data
    Refused = 5,           // a daemon turned the migration away before receiving anything
    Cancelled = 6,         // the destination's operator cancelled it (migrate_cancel there)
};
// "1 (the destination could not load the stream)"; unknown values are shown as numbers.
std::string describeShut(std::uint32_t value);

// One RAM block as both ends know it: name and size. Page requests and bitmaps must name one.
struct RamBlockLayout {
    std::string name;
    std::uint64_t size = 0;
};

struct ReturnPathMessage {
    ReturnPathType type = ReturnPathType::Invalid;
    std::uint32_t value = 0; // SHUT, PONG, RESUME_ACK
    std::string block;       // REQ_PAGES_ID, REQ_PAGES (the last one named), RECV_BITMAP
    std::uint64_t start = 0; // page requests: byte offset in the block
    std::uint32_t length = 0;
    PageBitmap received; // RECV_BITMAP: the pages of the block the destination holds
    // Migrascope's destination reports (isDestinationReport).
    ChannelSnapshot channel; // DestinationChannel: id, kind, state, termination, bytesReceived
    DeviceTransition arc;    // DestinationArc; its timeMs is how long ago it happened
    MigrationStatus status = MigrationStatus::None; // DestinationStatus
    std::int64_t historyId = 0;                     // DestinationStatus
    std::string error;                              // DestinationStatus

    // For logs: "SHUT 0 (success)", "REQ_PAGES pc.ram @0x1f000 4096 bytes", ...
    std::string describe() const;
};

// A return-path message the source cannot accept: malformed, unknown, or out of place.
// Unlike a broken connection, this never pauses a postcopy migration.
class ReturnPathError : public MigrationError {
public:
    using MigrationError::MigrationError;
};

// Source side: reads one message at a time and checks it completely, including the bitmap's
// size and end marker, before anything acts on it.
class ReturnPathReader {
public:
    ReturnPathReader(Connection& connection, std::vector<RamBlockLayout> blocks);
    // std::nullopt when the destination ended the stream cleanly between two messages.
    // Throws ReturnPathError for a bad message, ConnectionError for a broken connection.
    std::optional<ReturnPathMessage> next();

private:
    const RamBlockLayout& findBlock(const std::string& name, const char* message) const;

    StreamReader in_;
    std::vector<RamBlockLayout> blocks_;
    std::string lastRequestedBlock_;
};

// Destination side. Several threads send (the main channel's loader: SHUT, PONG, bitmaps,
// acknowledgements; the guest's page faults: page requests), so each message goes out
// whole, under one lock.
class ReturnPathSender {
public:
    explicit ReturnPathSender(Connection& connection) : connection_(connection) {
        connection_.markReadElsewhere(); // the main channel's loader reads it
    }

    // The source asked for it (MIG_CMD_OPEN_RETURN_PATH): until then nothing may go back.
    void markOpen() { open_.store(true); }
    bool isOpen() const { return open_.load(); }
    // The verdict goes once: the thread that failed first sends it, a later one finds it
    // sent (returns false).
    bool shut(ShutReason reason);
    void pong(std::uint32_t value);
    void requestPage(const std::string& block, std::uint64_t start, std::uint32_t length);
    void recvBitmap(const std::string& block, const PageBitmap& received);
    void resumeAck();
    void switchoverAck();
    // Migrascope's report of the destination's view: its status, each channel, and its device
    // arcs from `transitions[firstArc]` on (`nowMs` on the same clock as their times).
    void destinationReport(const TelemetrySnapshot& view, std::size_t firstArc, double nowMs,
                           std::int64_t historyId);
    // Any framing at all, for tests of the source's checks.
    void sendRaw(const std::vector<std::uint8_t>& bytes);

private:
    void send(ReturnPathType type, const std::vector<std::uint8_t>& payload,
              const std::vector<std::uint8_t>& trailer = {});

    Connection& connection_;
    std::mutex mutex_;
    std::string lastRequestedBlock_; // guarded by mutex_
    bool shutSent_ = false;          // guarded by mutex_
    std::atomic<bool> open_{false};
};

} // namespace migrascope
