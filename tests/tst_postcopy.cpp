// Postcopy end to end: the destination guest runs (and writes) before every page is there,
// the network fails and recovers, and resume is tried at every step of a pause (where QEMU's
// return-path thread, reused across the pause, closed a quick resume's new return path).
#include "engine/api/history_store.h"
#include "engine/api/migration_run.h"
#include "test_support.h"

#include <QtTest>
#include <dirent.h>
#include <mutex>

using namespace migrascope;

namespace {

std::size_t countEntries(const char* directory) {
    std::size_t count = 0;
    if (DIR* dir = opendir(directory)) {
        while (readdir(dir))
            ++count;
        closedir(dir);
    }
    return count;
}

} // namespace

class TestPostcopy : public QObject {
    Q_OBJECT

private:
    test::Workspace workspace_;
    std::string historyPath() const { return workspace_.path("history.sqlite"); }

    // Postcopy starts early (the bulk pass is capped, so most pages are still at the source)
    // and lasts: the destination guest faults on pages it does not have yet.
    MigrationConfig postcopyConfig(std::uint64_t bandwidth) const {
        MigrationConfig config = test::smallTlsConfig(workspace_.pki);
        config.guest.ramSize = 96ull << 20;
        config.guest.dirtyRate = 16ull << 20;
        config.multifdChannels = 2;
        config.maxBandwidth = bandwidth;
        config.capabilities.postcopyRam = true;
        config.postcopyStart.afterMs = 300;
        return config;
    }

    static void waitForStatus(MigrationRun& run, MigrationStatus source,
                              MigrationStatus destination) {
        QTRY_VERIFY2_WITH_TIMEOUT(run.telemetry().status() == source &&
                                      run.destinationStatus() == destination,
                                  lastEvents(run).c_str(), 60000);
    }

    // What both sides said last, to tell which one did not get there.
    static std::string lastEvents(MigrationRun& run) {
        const auto events = run.snapshot().events;
        std::string text = std::string("source ") + toString(run.telemetry().status()) +
                           ", destination " + toString(run.destinationStatus()) + "; last events:";
        for (std::size_t i = events.size() > 12 ? events.size() - 12 : 0; i < events.size(); ++i)
            text += "\n  " + std::string(toString(events[i].side)) + ": " + events[i].text;
        return text;
    }

    // migrate-recover on the destination, then migrate resume, once both sides are paused.
    static void recoverBothSides(MigrationRun& run) {
        waitForStatus(run, MigrationStatus::PostcopyPaused, MigrationStatus::PostcopyPaused);
        QCOMPARE(run.recover(), std::string());
        QCOMPARE(run.resume(), std::string());
    }

    static TelemetrySnapshot endVerified(MigrationRun& run) {
        [&] { QVERIFY2(run.waitFor(std::chrono::seconds(180)), "the migration did not end"); }();
        const auto snap = run.snapshot();
        [&] {
            QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
            QCOMPARE(snap.integrity, std::string("verified"));
        }();
        return snap;
    }

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }

    void postcopyWithRunningDestinationGuestCompletesVerified() {
        MigrationRun run(postcopyConfig(48ull << 20), RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.integrity, std::string("verified"));
        QVERIFY(test::hasEvent(snap, "postcopy-active: the guest runs here"));
        // The destination guest touched pages that were not there and asked for them.
        QVERIFY2(snap.postcopy.pageRequests > 0, "no page was ever requested");
        QCOMPARE(snap.postcopy.pagesServed, snap.postcopy.pageRequests);
        QVERIFY(snap.postcopy.urgentPagesSent > 0);
        QVERIFY(snap.postcopy.latencyMedianMs > 0);
        QVERIFY(snap.postcopy.latencyP99Ms >= snap.postcopy.latencyMedianMs);
        bool sawRequest = false;
        for (const auto& record : snap.returnPath)
            sawRequest = sawRequest || record.type == ReturnPathType::ReqPagesId ||
                         record.type == ReturnPathType::ReqPages;
        QVERIFY(sawRequest);
        // Its writes since are its own: every page is still a consistent page.
        Guest* destination = run.destinationGuest();
        QVERIFY(destination);
        QVERIFY(destination->pagesWritten() > 0);
        destination->stop();
        QCOMPARE(destination->countCorruptPages(), std::uint64_t{0});
    }

    // A trainer steps through a postcopy outage: held as postcopy starts, and again once the
    // new connection is up and the destination has said what it lacks; the run still verifies.
    void steppingHoldsAtPostcopyStartAndRecovery() {
        MigrationRun run(postcopyConfig(12ull << 20), RunOptions{historyPath()});
        QCOMPARE(run.setStepping(true), std::string());
        run.start();
        std::vector<std::string> held;
        bool cut = false;
        bool resumed = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (!run.finished() && std::chrono::steady_clock::now() < deadline) {
            const auto snap = run.snapshot();
            if (!snap.heldAt.empty()) {
                held.push_back(snap.heldAt);
                // After the recovery's hold the rest runs by itself.
                QCOMPARE(snap.heldAt == "postcopy recovery" ? run.setStepping(false)
                                                            : run.continueFromHold(),
                         std::string());
                QTRY_VERIFY_WITH_TIMEOUT(run.snapshot().heldAt != snap.heldAt || run.finished(),
                                         10000);
                continue;
            }
            const MigrationStatus source = snap.status;
            const MigrationStatus destination = run.destinationStatus();
            if (!cut && source == MigrationStatus::PostcopyActive &&
                destination == MigrationStatus::PostcopyActive)
                cut = run.cutNetwork().empty();
            if (!resumed && source == MigrationStatus::PostcopyPaused &&
                destination == MigrationStatus::PostcopyPaused) {
                QCOMPARE(run.recover(), std::string());
                QCOMPARE(run.resume(), std::string());
                resumed = true;
            }
            QTest::qWait(20);
        }
        endVerified(run);
        std::string sequence;
        for (const auto& phase : held)
            sequence += phase + "; ";
        const auto start = std::find(held.begin(), held.end(), "postcopy start");
        QVERIFY2(start != held.end() &&
                     std::find(start, held.end(), "postcopy recovery") != held.end(),
                 sequence.c_str());
    }

    void twentyNetworkCutsInPostcopyRecoverAndMemoryMatches() {
        const std::size_t threadsBefore = countEntries("/proc/self/task");
        const std::size_t descriptorsBefore = countEntries("/proc/self/fd");
        {
            // Capped hard, so postcopy outlasts twenty outages.
            MigrationRun run(postcopyConfig(12ull << 20), RunOptions{historyPath()});
            run.start();
            for (int cut = 0; cut < 20; ++cut) {
                waitForStatus(run, MigrationStatus::PostcopyActive,
                              MigrationStatus::PostcopyActive);
                QCOMPARE(run.cutNetwork(), std::string());
                recoverBothSides(run);
                if (QTest::currentTestFailed())
                    return;
            }
            const auto snap = endVerified(run);
            if (QTest::currentTestFailed())
                return;
            QCOMPARE(snap.postcopy.pauses, 20u);
            QCOMPARE(snap.postcopy.recoveries, 20u);
            // Every connection had its own return-path thread, each told apart in the log.
            unsigned lastConnection = 0;
            for (const auto& record : snap.returnPath)
                lastConnection = std::max(lastConnection, record.connection);
            QCOMPARE(lastConnection, 21u);
            Guest* destination = run.destinationGuest();
            destination->stop();
            QCOMPARE(destination->countCorruptPages(), std::uint64_t{0});
        }
        // Every thread joined and every socket closed.
        QCOMPARE(countEntries("/proc/self/task"), threadsBefore);
        QCOMPARE(countEntries("/proc/self/fd"), descriptorsBefore);
    }

    void resumeAtEveryStepOfThePauseIsRefusedOrClean() {
        std::mutex mutex;
        std::vector<std::pair<PauseStep, std::string>> answers;
        MigrationRun* running = nullptr;
        int sequences = 0;
        RunOptions options{historyPath()};
        options.pauseStepHook = [&](PauseStep step) {
            std::lock_guard lock(mutex);
            // The race QEMU lost: resume while the old return path is still closing. From the
            // third pause on, the test recovers the destination and resumes itself.
            if (sequences < 2)
                answers.emplace_back(step, running->resume());
            if (step == PauseStep::Paused)
                ++sequences;
        };
        MigrationRun run(postcopyConfig(12ull << 20), options);
        running = &run;
        run.start();
        waitForStatus(run, MigrationStatus::PostcopyActive, MigrationStatus::PostcopyActive);
        QCOMPARE(run.cutNetwork(), std::string());
        // The first resume came before the destination was told to recover: refused there,
        // so the source pauses again, and the second sequence's resume is refused likewise.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                std::lock_guard lock(mutex);
                return sequences == 3;
            }(),
            60000);
        recoverBothSides(run);
        const auto snap = endVerified(run);
        if (QTest::currentTestFailed())
            return;
        std::lock_guard lock(mutex);
        QCOMPARE(answers.size(), std::size_t{8});
        for (const auto& [step, answer] : answers) {
            if (step == PauseStep::Paused)
                QVERIFY2(answer.empty(), answer.c_str());
            else
                QVERIFY2(answer.find("not postcopy-paused") != std::string::npos,
                         (std::string(toString(step)) + ": " + answer).c_str());
        }
        // The destination refused the early resumes. It logs the first refused connection at
        // once and batches the later ones (reported every 5 s or when it stops), so the log
        // holds the first refusal: postcopy-paused but not told to recover, or, when that
        // resume reached it before it had seen the cut itself, still postcopy-active. One run
        // under AddressSanitizer lacked the first reason; the second fits what it showed.
        QVERIFY(test::hasEvent(snap, "resume refused: the destination is postcopy-"));
        QVERIFY(test::hasEvent(snap, "resume failed"));
    }

    void injectedCutRecoversByItself() {
        MigrationConfig config = postcopyConfig(32ull << 20);
        config.faults.push_back(parseFault("cut-main@postcopy+2M"));
        config.autoRecover = true;
        config.recoverDelayMs = 200;
        MigrationRun run(config, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.integrity, std::string("verified"));
        QCOMPARE(snap.postcopy.recoveries, 1u);
        QVERIFY(snap.postcopy.lastRecoveryMs >= 200);
        QVERIFY(test::hasEvent(snap, "fault injected: cut-main@postcopy+2M"));
        QVERIFY(test::hasEvent(snap, "recovering by itself after 200 ms"));
        bool sawBitmap = false;
        bool sawResumeAck = false;
        for (const auto& record : snap.returnPath) {
            sawBitmap = sawBitmap || record.type == ReturnPathType::RecvBitmap;
            sawResumeAck = sawResumeAck || record.type == ReturnPathType::ResumeAck;
        }
        QVERIFY(sawBitmap);
        QVERIFY(sawResumeAck);
    }

    // Cancelling once resumed the stale source guest and threw away what the destination's
    // guest had done since. Now the cancel is refused and the migration can still finish.
    // The operator's pause and a network cut each read as what they are, on the channel and in
    // the destination's log: not as a TLS decoding fault. After the resume the channel is open
    // again, and it ends clean when the migration completes.
    void anOperatorPauseAndANetworkCutReadAsWhatTheyAre() {
        MigrationRun run(postcopyConfig(12ull << 20), RunOptions{historyPath()});
        run.start();
        const auto mainChannel = [&run] {
            for (const auto& channel : run.snapshot().channels)
                if (channel.id == "main")
                    return channel;
            return ChannelSnapshot{};
        };
        waitForStatus(run, MigrationStatus::PostcopyActive, MigrationStatus::PostcopyActive);
        QCOMPARE(run.pause(), std::string());
        waitForStatus(run, MigrationStatus::PostcopyPaused, MigrationStatus::PostcopyPaused);
        QVERIFY2(mainChannel().termination == Termination::Paused,
                 toString(mainChannel().termination));
        QVERIFY(mainChannel().state != ChannelState::Failed);
        auto snap = run.snapshot();
        QVERIFY(test::hasEvent(snap, "postcopy-paused: the source paused the migration"));
        for (const auto& event : snap.events)
            QVERIFY2(event.level != EventLevel::Error &&
                         event.text.find("decoding") == std::string::npos &&
                         event.text.find("non-properly") == std::string::npos,
                     event.text.c_str());

        recoverBothSides(run);
        waitForStatus(run, MigrationStatus::PostcopyActive, MigrationStatus::PostcopyActive);
        QVERIFY2(mainChannel().termination == Termination::None,
                 toString(mainChannel().termination));
        QCOMPARE(run.cutNetwork(), std::string());
        waitForStatus(run, MigrationStatus::PostcopyPaused, MigrationStatus::PostcopyPaused);
        QVERIFY2(mainChannel().termination == Termination::Network,
                 toString(mainChannel().termination));
        QVERIFY(test::hasEvent(run.snapshot(),
                               "postcopy-paused: the network under the main channel failed"));

        recoverBothSides(run);
        snap = endVerified(run);
        if (QTest::currentTestFailed())
            return;
        QVERIFY2(mainChannel().termination == Termination::Clean,
                 toString(mainChannel().termination));
        HistoryStore store(historyPath(), HistoryStore::Access::ReadOnly);
        for (const auto& channel : store.channels(run.historyId()))
            QVERIFY2(channel.termination == Termination::Clean, channel.id.c_str());
    }

    void cancelInPostcopyIsRefusedAndTheDestinationKeepsTheGuest() {
        MigrationRun run(postcopyConfig(12ull << 20), RunOptions{historyPath()});
        run.start();
        waitForStatus(run, MigrationStatus::PostcopyActive, MigrationStatus::PostcopyActive);
        QCOMPARE(run.pause(), std::string());
        waitForStatus(run, MigrationStatus::PostcopyPaused, MigrationStatus::PostcopyPaused);
        const std::string refusal = run.cancel();
        QVERIFY2(refusal.find("postcopy has started") != std::string::npos, refusal.c_str());
        QVERIFY(!run.waitFor(std::chrono::milliseconds(500)));
        auto snap = run.snapshot();
        QVERIFY(snap.status == MigrationStatus::PostcopyPaused);
        QVERIFY(snap.sourceGuest == GuestState::Paused);
        QVERIFY(test::hasEvent(snap, "cancel refused: postcopy has started"));
        recoverBothSides(run);
        snap = endVerified(run);
        HistoryStore store(historyPath());
        const auto row = store.run(run.historyId());
        QVERIFY(row);
        QVERIFY(row->status == RunStatus::Completed);
    }
};

QTEST_GUILESS_MAIN(TestPostcopy)
#include "tst_postcopy.moc"
