// Two recorded runs side by side: their figures with the difference, the configuration lines
// that differ, and both runs' total throughput on one plot.
#pragma once

#include <QDialog>
#include <cstdint>
#include <string>

class QTableWidget;

namespace migrascope::ui {

class ThroughputPlot;

class RunComparison : public QDialog {
    Q_OBJECT

public:
    // Reads both runs from the history at `historyPath`; a failure is shown in the dialog.
    RunComparison(const std::string& historyPath, std::int64_t first, std::int64_t second,
                  QWidget* parent = nullptr);

    QTableWidget* figures() const { return figures_; }
    QTableWidget* configuration() const { return configuration_; }
    ThroughputPlot* plot() const { return plot_; }

private:
    QTableWidget* figures_;
    QTableWidget* configuration_;
    ThroughputPlot* plot_;
};

} // namespace migrascope::ui
