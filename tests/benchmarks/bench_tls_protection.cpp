// What the session lock against the re-key race on the bidirectional main channel costs:
// one TLS 1.3 AES-GCM connection over loopback, with and without the lock, with and without
// a forced KeyUpdate every 10,000 records; then both directions at once, which is only safe
// with the lock.
#include "bench_stats.h"
#include "engine/api/tls_pki.h"
#include "engine/telemetry/telemetry.h"
#include "engine/transport/connection.h"
#include "engine/transport/socket.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

using namespace migrascope;

namespace {

constexpr std::size_t kBytes = std::size_t{2} << 30;
constexpr int kRepetitions = 3;

struct Pair {
    std::unique_ptr<Connection> client;
    std::unique_ptr<Connection> server;
    ChannelCounters clientCounters;
    ChannelCounters serverCounters;
};

std::unique_ptr<Pair> connect(const std::string& pki, TlsProtection protection,
                              std::uint64_t rekeyInterval) {
    static const TlsCredentials serverCredentials(pki, TlsCredentials::Endpoint::Server);
    static const TlsCredentials clientCredentials(pki, TlsCredentials::Endpoint::Client);
    auto pair = std::make_unique<Pair>();
    TcpListener listener("127.0.0.1", 0);
    const TlsPolicy policy{rekeyInterval, 0};
    std::thread accept([&] {
        std::string peer;
        pair->server = std::make_unique<Connection>(listener.accept(peer), "server");
        pair->server->setCounters(&pair->serverCounters);
        pair->server->setTlsPolicy(policy, nullptr, Side::Destination);
        pair->server->setProtection(protection);
        pair->server->startTlsServer(serverCredentials, "NORMAL");
    });
    pair->client = std::make_unique<Connection>(connectTcp("127.0.0.1", listener.port()), "client");
    pair->client->setCounters(&pair->clientCounters);
    pair->client->setTlsPolicy(policy, nullptr, Side::Source);
    pair->client->setProtection(protection);
    pair->client->startTlsClient(clientCredentials, "NORMAL", "127.0.0.1");
    accept.join();
    return pair;
}

void pump(Connection& from, Connection& to, std::size_t bytes) {
    std::thread reader([&] {
        std::vector<std::uint8_t> buffer(1 << 20);
        for (std::size_t got = 0; got < bytes;)
            got += to.recvSome(buffer.data(), buffer.size());
    });
    std::vector<std::uint8_t> data(8 << 20, 0x5a);
    for (std::size_t sent = 0; sent < bytes; sent += data.size())
        from.sendAll(data.data(), data.size());
    reader.join();
}

void oneWay(const std::string& pki, const char* label, TlsProtection protection,
            std::uint64_t rekeyInterval) {
    bench::Summary summary;
    std::uint64_t keyUpdates = 0;
    for (int i = 0; i < kRepetitions; ++i) {
        auto pair = connect(pki, protection, rekeyInterval);
        const double cpu = bench::cpuSeconds();
        const auto start = std::chrono::steady_clock::now();
        pump(*pair->client, *pair->server, kBytes);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double gib = static_cast<double>(kBytes) / (1 << 30);
        summary.rates.push_back(gib / seconds);
        summary.cpuPerGib.push_back((bench::cpuSeconds() - cpu) / gib);
        keyUpdates = pair->clientCounters.keyUpdatesSent.load();
    }
    summary.print(label);
    std::printf("%46s %llu KeyUpdates per run\n", "", static_cast<unsigned long long>(keyUpdates));
}

void bothWays(const std::string& pki, const char* label, std::uint64_t rekeyInterval) {
    bench::Summary summary;
    for (int i = 0; i < kRepetitions; ++i) {
        auto pair = connect(pki, TlsProtection::SessionLock, rekeyInterval);
        const double cpu = bench::cpuSeconds();
        const auto start = std::chrono::steady_clock::now();
        std::thread back([&] { pump(*pair->server, *pair->client, kBytes / 2); });
        pump(*pair->client, *pair->server, kBytes / 2);
        back.join();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double gib = static_cast<double>(kBytes) / (1 << 30);
        summary.rates.push_back(gib / seconds);
        summary.cpuPerGib.push_back((bench::cpuSeconds() - cpu) / gib);
    }
    summary.print(label);
}

} // namespace

int main() {
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-bench-pki";
    generatePki(pki.string());
    std::printf("TLS 1.3 AES-256-GCM over loopback, 2 GiB per run (sum of both directions)\n");
    oneWay(pki.string(), "one way, no lock", TlsProtection::None, 0);
    oneWay(pki.string(), "one way, session lock", TlsProtection::SessionLock, 0);
    oneWay(pki.string(), "one way, no lock, re-key/10k records", TlsProtection::None, 10000);
    oneWay(pki.string(), "one way, session lock, re-key/10k records", TlsProtection::SessionLock,
           10000);
    bothWays(pki.string(), "both ways, session lock", 0);
    bothWays(pki.string(), "both ways, session lock, re-key/10k records", 10000);
    std::filesystem::remove_all(pki);
}
