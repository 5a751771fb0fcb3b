// max-bandwidth: a token bucket shared by every channel of a migration.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace migrascope {

class RateLimiter {
public:
    explicit RateLimiter(std::uint64_t bytesPerSecond) : rate_(bytesPerSecond) {}
    // Waits until `bytes` may go. Returns false once cancel() was called.
    bool acquire(std::uint64_t bytes);
    void cancel();
    // migrate-set-parameters max-bandwidth while the migration runs; waiters see the new rate
    // at once. 0 = unlimited.
    void setRate(std::uint64_t bytesPerSecond);

private:
    using Clock = std::chrono::steady_clock;
    std::uint64_t rate_; // 0 = unlimited
    std::mutex mutex_;
    std::condition_variable wake_;
    bool cancelled_ = false;
    bool started_ = false;
    double tokens_ = 0;
    Clock::time_point last_;
};

} // namespace migrascope
