#include "channel_table_model.h"

#include "display_format.h"

#include <QBrush>
#include <QColor>

namespace migrascope::ui {

ChannelTableModel::ChannelTableModel(QObject* parent) : QAbstractTableModel(parent) {}

int ChannelTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ChannelTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ChannelTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& row = rows_[static_cast<std::size_t>(index.row())];
    const ChannelSnapshot& channel = row.channel;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Channel:
            return QString::fromStdString(channel.id);
        case Kind:
            return QString::fromLatin1(toString(channel.kind));
        case State:
            return QString::fromLatin1(toString(channel.state));
        case Bytes:
            return bytesText(static_cast<double>(channel.bytes));
        case Rate:
            return row.hasRate ? rateText(row.bytesPerSecond) : QStringLiteral("–");
        case TlsVersion:
            return channel.tlsVersion.empty() ? tr("none")
                                              : QString::fromStdString(channel.tlsVersion);
        case TlsCipher:
            return QString::fromStdString(channel.tlsCipher);
        case TlsRecords:
            return channel.tlsVersion.empty() ? QString() : QString::number(channel.tlsRecordsSent);
        }
    } else if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
        case Bytes:
        case Rate:
        case TlsRecords:
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
        }
    } else if (role == Qt::ForegroundRole && index.column() == State &&
               channel.state == ChannelState::Failed) {
        return QBrush(QColor(0xc0, 0x1c, 0x28));
    } else if (role == Qt::ToolTipRole && index.column() == TlsRecords) {
        return tr("TLS records sent on this channel");
    }
    return {};
}

QVariant ChannelTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Channel:
        return tr("Channel");
    case Kind:
        return tr("Kind");
    case State:
        return tr("State");
    case Bytes:
        return tr("Sent");
    case Rate:
        return tr("Rate");
    case TlsVersion:
        return tr("TLS");
    case TlsCipher:
        return tr("Cipher");
    case TlsRecords:
        return tr("Records");
    }
    return {};
}

int ChannelTableModel::rowOf(const std::string& channelId) const {
    for (std::size_t i = 0; i < rows_.size(); ++i)
        if (rows_[i].channel.id == channelId)
            return static_cast<int>(i);
    return -1;
}

void ChannelTableModel::updateChannels(const std::vector<ChannelSnapshot>& channels) {
    for (const ChannelSnapshot& channel : channels) {
        const int existing = rowOf(channel.id);
        if (existing >= 0) {
            rows_[static_cast<std::size_t>(existing)].channel = channel;
            continue;
        }
        const int row = static_cast<int>(rows_.size());
        beginInsertRows({}, row, row);
        rows_.push_back(Row{channel, 0, false});
        endInsertRows();
    }
    if (!rows_.empty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

void ChannelTableModel::updateRates(const std::vector<ChannelSample>& samples) {
    bool changed = false;
    for (const ChannelSample& sample : samples) {
        const int row = rowOf(sample.channel);
        if (row < 0)
            continue;
        rows_[static_cast<std::size_t>(row)].bytesPerSecond = sample.bytesPerSecond;
        rows_[static_cast<std::size_t>(row)].hasRate = true;
        changed = true;
    }
    if (changed)
        emit dataChanged(index(0, Rate), index(rowCount() - 1, Rate));
}

void ChannelTableModel::clear() {
    beginResetModel();
    rows_.clear();
    endResetModel();
}

} // namespace migrascope::ui
