// The History tab: every recorded run, sorted and filtered as a support engineer needs, with
// the selected run's record below. Reads the file only; never writes it.
#pragma once

#include "ui/history_filter_model.h"

#include <QWidget>
#include <cstdint>
#include <string>

class QComboBox;
class QDateEdit;
class QLabel;
class QLineEdit;
class QTableView;
class QTimer;

namespace migrascope::ui {

class HistoryModel;
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
    std::int64_t selectedRunId() const; // 0 = none

    // The filter bar's controls, for tests and keyboard users alike.
    QLineEdit* searchField() const { return search_; }
    QComboBox* resultBox() const { return result_; }

signals:
    void statusMessage(const QString& message);

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
