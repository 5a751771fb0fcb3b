// Raw GnuTLS throughput over loopback TCP: one thread sends full 16 KiB records, another
// receives. The ceiling that a TLS migration on this machine can approach.
#include "connection.h"
#include "socket.h"
#include "tls_pki.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

using namespace migrascope;

static double run(const std::string& pki, const std::string& priority, std::size_t total) {
    TcpListener listener("127.0.0.1", 0);
    TlsCredentials server(pki, TlsCredentials::Endpoint::Server);
    TlsCredentials client(pki, TlsCredentials::Endpoint::Client);
    std::string cipher;
    std::thread receiver([&] {
        std::string peer;
        Connection connection(listener.accept(peer), "receiver");
        connection.startTlsServer(server, priority);
        std::vector<std::uint8_t> buffer(1 << 20);
        std::size_t got = 0;
        while (got < total)
            got += connection.recvSome(buffer.data(), buffer.size());
    });
    Connection sender(connectTcp("127.0.0.1", listener.port()), "sender");
    sender.startTlsClient(client, priority, "127.0.0.1");
    cipher = sender.tlsCipher();
    std::vector<std::uint8_t> data(8 << 20, 0x5a);
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t sent = 0; sent < total; sent += data.size())
        sender.sendAll(data.data(), data.size());
    receiver.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double gibps = static_cast<double>(total) / seconds / (1 << 30);
    std::printf("%-40s %-28s %6.2f GiB/s\n", priority.c_str(), cipher.c_str(), gibps);
    return gibps;
}

int main() {
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-bench-pki";
    generatePki(pki.string());
    const std::size_t total = std::size_t{4} << 30;
    std::printf("raw GnuTLS loopback, one connection, %zu GiB each\n", total >> 30);
    run(pki.string(), "NORMAL", total);
    run(pki.string(), "NORMAL:-AES-256-GCM:-AES-128-GCM:-AES-128-CCM", total);
    std::filesystem::remove_all(pki);
}
