// The incoming side: listens, recognises each connection by its first bytes (QEVM = main
// channel, multifd hello = data channel), loads RAM, verifies the digest and answers SHUT.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/destination/connection_gate.h"
#include "engine/devices/device_migration.h"
#include "engine/memory/guest.h"
#include "engine/postcopy/postcopy_incoming.h"
#include "engine/telemetry/telemetry.h"
#include "engine/transport/connection.h"
#include "engine/wire/main_stream.h"
#include "engine/wire/return_path.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace migrascope {

class MigrationDestination {
public:
    struct Options {
        // False: it has no listener of its own, and its owner hands it its connections
        // (adopt()): a daemon receiving several migrations on one port.
        bool listen = true;
        std::string listenHost = "127.0.0.1";
        std::uint16_t port = 0; // 0 = ephemeral; without a listener, the owner's (for logs)
        TlsParameters tls;
        std::optional<Uuid> expectedUuid; // the in-process destination knows its migration
        bool cleanTlsTermination = true;  // multifd-clean-tls-termination
        // The guest's workload once it runs here during postcopy (bytes/s; 0 = idle).
        std::uint64_t postcopyDirtyRate = 0;
        bool vfioExplicitResumingStop = true;
        std::vector<FaultSpec> faults; // those that fire at the destination
        // Its own listener's ConnectionGate: how long a connection may take to say what it is,
        // and how many may be doing so at once.
        std::chrono::milliseconds handshakeTimeout{10000};
        unsigned maxUnidentified = 32;
        // A daemon on another host reports its view to the source (its status, its channels
        // as received, its device arcs, its history record) on the return path; the
        // in-process destination is read directly and does not.
        bool reportToSource = false;
        // Called on the main channel's thread when a migration arrives, before anything of it
        // is loaded: the owner records it and returns that record's id (0: none), which the
        // reports carry. Arguments: the migration, the source's address, its certificate's DN.
        std::function<std::int64_t(const Uuid&, const std::string&, const std::string&)>
            recordArrival;
    };
    enum class State {
        Listening,
        Loading,
        PostcopyActive,
        PostcopyPaused,
        PostcopyRecover,
        Completed,
        Failed
    };

    // `telemetry` is the destination's own: its status, its channels as it received them,
    // its devices and events. It must outlive the destination.
    MigrationDestination(Options options, Telemetry& telemetry);
    ~MigrationDestination();
    MigrationDestination(const MigrationDestination&) = delete;
    MigrationDestination& operator=(const MigrationDestination&) = delete;

    std::uint16_t port() const { return gate_ ? gate_->port() : options_.port; }
    void start();
    // Without a listener of its own: serves a connection whose handshake is done, from its
    // first byte (its owner may have read some and put them back). Any thread.
    void adopt(std::unique_ptr<Connection> connection, const std::string& peer);
    // Shuts every connection and joins every thread. Idempotent.
    void stop();

    State state() const;
    std::string error() const;
    // Why the first connection that was not accepted as a channel was turned away.
    std::string firstRejection() const;
    bool waitUntilFinished(std::chrono::milliseconds timeout) const;
    // migrate-recover: a paused postcopy accepts the source's resume connection. Returns ""
    // when accepted, or why not.
    std::string recover();
    // migrate_cancel on the destination, any thread: fails the incoming migration with `why`
    // and tells its source at once (its report, then SHUT), so that the source names it.
    // Returns "" when done, or why not: once postcopy has started the guest runs here and is
    // the only current one.
    std::string cancel(const std::string& why);
    // Any thread: the source is cancelling, so the streams it ends early fail nothing here
    // that the operator did not ask for; the failure is recorded as the cancel's.
    void noteSourceCancelled() { sourceCancelled_.store(true); }
    // Any thread, before the source shuts its main channel in postcopy: the end that follows
    // is `how` (Paused: migrate-pause; Network: a trainer's cut), not what the stream shows.
    void noteSourceInterrupting(Termination how) { sourceInterrupt_.store(how); }
    // After stop(): stops the guest that a failed postcopy had started here.
    void stopGuest();
    // The incoming guest; meaningful once the state is Completed.
    Guest* guest() { return guest_.get(); }
    // The migration it receives, once its main channel arrived (else nullopt), and the
    // address that main channel came from.
    std::optional<Uuid> migration() const;
    std::string sourcePeer() const;
    // The distinguished name of that source's client certificate ("" without TLS).
    std::string sourceCertificateDn() const;
    // Connections still being served (a finished migration's source closes them).
    std::size_t openConnections() const;
    // Its owner's timer: logs the rejections counted since the last report, when one is due.
    void reportDueRejections();
    // Fails a paused postcopy whose source did not come back (`why` names the bound). False
    // when it is not paused (a resume won the race).
    bool abandonPausedPostcopy(const std::string& why);
    // After a verdict (SHUT) went out: reads and drops what the source still sends until it
    // hangs up (a few seconds at most), so that closing does not discard the verdict.
    static void drainUntilTheSourceHangsUp(Connection& connection);

private:
    // One identified connection and the thread serving it. The thread hands its connection
    // back (closing it) when it ends; adopt() joins finished threads as new connections come.
    struct Incoming {
        std::unique_ptr<Connection> connection;
        std::thread thread;
        bool finished = false;
    };

    void serve(std::list<Incoming>::iterator incoming, std::string peer);
    void release(std::list<Incoming>::iterator incoming);
    void reapFinished(); // with mutex_ held
    void serveMain(Connection& connection, ReturnPathSender& returnPath, const std::string& peer);
    StreamStart readHeader(StreamReader& in);
    // `certificateDn`: the source's client certificate ("" without TLS).
    void acceptFirstMain(const StreamStart& header, const std::string& peer,
                         const std::string& certificateDn);
    void acceptResume(const StreamStart& header, const std::string& certificateDn);
    // The main channel's loader (stream_loader.cpp). Sections and commands until EOF; the
    // migration has completed when it returns.
    void loadSections(StreamReader& in, ReturnPathSender& returnPath);
    using SectionLoader = void (MigrationDestination::*)(StreamReader&, ReturnPathSender&);
    struct SectionEntry {
        Section type;
        SectionLoader load;
    };
    static const SectionEntry kSections[];
    void loadSectionStart(StreamReader& in, ReturnPathSender& returnPath);
    void loadSectionPart(StreamReader& in, ReturnPathSender& returnPath);
    void loadSectionEnd(StreamReader& in, ReturnPathSender& returnPath);
    void loadSectionFull(StreamReader& in, ReturnPathSender& returnPath);
    void loadIteration(StreamReader& in, ReturnPathSender& returnPath, bool final);
    void loadRamSetup(StreamReader& in);
    void loadRamItems(StreamReader& in);
    void maybeAckSwitchover(ReturnPathSender& returnPath);
    // Options::reportToSource: sends our view, at most every kReportIntervalMs unless `now`.
    // `status` stands for ours when the verdict is about to go out (SHUT).
    void reportToSource(ReturnPathSender& returnPath, bool now,
                        std::optional<MigrationStatus> status = std::nullopt);
    // Commands: one handler each, dispatched from kCommands with the payload's length checked.
    void loadCommand(StreamReader& in, ReturnPathSender& returnPath);
    using Payload = std::vector<std::uint8_t>;
    using CommandHandler = void (MigrationDestination::*)(const Payload&, ReturnPathSender&);
    static constexpr int kAnyLength = -1;
    struct CommandEntry {
        StreamCommand command;
        int length; // the payload's, or kAnyLength when the handler checks it
        CommandHandler handle;
    };
    static const CommandEntry kCommands[];
    void openReturnPath(const Payload& payload, ReturnPathSender& returnPath);
    void answerPing(const Payload& payload, ReturnPathSender& returnPath);
    void postcopyAdvise(const Payload& payload, ReturnPathSender& returnPath);
    void postcopyListen(const Payload& payload, ReturnPathSender& returnPath);
    void postcopyRun(const Payload& payload, ReturnPathSender& returnPath);
    void discardPages(const Payload& payload, ReturnPathSender& returnPath);
    void postcopyResume(const Payload& payload, ReturnPathSender& returnPath);
    void sendReceivedBitmap(const Payload& payload, ReturnPathSender& returnPath);
    State currentState() const;
    void verifyAndComplete(const Digest& sourceDigest, const DeviceDigests& deviceDigests,
                           ReturnPathSender& returnPath);
    // A broken main connection during postcopy pauses instead of failing. True if it did.
    bool pauseIfPostcopy(Connection& connection, ReturnPathSender& returnPath,
                         const std::exception& error);
    void setState(State state); // with mutex_ held
    std::size_t blockIndex(const RamBlock* block) const;
    void receiveMultifd(Connection& connection, const std::uint8_t* first4);
    void fail(const std::string& error, ShutReason reason = ShutReason::StreamError);
    void waitForChannelsSynced();
    void waitForChannelsEnded();
    // A connection turned out to be this channel: it gets its entry in our telemetry.
    // `alreadyRead`: the bytes read to recognise it, counted as received from now on.
    void recognised(Connection& connection, ChannelKind kind, std::size_t alreadyRead);
    void channelEnded(const std::string& channel, Termination termination);
    // The report and SHUT on the main channel's return path, from any thread, if the source
    // opened it and no verdict went yet.
    void tellTheSourceNow(const std::string& why, ShutReason reason, std::int64_t historyId);
    void arriveAtSync();

    Options options_;
    Telemetry& telemetry_;
    std::unique_ptr<TlsCredentials> credentials_;
    RejectionLog rejections_;
    // Loaded by the main channel's loader (one at a time); the multifd threads hand it
    // device-state packets.
    std::unique_ptr<DestinationDevices> devices_;
    std::unique_ptr<ConnectionGate> gate_; // with a listener of its own
    // The main channel's return path while its thread serves it, for cancel() to speak on.
    std::mutex returnPathMutex_;
    ReturnPathSender* mainReturnPath_ = nullptr; // under returnPathMutex_

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool stopping_ = false;
    State state_ = State::Listening;
    std::string error_;
    std::atomic<bool> sourceCancelled_{false};
    std::atomic<Termination> sourceInterrupt_{Termination::None};
    ShutReason failReason_ = ShutReason::StreamError;
    std::list<Incoming> incoming_;

    // The migration, as the main channel's configuration section and commands announce it.
    // Guarded by mutex_; written by the main channel's loader.
    struct Session {
        bool mainSeen = false;
        Uuid uuid{};
        unsigned expectedChannels = 0;
        std::vector<bool> channelSeen;
        std::uint32_t capabilities = 0;
        bool guestReady = false;        // the RAM setup section created the guest
        bool postcopyListening = false; // after POSTCOPY_LISTEN; also read by multifd threads
        bool recoverArmed = false;      // migrate-recover was given while paused
        std::string sourcePeer;         // the address the first main channel came from
        std::string sourceDn;           // its client certificate's distinguished name
        std::int64_t historyId = 0;     // the owner's record (the loader's copy, for cancel())
    } session_;
    // The multifd flush barrier (QEMU's multifd_recv_sync_main). Guarded by mutex_.
    struct MultifdBarrier {
        unsigned arrived = 0;
        std::uint64_t generation = 0;
        bool inFinalSection = false; // reading the RAM section that ends the stream
        bool finalSyncDone = false;  // after it, a multifd channel may end
        unsigned channelsEnded = 0;
    } barrier_;
    // The main channel's loader only (one main connection at a time): no lock.
    struct Loader {
        std::uint64_t roundsLoaded = 0;
        // A fault: SWITCHOVER_ACK only after this many RAM rounds were loaded (0 = at once).
        std::uint64_t switchoverAckAfterRounds = 0;
        bool switchoverAckSent = false;
        std::optional<Digest> ourDigest; // taken as the last RAM section ended
        std::int64_t historyId = 0;      // the owner's record of this migration
        double lastReportMs = -1e9;
        std::size_t arcsReported = 0;
    } loader_;
    // Written by the loader under mutex_, before any multifd thread touches the pages. Declared
    // postcopy_ first so that it outlives the guest's workload, which it gates.
    std::unique_ptr<PostcopyIncoming> postcopy_;
    std::unique_ptr<Guest> guest_;
    ReceivedMap received_;
    // The hash of each page as it last arrived in precopy ([block][page]), by the thread that
    // received it, while it was in cache: the RAM digest then costs no pass over RAM.
    PageHashes arrivalHashes_;
};

const char* toString(MigrationDestination::State state);

} // namespace migrascope
