// Every recorded run, newest first, read from the history database on the GUI thread.
#pragma once

#include "engine/api/history_store.h"

#include <QAbstractTableModel>
#include <memory>
#include <string>
#include <vector>

namespace migrascope::ui {

class HistoryModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        Started,
        Status,
        Ram,
        Channels,
        Tls,
        Transferred,
        TotalTime,
        Downtime,
        Postcopy,
        Error,
        ColumnCount
    };
    // The run's history id (qint64), for views that open one run.
    static constexpr int RunIdRole = Qt::UserRole + 1;

    // The database is opened on the first reload(), not here, so a broken file only costs
    // the history tab and not the window.
    explicit HistoryModel(std::string path, QObject* parent = nullptr);
    ~HistoryModel() override;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Reads the runs again. Returns false and keeps the rows it had when the file cannot be read.
    bool reload();
    const RunRecord& runAt(int row) const { return runs_.at(static_cast<std::size_t>(row)); }
    const std::string& path() const { return path_; }
    // Why the last reload failed; empty after a successful one.
    QString lastError() const { return lastError_; }

signals:
    void reloadFailed(const QString& error);

private:
    std::string path_;
    std::unique_ptr<HistoryStore> store_;
    std::vector<RunRecord> runs_;
    QString lastError_;
};

} // namespace migrascope::ui
