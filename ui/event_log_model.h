// The run's event log: what the source and destination said, in time order.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QAbstractTableModel>
#include <vector>

namespace migrascope::ui {

class EventLogModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { Time, Side, Level, Text, ColumnCount };

    explicit EventLogModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void append(const std::vector<Event>& events);
    void clear();
    const Event& eventAt(int row) const { return events_.at(static_cast<std::size_t>(row)); }

private:
    std::vector<Event> events_;
};

} // namespace migrascope::ui
