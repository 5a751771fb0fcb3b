// The page bitmap every dirty log, received map and RECV_BITMAP uses: bit N of word N / 64
// is page N, and nothing past the last page is ever set.
#include "engine/memory/page_bitmap.h"

#include <QtTest>

using namespace migrascope;

class TestPageBitmap : public QObject {
    Q_OBJECT

private slots:
    void setAllStopsAtTheLastPage() {
        PageBitmap pages(130); // two full words and two pages of a third
        pages.setAll();
        QCOMPARE(pages.count(), 130ull);
        QCOMPARE(pages.words().size(), std::size_t{3});
        QCOMPARE(pages.words()[2], std::uint64_t{0b11});
        QVERIFY(pages.test(129));
    }

    void findNextVisitsEverySetPageInOrder() {
        PageBitmap pages(1000);
        const std::vector<std::uint64_t> set = {0, 63, 64, 65, 511, 999};
        for (const auto page : set)
            pages.set(page);
        std::vector<std::uint64_t> seen;
        for (auto page = pages.findNext(0); page < pages.pages(); page = pages.findNext(page + 1))
            seen.push_back(page);
        QVERIFY(seen == set);
        QCOMPARE(pages.findNext(1000), 1000ull);
        pages.reset(999);
        QCOMPARE(pages.findNext(512), 1000ull); // none left: the end
    }

    void validBitsOfAPartialWord() {
        QCOMPARE(page_bits::validBits(64, 0), ~std::uint64_t{0});
        QCOMPARE(page_bits::validBits(65, 1), std::uint64_t{1});
        QCOMPARE(page_bits::validBits(65, 2), std::uint64_t{0});
        QCOMPARE(page_bits::wordCount(0), std::size_t{0});
        QCOMPARE(page_bits::wordCount(64), std::size_t{1});
        QCOMPARE(page_bits::wordCount(65), std::size_t{2});
    }

    void harvestMovesTheLogAndClearsIt() {
        AtomicPageBitmap log(100);
        log.set(3);
        log.set(99);
        PageBitmap dirty;
        log.harvestInto(dirty);
        QCOMPARE(dirty.pages(), 100ull);
        QCOMPARE(dirty.count(), 2ull);
        QVERIFY(dirty.test(3) && dirty.test(99));
        QVERIFY(!log.test(3));
        log.set(4);
        log.harvestInto(dirty); // ORs into what it holds
        QCOMPARE(dirty.count(), 3ull);
        QCOMPARE(log.copy().count(), 0ull);
    }

    void countClearIgnoresBitsPastTheEnd() {
        AtomicPageBitmap received(70);
        QCOMPARE(received.countClear(), 70ull);
        for (std::uint64_t page = 0; page < 70; ++page)
            received.set(page);
        QCOMPARE(received.countClear(), 0ull);
        received.reset(69);
        QCOMPARE(received.countClear(), 1ull);
    }
};

QTEST_MAIN(TestPageBitmap)
#include "tst_page_bitmap.moc"
