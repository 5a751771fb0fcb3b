#include "ui/return_path_model.h"

#include <QBrush>
#include <QColor>

namespace migrascope::ui {

ReturnPathModel::ReturnPathModel(QObject* parent) : QAbstractTableModel(parent) {}

int ReturnPathModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(records_.size());
}

int ReturnPathModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ReturnPathModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ReturnPathRecord& record = records_[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Time:
            return QString::number(record.timeMs / 1000, 'f', 3);
        case Connection:
            return record.connection;
        case Type:
            return QString::fromLatin1(toString(record.type));
        case Message:
            return QString::fromStdString(record.text);
        }
        break;
    case Qt::ForegroundRole:
        if (record.isFailureVerdict())
            return QBrush(QColor(0xe0, 0x1b, 0x24));
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == Time || index.column() == Connection)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    }
    return {};
}

QVariant ReturnPathModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Time:
        return tr("Time (s)");
    case Connection:
        return tr("Connection");
    case Type:
        return tr("Type");
    case Message:
        return tr("Message");
    }
    return {};
}

void ReturnPathModel::append(const std::vector<ReturnPathRecord>& records) {
    if (records.empty())
        return;
    const int first = rowCount();
    beginInsertRows({}, first, first + static_cast<int>(records.size()) - 1);
    records_.insert(records_.end(), records.begin(), records.end());
    endInsertRows();
}

void ReturnPathModel::clear() {
    beginResetModel();
    records_.clear();
    endResetModel();
}

} // namespace migrascope::ui
