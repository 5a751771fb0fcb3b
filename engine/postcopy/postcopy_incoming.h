// The destination's postcopy while its guest already runs: which pages are here, the guest's
// faults on those that are not (QEMU: userfaultfd and the fault thread), the page requests
// those faults send, and each page's hash as it arrived, taken just before the guest first
// writes it, so that the integrity check still compares what the source sent.
#pragma once

#include "engine/memory/guest.h"
#include "engine/memory/page_bitmap.h"
#include "engine/telemetry/telemetry.h"
#include "engine/wire/return_path.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace migrascope {

// One bit per page, set when the page's final content is in guest RAM (QEMU's receivedmap).
using ReceivedMap = std::vector<AtomicPageBitmap>; // one per RAM block

class PostcopyIncoming : public PageAccessGate {
public:
    PostcopyIncoming(Guest& guest, ReceivedMap& received, Telemetry& telemetry);

    // The guest's workload thread: waits until the page is here, asking the source for it.
    bool beforeWrite(std::size_t block, std::uint64_t page) override;
    void interrupt() override;

    // The loader, for each arriving page: false if it is already here (requested and also
    // pushed): the copy must be dropped, the guest may have written the page since.
    bool isReceived(std::size_t block, std::uint64_t page) const;
    void arrived(std::size_t block, std::uint64_t page);

    // The return path to ask on. attach() sends every request still unanswered (QEMU's
    // migrate_send_rp_req_pages_pending); while detached (paused) requests wait.
    void attach(ReturnPathSender& sender);
    // Detaches `sender` if it is the one attached; waits for a request being sent on it.
    void detach(ReturnPathSender& sender);

    std::uint64_t missingPages() const;
    // Every page's hash as the source sent it; every page must be here.
    PageHashes arrivalHashes();

private:
    using PageKey = std::pair<std::size_t, std::uint64_t>;
    void capture(std::size_t block, std::uint64_t page);

    Guest& guest_;
    ReceivedMap& received_;
    Telemetry& telemetry_;

    std::mutex mutex_; // guards pending_ and interrupted_
    std::condition_variable arrivedCondition_;
    bool interrupted_ = false;
    std::map<PageKey, std::chrono::steady_clock::time_point> pending_; // asked, not here

    std::mutex senderMutex_; // held while a request is sent; never while holding mutex_
    ReturnPathSender* sender_ = nullptr;

    // A page is hashed once, by whoever is first: the guest about to write it, or the final
    // digest. Striped locks keep the two from hashing a page the other is changing.
    std::array<std::mutex, 64> stripes_;
    PageHashes hashes_;
    std::vector<std::vector<std::uint8_t>> captured_;
};

} // namespace migrascope
