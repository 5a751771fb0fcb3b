#include "engine/wire/return_path.h"

#include "engine/api/migration_config.h"
#include "engine/wire/wire.h"

#include <algorithm>
#include <cstdio>

namespace migrascope {
namespace {

// rp_cmd_args: the fixed length of each type; kVariable where the payload says.
constexpr int kVariable = -1;
int fixedLength(ReturnPathType type) {
    switch (type) {
    case ReturnPathType::Shut:
    case ReturnPathType::Pong:
    case ReturnPathType::ResumeAck:
        return 4;
    case ReturnPathType::ReqPages:
        return 12;
    case ReturnPathType::SwitchoverAck:
        return 0;
    case ReturnPathType::ReqPagesId:
    case ReturnPathType::RecvBitmap:
    case ReturnPathType::DestinationChannel:
    case ReturnPathType::DestinationArc:
    case ReturnPathType::DestinationStatus:
        return kVariable;
    case ReturnPathType::Invalid:
        break;
    }
    return kVariable;
}

bool isKnownType(std::uint16_t raw) {
    return (raw >= static_cast<std::uint16_t>(ReturnPathType::Shut) &&
            raw <= static_cast<std::uint16_t>(ReturnPathType::SwitchoverAck)) ||
           (raw >= static_cast<std::uint16_t>(ReturnPathType::DestinationChannel) &&
            raw <= static_cast<std::uint16_t>(ReturnPathType::DestinationStatus));
}

// Reads a variable message's fields in order; running past its end is a malformed message.
class Fields {
public:
    Fields(const std::vector<std::uint8_t>& payload, const char* message)
        : p_(payload.data()), left_(payload.size()), message_(message) {}
    std::uint8_t get8() { return *take(1); }
    std::uint32_t get32() { return wire::get32(take(4)); }
    std::uint64_t get64() { return wire::get64(take(8)); }
    std::string getString8() {
        const std::size_t length = get8();
        const auto* text = reinterpret_cast<const char*>(take(length));
        return std::string(text, length);
    }
    // An enum sent as one byte, checked against its last value.
    template <typename Enum> Enum getEnum(Enum last, const char* field) {
        const std::uint8_t raw = get8();
        if (raw > static_cast<std::uint8_t>(last))
            throw ReturnPathError(std::string("return path: ") + message_ + " carries " + field +
                                  " " + std::to_string(raw) + ", which does not exist");
        return static_cast<Enum>(raw);
    }
    void expectEnd() const {
        if (left_ != 0)
            throw ReturnPathError(std::string("return path: ") + message_ + " has " +
                                  std::to_string(left_) + " bytes after its last field");
    }

private:
    const std::uint8_t* take(std::size_t length) {
        if (length > left_)
            throw ReturnPathError(std::string("return path: ") + message_ +
                                  " ends in the middle of a field");
        const std::uint8_t* at = p_;
        p_ += length;
        left_ -= length;
        return at;
    }
    const std::uint8_t* p_;
    std::size_t left_;
    const char* message_;
};

// At most 255 bytes, as a u8-length string can carry.
std::string upTo255(const std::string& text) {
    return text.size() <= 255 ? text : text.substr(0, 252) + "...";
}

std::string hex(std::uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

// RECV_BITMAP carries ROUND_UP(DIV_ROUND_UP(pages, 8), 8) bytes: whole 64-bit words.
std::uint64_t bitmapBytes(std::uint64_t pageCount) {
    return page_bits::wordCount(pageCount) * sizeof(std::uint64_t);
}

} // namespace

const char* toString(ReturnPathType type) {
    switch (type) {
    case ReturnPathType::Invalid:
        return "INVALID";
    case ReturnPathType::Shut:
        return "SHUT";
    case ReturnPathType::Pong:
        return "PONG";
    case ReturnPathType::ReqPagesId:
        return "REQ_PAGES_ID";
    case ReturnPathType::ReqPages:
        return "REQ_PAGES";
    case ReturnPathType::RecvBitmap:
        return "RECV_BITMAP";
    case ReturnPathType::ResumeAck:
        return "RESUME_ACK";
    case ReturnPathType::SwitchoverAck:
        return "SWITCHOVER_ACK";
    case ReturnPathType::DestinationChannel:
        return "MIGRASCOPE_CHANNEL";
    case ReturnPathType::DestinationArc:
        return "MIGRASCOPE_DEVICE_ARC";
    case ReturnPathType::DestinationStatus:
        return "MIGRASCOPE_STATUS";
    }
    return "unknown";
}

bool isDestinationReport(ReturnPathType type) {
    return type == ReturnPathType::DestinationChannel || type == ReturnPathType::DestinationArc ||
           type == ReturnPathType::DestinationStatus;
}

std::optional<ReturnPathType> returnPathTypeFromString(std::string_view text) {
    if (auto type = enumFromString(text, ReturnPathType::Shut, ReturnPathType::SwitchoverAck))
        return type;
    return enumFromString(text, ReturnPathType::DestinationChannel,
                          ReturnPathType::DestinationStatus);
}

std::string describeShut(std::uint32_t value) {
    const char* why = nullptr;
    switch (static_cast<ShutReason>(value)) {
    case ShutReason::Success:
        why = "success";
        break;
    case ShutReason::StreamError:
        why = "the destination could not load the stream";
        break;
    case ShutReason::IntegrityMismatch:
        why = "the destination's integrity check failed";
        break;
    case ShutReason::ChannelFailure:
        why = "a channel failed at the destination";
        break;
    case ShutReason::DeviceFailure:
        why = "a device failed at the destination";
        break;
    case ShutReason::Refused:
        why = "the destination refused the migration";
        break;
    case ShutReason::Cancelled:
        why = "cancelled at the destination";
        break;
    }
    return std::to_string(value) + " (" + (why ? why : "an error the source does not know") + ")";
}

std::string ReturnPathMessage::describe() const {
    std::string text = toString(type);
    switch (type) {
    case ReturnPathType::Shut:
        return text + " " + describeShut(value);
    case ReturnPathType::Pong:
        return text + " " + std::to_string(value);
    case ReturnPathType::ResumeAck:
        return text + " " + std::to_string(value);
    case ReturnPathType::ReqPagesId:
    case ReturnPathType::ReqPages:
        return text + " " + block + " @" + hex(start) + " " + std::to_string(length) + " bytes";
    case ReturnPathType::RecvBitmap:
        return text + " " + block + ": " + std::to_string(received.count()) + " of " +
               std::to_string(received.pages()) + " pages received";
    case ReturnPathType::DestinationChannel:
        return text + " " + channel.id + ": " + std::to_string(channel.bytesReceived) +
               " bytes received, " + migrascope::toString(channel.state);
    case ReturnPathType::DestinationArc:
        return text + " " + arc.device + " " + arcText(arc) + (arc.ok ? "" : " refused");
    case ReturnPathType::DestinationStatus:
        return text + " " + migrascope::toString(status) +
               (historyId ? ", history run " + std::to_string(historyId) : std::string()) +
               (error.empty() ? "" : ": " + error);
    case ReturnPathType::SwitchoverAck:
    case ReturnPathType::Invalid:
        break;
    }
    return text;
}

ReturnPathReader::ReturnPathReader(Connection& connection, std::vector<RamBlockLayout> blocks)
    : in_(connection), blocks_(std::move(blocks)) {
    connection.markReadElsewhere(); // the source's sending thread must leave reading to us
}

const RamBlockLayout& ReturnPathReader::findBlock(const std::string& name,
                                                  const char* message) const {
    for (const auto& block : blocks_)
        if (block.name == name)
            return block;
    throw ReturnPathError(std::string("return path: ") + message + " names RAM block '" + name +
                          "', which the source does not have");
}

std::optional<ReturnPathMessage> ReturnPathReader::next() {
    if (in_.atEnd())
        return std::nullopt;
    const std::uint16_t rawType = in_.get16();
    const std::uint16_t length = in_.get16();
    if (!isKnownType(rawType))
        throw ReturnPathError("return path: " +
                              std::string(rawType == 0
                                              ? "message type 0 (INVALID) must never "
                                                "be sent"
                                              : "unknown message type " + std::to_string(rawType)) +
                              " (length " + std::to_string(length) + ")");
    ReturnPathMessage message;
    message.type = static_cast<ReturnPathType>(rawType);
    const char* name = toString(message.type);
    if (length > kReturnPathMaxLength)
        throw ReturnPathError("return path: " + std::string(name) + " has length " +
                              std::to_string(length) + ", above the limit of " +
                              std::to_string(kReturnPathMaxLength));
    if (const int fixed = fixedLength(message.type); fixed != kVariable && length != fixed)
        throw ReturnPathError("return path: " + std::string(name) + " has length " +
                              std::to_string(length) + ", expected " + std::to_string(fixed));
    std::vector<std::uint8_t> payload(length);
    in_.getBytes(payload.data(), payload.size());
    const std::uint8_t* p = payload.data();

    switch (message.type) {
    case ReturnPathType::Shut:
    case ReturnPathType::Pong:
        message.value = wire::get32(p);
        break;
    case ReturnPathType::ResumeAck:
        message.value = wire::get32(p);
        if (message.value != kResumeAckValue)
            throw ReturnPathError("return path: RESUME_ACK carries " +
                                  std::to_string(message.value) + ", expected " +
                                  std::to_string(kResumeAckValue));
        break;
    case ReturnPathType::ReqPagesId:
    case ReturnPathType::ReqPages: {
        const bool named = message.type == ReturnPathType::ReqPagesId;
        if (named && (length < 13 || length != 13u + p[12]))
            throw ReturnPathError("return path: REQ_PAGES_ID has length " + std::to_string(length) +
                                  ", which does not match its block name's length");
        message.start = wire::get64(p);
        message.length = wire::get32(p + 8);
        if (named)
            lastRequestedBlock_.assign(reinterpret_cast<const char*>(p + 13), p[12]);
        else if (lastRequestedBlock_.empty())
            throw ReturnPathError("return path: REQ_PAGES arrived before any REQ_PAGES_ID "
                                  "named its RAM block");
        message.block = lastRequestedBlock_;
        const RamBlockLayout& block = findBlock(message.block, name);
        if (message.length == 0 || message.start % kPageSize != 0 ||
            message.length % kPageSize != 0 || message.start >= block.size ||
            message.length > block.size - message.start)
            throw ReturnPathError("return path: " + std::string(name) + " asks for " +
                                  std::to_string(message.length) + " bytes at " +
                                  hex(message.start) + ", not whole pages inside RAM block '" +
                                  message.block + "' (" + std::to_string(block.size) + " bytes)");
        break;
    }
    case ReturnPathType::RecvBitmap: {
        if (length < 1 || length != 1u + p[0])
            throw ReturnPathError("return path: RECV_BITMAP has length " + std::to_string(length) +
                                  ", which does not match its block name's length");
        message.block.assign(reinterpret_cast<const char*>(p + 1), p[0]);
        const RamBlockLayout& block = findBlock(message.block, name);
        const std::uint64_t pages = block.size / kPageSize;
        const std::uint64_t size = in_.get64();
        if (size != bitmapBytes(pages))
            throw ReturnPathError("return path: RECV_BITMAP for '" + message.block + "' carries " +
                                  std::to_string(size) + " bytes; " + std::to_string(pages) +
                                  " pages need " + std::to_string(bitmapBytes(pages)));
        std::vector<std::uint8_t> bytes(size);
        in_.getBytes(bytes.data(), bytes.size());
        if (const auto marker = in_.get64(); marker != kRecvBitmapEndMarker)
            throw ReturnPathError("return path: RECV_BITMAP for '" + message.block +
                                  "' ends with " + hex(marker) + " instead of the end marker " +
                                  hex(kRecvBitmapEndMarker));
        // Little-endian on the wire (bitmap_to_le), whatever the host; bits past the last
        // page are dropped.
        message.received = PageBitmap(pages);
        auto words = message.received.words();
        for (std::size_t i = 0; i < bytes.size(); ++i)
            words[i / 8] |= std::uint64_t{bytes[i]} << (8 * (i % 8));
        for (std::size_t w = 0; w < words.size(); ++w)
            words[w] &= page_bits::validBits(pages, w);
        break;
    }
    case ReturnPathType::DestinationChannel: {
        Fields fields(payload, name);
        message.channel.kind = fields.getEnum(ChannelKind::Multifd, "channel kind");
        message.channel.state = fields.getEnum(ChannelState::Failed, "channel state");
        message.channel.termination = fields.getEnum(kLastTermination, "termination");
        message.channel.bytesReceived = fields.get64();
        message.channel.id = fields.getString8();
        fields.expectEnd();
        break;
    }
    case ReturnPathType::DestinationArc: {
        Fields fields(payload, name);
        message.arc.side = Side::Destination;
        message.arc.timeMs = fields.get32();
        message.arc.from = fields.getEnum(vfio::DeviceState::PreCopyP2P, "device state");
        message.arc.to = fields.getEnum(vfio::DeviceState::PreCopyP2P, "device state");
        const std::uint8_t flags = fields.get8();
        message.arc.ok = (flags & 1) != 0;
        message.arc.reset = (flags & 2) != 0;
        message.arc.device = fields.getString8();
        message.arc.error = fields.getString8();
        fields.expectEnd();
        break;
    }
    case ReturnPathType::DestinationStatus: {
        Fields fields(payload, name);
        message.status = fields.getEnum(MigrationStatus::Cancelled, "status");
        message.historyId = static_cast<std::int64_t>(fields.get64());
        message.error = fields.getString8();
        fields.expectEnd();
        break;
    }
    case ReturnPathType::SwitchoverAck:
    case ReturnPathType::Invalid:
        break;
    }
    return message;
}

void ReturnPathSender::send(ReturnPathType type, const std::vector<std::uint8_t>& payload,
                            const std::vector<std::uint8_t>& trailer) {
    wire::Payload message;
    message.add16(static_cast<std::uint16_t>(type))
        .add16(static_cast<std::uint16_t>(payload.size()));
    message.addBytes(payload.data(), payload.size());
    message.addBytes(trailer.data(), trailer.size());
    connection_.sendAll(message.bytes.data(), message.bytes.size());
}

bool ReturnPathSender::shut(ShutReason reason) {
    std::lock_guard lock(mutex_);
    if (shutSent_)
        return false;
    shutSent_ = true;
    send(ReturnPathType::Shut, wire::Payload().add32(static_cast<std::uint32_t>(reason)).bytes);
    return true;
}

void ReturnPathSender::pong(std::uint32_t value) {
    std::lock_guard lock(mutex_);
    send(ReturnPathType::Pong, wire::Payload().add32(value).bytes);
}

void ReturnPathSender::requestPage(const std::string& block, std::uint64_t start,
                                   std::uint32_t length) {
    std::lock_guard lock(mutex_);
    wire::Payload payload;
    payload.add64(start).add32(length);
    if (block == lastRequestedBlock_) {
        send(ReturnPathType::ReqPages, payload.bytes);
        return;
    }
    payload.addString8(block);
    send(ReturnPathType::ReqPagesId, payload.bytes);
    lastRequestedBlock_ = block;
}

void ReturnPathSender::recvBitmap(const std::string& block, const PageBitmap& received) {
    const std::uint64_t size = bitmapBytes(received.pages());
    const auto words = received.words();
    wire::Payload trailer;
    trailer.add64(size);
    for (std::uint64_t i = 0; i < size; ++i)
        trailer.add8(static_cast<std::uint8_t>(words[i / 8] >> (8 * (i % 8))));
    trailer.add64(kRecvBitmapEndMarker);
    std::lock_guard lock(mutex_);
    send(ReturnPathType::RecvBitmap, wire::Payload().addString8(block).bytes, trailer.bytes);
}

void ReturnPathSender::resumeAck() {
    std::lock_guard lock(mutex_);
    send(ReturnPathType::ResumeAck, wire::Payload().add32(kResumeAckValue).bytes);
}

void ReturnPathSender::switchoverAck() {
    std::lock_guard lock(mutex_);
    send(ReturnPathType::SwitchoverAck, {});
}

void ReturnPathSender::destinationReport(const TelemetrySnapshot& view, std::size_t firstArc,
                                         double nowMs, std::int64_t historyId) {
    std::lock_guard lock(mutex_);
    send(ReturnPathType::DestinationStatus, wire::Payload()
                                                .add8(static_cast<std::uint8_t>(view.status))
                                                .add64(static_cast<std::uint64_t>(historyId))
                                                .addString8(upTo255(view.errorDesc))
                                                .bytes);
    for (const ChannelSnapshot& channel : view.channels)
        send(ReturnPathType::DestinationChannel,
             wire::Payload()
                 .add8(static_cast<std::uint8_t>(channel.kind))
                 .add8(static_cast<std::uint8_t>(channel.state))
                 .add8(static_cast<std::uint8_t>(channel.termination))
                 .add64(channel.bytesReceived)
                 .addString8(upTo255(channel.id))
                 .bytes);
    for (std::size_t i = firstArc; i < view.transitions.size(); ++i) {
        const DeviceTransition& arc = view.transitions[i];
        if (arc.side != Side::Destination)
            continue;
        const double age = std::max(0.0, nowMs - arc.timeMs);
        send(ReturnPathType::DestinationArc,
             wire::Payload()
                 .add32(static_cast<std::uint32_t>(std::min(age, 4.0e9)))
                 .add8(static_cast<std::uint8_t>(arc.from))
                 .add8(static_cast<std::uint8_t>(arc.to))
                 .add8(static_cast<std::uint8_t>((arc.ok ? 1 : 0) | (arc.reset ? 2 : 0)))
                 .addString8(upTo255(arc.device))
                 .addString8(upTo255(arc.error))
                 .bytes);
    }
}

void ReturnPathSender::sendRaw(const std::vector<std::uint8_t>& bytes) {
    std::lock_guard lock(mutex_);
    connection_.sendAll(bytes.data(), bytes.size());
}

} // namespace migrascope
