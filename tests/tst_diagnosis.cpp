// The diagnosis sentence a support engineer reads first, for each kind of failure, from real
// headless runs: the first cause leads (side, phase, channel, device arc or fault), what
// followed comes after it, then what became of the source's guest. The JSON and the history
// say the same sentence.
#include "process_support.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

using namespace migrascope;

class DiagnosisTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    QProcessEnvironment environment() const {
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert("XDG_CONFIG_HOME", dir_.path() + "/config");
        env.insert("XDG_DATA_HOME", dir_.path() + "/data");
        env.remove("DISPLAY");
        return env;
    }
    // The history's own sentence for run `id`, as `history show --json` prints it.
    QString storedDiagnosis(qint64 id) const {
        const auto outcome =
            test::runProcess(MIGRASCOPE_BINARY, {"history", "show", QString::number(id), "--json"},
                             environment(), 30000);
        return QJsonDocument::fromJson(outcome.out).object()["diagnosis"].toString();
    }
    void checkSentence(const QJsonObject& result, const QStringList& inOrder) {
        const QString diagnosis = result["diagnosis"].toString();
        qsizetype from = 0;
        for (const QString& part : inOrder) {
            const qsizetype at = diagnosis.indexOf(part, from);
            QVERIFY2(at >= 0,
                     qPrintable("'" + part + "' missing (or out of order) in: " + diagnosis));
            from = at + part.size();
        }
        QCOMPARE(storedDiagnosis(result["history-id"].toInteger()), diagnosis);
    }

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void eachFailureIsToldByItsFirstCause_data() {
        QTest::addColumn<QStringList>("options");
        QTest::addColumn<QStringList>("inOrder");
        const QStringList accel{"--device", "accel,name=accel0,state-size=8M"};
        QTest::newRow("cut multifd channel")
            << QStringList{"--inject", "cut-channel=multifd-1@4M"}
            << QStringList{"During bulk copy, an injected fault fired at the source: "
                           "cut-channel=multifd-1@4M (channel multifd-1 cut after",
                           "Then the destination failed: channel multifd-1",
                           "The source guest kept running."};
        QTest::newRow("cut main channel")
            << QStringList{"--inject", "cut-channel=main@100"}
            << QStringList{"an injected fault fired at the source: cut-channel=main@100",
                           "Then the source failed: ", "The source guest kept running."};
        QTest::newRow("device fails at the destination")
            << (accel + QStringList{"--inject", "vfio-fail=accel0:RESUMING>STOP@dst"})
            << QStringList{"During switchover, the destination's device accel0 failed: "
                           "RESUMING -> STOP failed (fault injected).",
                           "Then the source failed: the destination reported an error (SHUT 4",
                           "The source guest resumed: the migration had stopped it"};
        QTest::newRow("device fails at the source")
            << (accel + QStringList{"--inject", "vfio-fail=accel0:RUNNING>STOP@src"})
            << QStringList{"During switchover, the source's device accel0 failed: "
                           "RUNNING -> STOP failed (fault injected).",
                           "Then the destination failed: ", "The source guest resumed"};
        QTest::newRow("device state corrupted")
            << (accel + QStringList{"--inject", "vfio-corrupt=accel0"})
            << QStringList{"the destination's device accel0 failed: RESUMING -> STOP: the device "
                           "state is invalid: checksum mismatch",
                           "Then the source failed: the destination reported an error (SHUT 4"};
        QTest::newRow("page corrupted on the wire")
            << QStringList{"--inject", "corrupt-page=multifd-0@4M"}
            << QStringList{"an injected fault fired at the source: corrupt-page=multifd-0@4M",
                           "Then the destination failed: integrity check failed",
                           "The source guest resumed"};
    }

    void eachFailureIsToldByItsFirstCause() {
        QFETCH(QStringList, options);
        QFETCH(QStringList, inOrder);
        const auto outcome =
            test::runProcess(MIGRASCOPE_BINARY,
                             QStringList{"--headless", "--ram-size", "64M", "--dirty-rate", "0",
                                         "--no-tls", "--multifd-channels", "2", "--json"} +
                                 options,
                             environment(), 120000);
        QCOMPARE(outcome.exitCode, 1);
        const QJsonObject result = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(result["status"].toString(), QStringLiteral("failed"));
        checkSentence(result, inOrder);
        // The operator reads it on stderr too.
        QVERIFY2(outcome.err.contains("diagnosis: " + result["diagnosis"].toString().toUtf8()),
                 outcome.err.constData());
    }

    void aCancelIsToldAsTheOperatorsCancel() {
        QProcess process;
        process.setProcessEnvironment(environment());
        // 256 MiB at 8 MiB/s takes half a minute: still copying when Ctrl-C comes.
        process.start(MIGRASCOPE_BINARY, {"--headless", "--ram-size", "256M", "--dirty-rate", "0",
                                          "--max-bandwidth", "8M", "--json"});
        QVERIFY(process.waitForStarted());
        QByteArray progress;
        QTRY_VERIFY_WITH_TIMEOUT((progress += process.readAllStandardError()).contains("bulk copy"),
                                 30000);
        ::kill(static_cast<pid_t>(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(30000));
        const QJsonObject result =
            QJsonDocument::fromJson(process.readAllStandardOutput()).object();
        QCOMPARE(result["status"].toString(), QStringLiteral("cancelled"));
        checkSentence(result, {"Migration cancelled by the operator during bulk copy.",
                               "The source guest kept running."});
        QVERIFY(!result["diagnosis"].toString().contains("TLS"));
    }
};

QTEST_MAIN(DiagnosisTest)
#include "tst_diagnosis.moc"
