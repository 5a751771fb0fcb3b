#include "ui/display_format.h"

#include "engine/api/migration_config.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QStringList>

namespace migrascope::ui {

QString bytesText(double bytes) {
    return QString::fromStdString(formatBytes(bytes));
}

QString rateText(double bytesPerSecond) {
    return QCoreApplication::translate("migrascope::ui", "%1/s").arg(bytesText(bytesPerSecond));
}

QString durationText(double milliseconds) {
    if (milliseconds < 1000)
        return QCoreApplication::translate("migrascope::ui", "%1 ms").arg(qRound(milliseconds));
    const double seconds = milliseconds / 1000;
    if (seconds < 60)
        return QCoreApplication::translate("migrascope::ui", "%1 s").arg(seconds, 0, 'f', 1);
    const int whole = qRound(seconds);
    return QCoreApplication::translate("migrascope::ui", "%1 min %2 s")
        .arg(whole / 60)
        .arg(whole % 60, 2, 10, QLatin1Char('0'));
}

QString statusText(MigrationStatus status) {
    return QString::fromLatin1(toString(status));
}

QString resultText(MigrationStatus status, bool hasWarnings) {
    if (status == MigrationStatus::Completed && hasWarnings)
        return QCoreApplication::translate("migrascope::ui", "completed with warnings");
    return statusText(status);
}

QString warningsText(const std::vector<std::string>& warnings) {
    QStringList items;
    for (const auto& warning : warnings)
        items << QString::fromStdString(warning);
    return QCoreApplication::translate("migrascope::ui", "Warnings: %1").arg(items.join("; "));
}

QString localTimeText(const std::string& isoUtc) {
    const QString text = QString::fromStdString(isoUtc);
    QDateTime time = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!time.isValid())
        return text;
    return time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

bool isTroubleStatus(RunStatus status) {
    return status == RunStatus::Failed || status == RunStatus::Interrupted;
}

} // namespace migrascope::ui
