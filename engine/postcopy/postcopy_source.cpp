// The source's postcopy (QEMU's postcopy_start, postcopy_pause, postcopy_do_resume): the
// switch, the background push with requested pages first, and pause / resume after a
// network failure. "Pause is always better than throwing data away."
#include "engine/common/migration_error.h"
#include "engine/source/migration_source.h"
#include "engine/source/multifd_sender.h"
#include "engine/wire/wire.h"

#include <bit>
#include <utility>

namespace migrascope {
namespace {
constexpr unsigned kPagesPerSection = 64;
constexpr unsigned kPagesBetweenChecks = 256;
// A requested page queues behind at most this much background data in the kernel.
constexpr int kPostcopyUnsentLimit = 128 * 1024;
} // namespace

const char* toString(PauseStep step) {
    switch (step) {
    case PauseStep::ChannelShutDown:
        return "main channel shut down";
    case PauseStep::ReturnPathJoined:
        return "return-path thread joined";
    case PauseStep::ChannelReleased:
        return "main channel released";
    case PauseStep::Paused:
        return "postcopy-paused";
    }
    return "unknown";
}

std::string MigrationSource::startPostcopy() {
    if (!config_.capabilities.postcopyRam)
        return "the postcopy-ram capability is off for this migration";
    const MigrationStatus status = telemetry_.status();
    if (status != MigrationStatus::Setup && status != MigrationStatus::Active)
        return std::string("postcopy starts from precopy only; the migration is ") +
               toString(status);
    if (postcopyRequested_.exchange(true))
        return "the switch to postcopy was already requested";
    telemetry_.event(EventLevel::Info, Side::Source,
                     "switch to postcopy requested (migrate-start-postcopy)");
    return {};
}

std::string MigrationSource::interrupt(const std::string& reason, Termination how,
                                       const std::function<void()>& accepted) {
    // One critical section: the connection shut down is the one the status speaks of.
    std::lock_guard lock(controlMutex_);
    const MigrationStatus status = telemetry_.status();
    if (status != MigrationStatus::PostcopyActive && status != MigrationStatus::PostcopyRecover)
        return std::string("possible only in postcopy-active or postcopy-recover; the "
                           "migration is ") +
               toString(status);
    if (finishing_)
        return "the migration is finishing: every page was sent and the destination is "
               "verifying them";
    interruptReason_ = reason;
    interruptHow_ = how;
    if (accepted)
        accepted();
    std::lock_guard connectionsLock(connectionsMutex_);
    if (liveMain_) {
        if (how == Termination::Network)
            liveMain_->failNetwork();
        else if (how == Termination::Paused)
            liveMain_->shutdownForPause(); // a remote destination learns it was a pause
        else
            liveMain_->shutdown(how);
    }
    return {};
}

std::string MigrationSource::pause(const std::function<void()>& accepted) {
    return interrupt("paused by the operator (migrate-pause)", Termination::Paused, accepted);
}

std::string MigrationSource::cutNetwork(const std::function<void()>& accepted) {
    return interrupt("the network under the main channel failed (trainer's fault)",
                     Termination::Network, accepted);
}

std::string MigrationSource::resume(const std::string& host, std::uint16_t port) {
    {
        std::lock_guard lock(controlMutex_);
        const MigrationStatus status = telemetry_.status();
        if (status != MigrationStatus::PostcopyPaused)
            return std::string("resume refused: the migration is ") + toString(status) +
                   ", not postcopy-paused";
        if (resumeRequested_)
            return "resume refused: a resume is already under way";
        resumeRequested_ = true;
        resumeHost_ = host;
        resumePort_ = port;
    }
    controlChanged_.notify_all();
    return {};
}

bool MigrationSource::postcopyWanted() const {
    if (!config_.capabilities.postcopyRam)
        return false;
    if (postcopyRequested_.load())
        return true;
    const PostcopyStart& start = config_.postcopyStart;
    // dirtySyncCount_ counts the bulk pass too: iteration N ends at sync N + 1.
    if (start.afterIterations > 0 && dirtySyncCount_ >= start.afterIterations + 1)
        return true;
    return start.afterMs > 0 &&
           telemetry_.elapsedMs() - activeStartMs_ >= start.afterMs * slowMotion_.load();
}

std::uint64_t MigrationSource::pagesToSend() const {
    std::uint64_t pages = 0;
    for (const auto& bitmap : toSend_)
        pages += bitmap.count();
    return pages;
}

void MigrationSource::switchToPostcopy(std::vector<PageBitmap>& dirty) {
    telemetry_.setStatus(MigrationStatus::Device);
    telemetry_.setPhase("switching to postcopy: guest stopped");
    const double stoppedAt = telemetry_.elapsedMs();
    guest_.stop();
    telemetry_.setSourceGuest(GuestState::Paused);
    harvest(dirty); // what the guest wrote since the last sync joins what that sync found
    toSend_ = dirty;
    switchedToPostcopy_ = true;

    StreamWriter& out = *stream_;
    sendPing(nextPing_++);
    sendDiscards();
    out.putCommand(StreamCommand::PostcopyListen);
    // Once the destination listens, a multifd channel that ends is no error there.
    const std::uint32_t listening = nextPing_++;
    sendPing(listening);
    waitForPong(listening);
    finishMultifd();
    main_->limitUnsentBytes(kPostcopyUnsentLimit);
    {
        // Before RUN: the destination guest may ask for a page the moment it starts.
        std::lock_guard lock(controlMutex_);
        throwIfCancelled();
        telemetry_.setStatus(MigrationStatus::PostcopyActive);
    }
    out.putCommand(StreamCommand::PostcopyRun);
    out.flush();
    downtimeMs_ = telemetry_.elapsedMs() - stoppedAt;
    postcopyStartBytes_ = mainCounters_->bytes.load();
    const std::uint64_t left = pagesToSend();
    telemetry_.setPhase("postcopy");
    telemetry_.event(EventLevel::Info, Side::Source,
                     "postcopy: the destination guest runs; " + std::to_string(left) + " pages (" +
                         formatBytes(static_cast<double>(left * kPageSize)) +
                         ") still here are pushed in the background or sent when asked for");
}

void MigrationSource::sendDiscards() {
    // POSTCOPY_RAM_DISCARD: u8 version 0, u8 namelen, name, u8 0, then (be64 start,
    // be64 length) ranges: the pages the destination holds in an older version.
    for (std::size_t b = 0; b < toSend_.size(); ++b) {
        const std::string& name = guest_.blocks()[b]->name();
        const std::size_t perCommand = (0xffff - 3 - name.size()) / 16;
        wire::Payload payload;
        std::size_t ranges = 0;
        auto flush = [&] {
            if (ranges > 0)
                stream_->putCommand(StreamCommand::PostcopyRamDiscard, payload.bytes);
            payload = wire::Payload();
            payload.add8(0).addString8(name).add8(0);
            ranges = 0;
        };
        flush();
        const PageBitmap& changed = toSend_[b];
        for (std::uint64_t page = changed.findNext(0); page < changed.pages();
             page = changed.findNext(page)) {
            const std::uint64_t first = page;
            while (page < changed.pages() && changed.test(page))
                ++page;
            payload.add64(first * kPageSize).add64((page - first) * kPageSize);
            if (++ranges == perCommand)
                flush();
        }
        flush();
    }
}

void MigrationSource::maybeCutNetworkForFault() {
    for (std::size_t i = 0; i < config_.faults.size(); ++i) {
        const FaultSpec& fault = config_.faults[i];
        if (fault.kind != FaultSpec::Kind::CutMainInPostcopy || faultFired_[i] ||
            mainCounters_->bytes.load() - postcopyStartBytes_ < fault.afterBytes)
            continue;
        faultFired_[i] = true;
        {
            std::lock_guard lock(controlMutex_);
            interruptReason_ =
                "the network under the main channel failed (fault injected: " + fault.text + ")";
            interruptHow_ = Termination::Network;
        }
        telemetry_.event(EventLevel::Warning, Side::Source,
                         "fault injected: " + fault.text + " (the main channel's network fails)");
        main_->failNetwork();
    }
}

bool MigrationSource::takeUrgentPage(PageRef& page) {
    std::lock_guard lock(controlMutex_);
    if (urgentPages_.empty())
        return false;
    page = urgentPages_.front();
    urgentPages_.pop_front();
    return true;
}

void MigrationSource::sendPostcopyPages() {
    StreamWriter& out = *stream_;
    bool sectionOpen = false;
    bool continued = false;
    std::size_t lastBlock = 0;
    unsigned inSection = 0;
    unsigned sinceCheck = 0;
    auto openSection = [&] {
        out.put8(static_cast<std::uint8_t>(Section::Part));
        out.put32(kRamSectionId);
        sectionOpen = true;
        continued = false;
        inSection = 0;
    };
    auto closeSection = [&] {
        out.put64(ram_flag::kEos);
        out.put8(static_cast<std::uint8_t>(Section::Footer));
        out.put32(kRamSectionId);
        out.flush();
        sectionOpen = false;
    };
    auto send = [&](const PageRef& page, bool urgent) {
        if (!sectionOpen)
            openSection();
        if (page.block != lastBlock)
            continued = false;
        lastBlock = page.block;
        sendPageOnMainChannel(page.block, page.offset, continued, urgent);
    };

    std::size_t block = 0;
    std::uint64_t next = 0;
    for (;;) {
        throwIfCancelled();
        throwIfReturnPathEnded();
        maybeCutNetworkForFault();
        PageRef page;
        if (takeUrgentPage(page)) {
            PageBitmap& left = toSend_[page.block];
            if (!left.test(page.offset / kPageSize)) {
                // Already on its way, but perhaps still in our buffer behind capped pages.
                if (sectionOpen)
                    closeSection();
                continue;
            }
            left.reset(page.offset / kPageSize);
            send(page, true);
            telemetry_.urgentPageSent();
            closeSection(); // the destination guest is waiting for it: on the wire now
            continue;
        }
        // The background push walks the blocks in order; `next` only moves forward, and a
        // page sent urgently meanwhile is no longer set when the walk reaches it.
        while (block < toSend_.size() &&
               (next = toSend_[block].findNext(next)) == toSend_[block].pages()) {
            ++block;
            next = 0;
        }
        if (block == toSend_.size())
            break;
        toSend_[block].reset(next);
        send(PageRef{block, next * kPageSize}, false);
        if (++inSection == kPagesPerSection)
            closeSection();
        if (++sinceCheck == kPagesBetweenChecks) {
            sinceCheck = 0;
            publishStats(pagesToSend() * kPageSize);
        }
    }
    if (sectionOpen)
        closeSection();
    publishStats(0);
}

void MigrationSource::finishPostcopy() {
    StreamWriter& out = *stream_;
    out.put8(static_cast<std::uint8_t>(Section::End));
    out.put32(kRamSectionId);
    out.put64(ram_flag::kEos);
    out.put8(static_cast<std::uint8_t>(Section::Footer));
    out.put32(kRamSectionId);
    {
        std::lock_guard lock(controlMutex_);
        finishing_ = true;
    }
    // Postcopy: the source guest stays stopped and the destination's runs, so hashing the
    // whole RAM here costs no downtime.
    sendIntegritySectionAndEof(guest_.digest());
    telemetry_.setPhase("postcopy: every page sent; waiting for the destination's verdict");
    waitForShut();
    closeReturnPath();
    endMainSessionAfterVerdict();
}

void MigrationSource::endMainSessionAfterVerdict() {
    // The multifd channels ended at the switch to postcopy; their acks are long in.
    if (multifd_)
        multifd_->recordFinalKernelViews();
    // The destination has verified everything and said so: a broken connection now cannot
    // undo that, so it is only noted.
    try {
        main_->endSession();
        mainCounters_->state.store(ChannelState::Closed);
    } catch (const ConnectionError& error) {
        mainCounters_->state.store(ChannelState::Failed);
        telemetry_.event(EventLevel::Warning, Side::Source,
                         std::string("after the destination's SHUT 0: ") + error.what());
    }
}

void MigrationSource::runPostcopy() {
    for (;;) {
        try {
            if (destinationCompleted_) {
                // It had verified everything before the connection broke; the resumed
                // connection brought its SHUT 0.
                closeReturnPath();
                endMainSessionAfterVerdict();
                return;
            }
            sendPostcopyPages();
            finishPostcopy();
            return;
        } catch (const ConnectionError& error) {
            if (cancelRequested_.load())
                throw;
            pauseUntilResumed(error.what());
        }
    }
}

void MigrationSource::pauseStep(PauseStep step) {
    if (pauseStepHook_)
        pauseStepHook_(step);
}

void MigrationSource::releaseMainChannel() {
    {
        std::lock_guard lock(connectionsMutex_);
        std::erase(connections_, main_.get());
        if (liveMain_ == main_.get())
            liveMain_ = nullptr;
    }
    stream_.reset();
    main_.reset();
}

void MigrationSource::pauseSequence(const std::string& cause) {
    std::string reason = cause;
    Termination how = Termination::Network;
    {
        std::lock_guard lock(controlMutex_);
        if (!interruptReason_.empty()) {
            reason = interruptReason_;
            how = interruptHow_;
        }
        interruptReason_.clear();
    }
    telemetry_.setPhase("postcopy: pausing");
    telemetry_.event(EventLevel::Warning, Side::Source, "postcopy pausing: " + reason);
    if (main_)
        main_->shutdown(how); // unblocks the return-path thread's read
    // The operator's pause closes the channel; anything else broke it.
    mainCounters_->state.store(how == Termination::Paused ? ChannelState::Closed
                                                          : ChannelState::Failed);
    pauseStep(PauseStep::ChannelShutDown);
    closeReturnPath();
    {
        // Only a lost connection pauses. A bad message or SHUT with an error is the
        // destination's verdict, whatever broke the connection after it.
        std::unique_lock lock(controlMutex_);
        const ReturnPathState& state = returnPathState_;
        const bool verdict = state.ended && (state.shut || !state.lost);
        lock.unlock();
        if (verdict)
            throwIfReturnPathEnded();
    }
    telemetry_.event(EventLevel::Info, Side::Source,
                     "return-path thread " + std::to_string(returnPathGeneration_) +
                         " joined; its connection is released next");
    pauseStep(PauseStep::ReturnPathJoined);
    releaseMainChannel();
    pauseStep(PauseStep::ChannelReleased);
    {
        std::lock_guard lock(controlMutex_);
        throwIfCancelled();
        telemetry_.setStatus(MigrationStatus::PostcopyPaused);
        resumeRequested_ = false;
        interruptReason_.clear(); // an interrupt that raced this pause is spent
        finishing_ = false;
        urgentPages_.clear(); // the destination asks again after the resume
    }
    telemetry_.setPhase("postcopy paused: waiting for resume");
    telemetry_.event(EventLevel::Warning, Side::Source,
                     "postcopy-paused: " + std::to_string(pagesToSend()) +
                         " pages still to send; the source guest stays stopped");
    pauseStep(PauseStep::Paused);
}

void MigrationSource::pauseUntilResumed(std::string reason) {
    const double pausedAt = telemetry_.elapsedMs();
    telemetry_.postcopyPaused();
    for (;;) {
        pauseSequence(reason);
        {
            std::unique_lock lock(controlMutex_);
            controlChanged_.wait(lock, [&] { return resumeRequested_ || cancelRequested_.load(); });
        }
        throwIfCancelled();
        try {
            const std::uint64_t before = pagesToSend();
            resumeHandshake();
            // A trainer's hold: the new connection is up and the destination said what it
            // lacks; its guest waits for those pages until Continue.
            holdAt("postcopy recovery");
            throwIfCancelled();
            const std::uint64_t missing = pagesToSend();
            telemetry_.postcopyRecovered(telemetry_.elapsedMs() - pausedAt, missing);
            telemetry_.event(
                EventLevel::Info, Side::Source,
                "postcopy-active again after " +
                    std::to_string(static_cast<long long>(telemetry_.elapsedMs() - pausedAt)) +
                    " ms; " + std::to_string(missing) + " pages to send (" +
                    std::to_string(missing > before ? missing - before : 0) +
                    " were lost in flight when the connection broke)");
            return;
        } catch (const ConnectionError& error) {
            if (cancelRequested_.load())
                throw;
            reason = std::string("resume failed: ") + error.what();
        }
    }
}

void MigrationSource::resumeHandshake() {
    {
        std::lock_guard lock(controlMutex_);
        resumeRequested_ = false;
        if (!resumeHost_.empty()) {
            host_ = std::exchange(resumeHost_, {});
            port_ = resumePort_;
        }
        throwIfCancelled();
        telemetry_.setStatus(MigrationStatus::PostcopyRecoverSetup);
    }
    telemetry_.setPhase("postcopy recover: reconnecting");
    telemetry_.event(EventLevel::Info, Side::Source,
                     "resume: reconnecting the main channel to " + host_ + ":" +
                         std::to_string(port_));
    main_ = openChannel(port_, *mainCounters_);
    main_->limitUnsentBytes(kPostcopyUnsentLimit);
    stream_ = std::make_unique<StreamWriter>(*main_);
    openReturnPath();
    {
        std::lock_guard lock(controlMutex_);
        throwIfCancelled();
        telemetry_.setStatus(MigrationStatus::PostcopyRecover);
    }
    telemetry_.setPhase("postcopy recover: asking for the received-pages bitmaps");
    sendHeader(true);
    stream_->putCommand(StreamCommand::OpenReturnPath);
    for (const auto& block : guest_.blocks())
        stream_->putCommand(StreamCommand::RecvBitmap,
                            wire::Payload().addString8(block->name()).bytes);
    stream_->flush();

    std::map<std::string, PageBitmap> bitmaps;
    bool completedThere = false;
    {
        std::unique_lock lock(controlMutex_);
        controlChanged_.wait(lock, [&] {
            return returnPathState_.bitmaps.size() == guest_.blocks().size() ||
                   returnPathState_.ended || cancelRequested_.load();
        });
        bitmaps = returnPathState_.bitmaps;
        completedThere = returnPathState_.shut == std::optional<std::uint32_t>(0);
        if (completedThere)
            telemetry_.setStatus(MigrationStatus::PostcopyActive);
    }
    throwIfCancelled();
    if (completedThere) {
        destinationCompleted_ = true;
        telemetry_.event(EventLevel::Info, Side::Source,
                         "resume: the destination had already verified every page and "
                         "completed; its SHUT 0 came on the resumed connection");
        return;
    }
    if (bitmaps.size() != guest_.blocks().size())
        throwIfReturnPathEnded();

    // Resend exactly what the destination lacks: not-received is the new dirty map.
    std::uint64_t received = 0;
    std::uint64_t total = 0;
    for (std::size_t b = 0; b < guest_.blocks().size(); ++b) {
        const RamBlock& block = *guest_.blocks()[b];
        const PageBitmap& held = bitmaps.at(block.name());
        auto missing = toSend_[b].words();
        const auto heldWords = held.words();
        for (std::size_t w = 0; w < missing.size(); ++w)
            missing[w] = ~heldWords[w] & page_bits::validBits(block.pageCount(), w);
        received += held.count();
        total += block.pageCount();
    }
    telemetry_.event(EventLevel::Info, Side::Source,
                     "resume: the destination holds " + std::to_string(received) + " of " +
                         std::to_string(total) + " pages; sending POSTCOPY_RESUME");
    stream_->putCommand(StreamCommand::PostcopyResume);
    stream_->flush();
    bool acked = false;
    {
        std::unique_lock lock(controlMutex_);
        controlChanged_.wait(lock, [&] {
            return returnPathState_.resumeAcked || returnPathState_.ended ||
                   cancelRequested_.load();
        });
        acked = returnPathState_.resumeAcked;
        if (acked)
            telemetry_.setStatus(MigrationStatus::PostcopyActive);
    }
    throwIfCancelled();
    if (!acked)
        throwIfReturnPathEnded();
    telemetry_.setPhase("postcopy");
}

} // namespace migrascope
