// The CPU time each thread of another process has used, from /proc/PID/task/TID/stat.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace migrascope::watch {

struct ThreadCpu {
    pid_t tid = 0;
    std::string name;      // /proc/PID/task/TID/comm: QEMU names its threads only with
                           // -name ...,debug-threads=on ("live_migration", "multifdsend_0")
    double cpuSeconds = 0; // user + system since the thread started
};

// Every thread of `pid`; empty when the process is gone.
std::vector<ThreadCpu> threadsOf(pid_t pid);

} // namespace migrascope::watch
