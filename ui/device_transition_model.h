// Every device transition of the run, both sides, in order: time, side, device, arc, result.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QAbstractTableModel>
#include <vector>

namespace migrascope::ui {

class DeviceTransitionModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { Time, Side, Device, From, To, Result, Error, ColumnCount };

    explicit DeviceTransitionModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // The snapshot carries every transition; only the new ones are inserted.
    void update(const std::vector<DeviceTransition>& transitions);
    void clear();

private:
    std::vector<DeviceTransition> transitions_;
};

} // namespace migrascope::ui
