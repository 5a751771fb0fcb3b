// The run's event log: what the source and destination said, in time order.
#pragma once

#include "engine/api/telemetry_snapshot.h"
#include "ui/append_only_table_model.h"

namespace migrascope::ui {

class EventLogModel : public AppendOnlyTableModel<Event> {
    Q_OBJECT

public:
    enum Column { Time, Side, Level, Text, ColumnCount };

    using AppendOnlyTableModel::AppendOnlyTableModel;

protected:
    int columns() const override { return ColumnCount; }
    QString header(int column) const override;
    QVariant cell(const Event& event, int column, int role) const override;
    bool isNumeric(int column) const override { return column == Time; }
};

} // namespace migrascope::ui
