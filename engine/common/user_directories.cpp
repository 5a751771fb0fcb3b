#include "engine/common/user_directories.h"

#include <cstdlib>
#include <pwd.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace migrascope {
namespace {

std::filesystem::path homeDirectory() {
    if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0')
        return home;
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    const int rc = ::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found);
    if (rc == 0 && found != nullptr && found->pw_dir != nullptr && found->pw_dir[0] != '\0')
        return found->pw_dir;
    throw std::runtime_error("cannot find the home directory: HOME is unset and user " +
                             std::to_string(::getuid()) + " has no passwd entry");
}

std::filesystem::path xdgDirectory(const char* variable, const std::filesystem::path& fallback) {
    const char* value = std::getenv(variable);
    return value != nullptr && value[0] == '/' ? std::filesystem::path(value)
                                               : homeDirectory() / fallback;
}

} // namespace

std::filesystem::path userConfigHome() {
    return xdgDirectory("XDG_CONFIG_HOME", ".config");
}

std::filesystem::path userDataHome() {
    return xdgDirectory("XDG_DATA_HOME", std::filesystem::path(".local") / "share");
}

} // namespace migrascope
