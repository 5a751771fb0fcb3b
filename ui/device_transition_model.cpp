#include "ui/device_transition_model.h"

#include "ui/theme.h"

#include <QBrush>

namespace migrascope::ui {

QString DeviceTransitionModel::header(int column) const {
    switch (column) {
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

QVariant DeviceTransitionModel::cell(const DeviceTransition& t, int column, int role) const {
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
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
        if (column == Error && !t.error.empty())
            return QString::fromStdString(t.error);
        break;
    case Qt::ForegroundRole:
        if (!t.ok)
            return QBrush(theme::failure());
        break;
    }
    return {};
}

} // namespace migrascope::ui
