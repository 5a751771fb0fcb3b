// The re-key race on the bidirectional main channel: sustained traffic both ways over TLS 1.3
// AES-GCM sessions while both ends force KeyUpdates; every byte is checked. Run it under
// ThreadSanitizer too (the tsan preset).
#include "bidirectional_stress.h"
#include "engine/api/tls_pki.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace migrascope;

class TestTlsBidirectional : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    std::string pki_;

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        pki_ = dir_.path().toStdString() + "/pki";
        generatePki(pki_);
    }

    void sessionLockSurvivesThousandsOfKeyUpdatesInBothDirections() {
        test::StressOptions options;
        options.pki = pki_;
        options.protection = TlsProtection::SessionLock;
        const auto result = test::runBidirectionalStress(options);
        for (const auto& failure : result.failures)
            qWarning("%s", failure.c_str());
        QVERIFY(result.failures.empty());
        QVERIFY2(QString::fromStdString(result.cipher).contains("AES"), result.cipher.c_str());
        QVERIFY(result.bytesChecked > (64u << 20));
        // Every KeyUpdate one end sent, the other received, in both directions.
        QCOMPARE(result.keyUpdatesReceived, result.keyUpdatesSent);
        QVERIFY2(result.keyUpdatesSent >= 1000, std::to_string(result.keyUpdatesSent).c_str());
        qInfo("%llu bytes checked, %llu KeyUpdates, %s",
              static_cast<unsigned long long>(result.bytesChecked),
              static_cast<unsigned long long>(result.keyUpdatesSent), result.cipher.c_str());
    }
};

QTEST_GUILESS_MAIN(TestTlsBidirectional)
#include "tst_tls_bidirectional.moc"
