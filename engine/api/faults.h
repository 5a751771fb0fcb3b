// The fault catalogue: every fault Migrascope injects on purpose (tests, trainers), in one
// table. Each entry gives the fault's name, syntax, help, the side it fires on, the capability
// it needs, its parser and its check against a configuration. The command line's --help and
// check, the launch form's tooltip and check all read this table, so they cannot drift.
//
// Adding a fault: a Kind, an entry in engine/faults/fault_catalogue.cpp, the code where it
// fires (it looks for its Kind among its side's faults), and a test.
#pragma once

#include "engine/api/side.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace migrascope {

struct MigrationConfig;
struct Capabilities;

// One fault as given (NAME[=ARGS][@WHEN]), parsed.
struct FaultSpec {
    enum class Kind {
        CutChannel,         // the network under a channel fails after N bytes on it
        TlsNoBye,           // a legacy source: multifd channels close without close_notify
        CutMainInPostcopy,  // the network fails during postcopy: both sides pause
        SwitchoverAckAfter, // the destination acknowledges switchover only after N rounds
        VfioFailArc,        // a device's arc fails (vfio-fail=DEVICE:FROM>TO@src|dst)
        VfioCorrupt,        // a device's saved data is corrupted on the way out
        CorruptPage,        // one page's data is corrupted on the wire after N bytes
    };
    Kind kind = Kind::CutChannel;
    std::string text;    // as given, for logs and history
    std::string channel; // "main", "multifd-0", ...
    // cut-channel, corrupt-page: bytes on the channel; cut-main: since postcopy
    std::uint64_t afterBytes = 0;
    std::uint64_t count = 0; // switchover-ack-after: RAM rounds loaded
    // vfio-fail / vfio-corrupt: the device, the arc (uAPI state names) and the side.
    std::string device;
    std::string arcFrom;
    std::string arcTo;
    Side side = Side::Source; // where it fires
};

struct FaultInfo {
    FaultSpec::Kind kind;
    const char* name;   // what --inject starts with
    const char* syntax; // "cut-channel=CHANNEL@BYTES"
    const char* help;   // what happens, in a sentence or two
    const char* example;
    // Where it fires; vfio-fail says so in its text (Side then only names the default).
    Side side;
    // The capability it needs ("" for none), QEMU's name, and where it is in Capabilities.
    const char* capability;
    bool Capabilities::*capabilityFlag;
    // Reads what follows the name (may be empty); throws std::invalid_argument without the
    // "fault 'TEXT': " prefix, which parseFault adds.
    void (*parse)(const std::string& arguments, FaultSpec& fault);
    // Why this fault cannot fire in this configuration, or "" (beyond the capability).
    std::string (*check)(const FaultSpec& fault, const MigrationConfig& config);
};

std::span<const FaultInfo> faultCatalogue();
const FaultInfo& faultInfo(FaultSpec::Kind kind);

// "cut-channel=multifd-1@64M" -> a FaultSpec; throws std::invalid_argument naming the text.
FaultSpec parseFault(const std::string& text);
// Why the configuration's faults cannot fire as written ("" when they can): a capability
// that is off, a device that does not exist, an arc the device does not take. Names the fault.
std::string checkFaults(const MigrationConfig& config);
// The faults that fire on one side.
std::vector<FaultSpec> faultsFor(const std::vector<FaultSpec>& faults, Side side);
bool hasFault(const std::vector<FaultSpec>& faults, FaultSpec::Kind kind);
// One block of help, a fault per entry: --help and the launch form's tooltip.
std::string faultHelp();

} // namespace migrascope
