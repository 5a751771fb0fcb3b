// One row per migration channel (main, multifd-N): its state, volume, rate and TLS session.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QAbstractTableModel>
#include <vector>

namespace migrascope::ui {

class ChannelTableModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        Channel,
        Kind,
        State,
        Bytes,
        Received,
        Rate,
        KernelAcked, // the kernel's view of the socket (tcp_info), beside our own counts
        KernelRtt,
        KernelRetransmits,
        TlsVersion,
        TlsCipher,
        TlsRecords,
        TlsRecordsReceived,
        KeyUpdates,
        KeyUse,
        Termination,
        Direction,
        Protection,
        ColumnCount
    };

    explicit ChannelTableModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Channels appear in the order the engine registered them and are never removed
    // during a run, so an update only appends rows and changes cells.
    void updateChannels(const std::vector<ChannelSnapshot>& channels);
    // The newest rate per channel; "total" samples are ignored (the plot shows them).
    void updateRates(const std::vector<ChannelSample>& samples);
    void clear();

private:
    struct Row {
        ChannelSnapshot channel;
        double bytesPerSecond = 0;
        bool hasRate = false;
    };
    int rowOf(const std::string& channelId) const;

    std::vector<Row> rows_;
};

} // namespace migrascope::ui
