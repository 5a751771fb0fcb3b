// Peer checks and bad input on TLS channels: every refusal names its cause, the source guest
// keeps running, and the destination keeps serving after a bad connection.
#include "engine/api/migration_run.h"
#include "engine/api/tls_pki.h"
#include "engine/destination/migration_destination.h"
#include "engine/source/migration_source.h"
#include "engine/transport/connection.h"
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
#include <thread>
#include <unistd.h>

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
    // Each way a channel can end, made for real on a connected pair, reads as what happened:
    // the receiver's class is what the channel table, the JSON and the history show.
    void channelEndsAreClassifiedByWhatHappened_data() {
        QTest::addColumn<bool>("tls");
        QTest::addColumn<QString>("how");
        QTest::addColumn<int>("expected");
        for (const bool tls : {true, false}) {
            const char* tag = tls ? "TLS, " : "plain, ";
            QTest::newRow((tag + std::string("peer ends in order")).c_str())
                << tls << "orderly" << static_cast<int>(Termination::Clean);
            QTest::newRow((tag + std::string("peer resets the connection")).c_str())
                << tls << "reset" << static_cast<int>(Termination::Network);
            QTest::newRow((tag + std::string("operator pauses here")).c_str())
                << tls << "paused-here" << static_cast<int>(Termination::Paused);
            QTest::newRow((tag + std::string("this host stops")).c_str())
                << tls << "stopped-here" << static_cast<int>(Termination::Local);
        }
        QTest::newRow("TLS, peer closes without close_notify")
            << true << "no-bye" << static_cast<int>(Termination::Premature);
        QTest::newRow("TLS, garbage where a record should be")
            << true << "garbage" << static_cast<int>(Termination::TlsError);
    }
    void channelEndsAreClassifiedByWhatHappened() {
        QFETCH(bool, tls);
        QFETCH(QString, how);
        QFETCH(int, expected);
        TlsCredentials serverCredentials(workspace_.pki, TlsCredentials::Endpoint::Server);
        TlsCredentials clientCredentials(workspace_.pki, TlsCredentials::Endpoint::Client);
        TcpListener listener("127.0.0.1", 0);
        std::unique_ptr<Connection> receiver;
        std::thread accept([&] {
            std::string peer;
            receiver = std::make_unique<Connection>(listener.accept(peer), "receiver");
            if (tls)
                receiver->startTlsServer(serverCredentials, "NORMAL");
        });
        UniqueFd socket = connectTcp("127.0.0.1", listener.port());
        int raw = ::dup(socket.get()); // the sender's socket, beside its Connection
        auto sender = std::make_unique<Connection>(std::move(socket), "sender");
        if (tls)
            sender->startTlsClient(clientCredentials, "NORMAL", "127.0.0.1");
        accept.join();
        const char hello[] = "some stream";
        sender->sendAll(hello, sizeof hello);

        std::thread peerActs([&] {
            if (how == "orderly") {
                sender->endSession();
            } else if (how == "reset") {
                const linger abort{1, 0}; // close with RST, as a dead peer's host answers
                ::setsockopt(raw, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
                sender.reset();
                ::close(std::exchange(raw, -1)); // the socket's last descriptor
            } else if (how == "no-bye") {
                sender->closeWithoutBye();
            } else if (how == "garbage") {
                const char junk[] = "\x17\x03\x03\x00\x20 not a record of this session...";
                (void)::send(raw, junk, sizeof junk, MSG_NOSIGNAL);
            } else if (how == "paused-here") {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                receiver->shutdown(Termination::Paused);
            } else if (how == "stopped-here") {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                receiver->shutdown();
            }
        });
        char buffer[64];
        std::size_t got = 0;
        std::string error;
        try {
            while (receiver->recvSome(buffer, sizeof buffer) > 0)
                ++got;
        } catch (const std::exception& e) {
            error = e.what();
        }
        peerActs.join();
        if (raw >= 0)
            ::close(raw);
        QVERIFY(got > 0); // the stream itself arrived
        QVERIFY2(receiver->termination() == static_cast<Termination>(expected),
                 (std::string(toString(receiver->termination())) + " after: " + error).c_str());
        if (receiver->termination() == Termination::TlsError) // GnuTLS's own words, not errno's
            QVERIFY2(error.find("receive failed: ") != std::string::npos &&
                         error.find("Connection reset") == std::string::npos,
                     error.c_str());
    }

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
