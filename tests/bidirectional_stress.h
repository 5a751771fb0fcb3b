// The re-key race on the bidirectional main channel under a microscope: TLS 1.3 sessions
// that one thread reads while another writes, in both directions at once, with KeyUpdates
// forced from both ends. Every byte is checked against the stream its writer was seeded with.
#pragma once

#include "engine/telemetry/telemetry.h"
#include "engine/transport/connection.h"
#include "engine/transport/socket.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace migrascope::test {

struct StressOptions {
    std::string pki;
    std::string priority = "NORMAL"; // TLS 1.3 with AES-256-GCM on this machine
    TlsProtection protection = TlsProtection::SessionLock;
    int sessions = 16; // each is 2 connections and 4 threads
    std::chrono::milliseconds duration{20000};
    std::uint64_t rekeyInterval = 8; // records; paced to one per 400 ms per session anyway
};

struct StressResult {
    std::uint64_t bytesChecked = 0;
    std::uint64_t keyUpdatesSent = 0;
    std::uint64_t keyUpdatesReceived = 0;
    std::string cipher;
    std::vector<std::string> failures; // empty when every byte arrived intact
};

class ByteStream {
public:
    explicit ByteStream(std::uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}
    std::uint8_t next() {
        if (left_ == 0) {
            state_ ^= state_ << 13;
            state_ ^= state_ >> 7;
            state_ ^= state_ << 17;
            word_ = state_;
            left_ = 8;
        }
        --left_;
        const auto byte = static_cast<std::uint8_t>(word_);
        word_ >>= 8;
        return byte;
    }

private:
    std::uint64_t state_;
    std::uint64_t word_ = 0;
    int left_ = 0;
};

inline StressResult runBidirectionalStress(const StressOptions& options) {
    StressResult result;
    std::mutex resultMutex;
    auto failure = [&](const std::string& what) {
        std::lock_guard lock(resultMutex);
        if (result.failures.size() < 20)
            result.failures.push_back(what);
    };
    TlsCredentials server(options.pki, TlsCredentials::Endpoint::Server);
    TlsCredentials client(options.pki, TlsCredentials::Endpoint::Client);
    const TlsPolicy policy{options.rekeyInterval, 0};

    struct Pair {
        std::unique_ptr<Connection> ends[2];
        ChannelCounters counters[2];
    };
    std::vector<std::unique_ptr<Pair>> pairs;
    for (int i = 0; i < options.sessions; ++i) {
        auto pair = std::make_unique<Pair>();
        TcpListener listener("127.0.0.1", 0);
        std::thread accept([&] {
            std::string peer;
            pair->ends[1] = std::make_unique<Connection>(listener.accept(peer), "server");
            pair->ends[1]->setCounters(&pair->counters[1]);
            pair->ends[1]->setTlsPolicy(policy, nullptr, Side::Destination);
            pair->ends[1]->setProtection(options.protection);
            pair->ends[1]->startTlsServer(server, options.priority);
        });
        pair->ends[0] =
            std::make_unique<Connection>(connectTcp("127.0.0.1", listener.port()), "client");
        pair->ends[0]->setCounters(&pair->counters[0]);
        pair->ends[0]->setTlsPolicy(policy, nullptr, Side::Source);
        pair->ends[0]->setProtection(options.protection);
        pair->ends[0]->startTlsClient(client, options.priority, "127.0.0.1");
        accept.join();
        result.cipher = pair->ends[0]->tlsCipher();
        pairs.push_back(std::move(pair));
    }

    const auto deadline = std::chrono::steady_clock::now() + options.duration;
    std::atomic<std::uint64_t> checked{0};
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < pairs.size(); ++p) {
        for (int end = 0; end < 2; ++end) {
            Connection& self = *pairs[p]->ends[end];
            const std::uint64_t seed = p * 2 + static_cast<std::uint64_t>(end);
            threads.emplace_back([&, seed] { // writer: its own seeded stream, ragged sizes
                ByteStream stream(seed);
                ByteStream sizes(seed + 1000);
                std::vector<std::uint8_t> chunk(64 * 1024);
                try {
                    while (std::chrono::steady_clock::now() < deadline) {
                        const std::size_t size = 1 + (sizes.next() << 8 | sizes.next());
                        for (std::size_t i = 0; i < size; ++i)
                            chunk[i] = stream.next();
                        self.sendAll(chunk.data(), size);
                    }
                    self.endSession();
                } catch (const std::exception& error) {
                    failure(std::string("writer ") + std::to_string(seed) + ": " + error.what());
                    self.shutdown();
                }
            });
            const std::uint64_t peerSeed = p * 2 + static_cast<std::uint64_t>(1 - end);
            threads.emplace_back([&, peerSeed] { // reader: checks the peer's stream
                ByteStream expected(peerSeed);
                std::vector<std::uint8_t> buffer(64 * 1024);
                std::uint64_t offset = 0;
                try {
                    for (;;) {
                        const std::size_t got = self.recvSome(buffer.data(), buffer.size());
                        if (got == 0)
                            break;
                        for (std::size_t i = 0; i < got; ++i, ++offset)
                            if (buffer[i] != expected.next())
                                throw MigrationError("byte " + std::to_string(offset) +
                                                     " of stream " + std::to_string(peerSeed) +
                                                     " is wrong");
                        checked.fetch_add(got, std::memory_order_relaxed);
                    }
                } catch (const std::exception& error) {
                    failure(std::string("reader of ") + std::to_string(peerSeed) + ": " +
                            error.what());
                    self.shutdown();
                }
            });
        }
    }
    for (auto& thread : threads)
        thread.join();
    result.bytesChecked = checked.load();
    for (const auto& pair : pairs)
        for (const auto& counters : pair->counters) {
            result.keyUpdatesSent += counters.keyUpdatesSent.load();
            result.keyUpdatesReceived += counters.keyUpdatesReceived.load();
        }
    return result;
}

} // namespace migrascope::test
