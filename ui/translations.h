// The window's language: the catalogue for the user's locale (translations/migrascope_<lang>.ts,
// compiled into :/i18n), and Qt's own for its dialogs where the system has it. Strings not yet
// translated, and QEMU's vocabulary (statuses, parameters, capabilities, commands), stay as
// they are.
#pragma once

#include <QLocale>
#include <QStringList>

class QCoreApplication;

namespace migrascope::ui {

// Installs the translators for `locale` into `app` (they live as long as it does); returns
// whether Migrascope has a catalogue for that language.
bool installTranslations(QCoreApplication& app, const QLocale& locale = QLocale());

// The languages the window speaks: "en" (its own words) and one per catalogue compiled in.
QStringList windowLanguages();
// The user's choice from View > Language ("" for the system's), kept in the window's settings;
// the window takes it when it starts.
QString chosenLanguage();
void chooseLanguage(const QString& language);
// The locale the window starts in: the chosen language, else the system's.
QLocale windowLocale();

} // namespace migrascope::ui
