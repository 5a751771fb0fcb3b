#include "engine/memory/guest.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif

namespace migrascope {
namespace {

constexpr std::size_t kHugePageSize = 2 << 20; // x86-64 transparent huge page

constexpr std::uint64_t kPageMagic = 0x4d49475343415045ull; // "MIGSCAPE"

std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Page content is a pure function of (block, page, generation), so any page can be checked
// on its own: a torn or misplaced page shows up without keeping a copy of the RAM.
// These writes are the guest vCPU's. A vCPU races with the migration threads that read its
// RAM, in every hypervisor; the dirty log resolves that race (a page written after it was
// harvested is sent again, and the last round runs with the vCPU joined), and the integrity
// digest proves it. So ThreadSanitizer does not see the vCPU's writes, and every other
// access to guest RAM stays checked.
__attribute__((no_sanitize("thread"))) void fillPage(std::uint8_t* page, std::uint64_t identity,
                                                     std::uint64_t generation) {
    auto* words = reinterpret_cast<std::uint64_t*>(page);
    words[0] = kPageMagic;
    words[1] = identity;
    words[2] = generation;
    std::uint64_t state = identity * 0x100000001b3ull ^ generation;
    for (std::size_t i = 3; i < kPageSize / 8; ++i)
        words[i] = splitmix(state);
}

bool pageIsConsistent(const std::uint8_t* page, std::uint64_t identity) {
    const auto* words = reinterpret_cast<const std::uint64_t*>(page);
    if (words[0] != kPageMagic) {
        for (std::size_t i = 0; i < kPageSize / 8; ++i)
            if (words[i] != 0)
                return false;
        return true; // a page the guest never wrote
    }
    if (words[1] != identity)
        return false;
    std::uint64_t state = identity * 0x100000001b3ull ^ words[2];
    for (std::size_t i = 3; i < kPageSize / 8; ++i)
        if (words[i] != splitmix(state))
            return false;
    return true;
}

std::uint64_t pageIdentity(std::size_t block, std::uint64_t page) {
    return (std::uint64_t{block} << 48) | page;
}

} // namespace

RamBlock::RamBlock(std::string name, std::uint64_t size)
    : name_(std::move(name)), size_(size), dirty_(size / kPageSize) {
    if (size == 0 || size % kPageSize != 0)
        throw std::invalid_argument("RAM block '" + name_ + "' size " + std::to_string(size) +
                                    " is not a positive multiple of the 4 KiB page size");
    // Anonymous mappings read as zero until written, like a freshly booted guest's RAM. As
    // QEMU does for guest RAM, the block is aligned to and advised for transparent huge
    // pages: first touches (booting, and every page a destination receives) fault 512 times
    // less often.
    const std::size_t mapped = size + kHugePageSize;
    void* memory =
        mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        throw std::runtime_error("cannot allocate " + formatBytes(static_cast<double>(size)) +
                                 " for RAM block '" + name_ + "': " + std::strerror(errno));
    const auto start = reinterpret_cast<std::uintptr_t>(memory);
    const std::uintptr_t aligned = (start + kHugePageSize - 1) & ~(kHugePageSize - 1);
    if (aligned > start)
        munmap(memory, aligned - start);
    if (const std::size_t tail = start + mapped - (aligned + size); tail > 0)
        munmap(reinterpret_cast<void*>(aligned + size), tail);
    data_ = reinterpret_cast<std::uint8_t*>(aligned);
    madvise(data_, size, MADV_HUGEPAGE); // advice only: without THP the block still works
}

RamBlock::~RamBlock() {
    munmap(data_, size_);
}

std::string toHex(const Digest& digest) {
    static const char* const hex = "0123456789abcdef";
    std::string text;
    for (auto byte : digest) {
        text += hex[byte >> 4];
        text += hex[byte & 15];
    }
    return text;
}

std::vector<Guest::BlockLayout> Guest::layoutFor(std::uint64_t ramSize) {
    return {{"pc.ram", ramSize}, {"vga.vram", 8ull << 20}};
}

Guest::Guest(const std::vector<BlockLayout>& layout, const GuestConfig& config, Content content)
    : config_(config) {
    for (const auto& block : layout)
        blocks_.push_back(std::make_unique<RamBlock>(block.name, block.size));
    if (content == Content::Empty)
        return;
    // Mixed, a booted guest: three pages in four hold data, the rest are still zero, so both
    // the normal and the zero-page paths carry real traffic.
    if (config.content == GuestContent::Zero)
        return;
    std::uint64_t state = config.seed;
    for (std::size_t b = 0; b < blocks_.size(); ++b)
        for (std::uint64_t page = 0; page < blocks_[b]->pageCount(); ++page)
            if (config.content == GuestContent::Random || splitmix(state) % 4 != 0)
                fillPage(blocks_[b]->data() + page * kPageSize, pageIdentity(b, page), 0);
}

Guest::~Guest() {
    stop();
}

RamBlock* Guest::findBlock(const std::string& name) {
    for (auto& block : blocks_)
        if (block->name() == name)
            return block.get();
    return nullptr;
}

std::uint64_t Guest::totalBytes() const {
    std::uint64_t total = 0;
    for (const auto& block : blocks_)
        total += block->size();
    return total;
}

void Guest::start() {
    if (running_)
        return;
    running_ = true;
    if (config_.dirtyRate == 0)
        return;
    {
        std::lock_guard lock(stopMutex_);
        stopRequested_ = false;
    }
    stopping_.store(false, std::memory_order_relaxed);
    workload_ = std::thread([this] { runWorkload(); });
}

void Guest::stop() {
    if (!running_)
        return;
    if (gate_)
        gate_->interrupt();
    stopping_.store(true, std::memory_order_relaxed);
    {
        std::lock_guard lock(stopMutex_);
        stopRequested_ = true;
    }
    stopCondition_.notify_all();
    if (workload_.joinable())
        workload_.join();
    running_ = false;
}

void Guest::writePage(std::size_t block, std::uint64_t page, std::uint64_t generation) {
    fillPage(blocks_[block]->data() + page * kPageSize, pageIdentity(block, page), generation);
    blocks_[block]->markDirty(page);
}

void Guest::runWorkload() {
    using Clock = std::chrono::steady_clock;
    constexpr auto kSlice = std::chrono::milliseconds(10);
    std::uint64_t state = config_.seed * 7919ull + generation_;
    const std::uint64_t pagesPerSecond = std::max<std::uint64_t>(1, config_.dirtyRate / kPageSize);
    const std::size_t hotBlock = 0;
    const std::uint64_t hotPages = blocks_[hotBlock]->pageCount();
    auto sliceStart = Clock::now();
    double budget = 0;
    std::unique_lock lock(stopMutex_);
    while (!stopRequested_) {
        lock.unlock();
        const auto now = Clock::now();
        const double running =
            (100.0 - std::min(99u, throttle())) / 100 / slowdown_.load(std::memory_order_relaxed);
        budget +=
            std::chrono::duration<double>(now - sliceStart).count() * pagesPerSecond * running;
        sliceStart = now;
        // A vCPU that waited for a page does not catch up in one burst afterwards.
        budget = std::min(budget, static_cast<double>(pagesPerSecond) / 20 + 1);
        for (unsigned written = 0; budget >= 1; budget -= 1) {
            // A stop is the switchover waiting, guest paused: a slice of a fast workload is
            // thousands of pages, so it looks between pages too.
            if (++written % 64 == 0 && stopping_.load(std::memory_order_relaxed))
                break;
            const std::uint64_t page = splitmix(state) % hotPages;
            if (gate_ && !gate_->beforeWrite(hotBlock, page))
                break;
            writePage(hotBlock, page, ++generation_);
            pagesWritten_.fetch_add(1, std::memory_order_relaxed);
        }
        lock.lock();
        stopCondition_.wait_for(lock, kSlice, [this] { return stopRequested_; });
    }
}

std::uint64_t Guest::countCorruptPages() const {
    std::uint64_t corrupt = 0;
    for (std::size_t b = 0; b < blocks_.size(); ++b)
        for (std::uint64_t page = 0; page < blocks_[b]->pageCount(); ++page)
            if (!pageIsConsistent(blocks_[b]->data() + page * kPageSize, pageIdentity(b, page)))
                ++corrupt;
    return corrupt;
}

bool isZeroPage(const std::uint8_t* page) {
    for (std::size_t i = 0; i < kPageSize; i += sizeof(std::uint64_t)) {
        std::uint64_t word;
        std::memcpy(&word, page + i, sizeof word);
        if (word != 0)
            return false;
    }
    return true;
}

std::uint64_t hashPage(const std::uint8_t* page) {
#if defined(__x86_64__)
    // Debian builds libxxhash for the baseline x86-64 (SSE2); its dispatching entry picks
    // AVX2 or AVX-512 at run time: the same hash, in two thirds of the CPU time here.
    return XXH3_64bits_dispatch(page, kPageSize);
#else
    return XXH3_64bits(page, kPageSize);
#endif
}

std::uint64_t zeroPageHash() {
    static const std::uint64_t hash = [] {
        const std::vector<std::uint8_t> zeros(kPageSize, 0);
        return hashPage(zeros.data());
    }();
    return hash;
}

PageHashes emptyPageHashes(const std::vector<std::unique_ptr<RamBlock>>& blocks) {
    PageHashes hashes;
    for (const auto& block : blocks)
        hashes.emplace_back(block->pageCount(), 0);
    return hashes;
}

PageHashes Guest::pageHashes() const {
    PageHashes hashes(blocks_.size());
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
        hashes[b].resize(blocks_[b]->pageCount());
        for (std::uint64_t page = 0; page < blocks_[b]->pageCount(); ++page)
            hashes[b][page] = hashPage(blocks_[b]->data() + page * kPageSize);
    }
    return hashes;
}

Digest Guest::digest() const {
    return digestOf(pageHashes());
}

Digest Guest::digestOf(const PageHashes& hashes) const {
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                   &XXH3_freeState);
    if (!state || XXH3_128bits_reset(state.get()) != XXH_OK)
        throw std::runtime_error("cannot initialise the RAM digest");
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
        const auto& block = blocks_[b];
        XXH3_128bits_update(state.get(), block->name().data(), block->name().size());
        const std::uint64_t size = block->size();
        XXH3_128bits_update(state.get(), &size, sizeof size);
        XXH3_128bits_update(state.get(), hashes[b].data(),
                            hashes[b].size() * sizeof(std::uint64_t));
    }
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state.get()));
    Digest digest;
    std::memcpy(digest.data(), canonical.digest, digest.size());
    return digest;
}

} // namespace migrascope
