// The run at a glance: status in QEMU's words, phase, error, progress and query-migrate figures.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QWidget>
#include <utility>
#include <vector>

class QGridLayout;
class QLabel;
class QProgressBar;

namespace migrascope::ui {

class RunStatusPanel : public QWidget {
    Q_OBJECT

public:
    explicit RunStatusPanel(QWidget* parent = nullptr);

    void showSnapshot(const TelemetrySnapshot& snapshot);
    // Back to the look of a fresh run: the progress bar may start again from 0.
    void reset();
    // Shown like an engine error, for problems before the engine ran (e.g. no certificates).
    void showError(const QString& text);

    QString displayedStatus() const;
    int displayedProgress() const;

protected:
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void emphasiseStatus();
    // Lays the figures out in `columns` caption/value pairs per row.
    void arrangeFigures(int columns);
    QLabel* addFigure(const QString& label, const char* objectName);

    QLabel* status_;
    QLabel* phase_;
    QLabel* error_;
    QProgressBar* progress_;
    QLabel* iteration_;
    QLabel* dirtyRate_;
    QLabel* remaining_;
    QLabel* transferred_;
    QLabel* throughput_;
    QLabel* downtime_;
    QLabel* integrity_;
    QLabel* guest_;
    QGridLayout* figures_;
    std::vector<std::pair<QLabel*, QLabel*>> figureLabels_; // caption, value; in reading order
    int figureColumns_ = 4;
};

} // namespace migrascope::ui
