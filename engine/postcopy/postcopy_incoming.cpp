#include "engine/postcopy/postcopy_incoming.h"

namespace migrascope {

PostcopyIncoming::PostcopyIncoming(Guest& guest, ReceivedMap& received, Telemetry& telemetry)
    : guest_(guest), received_(received), telemetry_(telemetry) {
    for (const auto& block : guest_.blocks()) {
        hashes_.emplace_back(block->pageCount(), 0);
        captured_.emplace_back(block->pageCount(), 0);
    }
}

bool PostcopyIncoming::isReceived(std::size_t block, std::uint64_t page) const {
    return received_[block].test(page, std::memory_order_acquire);
}

void PostcopyIncoming::capture(std::size_t block, std::uint64_t page) {
    std::lock_guard lock(stripes_[page % stripes_.size()]);
    if (captured_[block][page])
        return;
    hashes_[block][page] = hashPage(guest_.blocks()[block]->data() + page * kPageSize);
    captured_[block][page] = 1;
}

bool PostcopyIncoming::beforeWrite(std::size_t block, std::uint64_t page) {
    if (!isReceived(block, page)) {
        bool ask = false;
        {
            std::lock_guard lock(mutex_);
            if (interrupted_)
                return false;
            if (!isReceived(block, page) && !pending_.count({block, page})) {
                pending_.emplace(PageKey{block, page}, std::chrono::steady_clock::now());
                ask = true;
            }
        }
        if (ask) {
            telemetry_.pageRequested();
            std::lock_guard lock(senderMutex_);
            if (sender_) {
                try {
                    sender_->requestPage(guest_.blocks()[block]->name(), page * kPageSize,
                                         static_cast<std::uint32_t>(kPageSize));
                } catch (const std::exception&) {
                    // The connection broke: the request stays pending and goes out again
                    // when a resumed connection attaches.
                }
            }
        }
        std::unique_lock lock(mutex_);
        arrivedCondition_.wait(lock, [&] { return isReceived(block, page) || interrupted_; });
        if (!isReceived(block, page))
            return false;
    }
    capture(block, page);
    return true;
}

void PostcopyIncoming::interrupt() {
    {
        std::lock_guard lock(mutex_);
        interrupted_ = true;
    }
    arrivedCondition_.notify_all();
}

void PostcopyIncoming::arrived(std::size_t block, std::uint64_t page) {
    received_[block].set(page, std::memory_order_release);
    std::unique_lock lock(mutex_);
    const auto request = pending_.find({block, page});
    if (request == pending_.end())
        return;
    const double latencyMs = std::chrono::duration<double, std::milli>(
                                 std::chrono::steady_clock::now() - request->second)
                                 .count();
    pending_.erase(request);
    lock.unlock();
    arrivedCondition_.notify_all();
    telemetry_.pageRequestServed(latencyMs);
}

void PostcopyIncoming::attach(ReturnPathSender& sender) {
    std::lock_guard senderLock(senderMutex_);
    sender_ = &sender;
    std::vector<PageKey> waiting;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, since] : pending_)
            waiting.push_back(key);
    }
    for (const auto& [block, page] : waiting)
        sender.requestPage(guest_.blocks()[block]->name(), page * kPageSize,
                           static_cast<std::uint32_t>(kPageSize));
}

void PostcopyIncoming::detach(ReturnPathSender& sender) {
    std::lock_guard lock(senderMutex_);
    if (sender_ == &sender)
        sender_ = nullptr;
}

std::uint64_t PostcopyIncoming::missingPages() const {
    std::uint64_t missing = 0;
    for (const auto& received : received_)
        missing += received.countClear();
    return missing;
}

PageHashes PostcopyIncoming::arrivalHashes() {
    PageHashes hashes;
    for (std::size_t b = 0; b < hashes_.size(); ++b) {
        hashes.emplace_back(hashes_[b].size());
        for (std::uint64_t page = 0; page < hashes_[b].size(); ++page) {
            capture(b, page);
            std::lock_guard lock(stripes_[page % stripes_.size()]);
            hashes[b][page] = hashes_[b][page];
        }
    }
    return hashes;
}

} // namespace migrascope
