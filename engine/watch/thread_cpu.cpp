#include "engine/watch/thread_cpu.h"

#include <dirent.h>
#include <fstream>
#include <memory>
#include <sstream>
#include <unistd.h>

namespace migrascope::watch {
namespace {

std::string firstLine(const std::string& path) {
    std::ifstream file(path);
    std::string line;
    std::getline(file, line);
    return line;
}

// utime and stime, fields 14 and 15 of stat; the name (field 2) may hold spaces and
// parentheses, so counting starts after its last ')'.
double cpuSecondsFromStat(const std::string& stat) {
    const auto nameEnd = stat.rfind(')');
    if (nameEnd == std::string::npos)
        return 0;
    std::istringstream fields(stat.substr(nameEnd + 1));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    // After the name: state is field 3, so utime (14) is the 12th token.
    for (int index = 3; index <= 15 && fields >> field; ++index) {
        if (index == 14)
            utime = std::stoull(field);
        else if (index == 15)
            stime = std::stoull(field);
    }
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

} // namespace

std::vector<ThreadCpu> threadsOf(pid_t pid) {
    std::vector<ThreadCpu> threads;
    const std::string folder = "/proc/" + std::to_string(pid) + "/task";
    std::unique_ptr<DIR, int (*)(DIR*)> directory(::opendir(folder.c_str()), ::closedir);
    if (!directory)
        return threads;
    while (const dirent* entry = ::readdir(directory.get())) {
        if (entry->d_name[0] == '.')
            continue;
        const std::string task = folder + "/" + entry->d_name;
        const std::string stat = firstLine(task + "/stat");
        if (stat.empty())
            continue; // the thread ended meanwhile
        ThreadCpu thread;
        thread.tid = static_cast<pid_t>(std::stol(entry->d_name));
        thread.name = firstLine(task + "/comm");
        thread.cpuSeconds = cpuSecondsFromStat(stat);
        threads.push_back(std::move(thread));
    }
    return threads;
}

} // namespace migrascope::watch
