// What a desktop and a software centre read from the package: the desktop file and the
// AppStream metadata pass their own validators, name the same application and the icon the
// package installs, and the icon the window shows renders.
#include "ui/glossary.h"
#include "ui/main_window.h"
#include "ui/translations.h"

#include <QCheckBox>
#include <QDomDocument>
#include <QFile>
#include <QIcon>
#include <QMenu>
#include <QMenuBar>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTranslator>
#include <QtTest>

namespace {

const QString kPackaging = QStringLiteral(MIGRASCOPE_SOURCE_DIR "/packaging/");
const QString kDesktopFile = kPackaging + "io.migrascope.Migrascope.desktop";
const QString kMetainfo = kPackaging + "io.migrascope.Migrascope.metainfo.xml";

// Runs a validator; its output when it complains.
QString validate(const QString& program, const QStringList& arguments) {
    QProcess validator;
    validator.setProcessChannelMode(QProcess::MergedChannels);
    validator.start(program, arguments);
    if (!validator.waitForFinished(60000))
        return program + " did not finish";
    if (validator.exitStatus() != QProcess::NormalExit || validator.exitCode() != 0)
        return QString::fromUtf8(validator.readAll());
    return {};
}

} // namespace

class TestPackaging : public QObject {
    Q_OBJECT

private slots:
    void theDesktopFileIsValidAndNamesTheInstalledIcon() {
        if (QStandardPaths::findExecutable("desktop-file-validate").isEmpty())
            QSKIP("desktop-file-validate is not installed (package desktop-file-utils)");
        const QString complaint = validate("desktop-file-validate", {kDesktopFile});
        QVERIFY2(complaint.isEmpty(), qPrintable(complaint));
        QSettings desktop(kDesktopFile, QSettings::IniFormat);
        desktop.beginGroup("Desktop Entry");
        QCOMPARE(desktop.value("Icon").toString(), QStringLiteral("io.migrascope.Migrascope"));
        QCOMPARE(desktop.value("Exec").toString(), QStringLiteral("migrascope"));
        QVERIFY(QFile::exists(
            QStringLiteral(MIGRASCOPE_SOURCE_DIR "/resources/icons/io.migrascope.Migrascope.svg")));
    }

    void theAppStreamMetadataIsValidAndLaunchesTheDesktopFile() {
        if (QStandardPaths::findExecutable("appstreamcli").isEmpty())
            QSKIP("appstreamcli is not installed (package appstream)");
        const QString complaint = validate("appstreamcli", {"validate", "--no-net", kMetainfo});
        QVERIFY2(complaint.isEmpty(), qPrintable(complaint));
        QFile file(kMetainfo);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QDomDocument metainfo;
        QVERIFY(metainfo.setContent(&file));
        const QDomElement component = metainfo.documentElement();
        QCOMPARE(component.firstChildElement("launchable").text(),
                 QStringLiteral("io.migrascope.Migrascope.desktop"));
        QCOMPARE(component.firstChildElement("project_license").text(),
                 QStringLiteral("GPL-3.0-or-later"));
        QCOMPARE(component.firstChildElement("releases")
                     .firstChildElement("release")
                     .attribute("version"),
                 QStringLiteral(MIGRASCOPE_VERSION));
    }

    void theWindowsIconRenders() {
        const QIcon icon(QStringLiteral(":/icons/io.migrascope.Migrascope.svg"));
        const QImage image = icon.pixmap(64, 64).toImage();
        QVERIFY2(!image.isNull(), "no SVG icon engine (package libqt6svg6)");
        // Drawn, not blank: the two hosts' colour is there.
        QCOMPARE(image.pixelColor(image.width() / 8, image.height() / 2).name(),
                 QStringLiteral("#2b4a6f"));
    }

    // A German desktop gets the window in German where the catalogue has it; QEMU's words
    // (capabilities, commands) stay as QEMU spells them; a language without a catalogue
    // leaves the window in English.
    void theWindowSpeaksTheUsersLanguage() {
        QTemporaryDir dir;
        // The window creates its default PKI and settings under the user's directories.
        qputenv("XDG_CONFIG_HOME", dir.filePath("config").toUtf8());
        qputenv("XDG_DATA_HOME", dir.filePath("data").toUtf8());
        QVERIFY(migrascope::ui::installTranslations(*QCoreApplication::instance(),
                                                    QLocale(QLocale::German, QLocale::Germany)));
        {
            migrascope::ui::MainWindow window(
                migrascope::ui::WindowOptions{dir.filePath("history.sqlite").toStdString()});
            QStringList menus;
            for (QAction* menu : window.menuBar()->actions())
                menus << menu->text();
            QVERIFY2(menus.contains("&Verlauf") && menus.contains("&Hilfe"),
                     qPrintable(menus.join(", ")));
            const auto* start = window.findChild<QPushButton*>("startButton");
            QVERIFY(start);
            QCOMPARE(start->text(), QStringLiteral("Migration starten"));
            const auto* postcopy = window.findChild<QCheckBox*>("postcopyRam");
            QVERIFY(postcopy);
            QCOMPARE(postcopy->text(), QStringLiteral("postcopy-ram"));
            const auto* cancelAction = [&window] {
                for (QAction* action : window.findChildren<QAction*>())
                    if (action->text().contains("migrate_cancel"))
                        return action;
                return static_cast<QAction*>(nullptr);
            }();
            QVERIFY(cancelAction);
            QCOMPARE(cancelAction->text(), QStringLiteral("&Abbrechen (migrate_cancel)"));
            // The glossary's plain words too: a status keeps QEMU's name, its meaning is German.
            const QString paused = migrascope::ui::explain(QStringLiteral("postcopy-paused"));
            QVERIFY2(paused.startsWith(QStringLiteral("Postcopy")) && paused.contains("Verbindung"),
                     qPrintable(paused));
        }
        for (auto* translator : QCoreApplication::instance()->findChildren<QTranslator*>()) {
            QCoreApplication::removeTranslator(translator);
            delete translator;
        }
        QVERIFY(!migrascope::ui::installTranslations(*QCoreApplication::instance(),
                                                     QLocale(QLocale::Swahili)));
        migrascope::ui::MainWindow english(
            migrascope::ui::WindowOptions{dir.filePath("history.sqlite").toStdString()});
        QCOMPARE(english.findChild<QPushButton*>("startButton")->text(),
                 QStringLiteral("Start migration"));
        QVERIFY(migrascope::ui::explain(QStringLiteral("postcopy-paused")).contains("connection"));

        // View > Language: the choice is kept for the next start, each language in its own words.
        auto* languages = english.findChild<QMenu*>(QStringLiteral("languageMenu"));
        QVERIFY(languages);
        QStringList names;
        for (QAction* action : languages->actions())
            names << action->text();
        QVERIFY2(names.contains("Deutsch") && names.contains("English"),
                 qPrintable(names.join(", ")));
        for (QAction* action : languages->actions())
            if (action->text() == QLatin1String("Deutsch"))
                action->trigger();
        QCOMPARE(migrascope::ui::chosenLanguage(), QStringLiteral("de"));
        QCOMPARE(migrascope::ui::windowLocale().language(), QLocale::German);
        languages->actions().first()->trigger(); // the system's language again
        QCOMPARE(migrascope::ui::chosenLanguage(), QString());
        QCOMPARE(migrascope::ui::windowLocale(), QLocale());
    }

    // `man migrascope` documents every mode, the daemon's options among them, and where its
    // files are.
    void theManualPageCoversEveryMode() {
        QFile manual(QStringLiteral(MIGRASCOPE_MANUAL));
        if (!manual.exists())
            QSKIP("no manual page: help2man is not installed");
        QVERIFY(manual.open(QIODevice::ReadOnly));
        const QString page = QString::fromUtf8(manual.readAll());
        for (const char* part :
             {".SH EXAMPLES", ".SH FILES", "\\-\\-incoming", "\\-\\-max\\-incoming", "\\-\\-watch",
              "\\-\\-headless", "history.sqlite", MIGRASCOPE_VERSION})
            QVERIFY2(page.contains(QLatin1String(part)), part);
    }
};

QTEST_MAIN(TestPackaging)
#include "tst_packaging.moc"
