#include "ui/theme.h"

#include <QWidget>
#include <array>

namespace migrascope::ui::theme {

QColor channel(int index) {
    static const std::array<QColor, 12> colours = {
        QColor(0x00, 0x72, 0xb2), QColor(0xe6, 0x9f, 0x00), QColor(0x00, 0x9e, 0x73),
        QColor(0xd5, 0x5e, 0x00), QColor(0xcc, 0x79, 0xa7), QColor(0x56, 0xb4, 0xe9),
        QColor(0xb8, 0x9b, 0x00), QColor(0x8c, 0x56, 0x4b), QColor(0x7f, 0x3c, 0x8d),
        QColor(0x11, 0xa5, 0x79), QColor(0x55, 0x6b, 0x2f), QColor(0x66, 0x66, 0x66),
    };
    return colours[static_cast<std::size_t>(index) % colours.size()];
}

Qt::PenStyle channelStyle(int index) {
    // Twelve hues, then the same hues dashed: 16 multifd channels and main stay apart.
    return index < 12 ? Qt::SolidLine : Qt::DashLine;
}

std::optional<QColor> forLevel(EventLevel level) {
    switch (level) {
    case EventLevel::Error:
        return failure();
    case EventLevel::Warning:
        return attention();
    case EventLevel::Info:
        break;
    }
    return std::nullopt;
}

std::optional<QColor> forStatus(MigrationStatus status) {
    switch (status) {
    case MigrationStatus::Completed:
        return success();
    case MigrationStatus::Failed:
        return failure();
    case MigrationStatus::Cancelling:
    case MigrationStatus::Cancelled:
    case MigrationStatus::PostcopyPaused:
        return attention();
    default:
        return std::nullopt;
    }
}

void applyStyleSheet(QWidget* widget, const QString& sheet) {
    if (widget->styleSheet() != sheet)
        widget->setStyleSheet(sheet);
}

QString textStyle(const QColor& colour, bool bold) {
    return QStringLiteral("color: %1;%2").arg(colour.name(), bold ? " font-weight: bold;" : "");
}

} // namespace migrascope::ui::theme
