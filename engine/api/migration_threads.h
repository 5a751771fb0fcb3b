// The threads of this process that work for a migration's source, as QEMU's
// query-migrationthreads lists its own (QEMU 8.0 and later): the migration thread
// ("live_migration") and one sender per multifd channel ("multifdsend_N"). The QMP server
// answers the command from here, so a watch of a Migrascope run sees the same as of a QEMU.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace migrascope {

struct MigrationThreadInfo {
    std::string name;
    pid_t threadId = 0; // the kernel's thread id (/proc/PID/task/TID)
};

std::vector<MigrationThreadInfo> migrationThreads();

} // namespace migrascope
