// TLS sessions done right: how channels end (close_notify, which sources before QEMU 9.1
// never sent), re-keys, cipher choice.
#include "engine/api/history_store.h"
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace migrascope;

class TestTlsSessions : public QObject {
    Q_OBJECT

private:
    test::Workspace workspace_;
    std::string historyPath() const { return workspace_.path("history.sqlite"); }

    MigrationConfig config() const {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.guest.ramSize = 64ull << 20;
        config.multifdChannels = 3;
        return config;
    }

    static bool hasEvent(const TelemetrySnapshot& snap, EventLevel level, const QString& text) {
        for (const auto& event : snap.events)
            if (event.level == level && QString::fromStdString(event.text).contains(text))
                return true;
        return false;
    }

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }

    void everyChannelEndsItsSessionCleanly() {
        MigrationRun run(config(), RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        for (const auto& channel : snap.channels)
            QVERIFY2(channel.termination == Termination::Clean, channel.id.c_str());
        HistoryStore history(historyPath());
        for (const auto& channel : history.channels(run.historyId()))
            QVERIFY(channel.termination == Termination::Clean);
    }

    void legacySourceWithoutCloseNotifyFailsByDefault() {
        auto legacy = config();
        legacy.faults.push_back(parseFault("tls-no-bye"));
        MigrationRun run(legacy, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Failed, toString(snap.status));
        const QString error = QString::fromStdString(snap.errorDesc);
        QVERIFY2(error.contains("non-properly terminated"), snap.errorDesc.c_str());
        QVERIFY2(error.contains("channel multifd-"), snap.errorDesc.c_str());
        bool premature = false;
        for (const auto& channel : snap.channels)
            premature = premature || channel.termination == Termination::Premature;
        QVERIFY(premature);
        QVERIFY(snap.sourceGuest == GuestState::Running);
        run.sourceGuest()->stop();
        QCOMPARE(run.sourceGuest()->countCorruptPages(), std::uint64_t{0});
        HistoryStore history(historyPath());
        QVERIFY(history.run(run.historyId())->status == RunStatus::Failed);
    }

    // The legacy source's channels end without close_notify as it switches to postcopy: the
    // strict destination fails, and its guest must not start after that (the source's is the
    // current one). It used to start it anyway and leave the source waiting for a verdict
    // that never came.
    void legacySourceSwitchingToPostcopyFailsBeforeTheGuestStartsThere() {
        auto legacy = config();
        legacy.faults.push_back(parseFault("tls-no-bye"));
        legacy.guest.dirtyRate = 16ull << 20;
        legacy.maxBandwidth = 32ull << 20;
        legacy.capabilities.postcopyRam = true;
        legacy.postcopyStart.afterIterations = 1;
        MigrationRun run(legacy, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Failed, toString(snap.status));
        QVERIFY2(QString::fromStdString(snap.errorDesc).contains("non-properly terminated"),
                 snap.errorDesc.c_str());
        QVERIFY(snap.sourceGuest == GuestState::Running);
        QVERIFY(!test::hasEvent(snap, "postcopy-active: the guest runs here"));
        HistoryStore history(historyPath());
        QVERIFY(history.run(run.historyId())->status == RunStatus::Failed);
    }

    void legacySourceIsToleratedWithTheCompatParameterOff() {
        auto legacy = config();
        legacy.faults.push_back(parseFault("tls-no-bye"));
        legacy.multifdCleanTlsTermination = false;
        MigrationRun run(legacy, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.integrity, std::string("verified"));
        for (const auto& channel : snap.channels)
            if (channel.kind == ChannelKind::Multifd)
                QVERIFY2(channel.termination == Termination::Premature, channel.id.c_str());
        QVERIFY(hasEvent(snap, EventLevel::Warning, "tolerated after the last packet"));
    }

    void forcedKeyUpdatesAreCountedAndTheDataSurvivesThem() {
        auto rekeying = config();
        rekeying.tls.rekeyInterval = 100;
        rekeying.maxBandwidth = 48ull << 20;   // long enough for several paced key updates
        rekeying.guest.dirtyRate = 4ull << 20; // converges even with re-keys slowing channels
        MigrationRun run(rekeying, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        QCOMPARE(snap.integrity, std::string("verified"));
        std::uint64_t updates = 0;
        for (const auto& channel : snap.channels)
            if (channel.kind == ChannelKind::Multifd) {
                QVERIFY2(channel.keyUpdatesSent > 0, channel.id.c_str());
                QVERIFY(channel.recordsUnderCurrentKey < channel.tlsRecordsSent);
                updates += channel.keyUpdatesSent;
            }
        QVERIFY(updates >= 3);
    }

    void passingTheRecordWarningIsLoggedOncePerChannel() {
        auto warned = config();
        warned.tls.recordWarning = 50;
        warned.tls.rekeyInterval = 100;
        MigrationRun run(warned, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        for (const auto& channel : snap.channels) {
            if (channel.kind != ChannelKind::Multifd)
                continue;
            QCOMPARE(channel.recordLimit, kTlsRecordLimit);
            int warnings = 0;
            for (const auto& event : snap.events)
                if (event.level == EventLevel::Warning &&
                    event.text.find("channel " + channel.id + " has sent") != std::string::npos)
                    ++warnings;
            QCOMPARE(warnings, 1);
        }
    }

    void priorityStringCanForceChacha20() {
        auto chacha = config();
        chacha.tls.priority = "NORMAL:-AES-256-GCM:-AES-128-GCM:-AES-128-CCM";
        MigrationRun run(chacha, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
        for (const auto& channel : snap.channels) {
            QVERIFY2(QString::fromStdString(channel.tlsCipher).contains("CHACHA20"),
                     channel.tlsCipher.c_str());
            QCOMPARE(channel.recordLimit, std::uint64_t{0}); // no re-key needed
        }
    }

    void invalidPriorityStringIsNamed() {
        auto bad = config();
        bad.tls.priority = "NORMAL:+NO-SUCH-CIPHER";
        MigrationRun run(bad, RunOptions{historyPath()});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY(snap.status == MigrationStatus::Failed);
        QVERIFY2(QString::fromStdString(snap.errorDesc).contains("NO-SUCH-CIPHER"),
                 snap.errorDesc.c_str());
        QVERIFY(snap.sourceGuest == GuestState::Running);
    }
};

QTEST_GUILESS_MAIN(TestTlsSessions)
#include "tst_tls_sessions.moc"
