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

inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

struct Summary {
    std::vector<double> rates; // GiB/s, one per repetition
    std::vector<double> cpuPerGib;

    double medianRate() const { return median(rates); }
    double medianCpuPerGib() const { return median(cpuPerGib); }

    void print(const char* label) const {
        std::printf("%-46s median %5.2f GiB/s  best %5.2f GiB/s  CPU %5.2f s/GiB (%zu runs)\n",
                    label, medianRate(), *std::max_element(rates.begin(), rates.end()),
                    medianCpuPerGib(), rates.size());
    }
};

} // namespace migrascope::bench
