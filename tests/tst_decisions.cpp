// Decision logic that a migration otherwise reaches only through sockets: when precopy may
// switch over, what the progress bar shows, and how the destination's view joins the
// source's in the one snapshot the window and the JSON read.
#include "engine/api/faults.h"
#include "engine/api/migration_config.h"
#include "engine/run/run_view.h"
#include "engine/source/switchover.h"
#include "engine/telemetry/telemetry.h"

#include <QtTest>

using namespace migrascope;

namespace {

MigrationStats statsOf(std::uint64_t total, std::uint64_t pagesSent, std::uint64_t remaining,
                       std::uint64_t syncs) {
    MigrationStats stats;
    stats.total = total;
    stats.normal = pagesSent;
    stats.remaining = remaining;
    stats.dirtySyncCount = syncs;
    return stats;
}

DeviceTransition arc(double timeMs, Side side, vfio::DeviceState from, vfio::DeviceState to,
                     bool ok = true) {
    return DeviceTransition{timeMs, side, "accel0", from, to, false, ok, ok ? "" : "refused"};
}

} // namespace

class TestDecisions : public QObject {
    Q_OBJECT

private slots:
    // "Run again with these settings" reads back the configuration a run recorded.
    void aRecordedConfigurationRunsAgainAsItWas() {
        MigrationConfig config;
        config.guest.ramSize = 768ull << 20;
        config.guest.dirtyRate = 48ull << 20;
        config.guest.content = GuestContent::Random;
        config.multifdChannels = 3;
        config.downtimeLimitMs = 150;
        config.maxBandwidth = 200ull << 20;
        config.tls.credsDir = "/etc/pki/qemu";
        config.tls.priority = "NORMAL:-VERS-TLS1.2";
        config.tls.rekeyInterval = 4096;
        config.tls.authz = {"CN=a,O=b", "CN=c"};
        config.multifdCleanTlsTermination = false;
        config.faults.push_back(parseFault("cut-channel=multifd-1@64M"));
        config.capabilities.postcopyRam = true;
        config.capabilities.autoConverge = true;
        config.cpuThrottle = {30, 15, 99};
        config.postcopyStart.afterMs = 1500;
        config.autoRecover = true;
        config.recoverDelayMs = 2500;
        config.devices.push_back(parseDevice("accel,state-size=64M", config.devices));
        config.devices.push_back(parseDevice("nic,name=eth0", config.devices));
        config.vfioExplicitResumingStop = false;
        config.destinationHost = "10.0.0.2";
        config.destinationPort = 4444;
        config.uuid = generateUuid();
        const std::string recorded = describe(config);
        const MigrationConfig again = configFromDescription(recorded);
        QVERIFY(again.uuid != config.uuid); // a new run
        const auto withoutUuid = [](std::string text) { return text.substr(text.find('\n')); };
        QCOMPARE(withoutUuid(describe(again)), withoutUuid(recorded));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, configFromDescription("ram-size=lots"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, configFromDescription("tls=maybe"));
    }

    void switchoverWhenTheDowntimeItCausesFitsTheLimit() {
        // 100 MB/s is 100 000 bytes per ms: 300 ms hold 30 MB of RAM.
        using switchover::DeviceBytes;
        // 100 MB/s is 100 000 bytes per ms. The estimate may use 80 % of a 300 ms limit: 240 ms
        // hold 24 MB of RAM.
        auto ramOnly = switchover::estimate(24000000, {}, 100000, 4, 0);
        QCOMPARE(ramOnly.totalMs(), 240.0);
        QVERIFY(switchover::converged(ramOnly, 24000000, 300));
        QVERIFY(!switchover::converged(switchover::estimate(24000001, {}, 100000, 4, 0), 24000001,
                                       300));
        // The verdict's round trip counts too.
        QVERIFY(!switchover::converged(switchover::estimate(24000000, {}, 100000, 4, 1), 24000000,
                                       300));
        // Device state over the multifd channels goes at the whole bandwidth, like RAM.
        QCOMPARE(switchover::estimate(0, DeviceBytes{24000000, 0}, 100000, 4, 0).deviceMs, 240.0);
        // Device state on the main channel alone (x-migration-multifd-transfer=off): one of
        // four channels' share, so 6 MB of it take as long as 24 MB of RAM.
        const auto onMain = switchover::estimate(0, DeviceBytes{0, 6000000}, 100000, 4, 0);
        QCOMPARE(onMain.deviceMs, 240.0);
        QVERIFY(switchover::converged(onMain, 6000000, 300));
        QVERIFY(!switchover::converged(
            switchover::estimate(0, DeviceBytes{0, 6000001}, 100000, 4, 0), 6000001, 300));
        // Both ways at once add up.
        QCOMPARE(switchover::estimate(0, DeviceBytes{12000000, 3000000}, 100000, 4, 0).deviceMs,
                 240.0);
        // Without multifd the main channel has the whole bandwidth.
        QCOMPARE(switchover::estimate(0, DeviceBytes{0, 24000000}, 100000, 0, 0).deviceMs, 240.0);
        // Before any bandwidth is measured only an empty remainder may switch.
        QVERIFY(switchover::converged(switchover::estimate(0, {}, 0, 4, 0), 0, 300));
        QVERIFY(!switchover::converged(switchover::estimate(4096, {}, 0, 4, 0), 4096, 300));
        QVERIFY(!switchover::estimate(4096, {}, 0, 4, 0).known);
    }

    void progressCountsTheBulkPassUpToNinetyPercent() {
        const std::uint64_t total = 1000 * kPageSize;
        QCOMPARE(migrationProgress(statsOf(total, 0, total, 1), 0), 0.0);
        QCOMPARE(migrationProgress(statsOf(total, 500, total, 1), 0), 0.45);
        QCOMPARE(migrationProgress(statsOf(total, 1000, total, 1), 0), 0.9);
    }

    void progressIsTheCleanShareAfterwardsAndNeverRunsBackwards() {
        const std::uint64_t total = 1000 * kPageSize;
        QCOMPARE(migrationProgress(statsOf(total, 1000, 50 * kPageSize, 2), 0.9), 0.95);
        // The guest dirtied more than was sent: the bar holds where it was.
        QCOMPARE(migrationProgress(statsOf(total, 1100, 400 * kPageSize, 3), 0.95), 0.95);
        // More dirty than RAM (remaining counts device state too) is 0, not negative.
        QCOMPARE(migrationProgress(statsOf(total, 1100, 2 * total, 3), 0), 0.0);
        // No RAM known yet: nothing changes.
        QCOMPARE(migrationProgress(statsOf(0, 0, 0, 0), 0.3), 0.3);
    }

    void theDestinationSaysHowItsChannelsEnded() {
        TelemetrySnapshot source;
        ChannelSnapshot main;
        main.id = "main";
        ChannelSnapshot multifd;
        multifd.id = "multifd-0";
        source.channels = {main, multifd};
        TelemetrySnapshot destination;
        destination.status = MigrationStatus::Failed;
        ChannelSnapshot received = multifd;
        received.termination = Termination::Premature;
        destination.channels = {received}; // main not (yet) seen there
        mergeDestinationView(source, destination);
        QVERIFY(source.destinationStatus == MigrationStatus::Failed);
        QVERIFY(source.channels[0].termination == Termination::None);
        QVERIFY(source.channels[1].termination == Termination::Premature);
    }

    void devicesShowBothSidesAndTheLastArcOfEither() {
        using vfio::DeviceState;
        TelemetrySnapshot source;
        DeviceSnapshot device;
        device.name = "accel0";
        device.sourceState = DeviceState::StopCopy;
        source.devices = {device};
        source.transitions = {arc(10, Side::Source, DeviceState::Running, DeviceState::Stop),
                              arc(30, Side::Source, DeviceState::Stop, DeviceState::StopCopy)};
        TelemetrySnapshot destination;
        DeviceSnapshot theirs = device;
        theirs.destinationState = DeviceState::Resuming;
        destination.devices = {theirs};
        destination.transitions = {
            arc(20, Side::Destination, DeviceState::Stop, DeviceState::Resuming),
            arc(40, Side::Destination, DeviceState::Resuming, DeviceState::Stop, false)};
        // RunView keeps both sides' transitions in one log; the last arc is read from it.
        appendInTimeOrder(source.transitions, destination.transitions);
        mergeDestinationView(source, destination);
        QCOMPARE(source.transitions.size(), std::size_t{4});
        const DeviceSnapshot& merged = source.devices.front();
        QVERIFY(merged.sourceState == DeviceState::StopCopy);
        QVERIFY(merged.destinationState == DeviceState::Resuming);
        QVERIFY(merged.lastArc);
        QVERIFY(merged.lastArc->side == Side::Destination);
        QVERIFY(!merged.lastArc->ok);
        QCOMPARE(arcText(*merged.lastArc), std::string("RESUMING -> STOP"));
    }

    void mergedLogsOnlyGrowAtTheirEnd() {
        // What a window has shown stays where it is: a later batch is sorted in itself and
        // appended, even when one of its rows is older than the last row shown.
        std::vector<Event> log;
        appendInTimeOrder(log, {Event{30, EventLevel::Info, Side::Source, "c"},
                                Event{10, EventLevel::Info, Side::Destination, "a"}});
        appendInTimeOrder(log, {Event{40, EventLevel::Info, Side::Source, "d"},
                                Event{29, EventLevel::Info, Side::Destination, "b"}});
        QStringList order;
        for (const auto& event : log)
            order << QString::fromStdString(event.text);
        QCOMPARE(order.join(""), QStringLiteral("acbd"));
    }

    void pageRequestsAreCountedWhereTheyStart() {
        TelemetrySnapshot source;
        source.postcopy.urgentPagesSent = 7;
        TelemetrySnapshot destination;
        destination.postcopy.pageRequests = 9;
        destination.postcopy.latencyP99Ms = 2.5;
        mergeDestinationView(source, destination);
        QCOMPARE(source.postcopy.pageRequests, 9ull);
        QCOMPARE(source.postcopy.latencyP99Ms, 2.5);
        QCOMPARE(source.postcopy.urgentPagesSent, 7ull); // the source's own figure stays
    }
};

QTEST_MAIN(TestDecisions)
#include "tst_decisions.moc"
