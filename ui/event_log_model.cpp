#include "ui/event_log_model.h"

#include <QBrush>
#include <QColor>

namespace migrascope::ui {

EventLogModel::EventLogModel(QObject* parent) : QAbstractTableModel(parent) {}

int EventLogModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(events_.size());
}

int EventLogModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventLogModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Event& event = events_[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
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
        if (index.column() == Text)
            return QString::fromStdString(event.text); // long messages are cut off in the view
        break;
    case Qt::ForegroundRole:
        // Fixed colours that stay readable on both light and dark bases.
        if (event.level == EventLevel::Error)
            return QBrush(QColor(0xe0, 0x1b, 0x24));
        if (event.level == EventLevel::Warning)
            return QBrush(QColor(0xc6, 0x64, 0x00));
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == Time)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    }
    return {};
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
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

void EventLogModel::append(const std::vector<Event>& events) {
    if (events.empty())
        return;
    const int first = rowCount();
    beginInsertRows({}, first, first + static_cast<int>(events.size()) - 1);
    events_.insert(events_.end(), events.begin(), events.end());
    endInsertRows();
}

void EventLogModel::clear() {
    beginResetModel();
    events_.clear();
    endResetModel();
}

} // namespace migrascope::ui
