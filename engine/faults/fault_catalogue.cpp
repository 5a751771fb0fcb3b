#include "engine/api/faults.h"
#include "engine/api/migration_config.h"
#include "vfio/device_state.h"
#include "vfio/emulated_device.h"

#include <algorithm>
#include <stdexcept>

namespace migrascope {
namespace {

void noArguments(const std::string& arguments, FaultSpec&) {
    if (!arguments.empty())
        throw std::invalid_argument("takes no arguments");
}

// =CHANNEL@BYTES, for the fault `name`.
void parseChannelAfterBytes(const std::string& arguments, FaultSpec& fault, const char* name) {
    const auto at = arguments.find('@');
    if (arguments.empty() || arguments[0] != '=' || at == std::string::npos)
        throw std::invalid_argument(std::string("expected ") + name + "=CHANNEL@BYTES, e.g. " +
                                    name + "=multifd-1@64M");
    fault.channel = arguments.substr(1, at - 1);
    if (fault.channel != "main" && fault.channel.rfind("multifd-", 0) != 0)
        throw std::invalid_argument("unknown channel '" + fault.channel + "' (main or multifd-N)");
    fault.afterBytes = parseSize(arguments.substr(at + 1));
}

void parseCutChannel(const std::string& arguments, FaultSpec& fault) {
    parseChannelAfterBytes(arguments, fault, "cut-channel");
}

void parseCorruptPage(const std::string& arguments, FaultSpec& fault) {
    parseChannelAfterBytes(arguments, fault, "corrupt-page");
    if (fault.channel == "main")
        throw std::invalid_argument("pages are corrupted on a multifd channel (multifd-N)");
}

void parseCutMain(const std::string& arguments, FaultSpec& fault) {
    // @postcopy[+BYTES]
    const auto plus = arguments.find('+');
    if (arguments.substr(0, plus) != "@postcopy")
        throw std::invalid_argument("expected cut-main@postcopy or cut-main@postcopy+BYTES "
                                    "(e.g. cut-main@postcopy+16M)");
    fault.channel = "main";
    if (plus != std::string::npos)
        fault.afterBytes = parseSize(arguments.substr(plus + 1));
}

void parseSwitchoverAckAfter(const std::string& arguments, FaultSpec& fault) {
    const char* const expected = "expected switchover-ack-after=ROUNDS, e.g. "
                                 "switchover-ack-after=3";
    const std::string digits = arguments.empty() ? "" : arguments.substr(1);
    if (arguments.empty() || arguments[0] != '=' || digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw std::invalid_argument(expected);
    try {
        fault.count = std::stoull(digits);
    } catch (const std::out_of_range&) {
        throw std::invalid_argument(expected);
    }
}

void parseVfioFail(const std::string& arguments, FaultSpec& fault) {
    // =DEVICE:FROM>TO@src|dst
    const auto colon = arguments.find(':');
    const auto arrow = arguments.find('>');
    const auto at = arguments.find('@');
    if (arguments.empty() || arguments[0] != '=' || colon == std::string::npos ||
        arrow == std::string::npos || at == std::string::npos || !(colon < arrow && arrow < at))
        throw std::invalid_argument("expected vfio-fail=DEVICE:FROM>TO@src|dst, e.g. "
                                    "vfio-fail=accel0:RESUMING>STOP@dst");
    fault.device = arguments.substr(1, colon - 1);
    fault.arcFrom = arguments.substr(colon + 1, arrow - colon - 1);
    fault.arcTo = arguments.substr(arrow + 1, at - arrow - 1);
    const std::string side = arguments.substr(at + 1);
    const auto parsed = sideFromString(side);
    if (!parsed)
        throw std::invalid_argument("the side is src or dst, not '" + side + "'");
    fault.side = *parsed;
}

void parseVfioCorrupt(const std::string& arguments, FaultSpec& fault) {
    if (arguments.size() < 2 || arguments[0] != '=')
        throw std::invalid_argument("expected vfio-corrupt=DEVICE, e.g. vfio-corrupt=accel0");
    fault.device = arguments.substr(1);
}

std::string noCheck(const FaultSpec&, const MigrationConfig&) {
    return {};
}

// A fault aimed at a channel the run will not open would never fire: refused before start.
std::string checkChannelExists(const FaultSpec& fault, const MigrationConfig& config) {
    if (fault.channel == "main")
        return {};
    const std::string number = fault.channel.substr(std::string("multifd-").size());
    const bool digits = !number.empty() && number.size() < 4 &&
                        number.find_first_not_of("0123456789") == std::string::npos;
    if (digits && std::stoul(number) < config.multifdChannels)
        return {};
    return "no channel " + fault.channel + " in this migration (" +
           (config.multifdChannels == 0
                ? std::string("multifd is off: only main")
                : "main and multifd-0 to multifd-" + std::to_string(config.multifdChannels - 1)) +
           ")";
}

const DeviceConfig* findDevice(const MigrationConfig& config, const std::string& name) {
    for (const auto& device : config.devices)
        if (device.name == name)
            return &device;
    return nullptr;
}

std::string checkDeviceExists(const FaultSpec& fault, const MigrationConfig& config) {
    return findDevice(config, fault.device) ? "" : "no device named '" + fault.device + "'";
}

std::string checkDeviceArc(const FaultSpec& fault, const MigrationConfig& config) {
    const DeviceConfig* device = findDevice(config, fault.device);
    if (!device)
        return "no device named '" + fault.device + "'";
    const auto from = vfio::stateFromString(fault.arcFrom);
    const auto to = vfio::stateFromString(fault.arcTo);
    if (!from || !to)
        return "states are the uAPI's names (RUNNING, STOP, STOP_COPY, RESUMING, RUNNING_P2P, "
               "PRE_COPY, PRE_COPY_P2P)";
    const std::uint64_t flags = vfio::migrationFlagsFor(
        vfio::deviceKindFromString(device->kind).value_or(vfio::DeviceKind::Accelerator));
    if (!vfio::isDirectArc(flags, *from, *to))
        return fault.arcFrom + " -> " + fault.arcTo + " is not a single arc of a " + device->kind +
               " device (" + vfio::describeFlags(flags) +
               "); a fault fails one arc of the kernel's path";
    return {};
}

using K = FaultSpec::Kind;

const FaultInfo kCatalogue[] = {
    {K::CutChannel, "cut-channel", "cut-channel=CHANNEL@BYTES",
     "cut the network under CHANNEL (main, multifd-N) once BYTES were sent on it",
     "cut-channel=multifd-1@64M", Side::Source, "", nullptr, parseCutChannel, checkChannelExists},
    {K::TlsNoBye, "tls-no-bye", "tls-no-bye",
     "end multifd channels without TLS close_notify, as sources before QEMU 9.1 did", "tls-no-bye",
     Side::Source, "", nullptr, noArguments, noCheck},
    {K::CutMainInPostcopy, "cut-main", "cut-main@postcopy[+BYTES]",
     "the main channel's network fails during postcopy (after BYTES more on it): both sides "
     "pause, and a headless run recovers by itself after --recover-delay",
     "cut-main@postcopy+16M", Side::Source, "postcopy-ram", &Capabilities::postcopyRam,
     parseCutMain, noCheck},
    {K::SwitchoverAckAfter, "switchover-ack-after", "switchover-ack-after=N",
     "the destination sends SWITCHOVER_ACK only after it has loaded N RAM rounds",
     "switchover-ack-after=3", Side::Destination, "switchover-ack", &Capabilities::switchoverAck,
     parseSwitchoverAckAfter, noCheck},
    {K::VfioFailArc, "vfio-fail", "vfio-fail=DEVICE:FROM>TO@src|dst",
     "the device's single arc FROM -> TO fails on that side", "vfio-fail=accel0:RESUMING>STOP@dst",
     Side::Source, "", nullptr, parseVfioFail, checkDeviceArc},
    {K::VfioCorrupt, "vfio-corrupt", "vfio-corrupt=DEVICE",
     "the device's saved state is corrupted on the way out", "vfio-corrupt=accel0", Side::Source,
     "", nullptr, parseVfioCorrupt, checkDeviceExists},
    {K::CorruptPage, "corrupt-page", "corrupt-page=CHANNEL@BYTES",
     "one bit of the next page sent on CHANNEL flips on the wire once BYTES were sent on it: "
     "the destination's integrity check must catch it before its guest starts (unless the "
     "guest writes that page again, which sends it again)",
     "corrupt-page=multifd-0@16M", Side::Source, "", nullptr, parseCorruptPage, checkChannelExists},
};

} // namespace

std::span<const FaultInfo> faultCatalogue() {
    return kCatalogue;
}

const FaultInfo& faultInfo(FaultSpec::Kind kind) {
    for (const auto& info : kCatalogue)
        if (info.kind == kind)
            return info;
    throw std::logic_error("a fault kind without a catalogue entry");
}

FaultSpec parseFault(const std::string& text) {
    // The name ends where its arguments begin: '=' or '@'.
    const auto end = text.find_first_of("=@");
    const std::string name = text.substr(0, end);
    for (const auto& info : kCatalogue) {
        if (name != info.name)
            continue;
        FaultSpec fault;
        fault.kind = info.kind;
        fault.text = text;
        fault.side = info.side;
        try {
            info.parse(end == std::string::npos ? "" : text.substr(end), fault);
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument("fault '" + text + "': " + error.what());
        }
        return fault;
    }
    std::string known;
    for (const auto& info : kCatalogue)
        known += (known.empty() ? "" : ", ") + std::string(info.syntax);
    throw std::invalid_argument("unknown fault '" + name + "' (known: " + known + ")");
}

std::string checkFaults(const MigrationConfig& config) {
    for (const auto& fault : config.faults) {
        const FaultInfo& info = faultInfo(fault.kind);
        if (info.capabilityFlag && !(config.capabilities.*info.capabilityFlag))
            return fault.text + ": needs --capability " + info.capability + "=on";
        if (std::string why = info.check(fault, config); !why.empty())
            return fault.text + ": " + why;
    }
    return {};
}

std::vector<FaultSpec> faultsFor(const std::vector<FaultSpec>& faults, Side side) {
    std::vector<FaultSpec> result;
    for (const auto& fault : faults)
        if (fault.side == side)
            result.push_back(fault);
    return result;
}

bool hasFault(const std::vector<FaultSpec>& faults, FaultSpec::Kind kind) {
    return std::any_of(faults.begin(), faults.end(),
                       [kind](const FaultSpec& fault) { return fault.kind == kind; });
}

std::string faultHelp() {
    std::string text;
    for (const auto& info : kCatalogue) {
        text += std::string(info.syntax) + ": " + info.help;
        if (*info.capability)
            text += std::string(" (needs ") + info.capability + "=on)";
        text += std::string(", e.g. ") + info.example + "\n";
    }
    return text;
}

} // namespace migrascope
