#include "ui/event_log_model.h"

#include "ui/theme.h"

#include <QBrush>

namespace migrascope::ui {

QString EventLogModel::header(int column) const {
    switch (column) {
    case Time:
        return tr("Time (s)");
    case Side:
        return tr("Side");
    case Level:
        return tr("Level");
    case Text:
        return tr("Message");
    }
    return {};
}

QVariant EventLogModel::cell(const Event& event, int column, int role) const {
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Time:
            return QString::number(event.timeMs / 1000, 'f', 3);
        case Side:
            return QString::fromLatin1(toString(event.side));
        case Level:
            return QString::fromLatin1(toString(event.level));
        case Text:
            return QString::fromStdString(event.text);
        }
        break;
    case Qt::ToolTipRole:
        if (column == Text)
            return QString::fromStdString(event.text); // long messages are cut off in the view
        break;
    case Qt::ForegroundRole:
        if (const auto colour = theme::forLevel(event.level))
            return QBrush(*colour);
        break;
    }
    return {};
}

} // namespace migrascope::ui
