#include "engine/telemetry/telemetry.h"

#include "engine/api/channel_metrics.h"
#include "engine/api/migration_config.h"

#include <algorithm>

namespace migrascope {

namespace {

// The atomic counter behind each channel metric, in kChannelMetrics' order.
struct CounterOf {
    std::atomic<std::uint64_t> ChannelCounters::*counter;
    std::uint64_t ChannelSnapshot::*field;
};
constexpr CounterOf kCounters[] = {
    {&ChannelCounters::bytes, &ChannelSnapshot::bytes},
    {&ChannelCounters::bytesReceived, &ChannelSnapshot::bytesReceived},
    {&ChannelCounters::pages, &ChannelSnapshot::pages},
    {&ChannelCounters::packets, &ChannelSnapshot::packets},
    {&ChannelCounters::tlsRecordsSent, &ChannelSnapshot::tlsRecordsSent},
    {&ChannelCounters::tlsRecordsReceived, &ChannelSnapshot::tlsRecordsReceived},
    {&ChannelCounters::keyUpdatesSent, &ChannelSnapshot::keyUpdatesSent},
    {&ChannelCounters::keyUpdatesReceived, &ChannelSnapshot::keyUpdatesReceived},
    {&ChannelCounters::recordsUnderCurrentKey, &ChannelSnapshot::recordsUnderCurrentKey},
    {&ChannelCounters::recordLimit, &ChannelSnapshot::recordLimit},
};
constexpr bool countersFollowMetrics() {
    if (std::size(kCounters) != std::size(kChannelMetrics))
        return false;
    for (std::size_t i = 0; i < std::size(kCounters); ++i)
        if (kCounters[i].field != kChannelMetrics[i].field)
            return false;
    return true;
}
static_assert(countersFollowMetrics(), "every channel metric has its counter, in the same order");

} // namespace

const char* toString(MigrationStatus status) {
    switch (status) {
    case MigrationStatus::None:
        return "none";
    case MigrationStatus::Setup:
        return "setup";
    case MigrationStatus::Active:
        return "active";
    case MigrationStatus::Device:
        return "device";
    case MigrationStatus::PostcopyActive:
        return "postcopy-active";
    case MigrationStatus::PostcopyPaused:
        return "postcopy-paused";
    case MigrationStatus::PostcopyRecoverSetup:
        return "postcopy-recover-setup";
    case MigrationStatus::PostcopyRecover:
        return "postcopy-recover";
    case MigrationStatus::Completed:
        return "completed";
    case MigrationStatus::Failed:
        return "failed";
    case MigrationStatus::Cancelling:
        return "cancelling";
    case MigrationStatus::Cancelled:
        return "cancelled";
    }
    return "unknown";
}

bool isFinal(MigrationStatus status) {
    return status == MigrationStatus::Completed || status == MigrationStatus::Failed ||
           status == MigrationStatus::Cancelled;
}

bool isPostcopy(MigrationStatus status) {
    return status == MigrationStatus::PostcopyActive || status == MigrationStatus::PostcopyPaused ||
           status == MigrationStatus::PostcopyRecoverSetup ||
           status == MigrationStatus::PostcopyRecover;
}

const char* toString(ChannelKind kind) {
    switch (kind) {
    case ChannelKind::Main:
        return "main";
    case ChannelKind::Multifd:
        return "multifd";
    }
    return "unknown";
}

const char* toString(ChannelState state) {
    switch (state) {
    case ChannelState::Connecting:
        return "connecting";
    case ChannelState::Handshake:
        return "handshake";
    case ChannelState::Open:
        return "open";
    case ChannelState::Closed:
        return "closed";
    case ChannelState::Failed:
        return "failed";
    }
    return "unknown";
}

const char* toString(GuestState state) {
    switch (state) {
    case GuestState::Running:
        return "running";
    case GuestState::Paused:
        return "paused";
    case GuestState::Postmigrate:
        return "postmigrate";
    }
    return "unknown";
}

const char* toString(Termination termination) {
    switch (termination) {
    case Termination::None:
        return "none";
    case Termination::Clean:
        return "clean";
    case Termination::Premature:
        return "premature";
    case Termination::Error:
        return "error";
    case Termination::Cancelled:
        return "cancelled";
    case Termination::Paused:
        return "paused";
    case Termination::Network:
        return "network";
    case Termination::TlsError:
        return "tls-error";
    case Termination::Local:
        return "local";
    case Termination::AfterFailure:
        return "after-failure";
    }
    return "unknown";
}

const char* describe(Termination termination) {
    switch (termination) {
    case Termination::None:
        return "";
    case Termination::Clean:
        return "clean";
    case Termination::Premature:
        return "peer closed without close_notify";
    case Termination::Error:
        return "failed";
    case Termination::Cancelled:
        return "cancelled by the operator";
    case Termination::Paused:
        return "paused by the operator";
    case Termination::Network:
        return "network failure";
    case Termination::TlsError:
        return "TLS error";
    case Termination::Local:
        return "ended on this host";
    case Termination::AfterFailure:
        return "closed after the migration failed";
    }
    return "unknown";
}

std::string fromText(const DeviceTransition& transition) {
    return transition.reset ? "reset" : vfio::toString(transition.from);
}

std::string arcText(const DeviceTransition& transition) {
    return fromText(transition) + " -> " + vfio::toString(transition.to);
}

const char* toString(EventLevel level) {
    switch (level) {
    case EventLevel::Info:
        return "info";
    case EventLevel::Warning:
        return "warning";
    case EventLevel::Error:
        return "error";
    }
    return "unknown";
}

void ChannelCounters::setTlsInfo(std::string version, std::string cipher, std::string protection) {
    std::lock_guard lock(tlsMutex_);
    tlsVersion_ = std::move(version);
    tlsCipher_ = std::move(cipher);
    tlsProtection_ = std::move(protection);
}

void ChannelCounters::setKernelView(const TcpKernelView& view, std::uint64_t cookie,
                                    KernelViewKind viewKind) {
    std::lock_guard lock(kernelMutex_);
    if (viewKind == KernelViewKind::Sampled && finalViewCookie_ != 0 && cookie == finalViewCookie_)
        return;
    if (viewKind == KernelViewKind::Final)
        finalViewCookie_ = cookie;
    kernelView_ = view;
}

void ChannelCounters::setSocket(const TcpSocketId& current) {
    std::lock_guard lock(kernelMutex_);
    socket_ = current;
    socketCookie.store(current.cookie);
}

std::optional<TcpSocketId> ChannelCounters::socket() const {
    std::lock_guard lock(kernelMutex_);
    return socket_;
}

std::optional<TcpKernelView> ChannelCounters::kernelView() const {
    std::lock_guard lock(kernelMutex_);
    return kernelView_;
}

void ChannelCounters::tlsInfo(std::string& version, std::string& cipher,
                              std::string& protection) const {
    std::lock_guard lock(tlsMutex_);
    version = tlsVersion_;
    cipher = tlsCipher_;
    protection = tlsProtection_;
}

Telemetry::Telemetry(std::chrono::steady_clock::time_point start) : start_(start) {}

double Telemetry::elapsedMs() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
}

ChannelCounters& Telemetry::addChannel(std::string id, ChannelKind kind) {
    std::lock_guard lock(mutex_);
    return addChannelLocked(std::move(id), kind);
}

ChannelCounters& Telemetry::addChannelLocked(std::string id, ChannelKind kind) {
    auto& counters = channels_.emplace_back(std::make_unique<ChannelCounters>());
    counters->id = std::move(id);
    counters->kind = kind;
    return *counters;
}

ChannelCounters& Telemetry::channel(const std::string& id, ChannelKind kind) {
    std::lock_guard lock(mutex_);
    for (auto& counters : channels_)
        if (counters->id == id)
            return *counters;
    return addChannelLocked(id, kind);
}

ChannelCounters* Telemetry::findChannel(const std::string& id) {
    std::lock_guard lock(mutex_);
    for (auto& counters : channels_)
        if (counters->id == id)
            return counters.get();
    return nullptr;
}

std::vector<ChannelCounters*> Telemetry::channels() {
    std::lock_guard lock(mutex_);
    std::vector<ChannelCounters*> all;
    for (auto& counters : channels_)
        all.push_back(counters.get());
    return all;
}

void Telemetry::setStatus(MigrationStatus status) {
    std::lock_guard lock(mutex_);
    if (status_.exchange(status) != status || statusChanges_.empty())
        statusChanges_.push_back(status);
}

void Telemetry::setPhase(std::string phase) {
    std::lock_guard lock(mutex_);
    phase_ = std::move(phase);
}

void Telemetry::setError(const std::string& error, bool replace) {
    std::lock_guard lock(mutex_);
    if (error_.empty() || replace)
        error_ = error;
}

std::string Telemetry::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

void Telemetry::setConvergence(std::string convergence) {
    std::lock_guard lock(mutex_);
    convergence_ = std::move(convergence);
}

void Telemetry::setHeldAt(std::string phase) {
    std::lock_guard lock(mutex_);
    heldAt_ = std::move(phase);
}

void Telemetry::setSlowMotion(unsigned divisor) {
    std::lock_guard lock(mutex_);
    slowMotion_ = divisor;
}

void Telemetry::setIntegrity(std::string integrity) {
    std::lock_guard lock(mutex_);
    integrity_ = std::move(integrity);
}

double migrationProgress(const MigrationStats& stats, double shownBefore) {
    if (stats.total == 0)
        return shownBefore;
    // The bulk pass counts pages sent; it ends at 90 % because dirty rounds follow. Then
    // progress is the share of RAM not dirty, which can grow when the guest dirties faster
    // than we send: the figure shown must not run backwards, so it only takes the larger.
    const double total = static_cast<double>(stats.total);
    const double bulk = std::min(1.0, static_cast<double>(stats.normal + stats.duplicate) *
                                          static_cast<double>(kPageSize) / total);
    const double done = 1.0 - static_cast<double>(std::min(stats.remaining, stats.total)) / total;
    return std::max(shownBefore, stats.dirtySyncCount <= 1 ? bulk * 0.9 : done);
}

void Telemetry::updateStats(const MigrationStats& stats) {
    std::lock_guard lock(mutex_);
    stats_ = stats;
    progress_ = migrationProgress(stats, progress_);
}

MigrationStats Telemetry::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void Telemetry::event(EventLevel level, Side side, const std::string& text) {
    const double now = elapsedMs();
    std::lock_guard lock(mutex_);
    events_.push_back(Event{now, level, side, text});
}

void Telemetry::warning(Side side, const std::string& text) {
    const double now = elapsedMs();
    std::lock_guard lock(mutex_);
    events_.push_back(Event{now, EventLevel::Warning, side, text});
    warnings_.push_back(side == Side::Destination ? "destination: " + text : text);
}

namespace {
// A long postcopy can request many thousands of pages; the log keeps the first ones and a
// count of the rest, so that a snapshot stays cheap.
constexpr std::size_t kReturnPathLogLimit = 20000;

double percentile(std::vector<double> values, double fraction) {
    if (values.empty())
        return 0;
    const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                     values.end());
    return values[rank];
}
} // namespace

void Telemetry::returnPathMessage(ReturnPathType type, std::uint32_t value, const std::string& text,
                                  unsigned connection) {
    const double now = elapsedMs();
    std::lock_guard lock(mutex_);
    ++returnPathCount_;
    if (type == ReturnPathType::Shut)
        lastShut_ = value;
    if (returnPath_.size() < kReturnPathLogLimit)
        returnPath_.push_back(ReturnPathRecord{now, type, value, text, connection});
}

void Telemetry::addDevice(const std::string& name, const std::string& kind,
                          std::uint64_t stateSize) {
    std::lock_guard lock(mutex_);
    DeviceSnapshot device;
    device.name = name;
    device.kind = kind;
    device.stateSize = stateSize;
    devices_.push_back(device);
}

void Telemetry::deviceTransition(Side side, const std::string& device, vfio::DeviceState from,
                                 vfio::DeviceState to, bool ok, const std::string& error) {
    DeviceTransition transition{elapsedMs(), side, device, from, to, false, ok, error};
    recordTransition(std::move(transition));
}

void Telemetry::deviceReset(Side side, const std::string& device, vfio::DeviceState to) {
    recordTransition(DeviceTransition{elapsedMs(), side, device, to, to, true, true, {}});
}

void Telemetry::recordTransition(DeviceTransition transition) {
    std::lock_guard lock(mutex_);
    for (auto& entry : devices_) {
        if (entry.name != transition.device)
            continue;
        const vfio::DeviceState now = stateAfter(transition);
        if (transition.side == Side::Destination)
            entry.destinationState = now;
        else
            entry.sourceState = now;
        entry.lastArc = transition;
    }
    transitions_.push_back(std::move(transition));
}

void Telemetry::destinationReported(MigrationStatus status, std::int64_t historyId,
                                    std::string error) {
    std::lock_guard lock(mutex_);
    destinationReport_.status = status;
    destinationReport_.historyId = historyId;
    destinationReport_.error = std::move(error);
}

void Telemetry::destinationReported(const ChannelSnapshot& channel) {
    std::lock_guard lock(mutex_);
    auto& channels = destinationReport_.channels;
    const auto known = std::find_if(channels.begin(), channels.end(),
                                    [&](const ChannelSnapshot& c) { return c.id == channel.id; });
    if (known == channels.end())
        channels.push_back(channel);
    else
        *known = channel;
}

void Telemetry::destinationReported(DeviceTransition arc) {
    std::lock_guard lock(mutex_);
    destinationReport_.transitions.push_back(std::move(arc));
}

TelemetrySnapshot Telemetry::destinationReport() const {
    std::lock_guard lock(mutex_);
    TelemetrySnapshot view;
    view.status = destinationReport_.status;
    view.errorDesc = destinationReport_.error;
    view.destinationHistoryId = destinationReport_.historyId;
    view.channels = destinationReport_.channels;
    view.transitions = destinationReport_.transitions;
    for (const DeviceSnapshot& ours : devices_) {
        DeviceSnapshot device;
        device.name = ours.name;
        device.kind = ours.kind;
        for (const DeviceTransition& arc : view.transitions)
            if (arc.device == device.name)
                device.destinationState = stateAfter(arc);
        view.devices.push_back(std::move(device));
    }
    return view;
}

void Telemetry::pageRequested() {
    std::lock_guard lock(mutex_);
    ++postcopy_.pageRequests;
}

void Telemetry::pageRequestServed(double latencyMs) {
    std::lock_guard lock(mutex_);
    ++postcopy_.pagesServed;
    requestLatenciesMs_.push_back(latencyMs);
    postcopy_.latencyMaxMs = std::max(postcopy_.latencyMaxMs, latencyMs);
}

void Telemetry::urgentPageSent() {
    std::lock_guard lock(mutex_);
    ++postcopy_.urgentPagesSent;
}

void Telemetry::postcopyPaused() {
    std::lock_guard lock(mutex_);
    ++postcopy_.pauses;
}

void Telemetry::postcopyRecovered(double recoveryMs, std::uint64_t pagesMissing) {
    std::lock_guard lock(mutex_);
    ++postcopy_.recoveries;
    postcopy_.lastRecoveryMs = recoveryMs;
    postcopy_.pagesResentAfterRecovery += pagesMissing;
}

std::optional<std::uint32_t> Telemetry::lastShut() const {
    std::lock_guard lock(mutex_);
    return lastShut_;
}

PostcopyStats Telemetry::postcopyStats() const {
    std::lock_guard lock(mutex_);
    PostcopyStats stats = postcopy_;
    stats.latencyMedianMs = percentile(requestLatenciesMs_, 0.5);
    stats.latencyP99Ms = percentile(requestLatenciesMs_, 0.99);
    return stats;
}

void Telemetry::sample() {
    const double now = elapsedMs();
    std::lock_guard lock(mutex_);
    if (recentBytes_.empty())
        recentBytes_.push_back(ByteCount{0, {}});
    // The oldest count kept is the last one at or before the window's start.
    while (recentBytes_.size() > 1 && recentBytes_[1].timeMs <= now - kSampleRateWindowMs)
        recentBytes_.pop_front();
    const ByteCount& since = recentBytes_.front();
    const double seconds = (now - since.timeMs) / 1000.0;
    if (seconds <= 0)
        return;
    ByteCount current{now, {}};
    double totalRate = 0;
    std::uint64_t totalBytes = 0;
    for (std::size_t i = 0; i < channels_.size(); ++i) {
        const std::uint64_t bytes = channels_[i]->bytes.load(std::memory_order_relaxed);
        const std::uint64_t before = i < since.bytes.size() ? since.bytes[i] : 0;
        const double rate = static_cast<double>(bytes - before) / seconds;
        samples_.push_back(ChannelSample{now, channels_[i]->id, rate, bytes});
        current.bytes.push_back(bytes);
        totalRate += rate;
        totalBytes += bytes;
    }
    samples_.push_back(ChannelSample{now, "total", totalRate, totalBytes});
    recentBytes_.push_back(std::move(current));
}

TelemetrySnapshot Telemetry::snapshot(std::size_t eventCursor, std::size_t sampleCursor,
                                      std::size_t returnPathCursor) const {
    TelemetrySnapshot snap;
    snap.status = status_.load();
    snap.sourceGuest = sourceGuest_.load();
    snap.postcopy = postcopyStats();
    std::lock_guard lock(mutex_);
    snap.statusChanges = statusChanges_;
    snap.phase = phase_;
    snap.errorDesc = error_;
    snap.integrity = integrity_;
    snap.warnings = warnings_;
    snap.convergence = convergence_;
    snap.heldAt = heldAt_;
    snap.slowMotion = slowMotion_;
    snap.stats = stats_;
    snap.progress = snap.status == MigrationStatus::Completed ? 1.0 : progress_;
    for (const auto& counters : channels_) {
        ChannelSnapshot channel;
        channel.id = counters->id;
        channel.kind = counters->kind;
        channel.state = counters->state.load();
        for (const CounterOf& metric : kCounters)
            channel.*metric.field =
                (counters.get()->*metric.counter).load(std::memory_order_relaxed);
        channel.termination = counters->termination.load();
        counters->tlsInfo(channel.tlsVersion, channel.tlsCipher, channel.tlsProtection);
        channel.tcp = counters->kernelView();
        channel.bidirectional = counters->bidirectional.load();
        snap.channels.push_back(std::move(channel));
    }
    if (eventCursor < events_.size())
        snap.events.assign(events_.begin() + static_cast<std::ptrdiff_t>(eventCursor),
                           events_.end());
    snap.nextEventIndex = events_.size();
    if (sampleCursor < samples_.size())
        snap.samples.assign(samples_.begin() + static_cast<std::ptrdiff_t>(sampleCursor),
                            samples_.end());
    snap.nextSampleIndex = samples_.size();
    if (returnPathCursor < returnPath_.size())
        snap.returnPath.assign(returnPath_.begin() + static_cast<std::ptrdiff_t>(returnPathCursor),
                               returnPath_.end());
    snap.nextReturnPathIndex = returnPath_.size();
    snap.devices = devices_;
    snap.transitions = transitions_;
    snap.returnPathCount = returnPathCount_;
    return snap;
}

} // namespace migrascope
