#include "ui/channel_table_model.h"

#include "ui/display_format.h"
#include "ui/theme.h"

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
        case Received:
            return bytesText(static_cast<double>(channel.bytesReceived));
        case Rate:
            return row.hasRate ? rateText(row.bytesPerSecond) : QStringLiteral("–");
        case KernelAcked:
            return channel.tcp ? bytesText(static_cast<double>(channel.tcp->bytesAcked))
                               : QStringLiteral("–");
        case KernelRtt:
            return channel.tcp ? QStringLiteral("%1 ms").arg(channel.tcp->rttUs / 1000.0, 0, 'f', 2)
                               : QStringLiteral("–");
        case KernelRetransmits:
            return channel.tcp ? QString::number(channel.tcp->retransmits) : QStringLiteral("–");
        case TlsVersion:
            // A real QEMU's sessions live inside QEMU: say so rather than "none".
            if (channel.tlsUnseen)
                return tr("not visible from outside");
            return channel.tlsVersion.empty() ? tr("none")
                                              : QString::fromStdString(channel.tlsVersion);
        case TlsCipher:
            return QString::fromStdString(channel.tlsCipher);
        case TlsRecords:
            return channel.tlsVersion.empty() ? QString() : QString::number(channel.tlsRecordsSent);
        case TlsRecordsReceived:
            return channel.tlsVersion.empty() ? QString()
                                              : QString::number(channel.tlsRecordsReceived);
        case KeyUpdates:
            return channel.tlsVersion.empty() ? QString()
                                              : QStringLiteral("%1 / %2")
                                                    .arg(channel.keyUpdatesSent)
                                                    .arg(channel.keyUpdatesReceived);
        case KeyUse:
            if (channel.tlsVersion.empty())
                return QString();
            if (channel.recordLimit == 0)
                return tr("no limit");
            return QStringLiteral("%1%").arg(
                100.0 * static_cast<double>(channel.recordsUnderCurrentKey) /
                    static_cast<double>(channel.recordLimit),
                0, 'f', 2);
        case Termination:
            if (channel.seenFromOutside)
                return tr("not visible");
            return channel.termination == migrascope::Termination::None
                       ? QStringLiteral("–")
                       : QString::fromLatin1(describe(channel.termination));
        case Direction:
            return channel.bidirectional ? tr("both ways") : tr("one way");
        case Protection:
            return QString::fromStdString(channel.tlsProtection);
        }
    } else if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
        case Bytes:
        case Received:
        case Rate:
        case KernelAcked:
        case KernelRtt:
        case KernelRetransmits:
        case TlsRecords:
        case TlsRecordsReceived:
        case KeyUpdates:
        case KeyUse:
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
        }
    } else if (role == Qt::ForegroundRole &&
               ((index.column() == State && channel.state == ChannelState::Failed) ||
                (index.column() == Termination && isFailure(channel.termination)))) {
        return QBrush(theme::failure());
    } else if (role == Qt::ToolTipRole && channel.seenFromOutside) {
        switch (index.column()) {
        case Channel:
            return tr("Label inferred from the order QEMU opened its connections: QEMU does not "
                      "say which socket is which");
        case Bytes:
            return tr("Bytes the destination acknowledged on this connection, as the source "
                      "host's kernel counts them (tcp_info bytes_acked, TLS framing included)");
        case Received:
            return tr("Bytes the destination host's kernel received on this connection "
                      "(tcp_info bytes_received); 0 when the destination QEMU is not watched");
        default:
            return tr("Seen from outside QEMU: TLS records, key updates and how a session ended "
                      "are not visible");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (index.column()) {
        case KernelAcked:
            return tr("Bytes the peer acknowledged on this channel's socket, as the kernel counts "
                      "them (tcp_info bytes_acked): TLS records and handshake included, so a "
                      "little above Sent with TLS");
        case KernelRtt:
            return tr("The kernel's smoothed round-trip time for the socket (tcp_info rtt)");
        case KernelRetransmits:
            return tr("Segments the kernel retransmitted on the socket (tcp_info "
                      "total_retrans)");
        case Bytes:
            return tr("Bytes the source sent on the channel (before TLS)");
        case Received:
            return tr("Bytes the destination received on the channel, as it counted them (a "
                      "destination on another host reports them); equal to Sent once the "
                      "channel has delivered everything");
        case TlsRecords:
            return tr("TLS records this end sent on the channel");
        case TlsRecordsReceived:
            return tr("TLS records this end received on the channel");
        case KeyUpdates:
            return tr("TLS 1.3 KeyUpdates sent / received");
        case KeyUse:
            return tr("Records sent under the current key, as a share of the cipher's limit "
                      "(2^24 for AES-GCM; GnuTLS re-keys there)");
        case Termination:
            return tr("How the TLS session ended: clean (close_notify), premature (closed "
                      "without it), error");
        case Protection:
            return tr("How a session read and written by two threads at once is kept safe");
        }
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
    case Received:
        return tr("Received");
    case Rate:
        return tr("Rate");
    case KernelAcked:
        return tr("Acked (kernel)");
    case KernelRtt:
        return tr("RTT");
    case KernelRetransmits:
        return tr("Retrans.");
    case TlsVersion:
        return tr("TLS");
    case TlsCipher:
        return tr("Cipher");
    case TlsRecords:
        return tr("Rec. out");
    case TlsRecordsReceived:
        return tr("Rec. in");
    case KeyUpdates:
        return tr("KeyUpd out/in");
    case KeyUse:
        return tr("Key use");
    case Termination:
        return tr("End");
    case Direction:
        return tr("Direction");
    case Protection:
        return tr("Protection");
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
