// The devices of the run in flight: one state diagram per device (source and destination
// marked, the last arc highlighted) above the transition log of both sides.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QWidget>
#include <vector>

class QHBoxLayout;
class QLabel;
class QTableView;

namespace migrascope::ui {

class DeviceStateDiagram;
class DeviceTransitionModel;

class DevicePanel : public QWidget {
    Q_OBJECT

public:
    explicit DevicePanel(QWidget* parent = nullptr);

    void showSnapshot(const TelemetrySnapshot& snapshot);
    void reset();
    DeviceTransitionModel* transitionModel() const { return model_; }
    QTableView* transitionTable() const { return table_; }
    const std::vector<DeviceStateDiagram*>& diagrams() const { return diagrams_; }

private:
    DeviceTransitionModel* model_;
    QTableView* table_;
    QLabel* empty_;
    QHBoxLayout* diagramRow_;
    std::vector<DeviceStateDiagram*> diagrams_;
};

} // namespace migrascope::ui
