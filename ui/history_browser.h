// The History tab: every recorded run, sorted and filtered as a support engineer needs, with
// the selected run's record below. Reads the file only; never writes it.
#pragma once

#include "ui/history_filter_model.h"

#include <QWidget>
#include <cstdint>
#include <string>
#include <vector>

class QComboBox;
class QDateEdit;
class QLabel;
class QLineEdit;
class QTableView;
class QTimer;

namespace migrascope::ui {

class HistoryModel;
class RunComparison;
class RunDetails;

class HistoryBrowser : public QWidget {
    Q_OBJECT

public:
    HistoryBrowser(HistoryModel* model, QWidget* parent = nullptr);

    QTableView* view() const { return view_; }
    HistoryFilterModel* filterModel() const { return filter_; }
    RunDetails* details() const { return details_; }
    // Applies the filter bar's settings at once (typing waits for a pause first).
    void applyFilter();
    // Reads the file again, keeping the selected run selected.
    void reload();
    // Selects run `id` if the filter shows it; false otherwise.
    bool selectRun(std::int64_t id);
    std::int64_t selectedRunId() const;               // 0 = none
    std::vector<std::int64_t> selectedRunIds() const; // newest first

    // What the History menu and the context menu do; each says how it went in statusMessage
    // and returns false on a failure. Only import and delete write to the file.
    bool exportRuns(const std::vector<std::int64_t>& ids, const QString& file);
    bool saveReport(std::int64_t id, const QString& file);
    bool importRuns(const QString& file);
    bool deleteRuns(const std::vector<std::int64_t>& ids);
    // The same, asking for the file (and for a deletion's confirmation) first.
    void askToExportSelected();
    void askToSaveReport();
    void askToImport();
    void askToDeleteSelected();
    void runSelectedAgain();
    // Opens two runs side by side (the two selected ones); the dialog, or nullptr.
    RunComparison* compareRuns(std::int64_t first, std::int64_t second);
    void compareSelected();

    // The filter bar's controls, for tests and keyboard users alike.
    QLineEdit* searchField() const { return search_; }
    QComboBox* resultBox() const { return result_; }

signals:
    void statusMessage(const QString& message);
    // "Run again with these settings": the run's recorded configuration (describe()'s text).
    void runAgainRequested(const QString& configuration);

private:
    QWidget* createFilterBar();
    void showContextMenu(const QPoint& position);
    void showSelectedRun();
    void updateCount();
    void resetFilter();

    HistoryModel* model_;
    HistoryFilterModel* filter_;
    QTableView* view_;
    RunDetails* details_;
    QLineEdit* search_ = nullptr;
    QComboBox* result_ = nullptr;
    QComboBox* role_ = nullptr;
    QDateEdit* since_ = nullptr;
    QDateEdit* until_ = nullptr;
    QComboBox* tls_ = nullptr;
    QComboBox* faults_ = nullptr;
    QComboBox* devices_ = nullptr;
    QComboBox* postcopy_ = nullptr;
    QLabel* count_ = nullptr;
    QTimer* searchDelay_ = nullptr;
};

} // namespace migrascope::ui
