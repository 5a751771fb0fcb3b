// Big-endian field helpers shared by the wire formats.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace migrascope::wire {

inline void put16(std::uint8_t* out, std::uint16_t value) {
    out[0] = static_cast<std::uint8_t>(value >> 8);
    out[1] = static_cast<std::uint8_t>(value);
}
inline void put32(std::uint8_t* out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
}
inline void put64(std::uint8_t* out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
}
inline std::uint16_t get16(const std::uint8_t* in) {
    return static_cast<std::uint16_t>(in[0] << 8 | in[1]);
}
inline std::uint32_t get32(const std::uint8_t* in) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i)
        value = value << 8 | in[i];
    return value;
}
inline std::uint64_t get64(const std::uint8_t* in) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
        value = value << 8 | in[i];
    return value;
}

// A message payload built field by field (commands, return-path messages).
struct Payload {
    std::vector<std::uint8_t> bytes;

    Payload& add8(std::uint8_t value) {
        bytes.push_back(value);
        return *this;
    }
    Payload& add16(std::uint16_t value) {
        bytes.resize(bytes.size() + 2);
        put16(bytes.data() + bytes.size() - 2, value);
        return *this;
    }
    Payload& add32(std::uint32_t value) {
        bytes.resize(bytes.size() + 4);
        put32(bytes.data() + bytes.size() - 4, value);
        return *this;
    }
    Payload& add64(std::uint64_t value) {
        bytes.resize(bytes.size() + 8);
        put64(bytes.data() + bytes.size() - 8, value);
        return *this;
    }
    Payload& addBytes(const void* data, std::size_t length) {
        // resize + memcpy rather than insert: GCC 12 at -O3 reports a false -Warray-bounds
        // inside vector::insert for this pattern.
        if (length == 0)
            return *this;
        const std::size_t at = bytes.size();
        bytes.resize(at + length);
        std::memcpy(bytes.data() + at, data, length);
        return *this;
    }
    Payload& addString8(const std::string& text) { // u8 length + bytes, no NUL
        add8(static_cast<std::uint8_t>(text.size()));
        return addBytes(text.data(), text.size());
    }
};

} // namespace migrascope::wire
