// The source's side of "a destination". The source dials the endpoint's address; everything
// else it learns of the destination comes through here: its status and verdict, its first
// cause, and its own view of the migration (its telemetry), which the run merges into the
// one snapshot readers see. The in-process destination is one implementation; a destination
// daemon on another host is the next.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace migrascope {

class Guest;

class DestinationEndpoint {
public:
    virtual ~DestinationEndpoint() = default;

    // Ready for the source's channels once this returns; throws when it cannot be.
    virtual void start() = 0;
    virtual std::string host() const = 0;
    virtual std::uint16_t port() const = 0;

    virtual MigrationStatus status() const = 0;
    // Waits for the verdict (completed or failed); false when the time ran out first.
    virtual bool waitForVerdict(std::chrono::milliseconds timeout) const = 0;
    // Why it failed ("" when it did not), and why it turned away its first connection.
    virtual std::string error() const = 0;
    virtual std::string firstRejection() const = 0;
    // migrate-recover: a paused postcopy takes the source's resume. "" or why not.
    virtual std::string recover() = 0;
    // The source is about to cancel: the streams that end early are its doing, not faults.
    // A remote destination learns nothing (QEMU's source says nothing either).
    virtual void noteSourceCancelled() {}
    // The source is about to shut its main channel in postcopy, and why (Paused, Network):
    // the end the destination sees is that, not a stream fault. A remote one learns nothing.
    virtual void noteSourceInterrupting(Termination) {}
    // Ends its connections and joins its threads. Idempotent.
    virtual void stop() = 0;
    // After a failed postcopy, the guest that started there is discarded. After stop().
    virtual void discardGuest() = 0;

    // Its own telemetry: status, channels as their receiver saw them, devices, postcopy page
    // requests and events (only those at or after `eventCursor`).
    virtual TelemetrySnapshot view(std::size_t eventCursor) const = 0;
    // The incoming guest where it is in this process (tests check its memory); else nullptr.
    virtual Guest* localGuest() { return nullptr; }
};

} // namespace migrascope
