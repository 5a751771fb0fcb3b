#include "engine/common/migration_threads.h"

#include <algorithm>
#include <mutex>
#include <pthread.h>
#include <unistd.h>

namespace migrascope {
namespace {

struct Registry {
    std::mutex mutex;
    std::vector<MigrationThreadInfo> threads;
};

Registry& registry() {
    static Registry instance;
    return instance;
}

} // namespace

MigrationThreadName::MigrationThreadName(std::string name) : threadId_(gettid()) {
    // The kernel keeps 15 characters of a thread's name.
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.threads.push_back({std::move(name), threadId_});
}

MigrationThreadName::~MigrationThreadName() {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    std::erase_if(r.threads,
                  [this](const MigrationThreadInfo& info) { return info.threadId == threadId_; });
}

std::vector<MigrationThreadInfo> migrationThreads() {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    return r.threads;
}

} // namespace migrascope
