#include "engine/telemetry/kernel_tcp_reader.h"

#include "engine/telemetry/telemetry.h"
#include "engine/transport/socket_diag.h"

namespace migrascope {

KernelTcpReader::KernelTcpReader() = default;
KernelTcpReader::~KernelTcpReader() = default;

void KernelTcpReader::update(Telemetry& telemetry) {
    if (failed_)
        return;
    try {
        if (!lookup_)
            lookup_ = std::make_unique<TcpInfoLookup>();
        for (ChannelCounters* counters : telemetry.channels()) {
            const auto id = counters->socket();
            if (!id)
                continue;
            if (const auto view = lookup_->find(*id))
                counters->setKernelView(*view, id->cookie,
                                        ChannelCounters::KernelViewKind::Sampled);
        }
    } catch (const std::exception& error) {
        failed_ = true;
        telemetry.event(EventLevel::Warning, Side::Source,
                        std::string("the kernel's TCP counters cannot be read: ") + error.what());
    }
}

} // namespace migrascope
