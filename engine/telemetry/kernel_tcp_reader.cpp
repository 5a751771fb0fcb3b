#include "engine/telemetry/kernel_tcp_reader.h"

#include "engine/telemetry/telemetry.h"
#include "engine/transport/socket_diag.h"

#include <map>

namespace migrascope {

void KernelTcpReader::update(Telemetry& telemetry) {
    if (failed_)
        return;
    std::map<std::uint64_t, TcpKernelView> live;
    try {
        for (const auto& socket : dumpTcpSockets())
            if (socket.info)
                live[socket.cookie] = *socket.info;
    } catch (const std::exception& error) {
        failed_ = true;
        telemetry.event(EventLevel::Warning, Side::Source,
                        std::string("the kernel's TCP counters cannot be read: ") + error.what());
        return;
    }
    for (ChannelCounters* counters : telemetry.channels()) {
        const std::uint64_t cookie = counters->socketCookie.load();
        if (const auto found = live.find(cookie); found != live.end())
            counters->setKernelView(found->second, cookie,
                                    ChannelCounters::KernelViewKind::Sampled);
    }
}

} // namespace migrascope
