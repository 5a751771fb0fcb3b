// The window's one colour source: what a colour means is decided here, and every view asks
// by meaning. Fixed colours that stay readable on light and dark bases alike.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QColor>
#include <QString>
#include <optional>

class QWidget;

namespace migrascope::ui::theme {

// Something failed: an error event, a failed arc or channel, a failure verdict, a failed run.
inline QColor failure() {
    return {0xe0, 0x1b, 0x24};
}
// Needs attention but did not fail: a warning, a cancel, a pause, the arc just taken.
inline QColor attention() {
    return {0xc6, 0x64, 0x00};
}
inline QColor success() {
    return {0x26, 0xa2, 0x69};
}
// Where the source and the destination are, wherever both sides are drawn.
inline QColor source() {
    return {0x1c, 0x71, 0xd8};
}
inline QColor destination() {
    return success();
}
// A row an operator looking for trouble must not overlook: a light red band with dark text.
inline QColor troubleBackground() {
    return {0xf8, 0xd7, 0xda};
}
inline QColor troubleText() {
    return {0x5c, 0x0b, 0x12};
}
// Bands marking a recorded run's phases under the plot's lines: two faint tones in turn, so
// neighbouring phases part while the lines stay readable on light and dark bases.
inline QColor phaseBand(int index) {
    return index % 2 == 0 ? QColor(0x80, 0x80, 0x80, 0x18) : QColor(0x1c, 0x71, 0xd8, 0x20);
}
// The throughput plot's lines: distinct hues (Okabe-Ito, then Tableau), none of them the
// failure red; from the 13th line on the hues repeat with channelStyle's dashes.
QColor channel(int index);
Qt::PenStyle channelStyle(int index);

std::optional<QColor> forLevel(EventLevel level);
std::optional<QColor> forStatus(MigrationStatus status);
// "color: #e01b24;" for a label's style sheet.
QString textStyle(const QColor& colour, bool bold = false);
// Sets `sheet` unless the widget has it already: setting a style sheet re-polishes the widget
// and lays its window out again even when nothing changed, which ten times a second cost more
// than the rest of a snapshot.
void applyStyleSheet(QWidget* widget, const QString& sheet);

} // namespace migrascope::ui::theme
