#include "engine/api/migration_config.h"

#include "engine/api/faults.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>

namespace migrascope {

Uuid generateUuid() {
    std::random_device device;
    Uuid uuid;
    for (auto& byte : uuid)
        byte = static_cast<std::uint8_t>(device());
    uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0f) | 0x40); // version 4
    uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3f) | 0x80); // RFC 4122 variant
    return uuid;
}

std::string uuidToString(const Uuid& uuid) {
    char text[37];
    std::snprintf(text, sizeof text,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
                  uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9],
                  uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
    return text;
}

std::optional<Uuid> uuidFromString(const std::string& text) {
    Uuid uuid;
    std::size_t byte = 0;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '-') {
            ++i;
            continue;
        }
        if (byte == uuid.size() || i + 1 >= text.size())
            return std::nullopt;
        try {
            std::size_t used = 0;
            const int value = std::stoi(text.substr(i, 2), &used, 16);
            if (used != 2)
                return std::nullopt;
            uuid[byte++] = static_cast<std::uint8_t>(value);
        } catch (const std::exception&) {
            return std::nullopt;
        }
        i += 2;
    }
    if (byte != uuid.size())
        return std::nullopt;
    return uuid;
}

std::uint64_t parseSize(const std::string& text) {
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        throw std::invalid_argument("'" + text + "' is not a size (examples: 512M, 4G, 65536)");
    }
    if (value < 0 || !std::isfinite(value))
        throw std::invalid_argument("'" + text + "' is not a size: it must not be negative");
    std::string suffix = text.substr(used);
    if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b'))
        suffix.pop_back();
    if (suffix.size() == 2 && (suffix[1] == 'i' || suffix[1] == 'I'))
        suffix.pop_back();
    double scale = 1;
    if (suffix.empty())
        scale = 1;
    else if (suffix == "K" || suffix == "k")
        scale = 1024.0;
    else if (suffix == "M" || suffix == "m")
        scale = 1024.0 * 1024;
    else if (suffix == "G" || suffix == "g")
        scale = 1024.0 * 1024 * 1024;
    else if (suffix == "T" || suffix == "t")
        scale = 1024.0 * 1024 * 1024 * 1024;
    else
        throw std::invalid_argument("'" + text + "' has an unknown unit '" + suffix +
                                    "' (use K, M, G or T)");
    // Far beyond any RAM or link, and below where the conversion would wrap.
    constexpr double kLargest = 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024; // 1 EiB
    if (value * scale > kLargest)
        throw std::invalid_argument("'" + text + "' is too large (at most 1 EiB)");
    return static_cast<std::uint64_t>(std::llround(value * scale));
}

std::string formatBytes(double bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return text;
}

DeviceConfig parseDevice(const std::string& text, const std::vector<DeviceConfig>& existing) {
    DeviceConfig device;
    std::size_t at = 0;
    bool first = true;
    while (at <= text.size()) {
        const auto comma = text.find(',', at);
        const std::string part =
            text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        at = comma == std::string::npos ? text.size() + 1 : comma + 1;
        if (first) {
            if (part != "nic" && part != "accel")
                throw std::invalid_argument("device '" + text + "': unknown kind '" + part +
                                            "' (nic or accel)");
            device.kind = part;
            device.stateSize = part == "nic" ? kNicStateSize : kAccelStateSize;
            first = false;
            continue;
        }
        const auto equals = part.find('=');
        const std::string key = part.substr(0, equals);
        const std::string value = equals == std::string::npos ? "" : part.substr(equals + 1);
        if (key == "state-size") {
            device.stateSize = parseSize(value);
            if (device.stateSize < 4096 || device.stateSize > (1ull << 30))
                throw std::invalid_argument("device '" + text +
                                            "': state-size must be from 4K to 1G");
        } else if (key == "name" && !value.empty()) {
            device.name = value;
        } else if (key == "x-migration-multifd-transfer" && (value == "on" || value == "off")) {
            device.multifdTransfer = value == "on";
        } else {
            throw std::invalid_argument("device '" + text + "': unknown option '" + part +
                                        "' (state-size=SIZE, name=NAME, "
                                        "x-migration-multifd-transfer=on|off)");
        }
    }
    if (device.name.empty()) {
        unsigned number = 0;
        for (const auto& other : existing)
            number += other.kind == device.kind ? 1 : 0;
        device.name = device.kind + std::to_string(number);
    }
    for (const auto& other : existing)
        if (other.name == device.name)
            throw std::invalid_argument("device '" + text + "': the name " + device.name +
                                        " is taken");
    return device;
}

void applyCapability(const std::string& text, Capabilities& capabilities) {
    const auto equals = text.find('=');
    const std::string name = text.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : text.substr(equals + 1);
    if (value != "on" && value != "off")
        throw std::invalid_argument("capability '" + text + "': expected NAME=on or NAME=off");
    const bool on = value == "on";
    if (name == "postcopy-ram")
        capabilities.postcopyRam = on;
    else if (name == "switchover-ack")
        capabilities.switchoverAck = on;
    else if (name == "auto-converge")
        capabilities.autoConverge = on;
    else if (name == "return-path") {
        if (!on)
            throw std::invalid_argument(
                "capability return-path cannot be turned off: Migrascope reports a migration "
                "completed only after the destination's verdict, which comes back on the "
                "return path");
    } else
        throw std::invalid_argument("unknown capability '" + name +
                                    "' (known: return-path, postcopy-ram, switchover-ack, "
                                    "auto-converge)");
}

const char* toString(GuestContent content) {
    switch (content) {
    case GuestContent::Mixed:
        return "mixed";
    case GuestContent::Random:
        return "random";
    case GuestContent::Zero:
        return "zero";
    }
    return "?";
}

GuestContent parseGuestContent(const std::string& text) {
    for (const GuestContent content :
         {GuestContent::Mixed, GuestContent::Random, GuestContent::Zero})
        if (text == toString(content))
            return content;
    throw std::invalid_argument("'" + text + "' is not one of mixed, random, zero");
}

PostcopyStart parsePostcopyStart(const std::string& text) {
    PostcopyStart start;
    std::size_t used = 0;
    double value = -1;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
    }
    const std::string unit = used < text.size() ? text.substr(used) : "";
    if (value < 0 || !std::isfinite(value) || (unit != "" && unit != "s" && unit != "ms") ||
        (unit.empty() && (value < 1 || value != std::floor(value))))
        throw std::invalid_argument("'" + text +
                                    "' is not a postcopy start: give dirty iterations (e.g. 2) "
                                    "or a time in precopy (e.g. 1.5s, 800ms)");
    if (unit.empty())
        start.afterIterations = static_cast<unsigned>(value);
    else
        start.afterMs = unit == "s" ? value * 1000 : value;
    if (!unit.empty() && start.afterMs <= 0)
        throw std::invalid_argument("'" + text + "': the time before postcopy must be positive");
    return start;
}

std::string describe(const MigrationConfig& config) {
    std::ostringstream out;
    out << "uuid=" << uuidToString(config.uuid) << '\n';
    if (config.remoteDestination())
        out << "destination=" << config.destinationHost << ':' << *config.destinationPort << '\n'
            << "connect-timeout=" << config.connectTimeoutMs << '\n';
    out << "ram-size=" << config.guest.ramSize << '\n'
        << "guest-content=" << toString(config.guest.content) << '\n'
        << "dirty-rate=" << config.guest.dirtyRate << '\n'
        << "multifd-channels=" << config.multifdChannels << '\n'
        << "downtime-limit=" << config.downtimeLimitMs << '\n'
        << "max-bandwidth=" << config.maxBandwidth << '\n'
        << "tls=" << (config.tls.enabled ? "on" : "off") << '\n';
    if (config.tls.enabled)
        out << "tls-creds=" << config.tls.credsDir << '\n'
            << "tls-priority=" << config.tls.priority << '\n'
            << "tls-hostname=" << config.tls.hostname << '\n'
            << "tls-rekey-interval=" << config.tls.rekeyInterval << '\n'
            << "tls-record-warning=" << config.tls.recordWarning << '\n';
    for (const auto& dn : config.tls.authz)
        out << "tls-authz=" << dn << '\n';
    out << "multifd-clean-tls-termination=" << (config.multifdCleanTlsTermination ? "on" : "off")
        << '\n';
    for (const auto& fault : config.faults)
        out << "inject=" << fault.text << '\n';
    out << "capability=return-path=on\n"
        << "capability=postcopy-ram=" << (config.capabilities.postcopyRam ? "on" : "off") << '\n'
        << "capability=switchover-ack=" << (config.capabilities.switchoverAck ? "on" : "off")
        << '\n'
        << "capability=auto-converge=" << (config.capabilities.autoConverge ? "on" : "off") << '\n';
    if (config.capabilities.autoConverge)
        out << "cpu-throttle-initial=" << config.cpuThrottle.initial << '\n'
            << "cpu-throttle-increment=" << config.cpuThrottle.increment << '\n';
    if (config.postcopyStart.afterIterations > 0)
        out << "postcopy-after=" << config.postcopyStart.afterIterations << '\n';
    if (config.postcopyStart.afterMs > 0)
        out << "postcopy-after=" << config.postcopyStart.afterMs << "ms\n";
    if (config.autoRecover)
        out << "recover-delay=" << config.recoverDelayMs << '\n';
    for (const auto& device : config.devices)
        out << "device=" << device.kind << ",name=" << device.name
            << ",state-size=" << device.stateSize
            << ",x-migration-multifd-transfer=" << (device.multifdTransfer ? "on" : "off") << '\n';
    if (!config.devices.empty())
        out << "vfio-explicit-resuming-stop=" << (config.vfioExplicitResumingStop ? "on" : "off")
            << '\n';
    return out.str();
}

MigrationConfig configFromDescription(const std::string& text) {
    MigrationConfig config;
    std::istringstream lines(text);
    std::string destination;
    for (std::string line; std::getline(lines, line);) {
        if (line.empty())
            continue;
        const auto equals = line.find('=');
        if (equals == std::string::npos)
            throw std::invalid_argument("configuration line '" + line + "' is not KEY=VALUE");
        const std::string key = line.substr(0, equals);
        const std::string value = line.substr(equals + 1);
        const auto number = [&]() -> std::uint64_t {
            try {
                std::size_t used = 0;
                const std::uint64_t parsed = std::stoull(value, &used);
                if (used == value.size())
                    return parsed;
            } catch (const std::exception&) {
            }
            throw std::invalid_argument("configuration line '" + line + "': not a number");
        };
        const auto onOff = [&]() {
            if (value != "on" && value != "off")
                throw std::invalid_argument("configuration line '" + line + "': not on or off");
            return value == "on";
        };
        if (key == "destination")
            destination = value;
        else if (key == "connect-timeout")
            config.connectTimeoutMs = number();
        else if (key == "ram-size")
            config.guest.ramSize = parseSize(value);
        else if (key == "guest-content")
            config.guest.content = parseGuestContent(value);
        else if (key == "dirty-rate") // bytes as recorded, or "64M" as an operator writes it
            config.guest.dirtyRate = parseSize(value);
        else if (key == "multifd-channels")
            config.multifdChannels = static_cast<unsigned>(number());
        else if (key == "downtime-limit")
            config.downtimeLimitMs = number();
        else if (key == "max-bandwidth")
            config.maxBandwidth = parseSize(value);
        else if (key == "tls")
            config.tls.enabled = onOff();
        else if (key == "tls-creds")
            config.tls.credsDir = value;
        else if (key == "tls-priority")
            config.tls.priority = value;
        else if (key == "tls-hostname")
            config.tls.hostname = value;
        else if (key == "tls-rekey-interval")
            config.tls.rekeyInterval = number();
        else if (key == "tls-record-warning")
            config.tls.recordWarning = number();
        else if (key == "tls-authz")
            config.tls.authz.push_back(value);
        else if (key == "multifd-clean-tls-termination")
            config.multifdCleanTlsTermination = onOff();
        else if (key == "inject")
            config.faults.push_back(parseFault(value));
        else if (key == "capability")
            applyCapability(value, config.capabilities);
        else if (key == "cpu-throttle-initial")
            config.cpuThrottle.initial = static_cast<unsigned>(number());
        else if (key == "cpu-throttle-increment")
            config.cpuThrottle.increment = static_cast<unsigned>(number());
        else if (key == "postcopy-after")
            config.postcopyStart = parsePostcopyStart(value);
        else if (key == "recover-delay") {
            config.autoRecover = true;
            config.recoverDelayMs = number();
        } else if (key == "device")
            config.devices.push_back(parseDevice(value, config.devices));
        else if (key == "vfio-explicit-resuming-stop")
            config.vfioExplicitResumingStop = onOff();
    }
    if (!destination.empty()) {
        const auto colon = destination.rfind(':');
        if (colon == std::string::npos)
            throw std::invalid_argument("configuration line 'destination=" + destination +
                                        "' has no port");
        config.destinationHost = destination.substr(0, colon);
        config.destinationPort =
            static_cast<std::uint16_t>(std::stoul(destination.substr(colon + 1)));
    }
    config.uuid = generateUuid();
    return config;
}

} // namespace migrascope
