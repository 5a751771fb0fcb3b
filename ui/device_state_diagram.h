// One device's uAPI v2 state machine drawn as the kernel documents it: the states its
// migration flags allow, the direct arcs between them, where the source and destination
// devices are now, and the arc taken last (red when it failed).
#pragma once

#include <QString>
#include <QWidget>
#include <cstdint>

namespace migrascope::ui {

class DeviceStateDiagram : public QWidget {
    Q_OBJECT

public:
    explicit DeviceStateDiagram(QWidget* parent = nullptr);

    // States by their uAPI names ("RUNNING", "STOP_COPY", ...); empty = not known.
    void setDevice(const QString& title, std::uint64_t migrationFlags, const QString& sourceState,
                   const QString& destinationState, const QString& lastArc, bool lastArcOk);

    QString sourceState() const { return sourceState_; }
    QString destinationState() const { return destinationState_; }
    QString lastArc() const { return lastArc_; }
    QSize sizeHint() const override { return {430, 190}; }
    QSize minimumSizeHint() const override { return {360, 170}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QString title_;
    std::uint64_t flags_ = 0;
    QString sourceState_;
    QString destinationState_;
    QString lastArc_;
    bool lastArcOk_ = true;
};

} // namespace migrascope::ui
