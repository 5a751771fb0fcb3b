// End-to-end migrations to the in-process destination over real sockets and TLS.
#include "engine/api/history_store.h"
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cstring>
#include <filesystem>

using namespace migrascope;

class TestMigration : public QObject {
    Q_OBJECT

private:
    test::Workspace workspace_;
    std::string historyPath() const { return workspace_.path("history.sqlite"); }

    static bool ramEqual(Guest& a, Guest& b) {
        if (a.blocks().size() != b.blocks().size())
            return false;
        for (std::size_t i = 0; i < a.blocks().size(); ++i)
            if (a.blocks()[i]->size() != b.blocks()[i]->size() ||
                std::memcmp(a.blocks()[i]->data(), b.blocks()[i]->data(), a.blocks()[i]->size()))
                return false;
        return true;
    }

    std::optional<RunRecord> historyRow(const MigrationRun& run) {
        HistoryStore store(historyPath());
        return store.run(run.historyId());
    }

    // Without TLS: a test about rates and caps, not about sessions.
    static MigrationConfig plainConfig(std::uint64_t ramSize, std::uint64_t dirtyRate,
                                       std::uint64_t maxBandwidth, unsigned channels) {
        MigrationConfig config;
        config.guest.ramSize = ramSize;
        config.guest.dirtyRate = dirtyRate;
        config.maxBandwidth = maxBandwidth;
        config.multifdChannels = channels;
        config.tls.enabled = false;
        return config;
    }

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }

    void tlsMigrationWithWorkloadCompletesAndRamMatches() {
        MigrationRun run(test::smallTlsConfig(workspace_.pki), RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.integrity, std::string("verified"));
        QVERIFY(snap.sourceGuest == GuestState::Postmigrate);
        QVERIFY(snap.stats.transferred >= snap.stats.normal * kPageSize);
        QVERIFY(snap.stats.duplicate > 0); // the booted guest has zero pages
        QCOMPARE(snap.channels.size(), std::size_t{5});
        for (const auto& channel : snap.channels) {
            QVERIFY2(channel.bytes > 0, channel.id.c_str());
            // Counted again at the other end, by the destination's receiving threads.
            QCOMPARE(channel.bytesReceived, channel.bytes);
            QCOMPARE(channel.tlsVersion, std::string("TLS1.3"));
            QVERIFY(!channel.tlsCipher.empty());
        }
        // The source stays stopped after switchover, so its RAM is the RAM at switchover.
        QVERIFY(run.sourceGuest()->pagesWritten() > 0);
        QVERIFY(run.destinationGuest());
        QVERIFY(ramEqual(*run.sourceGuest(), *run.destinationGuest()));
        QCOMPARE(run.destinationGuest()->countCorruptPages(), std::uint64_t{0});
        const auto row = historyRow(run);
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Completed);
        // The downtime expected as the guest stopped stays beside the real one, and the limit.
        QVERIFY(snap.stats.expectedDowntimeMs > 0);
        QCOMPARE(row->expectedDowntimeMs, snap.stats.expectedDowntimeMs);
        QCOMPARE(row->downtimeMs, snap.stats.downtimeMs);
        QCOMPARE(row->downtimeLimitMs, std::uint64_t{300});
    }

    void plainMigrationOnTheMainChannelAloneCompletes() {
        MigrationConfig config;
        config.guest.ramSize = 64ull << 20;
        config.guest.dirtyRate = 16ull << 20;
        config.multifdChannels = 0;
        config.tls.enabled = false;
        config.maxBandwidth = 32ull << 20; // two seconds or more: the dirty rate gets measured
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.channels.size(), std::size_t{1});
        QVERIFY(snap.channels[0].tlsVersion.empty());
        QCOMPARE(snap.channels[0].bytesReceived, snap.channels[0].bytes);
        // The workload writes 4096 pages a second; no period can have dirtied more pages than
        // were written (the syncs just before and at switchover once read as millions).
        QVERIFY(snap.stats.dirtyPagesRate > 0);
        QVERIFY2(snap.stats.dirtyPagesRate <= 4096 * 1.5,
                 std::to_string(snap.stats.dirtyPagesRate).c_str());
        QVERIFY(ramEqual(*run.sourceGuest(), *run.destinationGuest()));
    }

    void wrongCaFailsNamingTheCertificateProblem() {
        // The source trusts another CA, so the destination's certificate is unknown to it.
        const std::string other = workspace_.path("other-pki");
        generatePki(other, PkiOptions{.caName = "Somebody else's CA"});
        const std::string mixed = workspace_.path("mixed-pki");
        std::filesystem::create_directories(mixed);
        for (const char* file :
             {"server-cert.pem", "server-key.pem", "client-cert.pem", "client-key.pem"})
            std::filesystem::copy_file(workspace_.pki + "/" + file, mixed + "/" + file);
        std::filesystem::copy_file(other + "/ca-cert.pem", mixed + "/ca-cert.pem");

        auto config = test::smallTlsConfig(mixed);
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Failed, toString(snap.status));
        QVERIFY2(
            QString::fromStdString(snap.errorDesc).contains("certificate", Qt::CaseInsensitive),
            snap.errorDesc.c_str());
        QVERIFY2(QString::fromStdString(snap.errorDesc).contains("issuer", Qt::CaseInsensitive),
                 snap.errorDesc.c_str());
        QVERIFY(snap.integrity != "verified");
        test::verifySourceGuestIntact(run);
        const auto row = historyRow(run);
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Failed);
        QCOMPARE(row->errorDesc, snap.errorDesc);
    }

    // A cancel read as a TLS fault: "destination: channel main: The TLS connection was
    // non-properly terminated", channels failed/error in red. It is the operator's cancel.
    void cancelMidRunLeavesTheGuestRunning() {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.guest.ramSize = 256ull << 20;
        config.maxBandwidth = 32ull << 20; // slow enough to be caught in the middle
        MigrationRun run(config, RunOptions{historyPath()});
        run.start();
        QTRY_VERIFY_WITH_TIMEOUT(run.snapshot().stats.transferred > (16ull << 20), 60000);
        run.cancel();
        QVERIFY(run.waitFor(std::chrono::seconds(60)));
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Cancelled, toString(snap.status));
        QVERIFY(snap.stats.transferred < snap.stats.total);
        test::verifySourceGuestIntact(run);
        const auto row = historyRow(run);
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Cancelled);
        QCOMPARE(row->errorDesc, std::string("migration cancelled by the operator"));
        QCOMPARE(snap.errorDesc, row->errorDesc);
        for (const auto& channel : snap.channels) {
            QVERIFY2(channel.state != ChannelState::Failed, channel.id.c_str());
            QVERIFY2(channel.termination == Termination::Cancelled ||
                         channel.termination == Termination::Clean,
                     channel.id.c_str());
        }
        for (const auto& event : snap.events)
            QVERIFY2(event.level != EventLevel::Error, event.text.c_str());
        QVERIFY(test::hasEvent(snap, "incoming migration ended: the source cancelled it"));
    }

    void cutChannelFailsNamingTheChannel() {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.faults.push_back(parseFault("cut-channel=multifd-1@8M"));
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Failed, toString(snap.status));
        QVERIFY2(QString::fromStdString(snap.errorDesc).contains("multifd-1"),
                 snap.errorDesc.c_str());
        // The destination told the source at once, so the source's part of the cause is the
        // destination's verdict, not a send its own teardown broke.
        QVERIFY2(QString::fromStdString(snap.errorDesc).contains("SHUT 3"), snap.errorDesc.c_str());
        QVERIFY2(!QString::fromStdString(snap.errorDesc).contains("send failed"),
                 snap.errorDesc.c_str());
        // Only the cut channel reads as a failure; the destination closed the others because
        // of it, and they say so instead of showing red errors of their own.
        for (const auto& channel : snap.channels) {
            const std::string what = channel.id + ": " + toString(channel.termination);
            // Even a run this short keeps the kernel's last count of every socket, not the
            // handshake's bytes from a sample before it.
            QVERIFY2(channel.tcp.has_value(), what.c_str());
            if (channel.kind == ChannelKind::Multifd)
                QVERIFY2(channel.tcp->bytesAcked > (64u << 10),
                         (what + ": " + std::to_string(channel.bytes) + " counted, " +
                          std::to_string(channel.tcp->bytesAcked) + " acked")
                             .c_str());
            if (channel.id == "multifd-1") {
                // A cut network reads as the network's failure at the destination, not as a
                // peer that closed without close_notify.
                QVERIFY2(channel.termination == Termination::Network, what.c_str());
                QVERIFY2(channel.state == ChannelState::Failed, what.c_str());
            } else {
                QVERIFY2(channel.termination == Termination::AfterFailure, what.c_str());
                QVERIFY2(channel.state == ChannelState::Closed, what.c_str());
            }
        }
        test::verifySourceGuestIntact(run);
        const auto row = historyRow(run);
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Failed);
        QVERIFY(QString::fromStdString(row->errorDesc).contains("multifd-1"));
    }

    // A fault aimed past the end of a channel never fires: the run completes, but says so,
    // and the history keeps the warning with it.
    void aFaultThatNeverFiredLeavesARunCompletedWithWarnings() {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.guest.dirtyRate = 0;
        config.faults.push_back(parseFault("cut-channel=multifd-1@16G"));
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.warnings.size(), std::size_t{1});
        QVERIFY2(
            QString::fromStdString(snap.warnings[0]).contains("never fired: channel multifd-1"),
            snap.warnings[0].c_str());
        const auto row = historyRow(run);
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Completed);
        QCOMPARE(row->warnings, snap.warnings);
    }

    // Each channel's bytes as we count them against the kernel's count for its socket
    // (tcp_info bytes_acked, read after the peer acknowledged the last byte): equal but for
    // the FIN without TLS, and above by TLS's framing (under 1 %) with it.
    void eachChannelAgreesWithTheKernelsCountOfItsSocket_data() {
        QTest::addColumn<bool>("tls");
        QTest::newRow("plain") << false;
        QTest::newRow("TLS") << true;
    }
    void eachChannelAgreesWithTheKernelsCountOfItsSocket() {
        QFETCH(bool, tls);
        auto config = test::smallTlsConfig(workspace_.pki);
        config.tls.enabled = tls;
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.channels.size(), std::size_t{5});
        for (const auto& channel : snap.channels) {
            QVERIFY2(channel.tcp.has_value(), channel.id.c_str());
            const auto ours = static_cast<double>(channel.bytes);
            const auto kernel = static_cast<double>(channel.tcp->bytesAcked);
            const std::string pair = channel.id + ": " + std::to_string(channel.bytes) +
                                     " counted, " + std::to_string(channel.tcp->bytesAcked) +
                                     " acked";
            QVERIFY2(kernel >= ours, pair.c_str());
            if (channel.kind == ChannelKind::Multifd)
                QVERIFY2(kernel - ours <= (tls ? 0.01 * ours : 2), pair.c_str());
        }
        // The history keeps the kernel's view with each channel.
        HistoryStore store(historyPath(), HistoryStore::Access::ReadOnly);
        const auto stored = store.channels(run.historyId());
        QCOMPARE(stored.size(), snap.channels.size());
        QVERIFY(stored[1].tcp.has_value());
        QCOMPARE(stored[1].tcp->bytesAcked, snap.channels[1].tcp->bytesAcked);
    }

    // While the channels are open the table's kernel columns come from the sampler, which
    // finds each socket by its addresses and cookie: every channel has the kernel's count
    // mid-run, and it keeps up with our own (a link capped at 32 MiB/s: within 8 MiB).
    void theKernelsCountsArriveWhileTheChannelsAreOpen() {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.guest.ramSize = 256ull << 20;
        config.guest.dirtyRate = 0;
        config.guest.content = GuestContent::Random; // no zero pages: it lasts 8 s at the cap
        config.maxBandwidth = 32ull << 20;
        MigrationRun run(config, RunOptions{"", false});
        run.start();
        QTRY_VERIFY_WITH_TIMEOUT(run.snapshot().stats.transferred > (32ull << 20), 30000);
        QTest::qWait(300); // a sample or two after
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Active, toString(snap.status));
        int checked = 0;
        for (const auto& channel : snap.channels) {
            if (channel.kind != ChannelKind::Multifd || channel.bytes < (1u << 20))
                continue; // the source hands packets to whichever channel is free first
            const std::string pair =
                channel.id + ": " + std::to_string(channel.bytes) + " counted, " +
                (channel.tcp ? std::to_string(channel.tcp->bytesAcked) : std::string("nothing")) +
                " acked";
            QVERIFY2(channel.tcp.has_value(), pair.c_str());
            QVERIFY2(channel.tcp->bytesAcked > (512u << 10), pair.c_str());
            QVERIFY2(static_cast<double>(channel.tcp->bytesAcked) + (8u << 20) >=
                         static_cast<double>(channel.bytes),
                     pair.c_str());
            ++checked;
        }
        QVERIFY(checked >= 1);
        run.cancel();
        run.wait();
    }

    void aCleanRunHasNoWarnings() {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.guest.dirtyRate = 0;
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY(snap.status == MigrationStatus::Completed);
        QVERIFY2(snap.warnings.empty(), snap.warnings.empty() ? "" : snap.warnings[0].c_str());
        QVERIFY(historyRow(run)->warnings.empty());
    }

    // Over 100 ms the plot of a run capped at 200 MiB/s read 176 then 216 MiB/s: a multifd
    // packet is half a MiB. Every plotted rate keeps the cap, and the run really runs at it.
    void thePlottedRateKeepsTheBandwidthCap() {
        const MigrationConfig config = plainConfig(384ull << 20, 32ull << 20, 128ull << 20, 4);
        MigrationRun run(config, RunOptions{"", false});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        const double cap = static_cast<double>(config.maxBandwidth);
        std::size_t plotted = 0;
        for (const auto& sample : snap.samples) {
            if (sample.channel != "total" || sample.timeMs < kSampleRateWindowMs)
                continue;
            ++plotted;
            QVERIFY2(sample.bytesPerSecond <= cap * 1.03,
                     qPrintable(QString("%1 MiB/s at %2 ms")
                                    .arg(sample.bytesPerSecond / (1 << 20))
                                    .arg(sample.timeMs)));
        }
        QVERIFY(plotted >= 10);
        // Wall-clock check of the same cap: everything sent, over the whole run.
        const double seconds = snap.stats.totalTimeMs / 1000;
        QVERIFY(static_cast<double>(snap.stats.transferred) / seconds <= cap * 1.03);
    }

    // A trainer's slow motion: the same migration, slower. The link's cap, the guest's workload
    // and the downtime limit scale together; the wall clock sees the slowed link, and back at
    // normal speed the run completes, verified, with each change in its log.
    void slowMotionSlowsTheMigrationItself() {
        MigrationConfig config = plainConfig(64ull << 20, 8ull << 20, 32ull << 20, 2);
        MigrationRun run(config, RunOptions{"", false});
        QVERIFY(!run.setSlowMotion(3).empty()); // 1/2, 1/5 and 1/10 only
        QCOMPARE(run.setSlowMotion(5), std::string());
        run.start();
        QTRY_VERIFY_WITH_TIMEOUT(run.snapshot().stats.transferred > (1u << 20), 20000);
        const auto before = run.snapshot();
        const auto from = std::chrono::steady_clock::now();
        QTest::qWait(1500);
        const auto after = run.snapshot();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
        QCOMPARE(after.slowMotion, 5u);
        QCOMPARE(after.stats.downtimeLimitMs, std::uint64_t{1500}); // 300 ms x 5
        QVERIFY2(after.status == MigrationStatus::Active, after.errorDesc.c_str());
        // 32 MiB/s / 5 = 6.4 MiB/s; normal speed would move 48 MiB in this time.
        const double moved =
            static_cast<double>(after.stats.transferred - before.stats.transferred);
        const double slowedCap = (32.0 / 5) * (1 << 20);
        QVERIFY2(moved <= slowedCap * seconds * 1.3 + (1 << 20),
                 qPrintable(QString("%1 MiB in %2 s").arg(moved / (1 << 20)).arg(seconds)));
        QCOMPARE(run.setSlowMotion(1), std::string());
        QVERIFY2(run.waitFor(std::chrono::seconds(60)), "the migration did not end");
        const auto end = run.snapshot();
        QVERIFY2(end.status == MigrationStatus::Completed, end.errorDesc.c_str());
        QCOMPARE(end.integrity, std::string("verified"));
        QCOMPARE(end.stats.downtimeLimitMs, std::uint64_t{300});
        bool slowed = false;
        bool normal = false;
        for (const auto& event : end.events) {
            slowed |= event.text.starts_with("slow motion 1/5");
            normal |= event.text.starts_with("slow motion off");
        }
        QVERIFY(slowed && normal);
    }

    // A guest dirtying 256 MiB/s behind a 128 MiB/s cap: precopy never converges on its own;
    // auto-converge throttles the vCPUs step by step until it does.
    void autoConvergeThrottlesAGuestThatOutrunsTheLink() {
        MigrationConfig config = plainConfig(256ull << 20, 256ull << 20, 128ull << 20, 2);
        config.cpuThrottle.initial = 40;
        config.cpuThrottle.increment = 20;

        MigrationRun without(config, RunOptions{"", false});
        without.start();
        QTRY_VERIFY_WITH_TIMEOUT(without.snapshot().stats.dirtySyncCount >= 6, 60000);
        QVERIFY2(without.snapshot().status == MigrationStatus::Active,
                 toString(without.snapshot().status));
        QCOMPARE(without.snapshot().stats.cpuThrottlePercentage, 0u);
        QVERIFY(without.snapshot().stats.expectedDowntimeMs > 300);
        without.cancel();
        QVERIFY(without.waitFor(std::chrono::seconds(30)));

        config.capabilities.autoConverge = true;
        MigrationRun with(config, RunOptions{historyPath()});
        test::runToEnd(with);
        const auto snap = with.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QVERIFY(snap.stats.cpuThrottlePercentage >= 40);
        bool stepped = false;
        for (const auto& event : snap.events)
            stepped |= event.text.rfind("auto-converge: ", 0) == 0;
        QVERIFY(stepped);
        const auto row = historyRow(with);
        QVERIFY(row);
        QCOMPARE(row->cpuThrottlePercentage, snap.stats.cpuThrottlePercentage);
        QVERIFY(ramEqual(*with.sourceGuest(), *with.destinationGuest()));
    }

    // The digest is made of each page's hash as it was sent and as it arrived: a page that
    // changes on the way must still fail the migration before the destination's guest runs.
    void aPageCorruptedOnTheWireFailsIntegrity() {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.guest.dirtyRate = 0; // nothing sends the page again and heals it
        config.faults.push_back(parseFault("corrupt-page=multifd-2@4M"));
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Failed, toString(snap.status));
        QVERIFY2(snap.errorDesc.find("integrity check failed") != std::string::npos,
                 snap.errorDesc.c_str());
        QVERIFY(snap.integrity != "verified");
        QVERIFY(run.destinationGuest() == nullptr || !run.destinationGuest()->running());
        test::verifySourceGuestIntact(run);
    }
};

QTEST_GUILESS_MAIN(TestMigration)
#include "tst_migration.moc"
