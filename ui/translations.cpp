#include "ui/translations.h"

#include "ui/settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QLibraryInfo>
#include <QTranslator>

namespace migrascope::ui {

bool installTranslations(QCoreApplication& app, const QLocale& locale) {
    auto* qt = new QTranslator(&app);
    if (qt->load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                 QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QCoreApplication::installTranslator(qt);
    else
        delete qt;
    auto* own = new QTranslator(&app);
    if (!own->load(locale, QStringLiteral("migrascope"), QStringLiteral("_"),
                   QStringLiteral(":/i18n"))) {
        delete own;
        return false;
    }
    QCoreApplication::installTranslator(own);
    return true;
}

QStringList windowLanguages() {
    QStringList languages{QStringLiteral("en")};
    const QStringList catalogues =
        QDir(QStringLiteral(":/i18n")).entryList({QStringLiteral("migrascope_*.qm")});
    for (const QString& catalogue : catalogues)
        languages << catalogue.mid(11, catalogue.size() - 11 - 3); // migrascope_<lang>.qm
    return languages;
}

QString chosenLanguage() {
    const QString language = windowSettings().value(QStringLiteral("window/language")).toString();
    return windowLanguages().contains(language) ? language : QString();
}

void chooseLanguage(const QString& language) {
    windowSettings().setValue(QStringLiteral("window/language"), language);
}

QLocale windowLocale() {
    const QString language = chosenLanguage();
    return language.isEmpty() ? QLocale() : QLocale(language);
}

} // namespace migrascope::ui
