// One bit per page: bit N of word N / 64 stands for page N, QEMU's layout for its dirty and
// received bitmaps (and RECV_BITMAP's payload), so the words go on the wire as they are.
// Bits past the last page are always zero.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace migrascope {

namespace page_bits {
inline constexpr std::uint64_t kPagesPerWord = 64;
constexpr std::size_t wordCount(std::uint64_t pages) {
    return static_cast<std::size_t>((pages + kPagesPerWord - 1) / kPagesPerWord);
}
constexpr std::size_t wordOf(std::uint64_t page) {
    return static_cast<std::size_t>(page / kPagesPerWord);
}
constexpr std::uint64_t maskOf(std::uint64_t page) {
    return std::uint64_t{1} << (page % kPagesPerWord);
}
// The bits of word `word` that stand for pages: all of them but in a partial last word.
constexpr std::uint64_t validBits(std::uint64_t pages, std::size_t word) {
    const std::uint64_t first = word * kPagesPerWord;
    if (first + kPagesPerWord <= pages)
        return ~std::uint64_t{0};
    return first >= pages ? 0 : (std::uint64_t{1} << (pages - first)) - 1;
}
} // namespace page_bits

// A plain bitmap, used by one thread at a time.
class PageBitmap {
public:
    PageBitmap() = default;
    explicit PageBitmap(std::uint64_t pages) : pages_(pages), words_(page_bits::wordCount(pages)) {}

    std::uint64_t pages() const { return pages_; }
    bool test(std::uint64_t page) const {
        return (words_[page_bits::wordOf(page)] & page_bits::maskOf(page)) != 0;
    }
    void set(std::uint64_t page) { words_[page_bits::wordOf(page)] |= page_bits::maskOf(page); }
    void reset(std::uint64_t page) { words_[page_bits::wordOf(page)] &= ~page_bits::maskOf(page); }
    void setAll() {
        for (std::size_t w = 0; w < words_.size(); ++w)
            words_[w] = page_bits::validBits(pages_, w);
    }
    std::uint64_t count() const {
        std::uint64_t set = 0;
        for (const auto word : words_)
            set += static_cast<std::uint64_t>(std::popcount(word));
        return set;
    }
    // The first set page at or after `from`, or pages() when there is none.
    std::uint64_t findNext(std::uint64_t from) const {
        if (from >= pages_)
            return pages_;
        std::size_t w = page_bits::wordOf(from);
        std::uint64_t word = words_[w] & ~(page_bits::maskOf(from) - 1);
        while (word == 0) {
            if (++w == words_.size())
                return pages_;
            word = words_[w];
        }
        return w * page_bits::kPagesPerWord + static_cast<std::uint64_t>(std::countr_zero(word));
    }
    // Word access, for the wire and for merging with a word-wise source.
    std::span<std::uint64_t> words() { return words_; }
    std::span<const std::uint64_t> words() const { return words_; }

private:
    std::uint64_t pages_ = 0;
    std::vector<std::uint64_t> words_;
};

// A bitmap several threads set and test at once (the guest's dirty log, the pages a
// destination has received). Each call names the ordering it needs.
class AtomicPageBitmap {
public:
    explicit AtomicPageBitmap(std::uint64_t pages)
        : pages_(pages),
          words_(std::make_unique<std::atomic<std::uint64_t>[]>(page_bits::wordCount(pages))) {}

    std::uint64_t pages() const { return pages_; }
    std::size_t wordCount() const { return page_bits::wordCount(pages_); }
    bool test(std::uint64_t page, std::memory_order order = std::memory_order_acquire) const {
        return (words_[page_bits::wordOf(page)].load(order) & page_bits::maskOf(page)) != 0;
    }
    void set(std::uint64_t page, std::memory_order order = std::memory_order_release) {
        words_[page_bits::wordOf(page)].fetch_or(page_bits::maskOf(page), order);
    }
    void reset(std::uint64_t page, std::memory_order order = std::memory_order_release) {
        words_[page_bits::wordOf(page)].fetch_and(~page_bits::maskOf(page), order);
    }
    std::uint64_t word(std::size_t index, std::memory_order order) const {
        return words_[index].load(order);
    }
    // Moves every set bit into `into` (OR) and clears it here: a dirty-log sync.
    void harvestInto(PageBitmap& into) {
        if (into.pages() != pages_)
            into = PageBitmap(pages_);
        auto target = into.words();
        for (std::size_t w = 0; w < target.size(); ++w)
            target[w] |= words_[w].exchange(0, std::memory_order_acquire);
    }
    // A copy, as of now, for the wire (RECV_BITMAP).
    PageBitmap copy() const {
        PageBitmap result(pages_);
        auto target = result.words();
        for (std::size_t w = 0; w < target.size(); ++w)
            target[w] = words_[w].load(std::memory_order_acquire);
        return result;
    }
    // Pages whose bit is clear.
    std::uint64_t countClear() const {
        std::uint64_t clear = 0;
        for (std::size_t w = 0; w < wordCount(); ++w)
            clear += static_cast<std::uint64_t>(std::popcount(
                ~words_[w].load(std::memory_order_acquire) & page_bits::validBits(pages_, w)));
        return clear;
    }

private:
    std::uint64_t pages_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
};

} // namespace migrascope
