// Which end of a migration something happened on, or belongs to.
#pragma once

#include <optional>
#include <string_view>

namespace migrascope {

enum class Side { Source, Destination };

// "src" / "dst": the event log's, history's and fault syntax's spelling.
constexpr const char* toString(Side side) {
    return side == Side::Source ? "src" : "dst";
}

constexpr std::optional<Side> sideFromString(std::string_view text) {
    if (text == "src")
        return Side::Source;
    if (text == "dst")
        return Side::Destination;
    return std::nullopt;
}

} // namespace migrascope
