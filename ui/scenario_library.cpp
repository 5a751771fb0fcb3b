#include "ui/scenario_library.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>
#include <stdexcept>

namespace migrascope::ui {

namespace {

const QStringList kOutcomes = {QStringLiteral("completed"),
                               QStringLiteral("completed with warnings"), QStringLiteral("failed"),
                               QStringLiteral("keeps iterating")};
// The demonstration programs the package ships (tests/demos).
const QStringList kDemonstrationPrograms = {QStringLiteral("demo_tls_unprotected"),
                                            QStringLiteral("demo_rp_reuse")};

QStringList strings(const QJsonValue& value, const QString& what) {
    if (value.isUndefined())
        return {};
    if (!value.isArray())
        throw std::invalid_argument(what.toStdString() + " is not a list of strings");
    QStringList list;
    for (const QJsonValue& item : value.toArray()) {
        if (!item.isString())
            throw std::invalid_argument(what.toStdString() + " holds something not a string");
        list << item.toString();
    }
    return list;
}

QString text(const QJsonObject& object, const char* key) {
    const QJsonValue value = object.value(QLatin1String(key));
    if (!value.isString() || value.toString().trimmed().isEmpty())
        throw std::invalid_argument(std::string("'") + key + "' is missing or empty");
    return value.toString();
}

Scenario parse(const QString& file) {
    QFile input(file);
    if (!input.open(QIODevice::ReadOnly))
        throw std::invalid_argument(input.errorString().toStdString());
    QJsonParseError error{};
    const QJsonDocument document = QJsonDocument::fromJson(input.readAll(), &error);
    if (error.error != QJsonParseError::NoError)
        throw std::invalid_argument("not JSON: " + error.errorString().toStdString() +
                                    " at offset " + std::to_string(error.offset));
    const QJsonObject object = document.object();
    Scenario scenario;
    scenario.file = file;
    scenario.title = text(object, "title");
    scenario.summary = text(object, "summary");
    scenario.explanation = strings(object.value("explanation"), "explanation");
    scenario.watch = strings(object.value("watch"), "watch");
    scenario.settings = strings(object.value("settings"), "settings");
    for (const QJsonValue& value : object.value("variants").toArray()) {
        const QJsonObject variant = value.toObject();
        ScenarioVariant parsed{text(variant, "label"),
                               strings(variant.value("settings"), "a variant's settings"),
                               text(variant, "expect")};
        if (!kOutcomes.contains(parsed.expect))
            throw std::invalid_argument("variant '" + parsed.label.toStdString() + "' expects '" +
                                        parsed.expect.toStdString() +
                                        "'; known: " + kOutcomes.join(", ").toStdString());
        scenario.variants << parsed;
    }
    if (scenario.variants.isEmpty())
        throw std::invalid_argument("no variants: give at least one, with its label and expect");
    for (const QJsonValue& value : object.value("demonstrations").toArray()) {
        const QJsonObject demonstration = value.toObject();
        ScenarioDemonstration parsed{
            text(demonstration, "label"), text(demonstration, "program"),
            strings(demonstration.value("arguments"), "a demonstration's arguments")};
        // Only the programs shipped for this: a scenario file must not start anything else.
        if (!kDemonstrationPrograms.contains(parsed.program))
            throw std::invalid_argument("demonstration '" + parsed.label.toStdString() +
                                        "' runs '" + parsed.program.toStdString() + "'; known: " +
                                        kDemonstrationPrograms.join(", ").toStdString());
        scenario.demonstrations << parsed;
    }
    for (int index = 0; index < scenario.variants.size(); ++index)
        scenario.config(index); // a setting it cannot read is said now, not when a class waits
    return scenario;
}

} // namespace

MigrationConfig Scenario::config(int index) const {
    const QStringList lines = settings + variants.value(index).settings;
    return configFromDescription(lines.join('\n').toStdString());
}

QString Scenario::html() const {
    QString page = QStringLiteral("<h3>%1</h3><p><i>%2</i></p>")
                       .arg(title.toHtmlEscaped(), summary.toHtmlEscaped());
    for (const QString& paragraph : explanation)
        page += QStringLiteral("<p>%1</p>").arg(paragraph.toHtmlEscaped());
    if (!watch.isEmpty()) {
        page += QStringLiteral("<p><b>%1</b></p><ul>").arg(QObject::tr("What to watch"));
        for (const QString& point : watch)
            page += QStringLiteral("<li>%1</li>").arg(point.toHtmlEscaped());
        page += QStringLiteral("</ul>");
    }
    page += QStringLiteral("<p><b>%1</b></p><ul>").arg(QObject::tr("How each variant ends"));
    for (const ScenarioVariant& variant : variants)
        page += QStringLiteral("<li>%1: <i>%2</i></li>")
                    .arg(variant.label.toHtmlEscaped(), variant.expect.toHtmlEscaped());
    page += QStringLiteral("</ul>");
    if (!demonstrations.isEmpty()) {
        page += QStringLiteral("<p><b>%1</b></p><ul>")
                    .arg(QObject::tr("Demonstrations, each in a process of its own"));
        for (const ScenarioDemonstration& demonstration : demonstrations)
            page += QStringLiteral("<li>%1</li>").arg(demonstration.label.toHtmlEscaped());
        page += QStringLiteral("</ul>");
    }
    return page;
}

QString demonstrationProgram(const QString& program) {
    const QDir binary(QCoreApplication::applicationDirPath());
    for (const QString& directory :
         {QStringLiteral("../libexec/migrascope"), QStringLiteral("../tests/demos")}) {
        const QFileInfo candidate(binary.filePath(directory + QLatin1Char('/') + program));
        if (candidate.isFile() && candidate.isExecutable())
            return candidate.canonicalFilePath();
    }
    return {};
}

QString userScenarioDirectory() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
           QStringLiteral("/migrascope/scenarios");
}

ScenarioLibrary loadScenarios(QStringList directories) {
    if (directories.isEmpty())
        directories = {QStringLiteral(":/scenarios"), userScenarioDirectory()};
    ScenarioLibrary library;
    for (const QString& directory : directories) {
        const QDir dir(directory);
        for (const QString& name :
             dir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name)) {
            const QString file = dir.filePath(name);
            try {
                library.scenarios << parse(file);
            } catch (const std::exception& error) {
                library.problems << QStringLiteral("%1: %2").arg(file, error.what());
            }
        }
    }
    return library;
}

} // namespace migrascope::ui
