// Shared set-up for engine tests: a private XDG tree and generated test certificates.
#pragma once

#include "engine/api/migration_config.h"
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "engine/memory/guest.h"
#include "engine/telemetry/telemetry.h"

#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <string>

namespace migrascope::test {

// Points XDG_CONFIG_HOME / XDG_DATA_HOME into `dir`, so a test never reads or writes the
// developer's real history and certificates.
inline void isolateUserDirectories(const QTemporaryDir& dir) {
    qputenv("XDG_CONFIG_HOME", (dir.path() + "/config").toUtf8());
    qputenv("XDG_DATA_HOME", (dir.path() + "/data").toUtf8());
}

// One test class's private XDG tree with a generated PKI in it.
struct Workspace {
    QTemporaryDir dir;
    std::string pki;

    bool prepare() {
        if (!dir.isValid())
            return false;
        isolateUserDirectories(dir);
        pki = dir.path().toStdString() + "/pki";
        generatePki(pki);
        return true;
    }
    std::string path(const std::string& name) const {
        return dir.path().toStdString() + "/" + name;
    }
};

inline MigrationConfig smallTlsConfig(const std::string& credsDir) {
    MigrationConfig config;
    config.guest.ramSize = 128ull << 20;
    config.guest.dirtyRate = 32ull << 20;
    config.multifdChannels = 4;
    config.tls.enabled = true;
    config.tls.credsDir = credsDir;
    return config;
}

// Runs to the end; a run that hangs fails the test instead of the suite's time budget.
inline void runToEnd(MigrationRun& run, std::chrono::seconds limit = std::chrono::seconds(120)) {
    run.start();
    QVERIFY2(run.waitFor(limit), "the migration did not end in time");
}

// After any failure: the source guest runs, and its RAM holds only pages the guest wrote.
inline void verifySourceGuestIntact(MigrationRun& run) {
    const auto snap = run.snapshot();
    QVERIFY(snap.sourceGuest == GuestState::Running);
    Guest* guest = run.sourceGuest();
    QVERIFY(guest);
    QVERIFY(guest->running());
    const auto before = guest->pagesWritten();
    if (run.config().guest.dirtyRate > 0)
        QTRY_VERIFY(guest->pagesWritten() > before); // the workload still writes
    guest->stop();
    QCOMPARE(guest->countCorruptPages(), std::uint64_t{0});
}

// Whether any event's text contains `text`.
inline bool hasEvent(const TelemetrySnapshot& snap, const std::string& text) {
    for (const auto& event : snap.events)
        if (event.text.find(text) != std::string::npos)
            return true;
    return false;
}

} // namespace migrascope::test
