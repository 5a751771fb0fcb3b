// For trainers: the return-path thread reused across a postcopy pause, on purpose. The first
// half replays QEMU's old return-path design: on an error the thread released the
// return-path file and slept on a semaphore, then reloaded the file pointer when "migrate
// resume" woke it. A resume that opened the new file before that clean-up ran had its new
// file closed by the old thread, which then read a NULL pointer (the segfault in
// qemu_file_get_error). The demo stops short of dereferencing it and says so. The second
// half runs the same outage through Migrascope's engine, where the thread is joined before
// its connection is released and a new thread serves the new one.
// Not a test. Usage: demo_rp_reuse
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "engine/memory/guest.h"
#include "engine/telemetry/telemetry.h"
#include "engine/transport/connection.h"
#include "engine/transport/socket.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <semaphore>
#include <sys/socket.h>
#include <thread>

using namespace migrascope;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Connection> connectionPair(UniqueFd& peer) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        throw std::runtime_error("socketpair failed");
    peer = UniqueFd(fds[1]);
    return std::make_unique<Connection>(UniqueFd(fds[0]), "return path");
}

void oldDesign() {
    std::printf(
        "== QEMU before commit ef796ee93b: one return-path thread for the whole migration\n");
    std::mutex fileLock;                 // qemu_file_lock
    std::unique_ptr<Connection> fromDst; // ms->rp_state.from_dst_file
    std::binary_semaphore pauseRpSem(0); // postcopy_pause_rp_sem
    UniqueFd oldPeer;
    fromDst = connectionPair(oldPeer);
    Connection* oldFile = fromDst.get();

    std::thread returnPath([&] {
        for (;;) {
            Connection* rp = nullptr;
            {
                std::lock_guard lock(fileLock);
                rp = fromDst.get();
            }
            if (!rp) {
                std::printf("  [return path] from_dst_file is NULL: QEMU dereferenced it here "
                            "and died with SIGSEGV (qemu_file_get_error(f=0x0))\n");
                return;
            }
            std::uint8_t byte;
            try {
                if (rp->recvSome(&byte, 1) > 0)
                    continue;
            } catch (const std::exception&) {
            }
            std::printf("  [return path] read error; cleaning up after a scheduling delay\n");
            std::this_thread::sleep_for(200ms); // the window the race needs
            {
                std::lock_guard lock(fileLock);
                std::printf("  [return path] migration_release_dst_files(): closes %s file\n",
                            fromDst.get() == oldFile ? "the old" : "the NEW");
                fromDst.reset();
            }
            std::printf("  [return path] waiting on postcopy_pause_rp_sem to retry\n");
            pauseRpSem.acquire();
        }
    });

    std::printf("  [qmp] migrate-pause: the network fails\n");
    oldFile->shutdown();
    std::this_thread::sleep_for(50ms);
    std::printf("  [qmp] migrate resume: opens the new return path (too soon)\n");
    UniqueFd newPeer;
    {
        std::lock_guard lock(fileLock);
        fromDst = connectionPair(newPeer);
    }
    std::this_thread::sleep_for(300ms);
    std::printf("  [qmp] posts postcopy_pause_rp_sem\n");
    pauseRpSem.release();
    returnPath.join();
}

void newDesign() {
    std::printf("\n== Migrascope: a return-path thread per connection, joined before release\n");
    const auto pki = std::filesystem::temp_directory_path() / "migrascope-demo-pki";
    generatePki(pki.string());
    MigrationConfig config;
    config.guest.ramSize = 256ull << 20;
    config.guest.dirtyRate = 16ull << 20;
    config.multifdChannels = 2;
    config.maxBandwidth = 32ull << 20;
    config.tls.credsDir = pki.string();
    config.capabilities.postcopyRam = true;
    config.postcopyStart.afterMs = 300;
    RunOptions options{"", false};
    MigrationRun* running = nullptr;
    std::atomic<bool> asked{false};
    options.pauseStepHook = [&](PauseStep step) {
        std::printf("  [migration] %s", toString(step));
        // The race: resume while the old return path is still closing.
        if (!asked && (step == PauseStep::ChannelShutDown || step == PauseStep::ReturnPathJoined)) {
            const std::string answer = running->resume();
            std::printf(" -> migrate resume now: %s\n",
                        answer.empty() ? "accepted" : answer.c_str());
        } else {
            std::printf("\n");
        }
    };
    MigrationRun run(config, options);
    running = &run;
    run.start();
    while (run.telemetry().status() != MigrationStatus::PostcopyActive && !run.finished())
        std::this_thread::sleep_for(10ms);
    std::printf("  [qmp] the network fails during postcopy\n");
    run.cutNetwork();
    while (run.destinationStatus() != MigrationStatus::PostcopyPaused ||
           run.telemetry().status() != MigrationStatus::PostcopyPaused)
        std::this_thread::sleep_for(10ms);
    asked = true;
    std::printf("  [qmp] migrate-recover: %s\n", run.recover().empty() ? "accepted" : "refused");
    std::printf("  [qmp] migrate resume: %s\n", run.resume().empty() ? "accepted" : "refused");
    run.wait();
    const auto snap = run.snapshot();
    std::printf("  result: %s, integrity %s, %u recoveries, return-path connections seen: %u\n",
                toString(snap.status), snap.integrity.c_str(), snap.postcopy.recoveries,
                snap.returnPath.empty() ? 0u : snap.returnPath.back().connection);
    std::filesystem::remove_all(pki);
}

} // namespace

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // the window shows each line as it comes
    oldDesign();
    newDesign();
}
