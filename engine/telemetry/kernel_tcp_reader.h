// The kernel's view of each channel's TCP connection (tcp_info: bytes acked, RTT,
// retransmits), read beside our own counters so that a reader can check them against an
// independent measure. While a channel is open the sampler asks the kernel's socket
// diagnostics for its socket, one exact lookup by its addresses and SO_COOKIE; once the
// migration is over (or has failed) the source reads each socket's last tcp_info itself
// (Connection::recordKernelView). One thread at a time uses an instance.
#pragma once

#include <memory>

namespace migrascope {

class Telemetry;

class TcpInfoLookup;

class KernelTcpReader {
public:
    KernelTcpReader();
    ~KernelTcpReader();
    // Reads the kernel's counters of every open channel of `telemetry` whose socket is known.
    void update(Telemetry& telemetry);

private:
    std::unique_ptr<TcpInfoLookup> lookup_; // one netlink socket for the run
    bool failed_ = false;                   // the kernel refused once: do not ask every sample
};

} // namespace migrascope
