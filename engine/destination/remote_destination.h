// A destination daemon on another host (migrascope --incoming), as the source reaches it: an
// address to dial, and what its return path has said. Its verdict is its SHUT; its view (its
// status, its channels as it received them, its device arcs, its history record) is what it
// reported in Migrascope's own return-path messages. Its events stay in its own history.
#pragma once

#include "engine/destination/destination_endpoint.h"

namespace migrascope {

class Telemetry;

class RemoteDestination final : public DestinationEndpoint {
public:
    // `source`: the source's telemetry, where the return path's messages are recorded.
    RemoteDestination(std::string host, std::uint16_t port, const Telemetry& source)
        : host_(std::move(host)), port_(port), source_(source) {}

    void start() override {}
    std::string host() const override { return host_; }
    std::uint16_t port() const override { return port_; }
    // Completed or failed once its SHUT arrived; None (unknown) before.
    MigrationStatus status() const override;
    // Its SHUT arrives before the source returns: nothing more to wait for here.
    bool waitForVerdict(std::chrono::milliseconds) const override { return true; }
    // Its own words for its failure, as it reported them ("" before it did).
    std::string error() const override;
    std::string firstRejection() const override { return {}; }
    // A daemon arms a paused postcopy for its source by itself.
    std::string recover() override { return {}; }
    void stop() override {}
    void discardGuest() override {}
    TelemetrySnapshot view(std::size_t eventCursor) const override;

private:
    std::string host_;
    std::uint16_t port_;
    const Telemetry& source_;
};

} // namespace migrascope
