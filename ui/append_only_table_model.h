// A read-only table whose rows only ever grow at the end (a log): the base of the event,
// return-path and device-transition logs. A model supplies its header and its cells; rows,
// insertion and reset live here (after KDAB Hotspot's model bases).
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <QVariant>
#include <vector>

namespace migrascope::ui {

template <typename Row> class AppendOnlyTableModel : public QAbstractTableModel {
public:
    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(rows_.size());
    }
    int columnCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : columns();
    }
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override {
        if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
            return {};
        const Row& row = rows_[static_cast<std::size_t>(index.row())];
        if (role == Qt::TextAlignmentRole && isNumeric(index.column()))
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return cell(row, index.column(), role);
    }
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override {
        if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
            section >= columns())
            return {};
        return header(section);
    }

    // New rows at the end.
    void append(const std::vector<Row>& rows) { appendRange(rows.begin(), rows.end()); }
    // A log kept whole elsewhere (a snapshot carries every device transition): only the rows
    // past those already shown are added.
    void appendBeyondShown(const std::vector<Row>& all) {
        if (all.size() > rows_.size())
            appendRange(all.begin() + static_cast<std::ptrdiff_t>(rows_.size()), all.end());
    }
    void clear() {
        beginResetModel();
        rows_.clear();
        endResetModel();
    }
    const Row& rowAt(int row) const { return rows_.at(static_cast<std::size_t>(row)); }

protected:
    virtual int columns() const = 0;
    virtual QString header(int column) const = 0;
    // Any role but alignment, which isNumeric() decides.
    virtual QVariant cell(const Row& row, int column, int role) const = 0;
    virtual bool isNumeric(int column) const = 0;

private:
    template <typename Iterator> void appendRange(Iterator first, Iterator last) {
        if (first == last)
            return;
        const int start = static_cast<int>(rows_.size());
        beginInsertRows({}, start, start + static_cast<int>(last - first) - 1);
        rows_.insert(rows_.end(), first, last);
        endInsertRows();
    }

    std::vector<Row> rows_;
};

} // namespace migrascope::ui
