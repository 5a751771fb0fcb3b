// The fault catalogue as its two readers see it: the command line (--inject, --help) and the
// launch form (the Inject field, its tooltip). Whatever one refuses, the other refuses with
// the same reason, before anything starts.
#include "app/command_line.h"
#include "engine/api/faults.h"
#include "test_support.h"
#include "ui/launch_form.h"

#include <QCheckBox>
#include <QLineEdit>
#include <QSpinBox>
#include <QtTest>
#include <functional>

using namespace migrascope;

namespace {

struct FormSettings {
    QString inject;
    bool postcopyRam = false;
    bool switchoverAck = false;
    int nics = 0;
    int accels = 0;
};

// The same request, spelled for each reader.
struct Case {
    const char* name;
    QStringList arguments;
    FormSettings form;
};

QString afterPrefix(const QString& message, const QString& prefix) {
    const int at = message.indexOf(prefix);
    return at < 0 ? QString() : message.mid(at + prefix.size());
}

} // namespace

class TestFaultCatalogue : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    // What the command line says of `arguments`, or "" when it accepts them.
    static QString commandLineRefusal(const QStringList& arguments) {
        try {
            app::parseCommandLine(QStringList{"migrascope", "--headless", "--no-tls"} + arguments);
        } catch (const std::invalid_argument& error) {
            return QString::fromStdString(error.what());
        }
        return {};
    }

    static QString formRefusal(const FormSettings& settings) {
        ui::LaunchForm form;
        form.findChild<QCheckBox*>("postcopyRam")->setChecked(settings.postcopyRam);
        form.findChild<QCheckBox*>("switchoverAck")->setChecked(settings.switchoverAck);
        form.findChild<QSpinBox*>("nicDevices")->setValue(settings.nics);
        form.findChild<QSpinBox*>("accelDevices")->setValue(settings.accels);
        form.findChild<QLineEdit*>("faults")->setText(settings.inject);
        return form.problem();
    }

    static std::vector<Case> cases() {
        return {
            {"capability postcopy-ram off",
             {"--inject", "cut-main@postcopy"},
             {"cut-main@postcopy"}},
            {"capability switchover-ack off",
             {"--inject", "switchover-ack-after=3"},
             {"switchover-ack-after=3"}},
            {"no such device",
             {"--inject", "vfio-fail=accel0:RESUMING>STOP@dst"},
             {"vfio-fail=accel0:RESUMING>STOP@dst"}},
            {"not a single arc",
             {"--device", "nic", "--inject", "vfio-fail=nic0:RESUMING>RUNNING@dst"},
             {"vfio-fail=nic0:RESUMING>RUNNING@dst", false, false, 1, 0}},
            {"corrupt a device that is not there",
             {"--device", "accel", "--inject", "vfio-corrupt=accel1"},
             {"vfio-corrupt=accel1", false, false, 0, 1}},
            {"unknown fault", {"--inject", "drop-everything"}, {"drop-everything"}},
            {"negative rounds",
             {"--capability", "switchover-ack=on", "--inject", "switchover-ack-after=-1"},
             {"switchover-ack-after=-1", false, true}},
            {"unknown channel", {"--inject", "cut-channel=backup@1M"}, {"cut-channel=backup@1M"}},
            {"arguments on a fault without any", {"--inject", "tls-no-bye=1"}, {"tls-no-bye=1"}},
            {"bad side",
             {"--device", "accel", "--inject", "vfio-fail=accel0:STOP>RESUMING@both"},
             {"vfio-fail=accel0:STOP>RESUMING@both", false, false, 0, 1}},
        };
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        test::isolateUserDirectories(dir_);
    }

    void everyExampleParsesToItsOwnKind() {
        for (const FaultInfo& info : faultCatalogue()) {
            const FaultSpec fault = parseFault(info.example);
            QCOMPARE(static_cast<int>(fault.kind), static_cast<int>(info.kind));
            QCOMPARE(fault.text, std::string(info.example));
        }
    }

    void parsedArgumentsLandInTheSpec() {
        const FaultSpec cut = parseFault("cut-channel=multifd-1@64M");
        QCOMPARE(cut.channel, std::string("multifd-1"));
        QCOMPARE(cut.afterBytes, std::uint64_t{64} << 20);
        const FaultSpec postcopy = parseFault("cut-main@postcopy+2M");
        QCOMPARE(postcopy.channel, std::string("main"));
        QCOMPARE(postcopy.afterBytes, std::uint64_t{2} << 20);
        const FaultSpec arc = parseFault("vfio-fail=accel0:RESUMING>STOP@dst");
        QCOMPARE(arc.device, std::string("accel0"));
        QCOMPARE(arc.arcFrom, std::string("RESUMING"));
        QCOMPARE(arc.arcTo, std::string("STOP"));
        QVERIFY(arc.side == Side::Destination);
        QVERIFY(parseFault("vfio-fail=accel0:RUNNING>STOP@src").side == Side::Source);
        QCOMPARE(parseFault("switchover-ack-after=7").count, std::uint64_t{7});
        QVERIFY(parseFault("switchover-ack-after=1").side == Side::Destination);
    }

    void unknownFaultListsTheKnownOnes() {
        try {
            parseFault("drop-everything");
            QFAIL("an unknown fault was accepted");
        } catch (const std::invalid_argument& error) {
            const std::string text = error.what();
            QVERIFY(text.find("'drop-everything'") != std::string::npos);
            for (const FaultInfo& info : faultCatalogue())
                QVERIFY2(text.find(info.syntax) != std::string::npos, info.syntax);
        }
    }

    void helpAndTooltipListEveryFault() {
        ui::LaunchForm form;
        const QString tooltip = form.findChild<QLineEdit*>("faults")->toolTip();
        const std::string help = faultHelp();
        for (const FaultInfo& info : faultCatalogue()) {
            QVERIFY2(help.find(info.syntax) != std::string::npos, info.syntax);
            QVERIFY2(tooltip.contains(QLatin1String(info.syntax)), info.syntax);
            if (*info.capability)
                QVERIFY2(tooltip.contains(QLatin1String(info.capability)), info.capability);
        }
    }

    void theFormRefusesWhatTheCommandLineRefuses() {
        for (const Case& refused : cases()) {
            const QString cli = commandLineRefusal(refused.arguments);
            const QString form = formRefusal(refused.form);
            QVERIFY2(!cli.isEmpty(), refused.name);
            QVERIFY2(!form.isEmpty(), refused.name);
            // Each reader puts its own words in front ("--inject", "Inject"); the reason after
            // them is the catalogue's, word for word.
            const QString cliReason = afterPrefix(cli, QStringLiteral("-inject"));
            const QString formReason = afterPrefix(form, QStringLiteral("Inject"));
            QVERIFY2(!cliReason.isEmpty(), qPrintable(cli));
            QCOMPARE(formReason, cliReason);
        }
    }

    void bothAcceptAFaultWithWhatItNeeds() {
        QCOMPARE(commandLineRefusal(
                     {"--capability", "postcopy-ram=on", "--inject", "cut-main@postcopy"}),
                 QString());
        QCOMPARE(formRefusal({"cut-main@postcopy", true}), QString());
        QCOMPARE(commandLineRefusal(
                     {"--device", "accel", "--inject", "vfio-fail=accel0:RESUMING>STOP@dst"}),
                 QString());
        QCOMPARE(formRefusal({"vfio-fail=accel0:RESUMING>STOP@dst", false, false, 0, 1}),
                 QString());
    }
};

QTEST_MAIN(TestFaultCatalogue)
#include "tst_fault_catalogue.moc"
