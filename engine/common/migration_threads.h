// Registers the calling thread under QEMU's name for it while the object lives, and gives the
// thread that name in /proc (pthread_setname_np), as QEMU's debug-threads=on does.
#pragma once

#include "engine/api/migration_threads.h"

namespace migrascope {

class MigrationThreadName {
public:
    explicit MigrationThreadName(std::string name);
    ~MigrationThreadName();
    MigrationThreadName(const MigrationThreadName&) = delete;
    MigrationThreadName& operator=(const MigrationThreadName&) = delete;

private:
    pid_t threadId_;
};

} // namespace migrascope
