#include "engine/api/diagnosis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string_view>

namespace migrascope {
namespace {

constexpr std::string_view kFaultFired = "fault injected: ";
constexpr std::string_view kDestinationFailed = "incoming migration failed: ";

bool startsWith(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

const char* sideName(Side side) {
    return side == Side::Source ? "the source" : "the destination";
}

std::string capitalised(std::string text) {
    if (!text.empty() && text[0] >= 'a' && text[0] <= 'z')
        text[0] = static_cast<char>(text[0] - 'a' + 'A');
    return text;
}

// The phase a milestone the run logged begins ("during bulk copy"), if it is one.
std::optional<std::string> milestone(std::string_view text) {
    if (startsWith(text, "bulk copy:"))
        return "during bulk copy";
    if (startsWith(text, "dirty sync ") && !startsWith(text, "dirty sync 1:"))
        return "in precopy after " + std::string(text.substr(0, text.find_first_of(":,", 11)));
    if (startsWith(text, "switchover:"))
        return "during switchover";
    if (startsWith(text, "postcopy: the destination guest runs"))
        return "during postcopy";
    if (startsWith(text, "postcopy-paused"))
        return "while postcopy was paused";
    if (startsWith(text, "resume:"))
        return "while postcopy was recovering";
    return std::nullopt;
}

// What the run was doing at `timeMs`, from the milestones it logged.
std::string phaseAt(const std::vector<Event>& events, double timeMs) {
    std::string phase = "during setup";
    for (const Event& event : events) {
        if (event.timeMs > timeMs)
            break;
        if (auto next = milestone(event.text))
            phase = std::move(*next);
    }
    return phase;
}

// The recorded text of a cause, without the wrapping that only says where it was caught.
std::string causeText(const Event& event) {
    std::string text = event.text;
    if (startsWith(text, kDestinationFailed))
        text.erase(0, kDestinationFailed.size());
    return text;
}

struct Cause {
    double timeMs = 0;
    Side side = Side::Source;
    std::string what; // "an injected fault fired at the source: ...", "the destination failed: ..."
    std::string key;  // text that the errors reporting this same cause contain
};

std::optional<Cause> firstCause(const RunFacts& facts) {
    std::optional<Cause> first;
    const auto consider = [&first](double timeMs, Side side, std::string what, std::string key) {
        if (!first || timeMs < first->timeMs)
            first = Cause{timeMs, side, std::move(what), std::move(key)};
    };
    for (const Event& event : facts.events) {
        if (startsWith(event.text, kFaultFired)) {
            const std::string fault = event.text.substr(kFaultFired.size());
            consider(event.timeMs, event.side,
                     std::string("an injected fault fired at ") + sideName(event.side) + ": " +
                         fault,
                     fault);
            break;
        }
    }
    for (const DeviceTransition& transition : facts.transitions)
        if (!transition.ok) {
            // The device's error names its arc already ("RESUMING -> STOP failed (...)").
            const std::string error =
                transition.error.empty() ? arcText(transition) + " failed" : transition.error;
            consider(transition.timeMs, transition.side,
                     std::string(sideName(transition.side)) + "'s device " + transition.device +
                         " failed: " + error,
                     "device " + transition.device + ": " + error);
            break;
        }
    for (const Event& event : facts.events)
        if (event.level == EventLevel::Error) {
            consider(event.timeMs, event.side,
                     std::string(sideName(event.side)) + " failed: " + causeText(event),
                     causeText(event));
            break;
        }
    return first;
}

// The first error after the cause that is not the cause itself: what the failure led to.
std::string consequenceOf(const RunFacts& facts, const Cause& cause) {
    int more = 0;
    std::string said;
    for (const Event& event : facts.events) {
        if (event.level != EventLevel::Error || event.timeMs < cause.timeMs)
            continue;
        const std::string text = causeText(event);
        if (text.find(cause.key) != std::string::npos || cause.key.find(text) != std::string::npos)
            continue; // the cause itself, as a side reported it
        if (said.empty())
            said = std::string(sideName(event.side)) + " failed: " + text;
        else
            ++more;
    }
    if (said.empty())
        return {};
    if (more > 0)
        said += " (and " + std::to_string(more) + " more error" + (more > 1 ? "s" : "") + ")";
    return "Then " + said + ".";
}

std::string guestOutcome(const RunFacts& facts) {
    for (auto event = facts.events.rbegin(); event != facts.events.rend(); ++event)
        if (startsWith(event->text, "the source guest ") ||
            startsWith(event->text, "the migration ended during postcopy"))
            return capitalised(event->text) + ".";
    return {};
}

// An operator's pause that came before the cause set the stage for it: said first, so that
// the failure that followed is not read as the pause's own doing, nor the pause as a fault.
std::string operatorPauseBefore(const RunFacts& facts, double causeMs) {
    for (const Event& event : facts.events) {
        if (event.timeMs > causeMs)
            break;
        if (event.text.find("paused by the operator") != std::string::npos) {
            char at[32];
            std::snprintf(at, sizeof at, "%.1f s", event.timeMs / 1000.0);
            return std::string("The operator paused postcopy (migrate-pause) at ") + at + ".";
        }
    }
    return {};
}

std::string join(std::initializer_list<std::string> parts) {
    std::string sentence;
    for (const std::string& part : parts) {
        if (part.empty())
            continue;
        if (!sentence.empty())
            sentence += ' ';
        sentence += part;
    }
    return sentence;
}

} // namespace

std::string diagnose(const RunFacts& facts) {
    switch (facts.status) {
    case RunStatus::Active:
        return {};
    case RunStatus::Completed: {
        std::string sentence;
        if (facts.warnings.empty())
            sentence = "Completed; integrity " +
                       (facts.integrity.empty() ? std::string("not recorded") : facts.integrity) +
                       ".";
        else if (facts.warnings.size() == 1)
            sentence = "Completed with a warning: " + facts.warnings.front() + ".";
        else
            sentence = "Completed with " + std::to_string(facts.warnings.size()) +
                       " warnings; the first: " + facts.warnings.front() + ".";
        // A run that completed in spite of something says what it overcame.
        if (const std::optional<Cause> cause = firstCause(facts))
            sentence +=
                " On the way, " + phaseAt(facts.events, cause->timeMs) + ", " + cause->what + ".";
        const auto pauses =
            std::count_if(facts.events.begin(), facts.events.end(), [](const Event& event) {
                return event.side == Side::Source && startsWith(event.text, "postcopy-paused");
            });
        if (pauses > 0)
            sentence += " Postcopy paused " + std::to_string(pauses) + " time" +
                        (pauses > 1 ? "s" : "") + " and recovered.";
        return sentence;
    }
    case RunStatus::Cancelled: {
        double at = facts.events.empty() ? 0 : facts.events.back().timeMs;
        for (const Event& event : facts.events)
            if (event.text.find("cancel") != std::string::npos) {
                at = event.timeMs;
                break;
            }
        const std::string why =
            facts.errorDesc.empty() ? "Cancelled" : capitalised(facts.errorDesc);
        return join({why + " " + phaseAt(facts.events, at) + ".", guestOutcome(facts)});
    }
    case RunStatus::Interrupted: {
        const double last = facts.events.empty() ? 0 : facts.events.back().timeMs;
        return "The process running it ended " + phaseAt(facts.events, last) +
               " without finishing it; nothing after " + std::to_string(std::llround(last)) +
               " ms into the run is recorded.";
    }
    case RunStatus::Failed:
        break;
    }
    const std::optional<Cause> cause = firstCause(facts);
    if (!cause)
        return facts.errorDesc.empty() ? "Failed; no cause was recorded."
                                       : "Failed: " + facts.errorDesc + ".";
    return join({operatorPauseBefore(facts, cause->timeMs),
                 capitalised(phaseAt(facts.events, cause->timeMs)) + ", " + cause->what + ".",
                 consequenceOf(facts, *cause), guestOutcome(facts)});
}

std::vector<PhaseSpan> phasesOf(const std::vector<Event>& events, double endMs) {
    std::vector<PhaseSpan> phases{{"setup", 0, endMs}};
    for (const Event& event : events) {
        std::optional<std::string> next = milestone(event.text);
        if (!next || event.timeMs > endMs)
            continue;
        // "during bulk copy" -> "bulk copy", "in precopy after dirty sync 3" -> "dirty sync 3"
        std::string name = *next;
        for (const std::string_view lead : {"during ", "while ", "in precopy after "})
            if (startsWith(name, lead))
                name.erase(0, lead.size());
        if (name == phases.back().name)
            continue; // a milestone repeated (every resume attempt) does not start a new phase
        phases.back().endMs = event.timeMs;
        phases.push_back({std::move(name), event.timeMs, endMs});
    }
    return phases;
}

std::optional<double> firstCauseTimeMs(const RunFacts& facts) {
    const std::optional<Cause> cause = firstCause(facts);
    return cause ? std::optional<double>(cause->timeMs) : std::nullopt;
}

std::string diagnose(const TelemetrySnapshot& final) {
    RunFacts facts{RunStatus::Active, final.errorDesc, final.integrity,
                   final.warnings,    final.events,    final.transitions};
    switch (final.status) {
    case MigrationStatus::Completed:
        facts.status = RunStatus::Completed;
        break;
    case MigrationStatus::Failed:
        facts.status = RunStatus::Failed;
        break;
    case MigrationStatus::Cancelled:
        facts.status = RunStatus::Cancelled;
        break;
    default:
        break;
    }
    return diagnose(facts);
}

} // namespace migrascope
