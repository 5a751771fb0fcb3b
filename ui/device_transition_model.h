// Every device transition of the run, both sides, in order: time, side, device, arc, result.
#pragma once

#include "engine/api/telemetry_snapshot.h"
#include "ui/append_only_table_model.h"

namespace migrascope::ui {

class DeviceTransitionModel : public AppendOnlyTableModel<DeviceTransition> {
    Q_OBJECT

public:
    enum Column { Time, Side, Device, From, To, Result, Error, ColumnCount };

    using AppendOnlyTableModel::AppendOnlyTableModel;

protected:
    int columns() const override { return ColumnCount; }
    QString header(int column) const override;
    QVariant cell(const DeviceTransition& transition, int column, int role) const override;
    bool isNumeric(int column) const override { return column == Time; }
};

} // namespace migrascope::ui
