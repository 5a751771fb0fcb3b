// Peer checks and bad input on TLS channels: every refusal names its cause, the source guest
// keeps running, and the destination keeps serving after a bad connection.
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "engine/destination/migration_destination.h"
#include "engine/source/migration_source.h"
#include "engine/transport/socket.h"
#include "test_support.h"

#include <QDir>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <filesystem>
#include <sys/socket.h>

using namespace migrascope;

namespace {

// A source run against a destination the test set up itself (other TLS settings, or one
// that already saw bad connections).
struct SourceOutcome {
    MigrationStatus status = MigrationStatus::None;
    std::string error;
    std::unique_ptr<Guest> guest;
};

SourceOutcome runSourceAgainst(const MigrationConfig& config, MigrationDestination& destination,
                               Telemetry& telemetry) {
    SourceOutcome outcome;
    outcome.guest = std::make_unique<Guest>(Guest::layoutFor(config.guest.ramSize), config.guest,
                                            Guest::Content::Booted);
    outcome.guest->start();
    MigrationSource source(config, *outcome.guest, telemetry);
    outcome.status = source.run(destination.port());
    outcome.error = telemetry.error();
    return outcome;
}

int openDescriptors() {
    return static_cast<int>(QDir("/proc/self/fd").entryList(QDir::Files | QDir::System).size());
}

} // namespace

class TestTlsPeers : public QObject {
    Q_OBJECT

private:
    test::Workspace workspace_;

    MigrationConfig config() const {
        auto config = test::smallTlsConfig(workspace_.pki);
        config.guest.ramSize = 32ull << 20;
        config.multifdChannels = 2;
        config.uuid = generateUuid();
        return config;
    }

    MigrationDestination::Options destinationOptions(bool tls) const {
        MigrationDestination::Options options;
        options.tls.enabled = tls;
        options.tls.credsDir = workspace_.pki;
        return options;
    }

    static QString failedRunError(MigrationConfig config) {
        MigrationRun run(config, RunOptions{"", false});
        run.start();
        if (!run.waitFor(std::chrono::seconds(60)))
            return "did not end";
        const auto snap = run.snapshot();
        if (snap.status != MigrationStatus::Failed)
            return QString("ended ") + toString(snap.status);
        if (snap.sourceGuest != GuestState::Running)
            return "source guest not running";
        return QString::fromStdString(snap.errorDesc);
    }

private slots:
    void initTestCase() { QVERIFY(workspace_.prepare()); }

    void hostnameMismatchIsNamed() {
        auto wrongName = config();
        wrongName.tls.hostname = "other.example";
        const QString error = failedRunError(wrongName);
        QVERIFY2(error.contains("name in the certificate does not match"), qPrintable(error));
    }

    void expiredCertificateIsNamed() {
        const std::string expired = workspace_.path("expired-pki");
        generatePki(expired,
                    PkiOptions{.leafValidFromSeconds = -2 * 86400, .leafValidForSeconds = 86400});
        auto old = config();
        old.tls.credsDir = expired;
        const QString error = failedRunError(old);
        QVERIFY2(error.contains("expired"), qPrintable(error));
    }

    void clientDnNotAllowedIsNamed() {
        auto restricted = config();
        restricted.tls.authz = {"CN=somebody-else,O=Migrascope"};
        const QString error = failedRunError(restricted);
        QVERIFY2(error.contains("not allowed by tls-authz"), qPrintable(error));
        QVERIFY2(error.contains("CN=migrascope-source"), qPrintable(error));
    }

    void clientDnIsAllowedWrittenInEitherOrder() {
        auto allowed = config();
        allowed.tls.authz = {"CN=somebody-else", "O=Migrascope, CN=migrascope-source"};
        MigrationRun run(allowed, RunOptions{"", false});
        test::runToEnd(run);
        const auto snap = run.snapshot();
        QVERIFY2(snap.status == MigrationStatus::Completed, snap.errorDesc.c_str());
    }

    void plainTextSourceToTlsDestinationIsNamed() {
        Telemetry telemetry;
        MigrationDestination destination(destinationOptions(true), telemetry);
        destination.start();
        auto plain = config();
        plain.tls.enabled = false;
        const auto outcome = runSourceAgainst(plain, destination, telemetry);
        QVERIFY(outcome.status == MigrationStatus::Failed);
        QVERIFY(outcome.guest->running());
        QTRY_VERIFY2(QString::fromStdString(destination.firstRejection())
                         .contains("plain-text migration channel arrived at a TLS destination"),
                     destination.firstRejection().c_str());
    }

    void tlsSourceToPlainTextDestinationIsNamed() {
        Telemetry telemetry;
        MigrationDestination destination(destinationOptions(false), telemetry);
        destination.start();
        const auto outcome = runSourceAgainst(config(), destination, telemetry);
        QVERIFY(outcome.status == MigrationStatus::Failed);
        QVERIFY2(QString::fromStdString(outcome.error).contains("TLS handshake"),
                 outcome.error.c_str());
        QVERIFY(outcome.guest->running());
        QTRY_VERIFY2(QString::fromStdString(destination.firstRejection())
                         .contains("TLS handshake arrived at a plain-text destination"),
                     destination.firstRejection().c_str());
    }

    void garbageIsRejectedAndTheDestinationStillMigrates() {
        Telemetry telemetry;
        MigrationDestination destination(destinationOptions(true), telemetry);
        destination.start();
        {
            UniqueFd fd = connectTcp("127.0.0.1", destination.port());
            const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
            QVERIFY(::send(fd.get(), garbage, sizeof garbage - 1, MSG_NOSIGNAL) > 0);
            QTRY_VERIFY2(QString::fromStdString(destination.firstRejection())
                             .contains("not a TLS handshake: the first bytes are 0x47455420"),
                         destination.firstRejection().c_str());
        }
        QVERIFY(destination.state() == MigrationDestination::State::Listening);
        const auto outcome = runSourceAgainst(config(), destination, telemetry);
        QVERIFY2(outcome.status == MigrationStatus::Completed, outcome.error.c_str());
        // The destination marks itself completed just after its SHUT(success) left.
        QTRY_VERIFY(destination.state() == MigrationDestination::State::Completed);
    }

    // A real third-party TLS client: gnutls-cli from gnutls-bin.
    void gnutlsCliClosingWithoutCloseNotifyIsReportedAndNotLeaked() {
        const QString cli = QStandardPaths::findExecutable("gnutls-cli");
        QVERIFY2(!cli.isEmpty(), "gnutls-cli is missing: packaging/dev.sh installs gnutls-bin");
        Telemetry telemetry;
        MigrationDestination destination(destinationOptions(true), telemetry);
        destination.start();
        const int descriptorsBefore = openDescriptors();

        QProcess client;
        const QString dir = QString::fromStdString(workspace_.pki);
        client.start(cli, {"--x509cafile", dir + "/ca-cert.pem", "--x509certfile",
                           dir + "/client-cert.pem", "--x509keyfile", dir + "/client-key.pem", "-p",
                           QString::number(destination.port()), "127.0.0.1"});
        QVERIFY(client.waitForStarted());
        QByteArray output;
        QTRY_VERIFY_WITH_TIMEOUT(
            (output += client.readAllStandardOutput()).contains("Handshake was completed"), 20000);
        ::kill(static_cast<pid_t>(client.processId()), SIGKILL); // no close_notify, no FIN data
        QVERIFY(client.waitForFinished());

        QTRY_VERIFY2(QString::fromStdString(destination.firstRejection())
                         .contains("non-properly terminated"),
                     destination.firstRejection().c_str());
        QVERIFY(destination.state() == MigrationDestination::State::Listening);
        QTRY_COMPARE(openDescriptors(), descriptorsBefore); // the connection is closed, not kept
    }
};

QTEST_GUILESS_MAIN(TestTlsPeers)
#include "tst_tls_peers.moc"
