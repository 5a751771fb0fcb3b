#include "ui/device_transition_model.h"

#include <QBrush>
#include <QColor>

namespace migrascope::ui {

DeviceTransitionModel::DeviceTransitionModel(QObject* parent) : QAbstractTableModel(parent) {}

int DeviceTransitionModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(transitions_.size());
}

int DeviceTransitionModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DeviceTransitionModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const DeviceTransition& t = transitions_[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Time:
            return QString::number(t.timeMs / 1000, 'f', 3);
        case Side:
            return QString::fromLatin1(toString(t.side));
        case Device:
            return QString::fromStdString(t.device);
        case From:
            return QString::fromStdString(fromText(t));
        case To:
            return QString::fromLatin1(vfio::toString(t.to));
        case Result:
            return t.ok ? tr("ok") : tr("failed");
        case Error:
            return QString::fromStdString(t.error);
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == Error && !t.error.empty())
            return QString::fromStdString(t.error);
        break;
    case Qt::ForegroundRole:
        if (!t.ok)
            return QBrush(QColor(0xe0, 0x1b, 0x24));
        break;
    }
    return {};
}

QVariant DeviceTransitionModel::headerData(int section, Qt::Orientation orientation,
                                           int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Time:
        return tr("Time (s)");
    case Side:
        return tr("Side");
    case Device:
        return tr("Device");
    case From:
        return tr("From");
    case To:
        return tr("To");
    case Result:
        return tr("Result");
    case Error:
        return tr("Error");
    }
    return {};
}

void DeviceTransitionModel::update(const std::vector<DeviceTransition>& transitions) {
    if (transitions.size() <= transitions_.size())
        return;
    beginInsertRows({}, static_cast<int>(transitions_.size()),
                    static_cast<int>(transitions.size()) - 1);
    transitions_.insert(transitions_.end(),
                        transitions.begin() + static_cast<std::ptrdiff_t>(transitions_.size()),
                        transitions.end());
    endInsertRows();
}

void DeviceTransitionModel::clear() {
    beginResetModel();
    transitions_.clear();
    endResetModel();
}

} // namespace migrascope::ui
