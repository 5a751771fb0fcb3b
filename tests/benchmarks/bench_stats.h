// Shared reporting for benchmarks. This VM shows 6-50% CPU steal, so wall-clock rates are
// reported as median and best of several runs, next to CPU time per GiB, which steal does
// not distort.
#pragma once

#include <algorithm>
#include <cstdio>
#include <sys/resource.h>
#include <vector>

namespace migrascope::bench {

inline double cpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Summary {
    std::vector<double> rates; // GiB/s, one per repetition
    std::vector<double> cpuPerGib;

    void print(const char* label) const {
        auto sorted = rates;
        std::sort(sorted.begin(), sorted.end());
        auto cpu = cpuPerGib;
        std::sort(cpu.begin(), cpu.end());
        std::printf("%-46s median %5.2f GiB/s  best %5.2f GiB/s  CPU %5.2f s/GiB (%zu runs)\n",
                    label, sorted[sorted.size() / 2], sorted.back(), cpu[cpu.size() / 2],
                    sorted.size());
    }
};

} // namespace migrascope::bench
