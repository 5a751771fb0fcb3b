// For trainers: the re-key race on the bidirectional main channel, on purpose. The same
// stress as tst_tls_bidirectional, but the sessions are used by a reader and a writer thread
// at once WITHOUT the session lock, as QEMU did before its (disabled) workaround. Expect
// errors, corrupt bytes or a crash.
// Not a test: it may crash. Usage: demo_tls_unprotected [seconds] [lock]
#include "bidirectional_stress.h"
#include "engine/api/tls_pki.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

using namespace migrascope;

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // the window shows each line as it comes
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-demo-pki";
    generatePki(pki.string());
    test::StressOptions options;
    options.pki = pki.string();
    options.duration = std::chrono::seconds(argc > 1 ? std::atoi(argv[1]) : 10);
    options.protection = argc > 2 && std::strcmp(argv[2], "lock") == 0 ? TlsProtection::SessionLock
                                                                       : TlsProtection::None;
    std::printf("%d sessions, %lld s, protection: %s\n", options.sessions,
                static_cast<long long>(options.duration.count() / 1000),
                toString(options.protection));
    std::fflush(stdout);
    const auto result = test::runBidirectionalStress(options);
    std::printf("%s: %llu bytes checked, %llu KeyUpdates sent, %llu received, %zu failures\n",
                result.cipher.c_str(), static_cast<unsigned long long>(result.bytesChecked),
                static_cast<unsigned long long>(result.keyUpdatesSent),
                static_cast<unsigned long long>(result.keyUpdatesReceived), result.failures.size());
    for (const auto& failure : result.failures)
        std::printf("  %s\n", failure.c_str());
    std::filesystem::remove_all(pki);
    return result.failures.empty() ? 0 : 1;
}
