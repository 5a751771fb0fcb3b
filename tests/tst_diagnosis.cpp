// The diagnosis sentence a support engineer reads first, for each kind of failure, from real
// headless runs: the first cause leads (side, phase, channel, device arc or fault), what
// followed comes after it, then what became of the source's guest. The JSON and the history
// say the same sentence.
#include "process_support.h"

#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

using namespace migrascope;

// These runs are about what the diagnosis says, not about downtime: a limit any loaded machine
// meets, so that switchover never waits on the machine's speed (a 300 ms limit kept 4 runs in
// parallel under ThreadSanitizer iterating for good).
constexpr const char* kDowntimeLimitMs = "10000";

class DiagnosisTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    QProcessEnvironment environment() const { return test::isolatedEnvironment(dir_.path()); }
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
            // Both ends fail on the cut at once: either may be told second.
            << QStringList{"an injected fault fired at the source: cut-channel=main@100",
                           "Then the ", " failed: ", "The source guest kept running."};
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
        // A source that ends its TLS channels as QEMU before 9.1 did: the destination's TLS
        // error is the consequence, not the cause.
        QTest::newRow("no close_notify")
            << QStringList{"--inject", "tls-no-bye"}
            << QStringList{"During switchover, an injected fault fired at the source: tls-no-bye "
                           "(multifd channels closed without close_notify",
                           "Then the destination failed: channel multifd-",
                           "The TLS connection was non-properly terminated",
                           "The source guest resumed"};
        QTest::newRow("page corrupted on the wire")
            << QStringList{"--inject", "corrupt-page=multifd-0@4M"}
            << QStringList{"an injected fault fired at the source: corrupt-page=multifd-0@4M",
                           "Then the destination failed: integrity check failed",
                           "The source guest resumed"};
    }

    void eachFailureIsToldByItsFirstCause() {
        QFETCH(QStringList, options);
        QFETCH(QStringList, inOrder);
        // TLS where the fault is about TLS; plain elsewhere, which is quicker.
        const QStringList tls =
            options.contains("tls-no-bye") ? QStringList() : QStringList{"--no-tls"};
        const auto outcome = test::runProcess(
            MIGRASCOPE_BINARY,
            QStringList{"--headless", "--ram-size", "64M", "--dirty-rate", "0", "--downtime-limit",
                        kDowntimeLimitMs, "--multifd-channels", "2", "--json"} +
                tls + options,
            environment(), 120000);
        QCOMPARE(outcome.exitCode, 1);
        const QJsonObject result = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(result["status"].toString(), QStringLiteral("failed"));
        checkSentence(result, inOrder);
        // The operator reads it on stderr too.
        QVERIFY2(outcome.err.contains("diagnosis: " + result["diagnosis"].toString().toUtf8()),
                 outcome.err.constData());
    }

    // Every arc each kind of device takes on each side, failed on purpose: the diagnosis
    // names that device, that side and that arc first.
    void everyDeviceArcAtEitherSide_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("arc");
        QTest::addColumn<QString>("side");
        QTest::addColumn<QString>("status");
        const char* const arcs[][4] = {
            {"accel", "RUNNING>STOP", "src", "failed"},
            {"accel", "STOP>STOP_COPY", "src", "failed"},
            // After its state was saved: the migration completes, and says what it overcame.
            {"accel", "STOP_COPY>STOP", "src", "completed"},
            {"accel", "STOP>RESUMING", "dst", "failed"},
            {"accel", "RESUMING>STOP", "dst", "failed"},
            {"accel", "STOP>RUNNING", "dst", "failed"},
            {"nic", "RUNNING>PRE_COPY", "src", "failed"},
            {"nic", "PRE_COPY>PRE_COPY_P2P", "src", "failed"},
            {"nic", "PRE_COPY_P2P>STOP_COPY", "src", "failed"},
            {"nic", "STOP_COPY>STOP", "src", "completed"},
            {"nic", "STOP>RESUMING", "dst", "failed"},
            {"nic", "RESUMING>STOP", "dst", "failed"},
            {"nic", "STOP>RUNNING_P2P", "dst", "failed"},
            {"nic", "RUNNING_P2P>RUNNING", "dst", "failed"},
        };
        for (const auto& [kind, arc, side, status] : arcs)
            QTest::addRow("%s %s@%s", kind, arc, side) << kind << arc << side << status;
    }

    void everyDeviceArcAtEitherSide() {
        QFETCH(QString, kind);
        QFETCH(QString, arc);
        QFETCH(QString, side);
        QFETCH(QString, status);
        const QString device = kind + "0";
        const auto outcome = test::runProcess(
            MIGRASCOPE_BINARY,
            {"--headless", "--ram-size", "64M", "--dirty-rate", "0", "--downtime-limit",
             kDowntimeLimitMs, "--no-tls", "--multifd-channels", "2", "--device", kind, "--inject",
             "vfio-fail=" + device + ":" + arc + "@" + side, "--json"},
            environment(), 120000);
        const QJsonObject result = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(result["status"].toString(), status);
        const QString named =
            QStringLiteral("the %1's device %2 failed: %3 failed (fault injected)")
                .arg(side == "src" ? "source" : "destination", device,
                     QString(arc).replace(">", " -> "));
        checkSentence(result, status == "completed"
                                  ? QStringList{"Completed", "On the way, ", named}
                                  : QStringList{named, "Then "});
        if (status == "completed") { // and it says so: completed with warnings, naming it
            bool warned = false;
            for (const auto& warning : result["warnings"].toArray())
                warned = warned || warning.toString().contains(device + " did not stop");
            QVERIFY2(warned, outcome.out.constData());
        }
    }

    // The main channel's network fails in postcopy; the run pauses, recovers by itself and
    // completes: the diagnosis says what it overcame.
    void aRecoveredPostcopyCutIsToldToo() {
        const auto outcome = test::runProcess(
            MIGRASCOPE_BINARY,
            {"--headless", "--ram-size", "128M", "--dirty-rate", "32M", "--no-tls",
             "--multifd-channels", "2", "--capability", "postcopy-ram=on", "--postcopy-after", "1",
             "--inject", "cut-main@postcopy", "--recover-delay", "500", "--json"},
            environment(), 180000);
        QVERIFY2(outcome.exitCode == 0, outcome.err.constData());
        const QJsonObject result = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(result["status"].toString(), QStringLiteral("completed"));
        checkSentence(result, {"Completed; integrity verified",
                               "On the way, during postcopy, an injected fault fired at the "
                               "source: cut-main@postcopy",
                               "Postcopy paused 1 time and recovered."});
    }

    // The operator paused postcopy (migrate-pause over QMP) and never recovered the
    // destination; the daemon gave up on the paused migration after its
    // postcopy-recover-timeout, and the source's later resume was refused. The source's
    // sentence starts with the operator's pause, so the failure is not read as the network's;
    // the destination's says what it waited for.
    void anOperatorsPauseThenAFailureIsToldInThatOrder() {
        const QString python = QStandardPaths::findExecutable("python3");
        if (python.isEmpty())
            QSKIP("needs python3 for the QMP client");
        const QString daemonHistory = dir_.path() + "/daemon.sqlite";
        QProcess daemon;
        daemon.setProcessEnvironment(environment());
        const QString port = test::startDaemonOnAnyPort(
            daemon, MIGRASCOPE_BINARY,
            {"--no-tls", "--postcopy-recover-timeout", "1500", "--history", daemonHistory});
        QVERIFY(!port.isEmpty());

        const QString socket = dir_.path() + "/pause.sock";
        QProcess source;
        source.setProcessEnvironment(environment());
        // Postcopy after the first pass, at a cap the 64 MiB/s workload outruns: postcopy lasts
        // long enough to be paused. The source tries to resume 3 s after the pause, once the
        // destination has given up.
        source.start(MIGRASCOPE_BINARY,
                     {"--headless", "--no-tls", "--destination", "127.0.0.1:" + port, "--ram-size",
                      "256M", "--dirty-rate", "64M", "--max-bandwidth", "32M", "--capability",
                      "postcopy-ram=on", "--postcopy-after", "1", "--recover-delay", "3000",
                      "--qmp", "unix:" + socket, "--json"});
        QVERIFY(source.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(socket), 20000);
        QProcess operatorClient;
        operatorClient.start(python,
                             {QStringLiteral(MIGRASCOPE_TESTS_DIR) + "/scripts/qmp_client.py",
                              socket, "--timeout", "60", R"({"execute": "qmp_capabilities"})",
                              "@MIGRATION:postcopy-active", R"({"execute": "migrate-pause"})",
                              "@MIGRATION:postcopy-paused"});
        QVERIFY(operatorClient.waitForFinished(90000));
        QVERIFY2(operatorClient.exitCode() == 0, operatorClient.readAllStandardError().constData());
        QVERIFY(source.waitForFinished(90000));
        ::kill(static_cast<pid_t>(daemon.processId()), SIGTERM);
        QVERIFY(daemon.waitForFinished(30000));

        const QJsonObject result = QJsonDocument::fromJson(source.readAllStandardOutput()).object();
        QCOMPARE(result["status"].toString(), QStringLiteral("failed"));
        checkSentence(result, {"The operator paused postcopy (migrate-pause) at ",
                               "While postcopy was recovering, "});
        QVERIFY(!result["diagnosis"].toString().contains("network"));

        const auto shown = test::runProcess(
            MIGRASCOPE_BINARY, {"history", "list", "--json", "--history", daemonHistory},
            environment(), 30000);
        const QJsonArray runs = QJsonDocument::fromJson(shown.out).array();
        QCOMPARE(runs.size(), 1);
        const QString destination = runs[0].toObject()["diagnosis"].toString();
        QVERIFY2(destination.startsWith("While postcopy was paused, the destination failed: its "
                                        "source did not resume the paused postcopy within 1500 ms"),
                 qPrintable(destination));
    }

    // A support engineer hands a failed run over: a report for the ticket, and the run itself
    // for another machine's history.
    void aFailedRunIsHandedOverWhole() {
        const auto outcome = test::runProcess(
            MIGRASCOPE_BINARY,
            {"--headless", "--ram-size", "64M", "--dirty-rate", "0", "--downtime-limit",
             kDowntimeLimitMs, "--no-tls", "--device", "accel,name=accel0,state-size=8M",
             "--inject", "vfio-fail=accel0:RESUMING>STOP@dst", "--json"},
            environment(), 120000);
        const QJsonObject result = QJsonDocument::fromJson(outcome.out).object();
        QCOMPARE(result["status"].toString(), QStringLiteral("failed"));
        const QString id = QString::number(result["history-id"].toInteger());

        const QString html = dir_.filePath("run.html");
        auto report = test::runProcess(MIGRASCOPE_BINARY, {"history", "report", id, "-o", html},
                                       environment(), 60000);
        QVERIFY2(report.exitCode == 0, report.err.constData());
        QFile file(html);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString page = QString::fromUtf8(file.readAll());
        // The diagnosis comes first, then every section.
        const qsizetype diagnosisAt = page.indexOf(result["diagnosis"].toString().toHtmlEscaped());
        QVERIFY2(diagnosisAt > 0, "the report does not carry the run's diagnosis");
        qsizetype previous = diagnosisAt;
        for (const char* section : {"summary", "throughput", "configuration", "timeline",
                                    "channels", "devices", "return-path"}) {
            const qsizetype at = page.indexOf(QStringLiteral("<h2 id=\"%1\">").arg(section));
            QVERIFY2(at > previous, section);
            previous = at;
        }
        // The plot is an image inside the page, drawn from the run's samples.
        static const QRegularExpression embedded("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");
        const QRegularExpressionMatch plot = embedded.match(page);
        QVERIFY(plot.hasMatch());
        QImage image;
        QVERIFY(image.loadFromData(QByteArray::fromBase64(plot.captured(1).toLatin1()), "PNG"));
        QCOMPARE(image.size(), QSize(900, 320));
        QVERIFY(page.contains("vfio-fail=accel0:RESUMING&gt;STOP@dst")); // the configuration
        QVERIFY(page.contains("failed: RESUMING -&gt; STOP failed (fault injected)"));
        QCOMPARE(page.count("<tr><td>multifd-"), result["channels"].toArray().size() - 1);

        const QString pdf = dir_.filePath("run.pdf");
        report = test::runProcess(MIGRASCOPE_BINARY, {"history", "report", id, "-o", pdf},
                                  environment(), 60000);
        QVERIFY2(report.exitCode == 0, report.err.constData());
        QFile printed(pdf);
        QVERIFY(printed.open(QIODevice::ReadOnly));
        QVERIFY(printed.read(5) == "%PDF-");

        // Export, then import on "another machine": the same run in every view.
        const QString bundle = dir_.filePath("ticket.sqlite");
        const QString otherHistory = dir_.filePath("other.sqlite");
        auto step = test::runProcess(MIGRASCOPE_BINARY, {"history", "export", id, "-o", bundle},
                                     environment(), 60000);
        QVERIFY2(step.exitCode == 0, step.err.constData());
        step = test::runProcess(MIGRASCOPE_BINARY,
                                {"history", "import", bundle, "--history", otherHistory},
                                environment(), 60000);
        QVERIFY2(step.exitCode == 0, step.err.constData());
        const auto show = [this](const QStringList& where) {
            auto shown = test::runProcess(
                MIGRASCOPE_BINARY, QStringList{"history", "show"} + where + QStringList{"--json"},
                environment(), 60000);
            QJsonObject object = QJsonDocument::fromJson(shown.out).object();
            object.remove("id");
            return object;
        };
        QJsonObject here = show({id});
        QJsonObject there = show({"1", "--history", otherHistory});
        QVERIFY(!there["origin"].toString().isEmpty());
        const auto listed =
            test::runProcess(MIGRASCOPE_BINARY, {"history", "list", "--history", otherHistory},
                             environment(), 60000);
        QVERIFY2(listed.out.contains("source*") &&
                     listed.out.contains("* imported from another host"),
                 listed.out.constData());
        there.remove("origin");
        QVERIFY(!here.isEmpty());
        QCOMPARE(there, here);
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
