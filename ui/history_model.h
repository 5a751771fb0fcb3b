// Every recorded run, newest first, read from the history database on the GUI thread. It only
// supplies cells; sorting and filtering are HistoryFilterModel's.
#pragma once

#include "engine/api/history_store.h"

#include <QAbstractTableModel>
#include <QStringList>
#include <memory>
#include <string>
#include <vector>

namespace migrascope::ui {

// What the history's configuration text says of a run, for columns and filters.
struct RunTraits {
    QStringList faults;    // each --inject, as given
    QStringList devices;   // each --device, as given
    bool postcopy = false; // postcopy-ram was on, or the run reached postcopy
};
RunTraits runTraits(const RunRecord& run);
// How long a recorded run's timeline is: its total time, or its last event or sample if later
// (events and samples count from the run's start, boot included).
double recordedLengthMs(const RunRecord& run, const std::vector<Event>& events,
                        const std::vector<ChannelSample>& samples);
// "completed with warnings" for a completed run that has any; QEMU's word otherwise.
QString runResultText(const RunRecord& run);

class HistoryModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        Run,
        Started,
        Result,
        Diagnosis, // what happened, first cause first (empty for a clean completion)
        Role,
        Ram,
        Channels,
        Tls,
        Transferred,
        TotalTime,
        Downtime,
        Integrity,
        Faults,
        Devices,
        Postcopy,
        ColumnCount
    };
    // The run's history id (qint64), for views that open one run.
    static constexpr int RunIdRole = Qt::UserRole + 1;
    // The cell's value to sort by: numbers as numbers, times as text that sorts, and results
    // in the order a support engineer reads them (failures first).
    static constexpr int SortRole = Qt::UserRole + 2;

    explicit HistoryModel(std::string path, QObject* parent = nullptr);
    ~HistoryModel() override;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Reads every run again, opening the file read-only: looking at history never changes it,
    // and a run being recorded meanwhile is not disturbed. A file that does not exist yet is an
    // empty history. Returns false and keeps the rows it had when the file cannot be read.
    bool reload();
    const RunRecord& runAt(int row) const { return runs_.at(static_cast<std::size_t>(row)); }
    const RunTraits& traitsAt(int row) const { return traits_.at(static_cast<std::size_t>(row)); }
    // The row of run `id`, or -1.
    int rowOfRun(std::int64_t id) const;
    const std::string& path() const { return path_; }
    // Why the last reload failed; empty after a successful one.
    QString lastError() const { return lastError_; }
    // The runs whose events contain `text`; empty when the file cannot be read.
    std::vector<std::int64_t> runsWhoseEventsMention(const QString& text);

signals:
    void reloadFailed(const QString& error);

private:
    bool openStore();

    std::string path_;
    std::unique_ptr<HistoryStore> store_;
    std::vector<RunRecord> runs_;
    std::vector<RunTraits> traits_; // parsed once per reload, not on every paint or sort
    QString lastError_;
};

} // namespace migrascope::ui
