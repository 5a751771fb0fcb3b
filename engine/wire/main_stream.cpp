#include "engine/wire/main_stream.h"

#include "engine/common/migration_error.h"
#include "engine/wire/wire.h"

#include <algorithm>
#include <cstring>

namespace migrascope {

namespace {
constexpr char kStreamName[] = "migrascope";
} // namespace

std::vector<std::uint8_t> encodeStreamStart(const StreamStart& start) {
    wire::Payload out;
    out.add32(kVmFileMagic).add32(kVmFileVersion);
    out.add8(static_cast<std::uint8_t>(Section::Configuration)).addString8(kStreamName);
    out.addBytes(start.uuid.data(), start.uuid.size());
    out.add32(start.channels)
        .add32(static_cast<std::uint32_t>(kPageSize))
        .add32(start.capabilities);
    // A resume is a new main channel for a paused postcopy: no multifd, no RAM setup.
    out.add8(start.resume ? 1 : 0);
    return std::move(out.bytes);
}

StreamStart decodeStreamStart(const std::uint8_t* bytes) {
    constexpr auto& kName = kStreamName;
    const std::uint8_t* at = bytes + 4; // after the magic, which classified the connection
    if (const auto version = wire::get32(at); version != kVmFileVersion)
        throw MigrationError("main channel: stream version " + std::to_string(version) +
                             " is not supported (expected " + std::to_string(kVmFileVersion) + ")");
    at += 4;
    if (*at++ != static_cast<std::uint8_t>(Section::Configuration) || *at++ != sizeof kName - 1 ||
        std::memcmp(at, kName, sizeof kName - 1) != 0)
        throw MigrationError("main channel: the stream has no Migrascope configuration section");
    at += sizeof kName - 1;
    StreamStart start;
    std::memcpy(start.uuid.data(), at, start.uuid.size());
    at += start.uuid.size();
    start.channels = wire::get32(at);
    if (const auto pageSize = wire::get32(at + 4); pageSize != kPageSize)
        throw MigrationError("main channel: source page size " + std::to_string(pageSize) +
                             " differs from ours (" + std::to_string(kPageSize) + ")");
    start.capabilities = wire::get32(at + 8);
    start.resume = at[12] != 0;
    if (start.channels > 255)
        throw MigrationError("main channel: " + std::to_string(start.channels) +
                             " multifd channels announced; at most 255 are possible");
    return start;
}
namespace {
constexpr std::size_t kFlushThreshold = 64 * 1024;
}

void StreamWriter::put8(std::uint8_t value) {
    buffer_.push_back(value);
}

void StreamWriter::put32(std::uint32_t value) {
    std::uint8_t bytes[4];
    wire::put32(bytes, value);
    putBytes(bytes, sizeof bytes);
}

void StreamWriter::put64(std::uint64_t value) {
    std::uint8_t bytes[8];
    wire::put64(bytes, value);
    putBytes(bytes, sizeof bytes);
}

void StreamWriter::putBytes(const void* data, std::size_t length) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + length);
    if (buffer_.size() >= kFlushThreshold)
        flush();
}

void StreamWriter::putString8(const std::string& text) {
    put8(static_cast<std::uint8_t>(text.size()));
    putBytes(text.data(), text.size());
}

const char* toString(StreamCommand command) {
    switch (command) {
    case StreamCommand::Invalid:
        return "INVALID";
    case StreamCommand::OpenReturnPath:
        return "OPEN_RETURN_PATH";
    case StreamCommand::Ping:
        return "PING";
    case StreamCommand::PostcopyAdvise:
        return "POSTCOPY_ADVISE";
    case StreamCommand::PostcopyListen:
        return "POSTCOPY_LISTEN";
    case StreamCommand::PostcopyRun:
        return "POSTCOPY_RUN";
    case StreamCommand::PostcopyRamDiscard:
        return "POSTCOPY_RAM_DISCARD";
    case StreamCommand::PostcopyResume:
        return "POSTCOPY_RESUME";
    case StreamCommand::RecvBitmap:
        return "RECV_BITMAP";
    }
    return "unknown";
}

void StreamWriter::putCommand(StreamCommand command, const std::vector<std::uint8_t>& payload) {
    put8(static_cast<std::uint8_t>(Section::Command));
    std::uint8_t header[4];
    wire::put16(header, static_cast<std::uint16_t>(command));
    wire::put16(header + 2, static_cast<std::uint16_t>(payload.size()));
    putBytes(header, sizeof header);
    putBytes(payload.data(), payload.size());
}

void StreamWriter::putBulk(const void* data, std::size_t length) {
    const iovec pieces[2] = {{buffer_.data(), buffer_.size()}, {const_cast<void*>(data), length}};
    connection_.sendv(pieces, 2);
    buffer_.clear();
}

void StreamWriter::flush() {
    if (buffer_.empty())
        return;
    connection_.sendAll(buffer_.data(), buffer_.size());
    buffer_.clear();
}

void StreamReader::fill() {
    begin_ = 0;
    end_ = connection_.recvSome(buffer_.data(), buffer_.size());
    if (end_ == 0)
        throw ConnectionError("channel " + connection_.name() +
                              ": the stream ended in the middle of a section");
}

bool StreamReader::atEnd() {
    if (begin_ < end_)
        return false;
    begin_ = 0;
    end_ = connection_.recvSome(buffer_.data(), buffer_.size());
    return end_ == 0;
}

void StreamReader::getBytes(void* data, std::size_t length) {
    if (length == 0)
        return; // an empty payload's data() may be null
    auto* out = static_cast<std::uint8_t*>(data);
    const std::size_t buffered = std::min(length, end_ - begin_);
    std::memcpy(out, buffer_.data() + begin_, buffered);
    begin_ += buffered;
    out += buffered;
    length -= buffered;
    if (length >= buffer_.size()) {
        // Bulk data (a page) goes straight to its destination.
        connection_.recvExact(out, length);
        return;
    }
    while (length > 0) {
        fill();
        const std::size_t take = std::min(length, end_);
        std::memcpy(out, buffer_.data(), take);
        begin_ = take;
        out += take;
        length -= take;
    }
}

std::uint8_t StreamReader::get8() {
    std::uint8_t value;
    getBytes(&value, 1);
    return value;
}

std::uint16_t StreamReader::get16() {
    std::uint8_t bytes[2];
    getBytes(bytes, sizeof bytes);
    return wire::get16(bytes);
}

std::uint32_t StreamReader::get32() {
    std::uint8_t bytes[4];
    getBytes(bytes, sizeof bytes);
    return wire::get32(bytes);
}

std::uint64_t StreamReader::get64() {
    std::uint8_t bytes[8];
    getBytes(bytes, sizeof bytes);
    return wire::get64(bytes);
}

std::string StreamReader::getString8() {
    const std::uint8_t length = get8();
    std::string text(length, '\0');
    getBytes(text.data(), length);
    return text;
}

} // namespace migrascope
