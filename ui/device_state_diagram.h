// One device's uAPI v2 state machine drawn as the kernel documents it: the states its
// migration flags allow (the others dashed), the direct arcs between them, where the source
// and destination devices are now, the arc taken last, and the arc that failed (red, marked
// with the side it failed on), which after a failure is rarely the last: the source rolls back.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QString>
#include <QWidget>
#include <cstdint>
#include <optional>

namespace migrascope::ui {

class DeviceStateDiagram : public QWidget {
    Q_OBJECT

public:
    explicit DeviceStateDiagram(QWidget* parent = nullptr);

    // No destination state until the destination has the device; no arc until one was taken.
    void setDevice(const QString& title, std::uint64_t migrationFlags,
                   vfio::DeviceState sourceState, std::optional<vfio::DeviceState> destinationState,
                   std::optional<DeviceTransition> lastArc,
                   std::optional<DeviceTransition> failedArc = std::nullopt);

    vfio::DeviceState sourceState() const { return sourceState_; }
    std::optional<vfio::DeviceState> destinationState() const { return destinationState_; }
    const std::optional<DeviceTransition>& lastArc() const { return lastArc_; }
    const std::optional<DeviceTransition>& failedArc() const { return failedArc_; }
    QSize sizeHint() const override { return {430, 190}; }
    QSize minimumSizeHint() const override { return {360, 170}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QString title_;
    std::uint64_t flags_ = 0;
    vfio::DeviceState sourceState_ = vfio::DeviceState::Running;
    std::optional<vfio::DeviceState> destinationState_;
    std::optional<DeviceTransition> lastArc_;
    std::optional<DeviceTransition> failedArc_;
};

} // namespace migrascope::ui
