// What a migration on this machine could reach, next to what it reaches. The limit does the
// unavoidable work and nothing else: 4 connections stream a source buffer into a freshly
// mapped destination buffer allocated exactly like guest RAM (RamBlock), straight into place,
// in multifd-sized pieces, plain and with the migration's TLS priority. The migration moves an
// idle 2 GiB guest whose pages all hold data (guest-content random, so no page travels as a
// zero flag), 4 multifd channels. Median of 5 each, in the same run. A second limit line adds
// the integrity check's page hashes at both ends, which every migration computes: the ratio
// against it shows what the migration loses besides them.
//
// This VM hands memory it freed back to its host within a second or two (free page reporting),
// and the next first touch of such memory runs at 0.1-0.4 GiB/s instead of 6-8 GiB/s: 5-17 s
// for 2 GiB, more than the whole transfer. Which side met such memory decided the ratio. So
// each side's destination gets the same start: the bench touches a spare 2 GiB before the
// transfer and frees it just as the transfer starts, and the destination's first touches
// reuse those pages. The first touch stays in both measurements; the host's share of it is
// taken out of both. The spare's own first touch is printed, as this VM's cold figure.
#include "bench_stats.h"
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "engine/memory/guest.h"
#include "engine/transport/connection.h"
#include "engine/transport/socket.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sys/mman.h>
#include <thread>
#include <vector>

using namespace migrascope;

namespace {

constexpr int kRepetitions = 5;
constexpr std::uint64_t kGuestBytes = 2ull << 30;
constexpr unsigned kChannels = 4;
constexpr std::size_t kPiece = 512 << 10; // a multifd packet's 128 pages

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Memory touched now and freed on release(): its pages are still backed by the host for a
// moment after, so the next first touch in this process costs what it costs on bare metal.
class SpareMemory {
public:
    SpareMemory() {
        const auto start = std::chrono::steady_clock::now();
        void* mapped =
            mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED)
            return;
        data_ = static_cast<std::uint8_t*>(mapped);
        madvise(data_, kBytes, MADV_HUGEPAGE);
        for (std::uint64_t offset = 0; offset < kBytes; offset += kPageSize)
            data_[offset] = 1;
        touchGibPerSecond_ = static_cast<double>(kBytes) / (1 << 30) / secondsSince(start);
    }
    ~SpareMemory() { release(); }
    SpareMemory(const SpareMemory&) = delete;
    SpareMemory& operator=(const SpareMemory&) = delete;
    void release() {
        if (data_)
            munmap(data_, kBytes);
        data_ = nullptr;
    }
    double touchGibPerSecond() const { return touchGibPerSecond_; }

private:
    static constexpr std::uint64_t kBytes = kGuestBytes + (256ull << 20);
    std::uint8_t* data_ = nullptr;
    double touchGibPerSecond_ = 0;
};

std::vector<double> spareTouchRates; // GiB/s of each spare's first touch

// With perf record --control=fifo:PATH -D -1 and MIGRASCOPE_PERF_CONTROL=PATH, perf samples the
// migrations' transfers only, not the guest's boot nor the limit.
void perfControl(const char* command) {
    static std::FILE* const fifo = [] {
        const char* path = std::getenv("MIGRASCOPE_PERF_CONTROL");
        return path ? std::fopen(path, "w") : nullptr;
    }();
    if (fifo) {
        std::fputs(command, fifo);
        std::fflush(fifo);
    }
}

// The integrity hashes a migration must compute, in the limit's own loop: hashPage() of each
// page, as the sender is about to send it and once the receiver has it.
void hashPieceInto(const std::uint8_t* piece, std::uint64_t* hashes) {
    for (std::size_t page = 0; page < kPiece / kPageSize; ++page)
        hashes[page] = hashPage(piece + page * kPageSize);
}

// One run of the limit: adds its GiB/s and CPU seconds per GiB to `summary`. With `hashing`,
// both ends also hash every page as the migration's integrity check does.
void streamOnce(const RamBlock& source, const std::optional<std::string>& pki,
                const std::string& priority, bool hashing, bench::Summary& summary) {
    TcpListener listener("127.0.0.1", 0);
    SpareMemory spare;
    spareTouchRates.push_back(spare.touchGibPerSecond());
    RamBlock destination("pc.ram", kGuestBytes); // fresh pages: the first touch is part of it
    std::optional<TlsCredentials> server;
    std::optional<TlsCredentials> client;
    if (pki) {
        server.emplace(*pki, TlsCredentials::Endpoint::Server);
        client.emplace(*pki, TlsCredentials::Endpoint::Client);
    }
    const std::uint64_t share = kGuestBytes / kChannels;
    std::vector<std::uint64_t> sentHashes(hashing ? kGuestBytes / kPageSize : 0);
    std::vector<std::uint64_t> arrivalHashes(sentHashes.size());
    spare.release();
    const double cpuBefore = bench::cpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < kChannels; ++i) {
        threads.emplace_back([&] {
            std::string peer;
            Connection in(listener.accept(peer), "receiver");
            if (server)
                in.startTlsServer(*server, priority);
            std::uint32_t index = 0;
            in.recvExact(&index, sizeof index);
            std::uint8_t* into = destination.data() + index * share;
            for (std::uint64_t got = 0; got < share; got += kPiece) {
                in.recvExact(into + got, kPiece);
                if (hashing)
                    hashPieceInto(into + got, &arrivalHashes[(index * share + got) / kPageSize]);
            }
        });
    }
    for (std::uint32_t i = 0; i < kChannels; ++i) {
        threads.emplace_back([&, i] {
            Connection out(connectTcp("127.0.0.1", listener.port()), "sender");
            if (client)
                out.startTlsClient(*client, priority, "127.0.0.1");
            out.sendAll(&i, sizeof i);
            const std::uint8_t* from = source.data() + i * share;
            for (std::uint64_t sent = 0; sent < share; sent += kPiece) {
                if (hashing)
                    hashPieceInto(from + sent, &sentHashes[(i * share + sent) / kPageSize]);
                out.sendAll(from + sent, kPiece);
            }
            out.endSession();
        });
    }
    for (auto& thread : threads)
        thread.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (std::memcmp(source.data(), destination.data(), kGuestBytes) != 0 ||
        sentHashes != arrivalHashes)
        std::printf("the limit's destination differs from its source\n");
    const double gib = static_cast<double>(kGuestBytes) / (1 << 30);
    summary.rates.push_back(gib / seconds);
    summary.cpuPerGib.push_back((bench::cpuSeconds() - cpuBefore) / gib);
}

bool migrateOnce(const MigrationConfig& config, bench::Summary& summary) {
    SpareMemory spare;
    spareTouchRates.push_back(spare.touchGibPerSecond());
    MigrationRun migration(config, RunOptions{"", false});
    migration.start();
    // CPU from the end of setup, as the rate: booting the guest (writing 2 GiB) is not moving it.
    while (migration.telemetry().status() == MigrationStatus::None ||
           migration.telemetry().status() == MigrationStatus::Setup)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    spare.release();
    const double cpuBefore = bench::cpuSeconds();
    perfControl("enable\n");
    migration.wait();
    perfControl("disable\n");
    const auto snap = migration.snapshot();
    if (snap.status != MigrationStatus::Completed) {
        std::printf("migration %s: %s\n", toString(snap.status), snap.errorDesc.c_str());
        return false;
    }
    const double gib = static_cast<double>(snap.stats.total) / (1 << 30);
    const double seconds = (snap.stats.totalTimeMs - snap.stats.setupTimeMs) / 1000.0;
    summary.rates.push_back(gib / seconds);
    summary.cpuPerGib.push_back((bench::cpuSeconds() - cpuBefore) / gib);
    return true;
}

} // namespace

int main(int argc, char** argv) {
    // "plain" or "tls" measures one of the two, e.g. under perf.
    const std::string only = argc > 1 ? argv[1] : "";
    const auto pki = (std::filesystem::temp_directory_path() / "migrascope-bench-pki").string();
    generatePki(pki);
    MigrationConfig config;
    config.guest.ramSize = kGuestBytes;
    config.guest.dirtyRate = 0;
    config.guest.content = GuestContent::Random;
    config.multifdChannels = kChannels;
    config.tls.credsDir = pki;

    Guest source(Guest::layoutFor(kGuestBytes), config.guest, Guest::Content::Booted);
    std::printf("2 GiB, %u connections, median of %d; migration: idle guest, every page data, "
                "setup excluded\n",
                kChannels, kRepetitions);
    std::printf("%-6s %16s %16s %7s %14s %14s\n", "", "limit GiB/s", "migration GiB/s", "ratio",
                "limit CPU s/GiB", "migr. CPU s/GiB");
    for (const bool tls : {false, true}) {
        if (!only.empty() && only != (tls ? "tls" : "plain"))
            continue;
        config.tls.enabled = tls;
        bench::Summary limit;
        bench::Summary hashedLimit;
        bench::Summary migration;
        const auto credentials = tls ? std::optional<std::string>(pki) : std::nullopt;
        for (int i = 0; i < kRepetitions; ++i) {
            streamOnce(*source.blocks()[0], credentials, config.tls.priority, false, limit);
            streamOnce(*source.blocks()[0], credentials, config.tls.priority, true, hashedLimit);
            if (!migrateOnce(config, migration))
                return 1;
        }
        const char* name = tls ? "TLS" : "plain";
        std::printf("%-6s %16.2f %16.2f %6.0f%% %14.2f %14.2f\n", name, limit.medianRate(),
                    migration.medianRate(), 100 * migration.medianRate() / limit.medianRate(),
                    limit.medianCpuPerGib(), migration.medianCpuPerGib());
        std::printf("%-6s %16.2f %16s %6.0f%% %14.2f   (the limit hashing every page at both "
                    "ends, as integrity does)\n",
                    name, hashedLimit.medianRate(), "",
                    100 * migration.medianRate() / hashedLimit.medianRate(),
                    hashedLimit.medianCpuPerGib());
    }
    std::printf("this VM's first touch of memory its host had taken back (the spares): median "
                "%.2f GiB/s, best %.2f GiB/s\n",
                bench::median(spareTouchRates),
                *std::max_element(spareTouchRates.begin(), spareTouchRates.end()));
    std::filesystem::remove_all(pki);
}
