#include "ui/device_state_diagram.h"

#include "ui/theme.h"
#include "vfio/device_state.h"

#include <QPainter>
#include <QPainterPath>
#include <array>
#include <cmath>

namespace migrascope::ui {
namespace {

using vfio::DeviceState;

struct Place {
    DeviceState state;
    int column;
    int row;
};
// Running states on the left, the stopped ones on the right; the saving group below.
constexpr std::array<Place, 8> kPlaces = {{
    {DeviceState::Running, 0, 0},
    {DeviceState::RunningP2P, 1, 0},
    {DeviceState::Stop, 2, 0},
    {DeviceState::Resuming, 3, 0},
    {DeviceState::PreCopy, 0, 1},
    {DeviceState::PreCopyP2P, 1, 1},
    {DeviceState::StopCopy, 2, 1},
    {DeviceState::Error, 3, 1},
}};

} // namespace

DeviceStateDiagram::DeviceStateDiagram(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

void DeviceStateDiagram::setDevice(const QString& title, std::uint64_t migrationFlags,
                                   vfio::DeviceState sourceState,
                                   std::optional<vfio::DeviceState> destinationState,
                                   std::optional<DeviceTransition> lastArc,
                                   std::optional<DeviceTransition> failedArc) {
    title_ = title;
    flags_ = migrationFlags;
    sourceState_ = sourceState;
    destinationState_ = destinationState;
    lastArc_ = std::move(lastArc);
    failedArc_ = std::move(failedArc);
    update();
}

void DeviceStateDiagram::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette& colours = palette();
    painter.setPen(colours.color(QPalette::WindowText));
    QFont bold = font();
    bold.setBold(true);
    painter.setFont(bold);
    const int titleHeight = fontMetrics().height() + 6;
    painter.drawText(QRect(4, 0, width() - 8, titleHeight), Qt::AlignLeft | Qt::AlignVCenter,
                     title_);
    painter.setFont(font());

    // The legend's line at the bottom says what dashes and colours mean.
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    const int legendHeight = QFontMetrics(small).height() + 2;
    const double cellWidth = (width() - 8) / 4.0;
    const double cellHeight = (height() - titleHeight - 20 - legendHeight) / 2.0;
    auto box = [&](const Place& place) {
        return QRectF(4 + place.column * cellWidth + 6, titleHeight + place.row * cellHeight + 10,
                      cellWidth - 12, cellHeight - 26);
    };
    // Arcs first, so the boxes sit on top of them. A reset is no arc of the diagram.
    const bool arcShown = lastArc_ && !lastArc_->reset;
    const bool failureShown = failedArc_ && !failedArc_->reset;
    for (const auto& from : kPlaces)
        for (const auto& to : kPlaces) {
            if (!vfio::isDirectArc(flags_, from.state, to.state))
                continue;
            const bool failed =
                failureShown && failedArc_->from == from.state && failedArc_->to == to.state;
            const bool last =
                failed || (arcShown && lastArc_->from == from.state && lastArc_->to == to.state);
            QPen pen(failed ? theme::failure()
                     : last ? (lastArc_->ok ? theme::attention() : theme::failure())
                            : colours.color(QPalette::Mid));
            pen.setWidthF(last ? 3.0 : 1.0);
            painter.setPen(pen);
            QPointF a = box(from).center();
            QPointF b = box(to).center();
            // A pair of opposite arcs is drawn as two parallel lines.
            const QPointF along = b - a;
            const double length = std::hypot(along.x(), along.y());
            const QPointF normal(-along.y() / length * 4, along.x() / length * 4);
            painter.drawLine(a + normal, b + normal);
            if (last) {
                const QPointF tip = b + normal - along / length * 34;
                painter.setBrush(pen.color());
                painter.drawEllipse(tip, 4, 4);
                painter.setBrush(Qt::NoBrush);
            }
            if (failed) {
                // Which side refused it: the same arc means different things at each end.
                const QPointF middle = (a + b) / 2 + normal * 3;
                painter.setFont(small);
                painter.drawText(QRectF(middle.x() - 40, middle.y() - 16, 80, 14), Qt::AlignCenter,
                                 failedArc_->side == Side::Destination ? tr("failed at dst")
                                                                       : tr("failed at src"));
                painter.setFont(font());
            }
        }

    for (const auto& place : kPlaces) {
        const QString name = QString::fromLatin1(vfio::toString(place.state));
        const bool supported =
            place.state == DeviceState::Error || vfio::supports(flags_, place.state);
        const bool atSource = place.state == sourceState_;
        const bool atDestination = place.state == destinationState_;
        const QRectF rect = box(place);
        QPen pen(supported ? colours.color(QPalette::WindowText) : colours.color(QPalette::Mid));
        pen.setStyle(supported ? Qt::SolidLine : Qt::DashLine);
        pen.setWidthF(atDestination ? 3.0 : 1.0);
        if (atDestination)
            pen.setColor(theme::destination());
        painter.setPen(pen);
        painter.setBrush(atSource ? theme::source() : colours.color(QPalette::Base));
        painter.drawRoundedRect(rect, 6, 6);
        painter.setPen(
            atSource ? QColor(Qt::white)
                     : (supported ? colours.color(QPalette::Text) : colours.color(QPalette::Mid)));
        // Long names (PRE_COPY_P2P) shrink to fit a narrow box rather than lose letters.
        QFont fitted = font();
        while (QFontMetricsF(fitted).horizontalAdvance(name) > rect.width() - 6 &&
               fitted.pointSizeF() > 5)
            fitted.setPointSizeF(fitted.pointSizeF() - 0.5);
        painter.setFont(fitted);
        painter.drawText(rect, Qt::AlignCenter, name);
        painter.setFont(font());
        QString marks;
        if (atSource)
            marks += tr("src ");
        if (atDestination)
            marks += tr("dst");
        if (!marks.isEmpty()) {
            painter.setPen(atDestination && !atSource ? theme::destination() : theme::source());
            painter.drawText(QRectF(rect.left(), rect.bottom(), rect.width(), 16),
                             Qt::AlignHCenter | Qt::AlignTop, marks.trimmed());
        }
    }

    painter.setFont(small);
    painter.setPen(colours.color(QPalette::Mid).darker(130));
    painter.drawText(QRectF(4, height() - legendHeight, width() - 8, legendHeight),
                     Qt::AlignLeft | Qt::AlignVCenter,
                     tr("dashed: a state this device does not support · orange: the last arc · "
                        "red: the arc that failed"));
}

} // namespace migrascope::ui
