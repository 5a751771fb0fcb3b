// Source side of multifd: N send threads, each owning one connection. The migration thread
// fills a packet's worth of page offsets and hands it to the next channel with a free slot;
// buffers are swapped, never copied (QEMU's multifd_send()).
#pragma once

#include "engine/api/migration_config.h"
#include "engine/memory/guest.h"
#include "engine/telemetry/telemetry.h"
#include "engine/transport/connection.h"
#include "engine/transport/rate_limiter.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace migrascope {

class MultifdSender {
public:
    struct Channel {
        std::unique_ptr<Connection> connection;
        ChannelCounters* counters = nullptr;
        const FaultSpec* cut = nullptr;     // cut-channel fault aimed at this channel, if any
        const FaultSpec* corrupt = nullptr; // corrupt-page fault aimed at it, until it fired
    };

    // `sentHashes`: where each send thread records the hash of each page as it sent it
    // ([block][page]; a round's pages are distinct, and rounds are separated by syncAll()).
    MultifdSender(std::vector<Channel> channels, RateLimiter& limiter, Telemetry& telemetry,
                  PageHashes& sentHashes);
    // Stops and joins the send threads.
    ~MultifdSender();
    MultifdSender(const MultifdSender&) = delete;
    MultifdSender& operator=(const MultifdSender&) = delete;

    // Migration thread only. Throw MigrationError if a channel failed.
    void queuePage(std::size_t blockIndex, RamBlock& block, std::uint64_t offset);
    // One device-state packet (QEMU's multifd_queue_device_state): the caller fills
    // deviceStatePayload() (not empty), then queues it; it goes to the next idle channel like
    // a packet of pages. The buffers circulate between the channels, so their memory is
    // reused rather than allocated per packet.
    std::vector<std::uint8_t>& deviceStatePayload() { return deviceJob_.deviceState; }
    void queueDeviceState(const std::string& idstr, std::uint32_t instanceId);
    void flush();
    // Flushes, then sends a SYNC packet on every channel and waits until all are on the wire.
    void syncAll();
    // After a successful migration: joins the send threads, then ends every channel's TLS
    // session (close_notify), or with `legacyClose` closes without it as old sources did.
    void finish(bool legacyClose);
    // The kernel's last count of each channel's socket, once the peer acknowledged every byte
    // (bounded by kFinalAckWait): after the downtime, where waiting for acks costs nothing.
    void recordFinalKernelViews();

    // Any thread: unblocks every channel (cancel, failure elsewhere).
    void shutdownAll();

    std::uint64_t zeroPages() const;
    std::uint64_t normalPages() const;

private:
    struct Job {
        RamBlock* block = nullptr;
        std::size_t blockIndex = 0;
        std::vector<std::uint64_t> offsets;
        bool sync = false;
        std::string deviceIdstr; // non-empty: a device-state packet of `deviceState`
        std::uint32_t deviceInstance = 0;
        std::vector<std::uint8_t> deviceState;
        void clear();
    };
    // Two slots per channel: the send thread takes its next job the moment it finishes one,
    // without waiting for the migration thread to be scheduled (on few cores, that wait left
    // the channels idle between packets). Guarded by mutex_.
    struct Worker {
        Channel channel;
        std::thread thread;
        Job job;                      // the packet being sent: the send thread's while busy
        Job queued;                   // the next packet, handed over by the migration thread
        bool busy = false;            // sending `job`
        bool hasQueued = false;       // `queued` holds a packet
        std::condition_variable wake; // the send thread waits here for a packet, or quit_
        bool idle() const { return !busy && !hasQueued; }
        std::vector<std::uint8_t> header;
        std::vector<std::uint8_t> corrupted; // the page a corrupt-page fault sends instead
        std::uint64_t zeroPages = 0;         // guarded by mutex_
        std::uint64_t normalPages = 0;       // guarded by mutex_
    };

    void run(Worker& worker);
    void send(Worker& worker, Job& job, std::uint64_t& zero, std::uint64_t& normal);
    void sendDeviceState(Worker& worker, Job& job);
    // Waits for the bandwidth cap, then fires a cut-channel fault whose byte count is reached.
    void acquireBandwidth(Worker& worker, std::uint64_t bytes);
    void dispatch(Job& job);
    void throwIfFailed();
    void stopThreads();

    RateLimiter& limiter_;
    Telemetry& telemetry_;
    PageHashes& sentHashes_;
    std::vector<std::unique_ptr<Worker>> workers_;
    Job current_;
    Job deviceJob_;
    std::size_t nextWorker_ = 0;
    std::atomic<std::uint64_t> packetNumber_{0};

    mutable std::mutex mutex_;
    // The migration thread waits here for a free slot, an idle channel, or a failure. It is
    // the only waiter: each wake-up goes to the one thread that needs it, not to every thread.
    std::condition_variable slotFreed_;
    bool quit_ = false;
    std::string error_;
};

} // namespace migrascope
