#include "engine/source/migration_source.h"

#include "engine/common/migration_error.h"
#include "engine/devices/device_migration.h"
#include "engine/source/multifd_sender.h"
#include "engine/source/switchover.h"
#include "engine/wire/main_stream.h"
#include "engine/wire/multifd_wire.h"
#include "engine/wire/wire.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <optional>

namespace migrascope {
namespace {

// QEMU's BUFFER_DELAY: bandwidth is measured over windows of at least this long.
constexpr double kWindowMs = 100;
constexpr unsigned kPagesBetweenChecks = 256;
constexpr double kDirtyRatePeriodMs = 1000;
// A round that ends having sent less than this says little about the link (one multifd
// packet's worth): it keeps the link rate measured before.
constexpr std::uint64_t kMinLinkSampleBytes = 1 << 20;
// Precopy device data per device and round (QEMU reads up to 1 MiB per iteration call).
constexpr std::size_t kDeviceBytesPerRound = 4 << 20;

std::string milliseconds(double ms) {
    if (ms < 1000)
        return std::to_string(std::llround(ms)) + " ms";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", ms / 1000);
    return text;
}

// "420.0 MiB of RAM left and 64.0 MiB of device state: RAM 1.4 s at 300.0 MiB/s, device
// state 213 ms, round trip 1 ms: 1.6 s expected downtime; limit 300 ms (switching at 240 ms
// expected)"
std::string describeDowntime(const switchover::DowntimeEstimate& downtime, std::uint64_t ramBytes,
                             switchover::DeviceBytes device, double bandwidthBytesPerMs,
                             const MigrationConfig& config, std::uint64_t downtimeLimitMs) {
    const std::uint64_t deviceBytes = device.total();
    std::string text = formatBytes(static_cast<double>(ramBytes)) + " of RAM left";
    if (deviceBytes > 0)
        text += " and " + formatBytes(static_cast<double>(deviceBytes)) + " of device state";
    if (!downtime.known)
        return text + "; no bandwidth measured yet";
    text += ": RAM " + milliseconds(downtime.ramMs) + " at " +
            formatBytes(bandwidthBytesPerMs * 1000) + "/s";
    if (deviceBytes > 0)
        text += ", device state " + milliseconds(downtime.deviceMs) +
                (config.multifdChannels > 0 && device.overMain > 0
                     ? " (" + formatBytes(static_cast<double>(device.overMain)) +
                           " on the main channel alone)"
                     : "");
    text += ", round trip " + milliseconds(downtime.roundTripMs) + ": " +
            milliseconds(downtime.totalMs()) + " expected downtime; limit " +
            std::to_string(downtimeLimitMs) + " ms (switching at " +
            milliseconds(switchover::switchAtMs(downtimeLimitMs)) + " expected)";
    // More rounds cannot shrink the devices' state: without this the operator would watch
    // dirty syncs go by with nothing telling them it can never switch.
    const double floorMs = downtime.deviceMs + downtime.roundTripMs;
    if (floorMs > switchover::switchAtMs(downtimeLimitMs))
        text += "; the devices' state alone needs " + milliseconds(floorMs) +
                ", so it cannot switch over: raise downtime-limit to at least " +
                std::to_string(
                    static_cast<std::uint64_t>(std::ceil(floorMs / switchover::kLimitShare)) + 1) +
                " ms or max-bandwidth";
    return text;
}

} // namespace

MigrationSource::MigrationSource(const MigrationConfig& config, Guest& guest, Telemetry& telemetry)
    : config_(config), guest_(guest), telemetry_(telemetry), limiter_(config.maxBandwidth),
      downtimeLimitMs_(config.downtimeLimitMs) {
    mainCounters_ = &telemetry_.addChannel("main", ChannelKind::Main);
    for (unsigned i = 0; i < config_.multifdChannels; ++i)
        multifdCounters_.push_back(
            &telemetry_.addChannel("multifd-" + std::to_string(i), ChannelKind::Multifd));
    faultFired_.assign(config_.faults.size(), false);
}

MigrationSource::~MigrationSource() {
    // run() joins the return path on every way out; this covers a source that never ran.
    if (returnPath_.joinable()) {
        if (main_)
            main_->shutdown();
        returnPath_.join();
    }
}

void MigrationSource::cancel() {
    {
        std::lock_guard lock(controlMutex_);
        cancelRequested_.store(true);
        if (!isFinal(telemetry_.status()))
            telemetry_.setStatus(MigrationStatus::Cancelling);
    }
    controlChanged_.notify_all();
    limiter_.cancel();
    std::lock_guard lock(connectionsMutex_);
    for (Connection* connection : connections_)
        connection->shutdown();
}

std::string MigrationSource::requestCancel(const std::function<void()>& accepted) {
    {
        std::lock_guard lock(controlMutex_);
        if (isPostcopy(telemetry_.status()))
            return "postcopy has started: the destination's guest is the only current one and "
                   "the source's is stale, so the migration can only finish (a paused one "
                   "by recovering)";
        // Under the lock: postcopy cannot start in between (it checks for a cancel here).
        accepted();
        cancelRequested_.store(true);
    }
    cancel();
    return {};
}

void MigrationSource::throwIfCancelled() const {
    if (cancelRequested_.load())
        throw MigrationError("migration cancelled by the operator");
}

std::uint64_t MigrationSource::transferredBytes() const {
    std::uint64_t total = mainCounters_->bytes.load(std::memory_order_relaxed);
    for (const auto* counters : multifdCounters_)
        total += counters->bytes.load(std::memory_order_relaxed);
    return total;
}

std::unique_ptr<Connection> MigrationSource::openChannel(std::uint16_t port,
                                                         ChannelCounters& counters) {
    const std::string& id = counters.id;
    counters.state.store(ChannelState::Connecting);
    auto connection = std::make_unique<Connection>(
        connectTcp(host_, port, std::chrono::milliseconds(config_.connectTimeoutMs),
                   [this] { return cancelRequested_.load(); }),
        id);
    connection->setCounters(&counters);
    connection->setTlsPolicy(TlsPolicy{config_.tls.rekeyInterval, config_.tls.recordWarning},
                             &telemetry_, Side::Source);
    if (counters.kind == ChannelKind::Main) {
        // Stream out, return path in: two threads on one session, which race on a re-key
        // without the session lock.
        counters.bidirectional.store(true);
        connection->setProtection(TlsProtection::SessionLock);
    }
    {
        std::lock_guard lock(connectionsMutex_);
        connections_.push_back(connection.get());
        if (counters.kind == ChannelKind::Main)
            liveMain_ = connection.get();
    }
    try {
        throwIfCancelled();
        if (config_.tls.enabled) {
            counters.state.store(ChannelState::Handshake);
            const std::string& hostname =
                config_.tls.hostname.empty() ? host_ : config_.tls.hostname;
            connection->startTlsClient(*credentials_, config_.tls.priority, hostname);
            counters.setTlsInfo(connection->tlsVersion(), connection->tlsCipher(),
                                toString(connection->protection()));
        }
    } catch (...) {
        // cancel() must never reach a connection that is about to be freed.
        counters.state.store(ChannelState::Failed);
        std::lock_guard lock(connectionsMutex_);
        std::erase(connections_, connection.get());
        if (liveMain_ == connection.get())
            liveMain_ = nullptr;
        throw;
    }
    counters.state.store(ChannelState::Open);
    telemetry_.event(EventLevel::Info, Side::Source,
                     "channel " + id + " connected" +
                         (config_.tls.enabled ? " (" + connection->tlsVersion() + ", " +
                                                    connection->tlsCipher() + ")"
                                              : " (no TLS)"));
    return connection;
}

void MigrationSource::connectChannels(std::uint16_t port) {
    if (config_.tls.enabled)
        credentials_ = std::make_unique<TlsCredentials>(config_.tls.credsDir,
                                                        TlsCredentials::Endpoint::Client);
    main_ = openChannel(port, *mainCounters_);
    stream_ = std::make_unique<StreamWriter>(*main_);
    // The header names the channel and the migration at once: the destination drops a
    // connection that has not said what it is within its handshake timeout, and the multifd
    // channels opened next may have to wait for a busy destination to take them.
    sendHeader(false);
    stream_->flush();
    std::vector<MultifdSender::Channel> channels;
    // Channels opened so far die with this frame if a later one fails: unregister them first.
    struct Unregister {
        MigrationSource& source;
        std::vector<MultifdSender::Channel>& channels;
        ~Unregister() {
            std::lock_guard lock(source.connectionsMutex_);
            for (auto& channel : channels)
                if (channel.connection)
                    std::erase(source.connections_, channel.connection.get());
        }
    };
    std::optional<Unregister> unregisterOnFailure(Unregister{*this, channels});
    for (unsigned i = 0; i < config_.multifdChannels; ++i) {
        const std::string id = "multifd-" + std::to_string(i);
        MultifdSender::Channel channel;
        channel.connection = openChannel(port, *multifdCounters_[i]);
        channel.counters = multifdCounters_[i];
        for (const auto& fault : config_.faults)
            if (fault.channel == id && fault.kind == FaultSpec::Kind::CutChannel)
                channel.cut = &fault;
            else if (fault.channel == id && fault.kind == FaultSpec::Kind::CorruptPage)
                channel.corrupt = &fault;
        std::uint8_t hello[kMultifdInitSize];
        encodeHello(MultifdHello{config_.uuid, static_cast<std::uint8_t>(i)}, hello);
        channel.connection->sendAll(hello, sizeof hello);
        channels.push_back(std::move(channel));
    }
    unregisterOnFailure.reset(); // before the move below: nothing of ours is freed now
    if (!channels.empty())
        multifd_ =
            std::make_unique<MultifdSender>(std::move(channels), limiter_, telemetry_, sentHashes_);
}

void MigrationSource::sendHeader(bool resume) {
    StreamStart start;
    start.uuid = config_.uuid;
    start.channels = config_.multifdChannels;
    start.capabilities = capability_bit::kReturnPath;
    if (config_.capabilities.postcopyRam)
        start.capabilities |= capability_bit::kPostcopyRam;
    if (config_.capabilities.switchoverAck)
        start.capabilities |= capability_bit::kSwitchoverAck;
    start.resume = resume;
    const std::vector<std::uint8_t> bytes = encodeStreamStart(start);
    stream_->putBytes(bytes.data(), bytes.size());
}

void MigrationSource::sendSetup() {
    StreamWriter& out = *stream_;
    out.putCommand(StreamCommand::OpenReturnPath);
    pingSentAtMs_ = telemetry_.elapsedMs(); // its PONG measures the round trip
    sendPing(nextPing_++);
    if (config_.capabilities.postcopyRam)
        out.putCommand(StreamCommand::PostcopyAdvise,
                       wire::Payload().add64(kPageSize).add64(kPageSize).bytes);

    out.put8(static_cast<std::uint8_t>(Section::Start));
    out.put32(kRamSectionId);
    out.putString8("ram");
    out.put32(0); // instance
    out.put32(4); // version
    out.put64(guest_.totalBytes() | ram_flag::kMemSize);
    for (const auto& block : guest_.blocks()) {
        out.putString8(block->name());
        out.put64(block->size());
    }
    endRound();
    if (devices_) {
        devices_->setup(out);
        out.flush();
    }
}

void MigrationSource::endRound() {
    StreamWriter& out = *stream_;
    if (multifd_) {
        // Every page queued so far must be in destination RAM before the main stream goes
        // on: a page resent in the next round must not be overtaken by its older copy.
        multifd_->syncAll();
        out.put64(ram_flag::kMultifdFlush);
    }
    out.put64(ram_flag::kEos);
    out.put8(static_cast<std::uint8_t>(Section::Footer));
    out.put32(kRamSectionId);
    out.flush();
}

std::uint64_t MigrationSource::harvest(std::vector<PageBitmap>& dirty) {
    dirty.resize(guest_.blocks().size());
    std::uint64_t pages = 0;
    for (std::size_t b = 0; b < guest_.blocks().size(); ++b) {
        guest_.blocks()[b]->harvestDirty(dirty[b]);
        pages += dirty[b].count();
    }
    // QEMU's dirty-pages-rate: pages dirtied over a period of at least a second, so that two
    // syncs close together (before and at switchover) do not divide by almost nothing. Until
    // a first second has passed, a period of one measuring window will do: a migration shorter
    // than a second must not show 0 for a guest that dirties memory.
    const double now = telemetry_.elapsedMs();
    pagesSinceRate_ += pages;
    const double period = now - lastSyncMs_;
    if (period >= kDirtyRatePeriodMs || (!dirtyRateMeasured_ && period >= kWindowMs)) {
        dirtyRateMeasured_ = true;
        dirtyPagesRate_ = static_cast<double>(pagesSinceRate_) * 1000.0 / period;
        pagesSinceRate_ = 0;
        lastSyncMs_ = now;
    }
    ++dirtySyncCount_;
    return pages * kPageSize;
}

void MigrationSource::checkMainChannelFault() {
    for (const auto& fault : config_.faults)
        if (fault.kind == FaultSpec::Kind::CutChannel && fault.channel == "main" &&
            mainCounters_->bytes.load() > fault.afterBytes && !main_->wasShutDown()) {
            telemetry_.event(EventLevel::Warning, Side::Source,
                             "fault injected: " + fault.text + " (channel main cut after " +
                                 std::to_string(mainCounters_->bytes.load()) + " bytes)");
            main_->failNetwork();
        }
}

void MigrationSource::sendPageOnMainChannel(std::size_t block, std::uint64_t offset,
                                            bool& continued, bool urgent) {
    RamBlock& ram = *guest_.blocks()[block];
    const std::uint8_t* page = ram.data() + offset;
    const bool zero = isZeroPage(page);
    StreamWriter& out = *stream_;
    out.put64(offset | (zero ? ram_flag::kZero : ram_flag::kPage) |
              (continued ? ram_flag::kContinue : 0));
    if (!continued)
        out.putString8(ram.name());
    continued = true;
    std::uint64_t& sentHash = sentHashes_[block][offset / kPageSize];
    if (zero) {
        out.put8(0);
        ++mainZeroPages_;
        sentHash = zeroPageHash();
        return;
    }
    sentHash = hashPage(page);
    // A page the destination guest is waiting for does not queue behind the bandwidth cap.
    if (!urgent && !limiter_.acquire(kPageSize))
        throwIfCancelled();
    out.putBytes(page, kPageSize);
    ++mainNormalPages_;
    mainCounters_->pages.fetch_add(1, std::memory_order_relaxed);
}

switchover::DowntimeEstimate MigrationSource::estimateDowntime(std::uint64_t ramRemaining) {
    double roundTripMs = 0;
    {
        std::lock_guard lock(controlMutex_);
        if (idleRoundTripMs_ >= 0)
            roundTripMs = idleRoundTripMs_;
        else if (returnPathState_.firstPongAtMs >= 0 && pingSentAtMs_ >= 0)
            roundTripMs = returnPathState_.firstPongAtMs - pingSentAtMs_;
    }
    return switchover::estimate(ramRemaining, deviceRemaining_, linkBytesPerMs_,
                                config_.multifdChannels, roundTripMs);
}

std::uint64_t MigrationSource::catchUpBoundMs() const {
    return std::max<std::uint64_t>(2000, 4 * downtimeLimitMs_.load());
}

MigrationSource::Assessment MigrationSource::assessSwitchover(std::uint64_t ramRemaining) {
    Assessment result;
    result.downtime = estimateDowntime(ramRemaining);
    const std::uint64_t limitMs = downtimeLimitMs_.load();
    result.converged =
        switchover::converged(result.downtime, ramRemaining + deviceRemaining_.total(), limitMs);
    result.why = describeDowntime(result.downtime, ramRemaining, deviceRemaining_, linkBytesPerMs_,
                                  config_, limitMs);
    telemetry_.setConvergence(result.why);
    return result;
}

bool MigrationSource::stillFitsOnceCaughtUp(std::vector<PageBitmap>& dirty,
                                            std::uint32_t roundPing) {
    // What was sent may still sit in socket buffers or be loading at the destination; it
    // would drain inside the downtime.
    const double waitFrom = telemetry_.elapsedMs();
    if (!waitForPong(roundPing, std::chrono::milliseconds(catchUpBoundMs()))) {
        telemetry_.setConvergence("the destination is still loading what was sent");
        telemetry_.event(EventLevel::Info, Side::Source,
                         "the destination has not loaded round " + std::to_string(dirtySyncCount_) +
                             " within " + std::to_string(catchUpBoundMs()) +
                             " ms: not switching over yet");
        return false;
    }
    measureIdleRoundTrip();
    const std::uint64_t ramNow = harvest(dirty);
    publishStats(ramNow, true);
    const Assessment now = assessSwitchover(ramNow);
    // Every sync counted in dirty-sync-count is named in the log, this one too.
    telemetry_.event(EventLevel::Info, Side::Source,
                     "dirty sync " + std::to_string(dirtySyncCount_) +
                         ", once the destination had loaded what was sent (" +
                         std::to_string(std::llround(telemetry_.elapsedMs() - waitFrom)) +
                         " ms): " + now.why +
                         (now.converged ? "; switching over" : "; iterating on"));
    return now.converged;
}

void MigrationSource::measureIdleRoundTrip() {
    const std::uint32_t probe = nextPing_++;
    const double sentAt = telemetry_.elapsedMs();
    sendPing(probe);
    // Bounded like the catch-up: a destination that does not answer within it keeps the
    // round trip measured before.
    if (!waitForPong(probe, std::chrono::milliseconds(catchUpBoundMs())))
        return;
    std::lock_guard lock(controlMutex_);
    idleRoundTripMs_ = returnPathState_.lastPongAtMs - sentAt;
}

void MigrationSource::maybeThrottle(std::uint64_t dirtiedBytes) {
    const std::uint64_t transferred = transferredBytes();
    const std::uint64_t sent = transferred - transferredAtLastSync_;
    transferredAtLastSync_ = transferred;
    const bool dirtyRateHigh = dirtiedBytes * 2 > sent;
    if (!dirtyRateHigh)
        dirtyRateHighCount_ = 0;
    // Not for the bulk pass: everything was dirty then.
    if (!config_.capabilities.autoConverge || dirtySyncCount_ < 3 || !dirtyRateHigh)
        return;
    if (++dirtyRateHighCount_ < 2 || throttle_ >= config_.cpuThrottle.max)
        return;
    dirtyRateHighCount_ = 0;
    const unsigned before = throttle_;
    throttle_ = std::min(config_.cpuThrottle.max, throttle_ == 0
                                                      ? config_.cpuThrottle.initial
                                                      : throttle_ + config_.cpuThrottle.increment);
    guest_.setThrottle(throttle_);
    telemetry_.event(EventLevel::Warning, Side::Source,
                     "auto-converge: the guest dirtied " +
                         formatBytes(static_cast<double>(dirtiedBytes)) + " while " +
                         formatBytes(static_cast<double>(sent)) + " were sent; CPU throttle " +
                         std::to_string(before) + " % -> " + std::to_string(throttle_) + " %");
}

void MigrationSource::backOff() {
    std::unique_lock lock(controlMutex_);
    controlChanged_.wait_for(lock, std::chrono::milliseconds(100),
                             [&] { return cancelRequested_.load() || returnPathState_.ended; });
}

void MigrationSource::publishStats(std::uint64_t ramRemaining, bool roundEnded) {
    const std::uint64_t remainingBytes = ramRemaining + deviceRemaining_.total();
    const double now = telemetry_.elapsedMs();
    const std::uint64_t transferred = transferredBytes();
    // A round shorter than the window still measures the link: a fast link must not look
    // like a dead one (threshold 0) just because it finished early.
    if (now - windowStartMs_ >= kWindowMs ||
        (roundEnded && now > windowStartMs_ && transferred > windowStartBytes_)) {
        bandwidthBytesPerMs_ =
            static_cast<double>(transferred - windowStartBytes_) / (now - windowStartMs_);
        windowStartMs_ = now;
        windowStartBytes_ = transferred;
    }
    if (roundSending_) {
        const double linkMs = now - linkWindowStartMs_;
        const std::uint64_t linkBytes = transferred - linkWindowStartBytes_;
        const bool sample = roundEnded ? linkBytes >= kMinLinkSampleBytes || linkBytesPerMs_ == 0
                                       : linkMs >= kWindowMs;
        if (sample && linkMs > 0 && linkBytes > 0) {
            linkBytesPerMs_ = static_cast<double>(linkBytes) / linkMs;
            linkWindowStartMs_ = now;
            linkWindowStartBytes_ = transferred;
        }
        roundSending_ = !roundEnded;
    }
    MigrationStats stats;
    stats.total = guest_.totalBytes();
    stats.guestRam = config_.guest.ramSize;
    stats.transferred = transferred;
    stats.remaining = remainingBytes;
    stats.duplicate =
        mainZeroPages_ + endedMultifdPages_.zero + (multifd_ ? multifd_->zeroPages() : 0);
    stats.normal =
        mainNormalPages_ + endedMultifdPages_.normal + (multifd_ ? multifd_->normalPages() : 0);
    stats.dirtySyncCount = dirtySyncCount_;
    stats.dirtyPagesRate = dirtyPagesRate_;
    stats.mbps = bandwidthBytesPerMs_ * 1000.0 * 8 / 1e6;
    stats.expectedDowntimeMs =
        switchoverEstimateMs_ ? *switchoverEstimateMs_ : estimateDowntime(ramRemaining).totalMs();
    stats.downtimeLimitMs = downtimeLimitMs_.load();
    stats.cpuThrottlePercentage = throttle_;
    stats.setupTimeMs = setupTimeMs_;
    stats.downtimeMs = downtimeMs_;
    stats.totalTimeMs = now - startMs_;
    telemetry_.updateStats(stats);
}

void MigrationSource::publishCompletedStats() {
    // QEMU's migration_calculate_complete: once completed, mbps is the average over the
    // transfer (total time less setup), not the rate of the last window.
    MigrationStats stats = telemetry_.stats();
    stats.transferred = transferredBytes();
    stats.totalTimeMs = telemetry_.elapsedMs() - startMs_;
    const double transferMs = stats.totalTimeMs - stats.setupTimeMs;
    stats.mbps =
        transferMs > 0 ? static_cast<double>(stats.transferred) * 8.0 / transferMs / 1000 : 0;
    stats.remaining = 0;
    telemetry_.updateStats(stats);
}

bool MigrationSource::sendRound(std::vector<PageBitmap>& dirty) {
    roundSending_ = true;
    linkWindowStartMs_ = telemetry_.elapsedMs();
    linkWindowStartBytes_ = transferredBytes();
    std::uint64_t left = 0;
    for (const auto& pages : dirty)
        left += pages.count();
    bool continued = false;
    unsigned sinceCheck = 0;
    for (std::size_t b = 0; b < dirty.size(); ++b) {
        RamBlock& block = *guest_.blocks()[b];
        PageBitmap& pages = dirty[b];
        continued = false;
        for (std::uint64_t page = pages.findNext(0); page < pages.pages();
             page = pages.findNext(page + 1)) {
            pages.reset(page);
            if (multifd_)
                multifd_->queuePage(b, block, page * kPageSize);
            else
                sendPageOnMainChannel(b, page * kPageSize, continued);
            --left;
            if (++sinceCheck == kPagesBetweenChecks) {
                sinceCheck = 0;
                throwIfCancelled();
                throwIfReturnPathEnded();
                checkMainChannelFault();
                publishStats(left * kPageSize);
                // Postcopy may start mid-round: what is left here is sent in postcopy.
                if (telemetry_.status() == MigrationStatus::Active && postcopyWanted())
                    return false;
            }
        }
    }
    return true;
}

void MigrationSource::complete(std::vector<PageBitmap>& dirty) {
    telemetry_.setStatus(MigrationStatus::Device);
    telemetry_.setPhase("switchover: guest stopped");
    const double stoppedAt = telemetry_.elapsedMs();
    deviceRemaining_ = {}; // from here on, sent as part of the downtime
    // Where the downtime goes, step by step, for the event log.
    std::string steps;
    double stepStart = stoppedAt;
    auto step = [&](const char* what) {
        const double now = telemetry_.elapsedMs();
        steps += (steps.empty() ? "" : ", ") + std::string(what) + " " +
                 std::to_string(std::llround(now - stepStart)) + " ms";
        stepStart = now;
    };
    guest_.stop();
    telemetry_.setSourceGuest(GuestState::Paused);
    // `dirty` still holds what the last sync found; add what the guest wrote since.
    const std::uint64_t last = harvest(dirty);
    telemetry_.event(EventLevel::Info, Side::Source,
                     "switchover: guest stopped, " + formatBytes(static_cast<double>(last)) +
                         " dirty left to send (dirty sync " + std::to_string(dirtySyncCount_) +
                         ")");
    // What was expected as the guest stopped stays the expected downtime, beside the real one.
    switchoverEstimateMs_ = telemetry_.stats().expectedDowntimeMs;
    step("stopping the guest");
    StreamWriter& out = *stream_;
    // A trainer's holds inside the downtime keep the guest stopped; they are not downtime.
    double heldMs = 0;
    const auto hold = [&](const char* phase) {
        const double held = holdAt(phase);
        heldMs += held;
        stepStart += held;
    };
    if (devices_ && !devices_->empty()) {
        hold("device stop-copy");
        telemetry_.setPhase("switchover: devices quiesce and save their state (STOP_COPY)");
        devices_->switchover(out, multifd_.get());
        step("device state");
    }
    out.put8(static_cast<std::uint8_t>(Section::End));
    out.put32(kRamSectionId);
    sendRound(dirty);
    endRound();
    step(("last RAM (" + formatBytes(static_cast<double>(last)) + ")").c_str());
    // The multifd channels carry nothing more: end their sessions now, so the destination
    // judges how they ended before it gives its verdict.
    finishMultifd();
    step("closing the multifd channels");

    hold("verification");
    // Every page's last copy was hashed as it was sent: this only combines the hashes.
    sendIntegritySectionAndEof(guest_.digestOf(sentHashes_));
    telemetry_.setPhase("switchover: waiting for the destination's verdict");
    // The destination answers SHUT on the return path after it has loaded everything and
    // compared its RAM digest with ours.
    waitForShut();
    step("the destination's verdict");
    downtimeMs_ = telemetry_.elapsedMs() - stoppedAt - heldMs;
    telemetry_.event(EventLevel::Info, Side::Source,
                     "downtime " + std::to_string(std::llround(downtimeMs_)) + " ms: " + steps +
                         (heldMs > 0 ? " (and " + std::to_string(std::llround(heldMs)) +
                                           " ms held by stepping, not counted)"
                                     : ""));
    if (const std::uint64_t limitMs = downtimeLimitMs_.load();
        limitMs > 0 && downtimeMs_ > static_cast<double>(limitMs))
        telemetry_.warning(Side::Source, "downtime " + std::to_string(std::llround(downtimeMs_)) +
                                             " ms exceeded the downtime-limit of " +
                                             std::to_string(limitMs) + " ms");
    closeReturnPath();
    if (devices_)
        devices_->completed(); // after the verdict, as QEMU's save_cleanup: not in downtime
    main_->endSession();
    main_->recordKernelView(kFinalAckWait);
    if (multifd_)
        multifd_->recordFinalKernelViews();
    mainCounters_->state.store(ChannelState::Closed);
    publishStats(0);
}

void MigrationSource::finishMultifd() {
    if (!multifd_)
        return;
    const bool legacy = std::any_of(config_.faults.begin(), config_.faults.end(),
                                    [](auto& f) { return f.kind == FaultSpec::Kind::TlsNoBye; });
    // Said before the channels close: what the destination makes of it comes after.
    if (legacy && config_.tls.enabled)
        telemetry_.warning(Side::Source,
                           "fault injected: tls-no-bye (multifd channels closed without "
                           "close_notify, as sources before QEMU 9.1 did)");
    multifd_->finish(legacy);
}

void MigrationSource::sendIntegritySectionAndEof(const Digest& digest) {
    StreamWriter& out = *stream_;
    out.put8(static_cast<std::uint8_t>(Section::Full));
    out.put32(kIntegritySectionId);
    out.putString8(kIntegritySectionName);
    out.put32(0);
    out.put32(1);
    out.putBytes(digest.data(), digest.size());
    const DeviceDigests devices = devices_ ? devices_->digests() : DeviceDigests{};
    out.put32(static_cast<std::uint32_t>(devices.size()));
    for (const auto& [name, deviceDigest] : devices) {
        out.putString8(name);
        out.put64(deviceDigest);
    }
    out.put8(static_cast<std::uint8_t>(Section::Footer));
    out.put32(kIntegritySectionId);
    out.put8(static_cast<std::uint8_t>(Section::Eof));
    out.flush();
}

void MigrationSource::warnAboutFaultsThatNeverFired() {
    for (std::size_t i = 0; i < config_.faults.size(); ++i) {
        const FaultSpec& fault = config_.faults[i];
        if (fault.kind == FaultSpec::Kind::CutMainInPostcopy && !faultFired_[i])
            telemetry_.warning(Side::Source,
                               "fault " + fault.text + " never fired: " +
                                   (switchedToPostcopy_ ? "postcopy ended before the main channel "
                                                          "carried that much"
                                                        : "the migration never reached postcopy"));
        if (fault.kind != FaultSpec::Kind::CutChannel && fault.kind != FaultSpec::Kind::CorruptPage)
            continue;
        const ChannelCounters* counters = nullptr;
        if (fault.channel == "main")
            counters = mainCounters_;
        for (const auto* candidate : multifdCounters_)
            if (candidate->id == fault.channel)
                counters = candidate;
        const std::uint64_t carried = counters ? counters->bytes.load() : 0;
        if (carried <= fault.afterBytes)
            telemetry_.warning(Side::Source,
                               "fault " + fault.text + " never fired: channel " + fault.channel +
                                   (counters ? " carried only " + std::to_string(carried) + " bytes"
                                             : " does not exist in this migration"));
    }
}

MigrationStatus MigrationSource::run(std::uint16_t destinationPort) {
    host_ = config_.destinationHost;
    port_ = destinationPort;
    startMs_ = telemetry_.elapsedMs();
    windowStartMs_ = startMs_;
    lastSyncMs_ = startMs_;
    try {
        telemetry_.setStatus(MigrationStatus::Setup);
        if (devices_ && !devices_->empty() && config_.capabilities.postcopyRam)
            throw MigrationError("VFIO devices cannot migrate with postcopy-ram (QEMU's VFIO "
                                 "save_prepare refuses it too): remove the devices or the "
                                 "capability");
        // A trainer's first hold: nothing connected yet. QEMU's setup-time leaves it out.
        const double heldInSetup = holdAt("setup");
        throwIfCancelled();
        telemetry_.setPhase("setup: connecting channels");
        connectChannels(destinationPort);
        openReturnPath();
        sendSetup();
        setupTimeMs_ = telemetry_.elapsedMs() - startMs_ - heldInSetup;
        throwIfCancelled();
        {
            std::lock_guard lock(controlMutex_);
            throwIfCancelled();
            telemetry_.setStatus(MigrationStatus::Active);
        }
        activeStartMs_ = telemetry_.elapsedMs();

        // The bulk pass is the first round: every page is dirty. Whatever the guest wrote
        // before now is covered by it, so the guest's own log starts empty.
        std::vector<PageBitmap> dirty;
        harvest(dirty);
        for (auto& pages : dirty)
            pages.setAll();
        sentHashes_ = emptyPageHashes(guest_.blocks());
        bool postcopy = false;
        bool announcedAckWait = false;
        bool heldForSwitchover = false;
        holdAt("bulk copy");
        throwIfCancelled();
        telemetry_.event(EventLevel::Info, Side::Source,
                         "bulk copy: every page of guest RAM is sent once (dirty sync " +
                             std::to_string(dirtySyncCount_) + ")");
        for (;;) {
            // One count under one name everywhere: QEMU's dirty-sync-count, which the header,
            // the JSON and the log's "dirty sync N" lines show too.
            if (dirtySyncCount_ > 1) {
                holdAt("dirty sync " + std::to_string(dirtySyncCount_));
                throwIfCancelled();
            }
            telemetry_.setPhase(dirtySyncCount_ <= 1
                                    ? "bulk copy"
                                    : "dirty sync " + std::to_string(dirtySyncCount_));
            stream_->put8(static_cast<std::uint8_t>(Section::Part));
            stream_->put32(kRamSectionId);
            const bool roundComplete = sendRound(dirty);
            endRound();
            // Answered once the destination has loaded this round (its multifd data too).
            const std::uint32_t roundPing = nextPing_++;
            sendPing(roundPing);
            stream_->flush();
            if (!roundComplete) {
                postcopy = true;
                break;
            }
            const std::uint64_t ramRemaining = harvest(dirty);
            maybeThrottle(ramRemaining);
            if (devices_ && !devices_->empty()) {
                devices_->iterate(*stream_, kDeviceBytesPerRound);
                stream_->flush();
                deviceRemaining_ = devices_->pendingBytes();
            }
            publishStats(ramRemaining, true);
            const Assessment assessment = assessSwitchover(ramRemaining);
            // Every sync while it converges quickly; a migration that does not converge says
            // why every few seconds, not at every sync.
            const double now = telemetry_.elapsedMs();
            if (assessment.converged || dirtySyncCount_ <= 5 || now - lastSyncLoggedMs_ >= 5000) {
                telemetry_.event(
                    EventLevel::Info, Side::Source,
                    "dirty sync " + std::to_string(dirtySyncCount_) + ": " + assessment.why +
                        (assessment.converged ? "; switching over" : "; iterating on"));
                lastSyncLoggedMs_ = now;
            }
            throwIfCancelled();
            throwIfReturnPathEnded();
            if (postcopyWanted()) {
                postcopy = true;
                break;
            }
            if (!assessment.converged && ramRemaining == 0)
                backOff(); // nothing new to send: what does not fit is the devices' state
            if (assessment.converged) {
                // Held before the last check: what the running guest dirtied meanwhile is
                // counted before the guest stops, and may send precopy round again.
                if (!heldForSwitchover) {
                    holdAt("switchover");
                    heldForSwitchover = true;
                    throwIfCancelled();
                }
                if (!stillFitsOnceCaughtUp(dirty, roundPing))
                    continue;
                if (!config_.capabilities.switchoverAck || switchoverAcked())
                    break;
                if (!announcedAckWait)
                    telemetry_.event(EventLevel::Info, Side::Source,
                                     "converged, but switchover waits for the destination's "
                                     "SWITCHOVER_ACK (switchover-ack capability)");
                announcedAckWait = true;
                telemetry_.setPhase("waiting for SWITCHOVER_ACK");
                waitForSwitchoverAck(std::chrono::milliseconds(100));
            }
        }
        throwIfCancelled();
        if (postcopy) {
            holdAt("postcopy start");
            throwIfCancelled();
            switchToPostcopy(dirty);
            runPostcopy();
        } else {
            complete(dirty);
        }
        warnAboutFaultsThatNeverFired();
        publishCompletedStats();
        telemetry_.setPhase("completed");
        telemetry_.setSourceGuest(GuestState::Postmigrate);
        telemetry_.setStatus(MigrationStatus::Completed);
        return MigrationStatus::Completed;
    } catch (const std::exception& error) {
        const bool cancelled = cancelRequested_.load();
        // A bad return-path message shuts the channel down, so the migration thread fails
        // on its next send; the return path's reason is the cause.
        std::string reason = error.what();
        {
            std::unique_lock lock(controlMutex_);
            // A broken channel is often the destination hanging up after its verdict: give
            // the return path a moment to deliver that SHUT, which names the cause.
            if (!cancelled && returnPath_.joinable() && !dynamic_cast<const DeviceError*>(&error))
                controlChanged_.wait_for(lock, std::chrono::seconds(1),
                                         [&] { return returnPathState_.ended; });
            if (returnPathState_.ended && !returnPathState_.lost && !returnPathState_.error.empty())
                reason = returnPathState_.error;
            else if (returnPathState_.shut && *returnPathState_.shut != 0 && !cancelled)
                reason = "the destination reported an error (SHUT " +
                         describeShut(*returnPathState_.shut) + ")";
        }
        // Cancelling shuts every connection, so whichever thread noticed first may fail on a
        // send: that failure follows from the cancel, which is the cause.
        const std::string cancelledByOperator = "migration cancelled by the operator";
        if (cancelled && reason != cancelledByOperator) {
            telemetry_.event(EventLevel::Info, Side::Source, "after the cancel: " + reason);
            reason = cancelledByOperator;
        }
        telemetry_.setError(reason);
        telemetry_.event(cancelled ? EventLevel::Warning : EventLevel::Error, Side::Source, reason);
        if (cancelled)
            telemetry_.setStatus(MigrationStatus::Cancelling);
        limiter_.cancel();
        {
            std::lock_guard lock(connectionsMutex_);
            // The kernel's last count of each socket before it goes: a short run can end
            // before the sampler ever read it, and the table would show the handshake's bytes.
            for (Connection* connection : connections_)
                connection->recordKernelView(std::chrono::milliseconds(0));
            for (Connection* connection : connections_)
                connection->shutdown();
            connections_.clear();
            liveMain_ = nullptr;
        }
        closeReturnPath(); // its connection is shut down: it ends now
        if (multifd_) {
            // What its channels sent stays counted when the sender goes.
            endedMultifdPages_.zero += multifd_->zeroPages();
            endedMultifdPages_.normal += multifd_->normalPages();
        }
        multifd_.reset();
        stream_.reset();
        main_.reset();
        // After a cancel a channel whose send the cancel broke did not fail: it was closed.
        for (auto* counters : multifdCounters_)
            if (cancelled || counters->state.load() != ChannelState::Failed)
                counters->state.store(ChannelState::Closed);
        if (cancelled || mainCounters_->state.load() != ChannelState::Failed)
            mainCounters_->state.store(ChannelState::Closed);
        // The guest is never left stopped by a migration that did not complete, nor its
        // devices.
        if (devices_)
            devices_->resumeAfterFailure();
        guest_.setThrottle(0); // it runs on at full speed
        const bool wasStopped = !guest_.running();
        guest_.start();
        telemetry_.setSourceGuest(GuestState::Running);
        // Said in words because it is the outcome a support engineer looks for first.
        telemetry_.event(EventLevel::Info, Side::Source,
                         wasStopped ? "the source guest resumed: the migration had stopped it "
                                      "for switchover and did not complete"
                                    : "the source guest kept running");
        deviceRemaining_ = {};
        publishStats(telemetry_.stats().remaining); // what was left when it stopped
        if (switchedToPostcopy_)
            telemetry_.event(EventLevel::Warning, Side::Source,
                             "the migration ended during postcopy: the source guest resumes "
                             "from the switchover state, and whatever the destination guest "
                             "did since, if it started, is discarded with it");
        const MigrationStatus final =
            cancelled ? MigrationStatus::Cancelled : MigrationStatus::Failed;
        telemetry_.setPhase(cancelled ? "cancelled" : "failed");
        telemetry_.setStatus(final);
        return final;
    }
}

} // namespace migrascope
