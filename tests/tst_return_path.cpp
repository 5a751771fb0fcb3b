// The return path as the source reads it: every message it must refuse, with a clear
// error and the guest still running, and the messages a healthy run carries.
#include "engine/api/migration_run.h"
#include "engine/source/migration_source.h"
#include "engine/transport/socket.h"
#include "engine/wire/return_path.h"
#include "engine/wire/wire.h"
#include "test_support.h"

#include <QtTest>
#include <sys/socket.h>
#include <thread>

using namespace migrascope;

namespace {

// A destination that answers the source's main channel with the given bytes, then reads
// whatever comes until the source hangs up.
class ScriptedDestination {
public:
    explicit ScriptedDestination(std::vector<std::uint8_t> reply)
        : listener_("127.0.0.1", 0), reply_(std::move(reply)) {
        thread_ = std::thread([this] {
            std::string peer;
            UniqueFd fd = listener_.accept(peer);
            if (!fd.valid())
                return;
            Connection connection(std::move(fd), "scripted");
            try {
                connection.sendAll(reply_.data(), reply_.size());
                std::vector<std::uint8_t> sink(64 * 1024);
                while (connection.recvSome(sink.data(), sink.size()) > 0) {
                }
            } catch (const std::exception&) {
            }
        });
    }
    ~ScriptedDestination() {
        listener_.shutdown();
        thread_.join();
    }
    std::uint16_t port() const { return listener_.port(); }

private:
    TcpListener listener_;
    std::vector<std::uint8_t> reply_;
    std::thread thread_;
};

wire::Payload message(std::uint16_t type, std::uint16_t length) {
    wire::Payload bytes;
    bytes.add16(type).add16(length);
    return bytes;
}

// pc.ram of a 16 MiB guest: 4096 pages, a 512-byte bitmap.
constexpr std::uint64_t kRamBytes = 16ull << 20;

wire::Payload recvBitmap(std::uint64_t size, std::uint64_t marker) {
    wire::Payload bytes = message(5, 7);
    bytes.addString8("pc.ram").add64(size);
    for (std::uint64_t i = 0; i < size; ++i)
        bytes.add8(0xff);
    bytes.add64(marker);
    return bytes;
}

} // namespace

class TestReturnPath : public QObject {
    Q_OBJECT

private:
    test::Workspace workspace_;

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }

    void malformedMessageFailsTheMigrationClearly_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        auto add = [](const char* name, const wire::Payload& payload, const char* expected) {
            QTest::newRow(name) << QByteArray(reinterpret_cast<const char*>(payload.bytes.data()),
                                              static_cast<qsizetype>(payload.bytes.size()))
                                << QString(expected);
        };
        add("SHUT too short", message(1, 3).add8(0).add8(0).add8(0),
            "SHUT has length 3, expected 4");
        add("PONG too long", message(2, 8).add64(1), "PONG has length 8, expected 4");
        add("unknown type", message(99, 0), "unknown message type 99");
        add("INVALID", message(0, 0), "message type 0 (INVALID) must never be sent");
        add("over 512 bytes", message(3, 600),
            "REQ_PAGES_ID has length 600, above the limit of 512");
        add("REQ_PAGES_ID name length lies",
            message(3, 19).add64(0).add32(4096).add8(9).addBytes("pc.ram", 6),
            "does not match its block name's length");
        add("REQ_PAGES without a block", message(4, 12).add64(0).add32(4096),
            "REQ_PAGES arrived before any REQ_PAGES_ID");
        add("REQ_PAGES_ID unknown block", message(3, 17).add64(0).add32(4096).addString8("nope"),
            "names RAM block 'nope', which the source does not have");
        add("REQ_PAGES_ID outside the block",
            message(3, 19).add64(kRamBytes).add32(4096).addString8("pc.ram"),
            "not whole pages inside RAM block 'pc.ram'");
        add("page request during precopy", message(3, 19).add64(0).add32(4096).addString8("pc.ram"),
            // The status word depends on how far the run got (setup or active).
            "; pages are requested only in postcopy");
        add("RECV_BITMAP of the wrong size", recvBitmap(8, kRecvBitmapEndMarker),
            "RECV_BITMAP for 'pc.ram' carries 8 bytes; 4096 pages need 512");
        add("RECV_BITMAP without its end marker", recvBitmap(512, 0x1122334455667788ull),
            "ends with 0x1122334455667788 instead of the end marker 0x123456789abcdef");
        add("RECV_BITMAP outside a resume", recvBitmap(512, kRecvBitmapEndMarker),
            "RECV_BITMAP arrived during");
        add("RESUME_ACK with a wrong value", message(6, 4).add32(7),
            "RESUME_ACK carries 7, expected 1");
        add("SWITCHOVER_ACK without the capability", message(7, 0),
            "SWITCHOVER_ACK arrived, but the switchover-ack capability is off");
        add("early SHUT 0", message(1, 4).add32(0),
            "sent SHUT 0 (success) before the migration was complete");
        add("a destination report with a status that does not exist",
            message(0x4d03, 10).add8(200).add64(0).add8(0), "carries status 200");
        add("a destination report cut short", message(0x4d01, 3).add8(1).add8(2).add8(1),
            "MIGRASCOPE_CHANNEL ends in the middle of a field");
        add("a device arc with bytes after its fields",
            message(0x4d02, 10).add32(0).add8(4).add8(1).add8(0).add8(0).add8(0).add8(9),
            "MIGRASCOPE_DEVICE_ARC has 1 bytes after its last field");
        add("SHUT with an error", message(1, 4).add32(4),
            "the destination reported an error (SHUT 4 (a device failed at the destination))");
    }

    void malformedMessageFailsTheMigrationClearly() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        ScriptedDestination destination(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
        MigrationConfig config;
        config.guest.ramSize = kRamBytes;
        config.guest.dirtyRate = 8ull << 20;
        config.multifdChannels = 0;
        config.tls.enabled = false;
        // Slow enough that the message arrives while precopy is still under way.
        config.maxBandwidth = 8ull << 20;
        Guest guest(Guest::layoutFor(config.guest.ramSize), config.guest, Guest::Content::Booted);
        guest.start();
        Telemetry telemetry;
        MigrationSource source(config, guest, telemetry);
        const MigrationStatus status = source.run(destination.port());
        QVERIFY2(status == MigrationStatus::Failed, toString(status));
        const std::string error = telemetry.error();
        QVERIFY2(error.find(expected.toStdString()) != std::string::npos, error.c_str());
        QVERIFY(guest.running());
        QVERIFY(telemetry.snapshot().sourceGuest == GuestState::Running);
        guest.stop();
        QCOMPARE(guest.countCorruptPages(), std::uint64_t{0});
    }

    // What a destination daemon reports of itself reads back field for field; arcs the source
    // took are not the destination's to report, and an arc's time travels as its age.
    void destinationReportReadsBackAsSent() {
        int fds[2];
        QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        Connection destinationEnd(UniqueFd{fds[0]}, "main");
        Connection sourceEnd(UniqueFd{fds[1]}, "main");
        TelemetrySnapshot view;
        view.status = MigrationStatus::Failed;
        view.errorDesc = std::string(300, 'e'); // longer than a message may carry
        ChannelSnapshot main;
        main.id = "main";
        main.state = ChannelState::Open;
        main.bytesReceived = 123456789012ull;
        ChannelSnapshot multifd;
        multifd.id = "multifd-0";
        multifd.kind = ChannelKind::Multifd;
        multifd.state = ChannelState::Closed;
        multifd.termination = Termination::Clean;
        multifd.bytesReceived = 42;
        view.channels = {main, multifd};
        view.transitions = {
            {100,
             Side::Destination,
             "nic0",
             vfio::DeviceState::Running,
             vfio::DeviceState::Resuming,
             false,
             true,
             {}},
            {200,
             Side::Source,
             "nic0",
             vfio::DeviceState::Running,
             vfio::DeviceState::Stop,
             false,
             true,
             {}},
            {300, Side::Destination, "accel0", vfio::DeviceState::Resuming, vfio::DeviceState::Stop,
             false, false, "RESUMING -> STOP: checksum mismatch"},
        };
        ReturnPathSender sender(destinationEnd);
        sender.destinationReport(view, 1, 1000, 42); // the first arc was reported before
        destinationEnd.endSession();

        ReturnPathReader reader(sourceEnd, {});
        std::vector<ReturnPathMessage> messages;
        while (auto message = reader.next())
            messages.push_back(*message);
        QCOMPARE(messages.size(), std::size_t{4});
        QVERIFY(messages[0].type == ReturnPathType::DestinationStatus);
        QVERIFY(messages[0].status == MigrationStatus::Failed);
        QCOMPARE(messages[0].historyId, std::int64_t{42});
        QCOMPARE(messages[0].error.size(), std::size_t{255});
        QVERIFY(messages[1].type == ReturnPathType::DestinationChannel);
        QCOMPARE(messages[1].channel.id, std::string("main"));
        QCOMPARE(messages[1].channel.bytesReceived, std::uint64_t{123456789012ull});
        QVERIFY(messages[1].channel.state == ChannelState::Open);
        QCOMPARE(messages[2].channel.id, std::string("multifd-0"));
        QVERIFY(messages[2].channel.kind == ChannelKind::Multifd);
        QVERIFY(messages[2].channel.termination == Termination::Clean);
        QCOMPARE(messages[2].channel.bytesReceived, std::uint64_t{42});
        QVERIFY(messages[3].type == ReturnPathType::DestinationArc);
        const DeviceTransition& arc = messages[3].arc;
        QCOMPARE(arc.device, std::string("accel0"));
        QVERIFY(arc.side == Side::Destination);
        QCOMPARE(arcText(arc), std::string("RESUMING -> STOP"));
        QVERIFY(!arc.ok);
        QCOMPARE(arc.error, std::string("RESUMING -> STOP: checksum mismatch"));
        QCOMPARE(arc.timeMs, 700.0); // its age when sent
        QCOMPARE(messages[3].describe(),
                 std::string("MIGRASCOPE_DEVICE_ARC accel0 RESUMING -> STOP refused"));
    }

    void healthyRunLogsItsReturnPath() {
        MigrationConfig config = test::smallTlsConfig(workspace_.pki);
        MigrationRun run(config, RunOptions{"", false});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QVERIFY(snap.returnPath.size() >= 2);
        QVERIFY(snap.returnPath.front().type == ReturnPathType::Pong);
        QVERIFY(snap.returnPath.back().type == ReturnPathType::Shut);
        QVERIFY(!snap.returnPath.back().isFailureVerdict());
        QCOMPARE(snap.returnPath.back().text, std::string("SHUT 0 (success)"));
    }

    void switchoverWaitsForTheDestinationsAck() {
        MigrationConfig config = test::smallTlsConfig(workspace_.pki);
        config.guest.dirtyRate = 0; // idle: it would switch over after the bulk pass
        config.capabilities.switchoverAck = true;
        MigrationRun prompt(config, RunOptions{"", false});
        test::runToEnd(prompt);
        const auto promptSnap = prompt.snapshot();
        QVERIFY2(promptSnap.status == MigrationStatus::Completed, promptSnap.errorDesc.c_str());

        config.faults.push_back(parseFault("switchover-ack-after=4"));
        MigrationRun delayed(config, RunOptions{"", false});
        test::runToEnd(delayed);
        const auto snap = delayed.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        // It kept iterating until the destination had loaded four rounds and said so.
        QVERIFY2(snap.stats.dirtySyncCount >= promptSnap.stats.dirtySyncCount + 2,
                 std::to_string(snap.stats.dirtySyncCount).c_str());
        QVERIFY(test::hasEvent(snap, "switchover waits for the destination's SWITCHOVER_ACK"));
        std::size_t ackAt = 0;
        std::size_t stopAt = 0;
        for (std::size_t i = 0; i < snap.events.size(); ++i) {
            if (snap.events[i].text.find("approved switchover") != std::string::npos)
                ackAt = i;
            if (snap.events[i].text.find("switchover: guest stopped") != std::string::npos)
                stopAt = i;
        }
        QVERIFY(ackAt > 0);
        QVERIFY2(ackAt < stopAt, "the guest stopped before the destination approved");
    }

    void destinationErrorThroughShutFailsSourceWithItsReason() {
        MigrationConfig config = test::smallTlsConfig(workspace_.pki);
        config.faults.push_back(parseFault("tls-no-bye")); // the destination refuses it
        MigrationRun run(config, RunOptions{"", false});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Failed, toString(snap.status));
        QVERIFY2(snap.errorDesc.find("non-properly terminated") != std::string::npos,
                 snap.errorDesc.c_str());
        QVERIFY2(snap.errorDesc.find("SHUT 3 (a channel failed at the destination)") !=
                     std::string::npos,
                 snap.errorDesc.c_str());
        QCOMPARE(snap.returnPath.back().text,
                 std::string("SHUT 3 (a channel failed at the destination)"));
        test::verifySourceGuestIntact(run);
    }
};

QTEST_GUILESS_MAIN(TestReturnPath)
#include "tst_return_path.moc"
