// The return path's log: every message the destination sent the source, in order, with the
// connection it came on (each resume is a new connection with its own return-path thread).
#pragma once

#include "engine/api/telemetry_snapshot.h"
#include "ui/append_only_table_model.h"

namespace migrascope::ui {

class ReturnPathModel : public AppendOnlyTableModel<ReturnPathRecord> {
    Q_OBJECT

public:
    enum Column { Time, Connection, Type, Message, ColumnCount };

    using AppendOnlyTableModel::AppendOnlyTableModel;

protected:
    int columns() const override { return ColumnCount; }
    QString header(int column) const override;
    QVariant cell(const ReturnPathRecord& record, int column, int role) const override;
    bool isNumeric(int column) const override { return column == Time || column == Connection; }
};

} // namespace migrascope::ui
