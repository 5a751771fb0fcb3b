// The return path's log: every message the destination sent the source, in order, with the
// connection it came on (each resume is a new connection with its own return-path thread).
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QAbstractTableModel>
#include <vector>

namespace migrascope::ui {

class ReturnPathModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { Time, Connection, Type, Message, ColumnCount };

    explicit ReturnPathModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void append(const std::vector<ReturnPathRecord>& records);
    void clear();
    const ReturnPathRecord& recordAt(int row) const {
        return records_.at(static_cast<std::size_t>(row));
    }

private:
    std::vector<ReturnPathRecord> records_;
};

} // namespace migrascope::ui
