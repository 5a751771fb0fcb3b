// The guest being migrated: RAM blocks of real memory, a dirty log, and a workload that
// writes pages while the guest runs (think stress-ng --vm).
#pragma once

#include "engine/api/migration_config.h"
#include "engine/memory/page_bitmap.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace migrascope {

class RamBlock {
public:
    RamBlock(std::string name, std::uint64_t size);
    ~RamBlock();
    RamBlock(const RamBlock&) = delete;
    RamBlock& operator=(const RamBlock&) = delete;

    const std::string& name() const { return name_; }
    std::uint64_t size() const { return size_; }
    std::uint64_t pageCount() const { return size_ / kPageSize; }
    std::uint8_t* data() { return data_; }
    const std::uint8_t* data() const { return data_; }

    void markDirty(std::uint64_t page) { dirty_.set(page, std::memory_order_release); }
    // ORs the guest's dirty log into `into` and clears the log.
    void harvestDirty(PageBitmap& into) { dirty_.harvestInto(into); }

private:
    std::string name_;
    std::uint64_t size_;
    std::uint8_t* data_ = nullptr;
    AtomicPageBitmap dirty_;
};

// The RAM digest is XXH3-128 over every block's name, size and the XXH3-64 of each page.
// Hashing page by page lets a postcopy destination, whose guest already runs, hash a page
// the moment before its guest first writes it. XXH3 is fast enough for several GiB inside
// the downtime window, and a non-cryptographic hash suffices to catch a lost or torn page.
using Digest = std::array<std::uint8_t, 16>;
using PageHashes = std::vector<std::vector<std::uint64_t>>; // [block][page]
std::string toHex(const Digest& digest);
std::uint64_t hashPage(const std::uint8_t* page);
// hashPage() of a page of zeros, which travels as a flag and is never read to be hashed.
std::uint64_t zeroPageHash();
// One hash slot per page of each block, all zero.
PageHashes emptyPageHashes(const std::vector<std::unique_ptr<class RamBlock>>& blocks);
// A page of zeros travels as a flag, not as data (QEMU's buffer_is_zero).
bool isZeroPage(const std::uint8_t* page);

// The guest's page faults during postcopy (QEMU: userfaultfd and the fault thread). The
// workload asks before it writes a page and waits while that page has not arrived.
class PageAccessGate {
public:
    virtual ~PageAccessGate() = default;
    // The workload thread, before every write. False: give the write up (shutting down).
    virtual bool beforeWrite(std::size_t block, std::uint64_t page) = 0;
    // Any thread: wakes a workload waiting in beforeWrite() for good.
    virtual void interrupt() = 0;
};

class Guest {
public:
    struct BlockLayout {
        std::string name;
        std::uint64_t size;
    };
    // The blocks a guest of this RAM size has: its RAM, plus video RAM as a real guest has.
    static std::vector<BlockLayout> layoutFor(std::uint64_t ramSize);

    // A source guest gets content (pages of self-checking data, some left zero); a
    // destination guest starts zeroed and is filled by the migration.
    enum class Content { Booted, Empty };
    Guest(const std::vector<BlockLayout>& layout, const GuestConfig& config, Content content);
    ~Guest();
    Guest(const Guest&) = delete;
    Guest& operator=(const Guest&) = delete;

    std::vector<std::unique_ptr<RamBlock>>& blocks() { return blocks_; }
    const std::vector<std::unique_ptr<RamBlock>>& blocks() const { return blocks_; }
    RamBlock* findBlock(const std::string& name);
    std::uint64_t totalBytes() const;

    // Both before start(): the workload's rate, and the postcopy fault gate (nullptr = none).
    void setDirtyRate(std::uint64_t bytesPerSecond) { config_.dirtyRate = bytesPerSecond; }
    void setPageGate(PageAccessGate* gate) { gate_ = gate; }
    // auto-converge: the vCPUs run only (100 - percent) % of the time, so the workload
    // dirties that much less. Any thread, any time; 0 lifts it.
    void setThrottle(unsigned percent) { throttle_.store(percent, std::memory_order_relaxed); }
    unsigned throttle() const { return throttle_.load(std::memory_order_relaxed); }
    // A trainer's slow motion: the workload dirties 1/`divisor` of its rate. Any thread.
    void setSlowdown(unsigned divisor) {
        slowdown_.store(std::max(1u, divisor), std::memory_order_relaxed);
    }

    // Starts the vCPUs (the workload thread). Idempotent.
    void start();
    // Stops the vCPUs: the workload thread is joined before this returns. Idempotent.
    void stop();
    bool running() const { return running_; }
    std::uint64_t pagesWritten() const { return pagesWritten_.load(std::memory_order_relaxed); }

    // Both require the guest to be stopped.
    // Pages whose content does not match their own header: > 0 means the RAM was corrupted.
    std::uint64_t countCorruptPages() const;
    Digest digest() const;
    PageHashes pageHashes() const;
    Digest digestOf(const PageHashes& hashes) const;

private:
    void runWorkload();
    void writePage(std::size_t block, std::uint64_t page, std::uint64_t generation);

    GuestConfig config_;
    std::vector<std::unique_ptr<RamBlock>> blocks_;
    bool running_ = false; // touched only by the owner's thread
    PageAccessGate* gate_ = nullptr;

    std::thread workload_;
    std::mutex stopMutex_;
    std::condition_variable stopCondition_;
    bool stopRequested_ = false;
    std::atomic<bool> stopping_{false}; // stopRequested_, for the workload's inner loop
    std::atomic<unsigned> throttle_{0};
    std::atomic<unsigned> slowdown_{1};
    std::atomic<std::uint64_t> pagesWritten_{0};
    std::uint64_t generation_ = 1;
};

} // namespace migrascope
