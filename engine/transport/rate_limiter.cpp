#include "engine/transport/rate_limiter.h"

#include <algorithm>

namespace migrascope {

bool RateLimiter::acquire(std::uint64_t bytes) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (cancelled_)
            return false;
        if (rate_ == 0)
            return true;
        // Bursts are capped at 10 ms worth, so an idle moment does not buy a spike on the plot.
        const double burst =
            std::max<double>(static_cast<double>(rate_) / 100, static_cast<double>(bytes));
        const auto now = Clock::now();
        if (!started_) {
            started_ = true;
            last_ = now;
            tokens_ = static_cast<double>(bytes);
        }
        tokens_ = std::min(burst, tokens_ + std::chrono::duration<double>(now - last_).count() *
                                                static_cast<double>(rate_));
        last_ = now;
        if (tokens_ >= static_cast<double>(bytes)) {
            tokens_ -= static_cast<double>(bytes);
            return true;
        }
        const double wait = (static_cast<double>(bytes) - tokens_) / static_cast<double>(rate_);
        wake_.wait_for(lock, std::chrono::duration<double>(wait));
    }
}

void RateLimiter::setRate(std::uint64_t bytesPerSecond) {
    {
        std::lock_guard lock(mutex_);
        rate_ = bytesPerSecond;
        started_ = false; // the bucket starts again at the new rate
    }
    wake_.notify_all();
}

void RateLimiter::cancel() {
    {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
    }
    wake_.notify_all();
}

} // namespace migrascope
