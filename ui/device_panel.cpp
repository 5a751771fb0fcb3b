#include "ui/device_panel.h"

#include "ui/device_state_diagram.h"
#include "ui/device_transition_model.h"
#include "ui/table_view.h"
#include "vfio/emulated_device.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace migrascope::ui {
namespace {

std::uint64_t flagsOf(const std::string& kind) {
    const auto known = vfio::deviceKindFromString(kind);
    return known ? vfio::migrationFlagsFor(*known) : vfio::kMigrationStopCopy;
}

} // namespace

DevicePanel::DevicePanel(QWidget* parent) : QWidget(parent) {
    model_ = new DeviceTransitionModel(this);
    empty_ =
        new QLabel(tr("No VFIO devices in this run (add them under Devices in the form)."), this);
    empty_->setObjectName(QStringLiteral("noDevices"));
    auto* diagrams = new QWidget;
    diagramRow_ = new QHBoxLayout(diagrams);
    diagramRow_->setContentsMargins(0, 0, 0, 0);
    diagramRow_->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(diagrams);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    // On a small screen the diagrams scroll rather than push the window past the screen.
    scroll->setMinimumHeight(60);

    table_ = makeTableView(model_, "deviceTransitions", this, true);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(scroll);
    split->addWidget(table_);
    split->setChildrenCollapsible(false);
    split->setStretchFactor(1, 1);
    split->setSizes({210, 100});

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(empty_);
    layout->addWidget(split, 1);
}

void DevicePanel::reset() {
    model_->clear();
    for (DeviceStateDiagram* diagram : diagrams_)
        delete diagram;
    diagrams_.clear();
    empty_->show();
}

void DevicePanel::showSnapshot(const TelemetrySnapshot& snapshot) {
    empty_->setVisible(snapshot.devices.empty());
    while (diagrams_.size() < snapshot.devices.size()) {
        auto* diagram = new DeviceStateDiagram;
        diagram->setObjectName(QStringLiteral("deviceDiagram%1").arg(diagrams_.size()));
        diagramRow_->insertWidget(static_cast<int>(diagrams_.size()), diagram);
        diagrams_.push_back(diagram);
    }
    for (std::size_t i = 0; i < snapshot.devices.size(); ++i) {
        const DeviceSnapshot& device = snapshot.devices[i];
        const QString title =
            tr("%1 (%2, %3 MiB of state)")
                .arg(QString::fromStdString(device.name), QString::fromStdString(device.kind))
                .arg(device.stateSize >> 20);
        diagrams_[i]->setDevice(title, flagsOf(device.kind), device.sourceState,
                                device.destinationState, device.lastArc, device.failedArc);
    }
    model_->appendBeyondShown(snapshot.transitions);
}

} // namespace migrascope::ui
