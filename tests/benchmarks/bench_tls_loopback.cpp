// Raw GnuTLS throughput over loopback TCP: one thread sends full 16 KiB records, another
// receives. The ceiling that a TLS migration on this machine can approach.
#include "bench_stats.h"
#include "engine/api/tls_pki.h"
#include "engine/transport/connection.h"
#include "engine/transport/socket.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

using namespace migrascope;

namespace {

constexpr int kRepetitions = 5;
constexpr std::size_t kBytes = std::size_t{2} << 30;

void measure(const std::string& pki, const std::string& priority, bench::Summary& summary,
             std::string& cipher) {
    TcpListener listener("127.0.0.1", 0);
    TlsCredentials server(pki, TlsCredentials::Endpoint::Server);
    TlsCredentials client(pki, TlsCredentials::Endpoint::Client);
    std::thread receiver([&] {
        std::string peer;
        Connection connection(listener.accept(peer), "receiver");
        connection.startTlsServer(server, priority);
        std::vector<std::uint8_t> buffer(1 << 20);
        std::size_t got = 0;
        while (got < kBytes)
            got += connection.recvSome(buffer.data(), buffer.size());
    });
    Connection sender(connectTcp("127.0.0.1", listener.port()), "sender");
    sender.startTlsClient(client, priority, "127.0.0.1");
    cipher = sender.tlsCipher();
    std::vector<std::uint8_t> data(8 << 20, 0x5a);
    const double cpuBefore = bench::cpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t sent = 0; sent < kBytes; sent += data.size())
        sender.sendAll(data.data(), data.size());
    receiver.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double gib = static_cast<double>(kBytes) / (1 << 30);
    summary.rates.push_back(gib / seconds);
    summary.cpuPerGib.push_back((bench::cpuSeconds() - cpuBefore) / gib);
}

} // namespace

int main() {
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-bench-pki";
    generatePki(pki.string());
    std::printf("raw GnuTLS over loopback, one connection, 2 GiB per run, both ends counted\n");
    for (const std::string priority : {"NORMAL", "NORMAL:-AES-256-GCM:-AES-128-GCM:-AES-128-CCM"}) {
        bench::Summary summary;
        std::string cipher;
        for (int i = 0; i < kRepetitions; ++i)
            measure(pki.string(), priority, summary, cipher);
        summary.print(cipher.c_str());
    }
    std::filesystem::remove_all(pki);
}
