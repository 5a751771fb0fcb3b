#include "ui/return_path_model.h"

#include "ui/theme.h"

#include <QBrush>

namespace migrascope::ui {

QString ReturnPathModel::header(int column) const {
    switch (column) {
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

QVariant ReturnPathModel::cell(const ReturnPathRecord& record, int column, int role) const {
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
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
            return QBrush(theme::failure());
        break;
    }
    return {};
}

} // namespace migrascope::ui
