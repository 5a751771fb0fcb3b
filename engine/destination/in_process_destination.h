// The destination in the source's own process: a MigrationDestination on a loopback port,
// with its own telemetry, exactly as a destination host would keep it.
#pragma once

#include "engine/destination/destination_endpoint.h"
#include "engine/destination/migration_destination.h"
#include "engine/telemetry/telemetry.h"

namespace migrascope {

class InProcessDestination final : public DestinationEndpoint {
public:
    // `clockStart`: the source's telemetry start, so both views share one time axis.
    InProcessDestination(MigrationDestination::Options options,
                         std::chrono::steady_clock::time_point clockStart);

    void start() override;
    std::string host() const override { return host_; }
    std::uint16_t port() const override { return destination_.port(); }
    MigrationStatus status() const override { return telemetry_.status(); }
    bool waitForVerdict(std::chrono::milliseconds timeout) const override;
    std::string error() const override { return destination_.error(); }
    std::string firstRejection() const override { return destination_.firstRejection(); }
    std::string recover() override { return destination_.recover(); }
    void noteSourceCancelled() override { destination_.noteSourceCancelled(); }
    void noteSourceInterrupting(Termination how) override {
        destination_.noteSourceInterrupting(how);
    }
    void stop() override { destination_.stop(); }
    void discardGuest() override { destination_.stopGuest(); }
    TelemetrySnapshot view(std::size_t eventCursor) const override;
    Guest* localGuest() override { return destination_.guest(); }

private:
    std::string host_;
    Telemetry telemetry_; // declared before the destination, which writes to it
    MigrationDestination destination_;
};

} // namespace migrascope
