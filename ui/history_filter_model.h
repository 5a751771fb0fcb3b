// The history browser's sorting and filtering, over HistoryModel's cells and roles.
#pragma once

#include "engine/api/history_store.h"

#include <QDate>
#include <QSortFilterProxyModel>
#include <QString>
#include <optional>
#include <unordered_set>

namespace migrascope::ui {

struct HistoryFilter {
    enum class Result {
        Any,
        Trouble, // failed, interrupted, or completed with warnings
        Failed,
        Interrupted,
        Cancelled,
        CompletedWithWarnings,
        Completed, // without warnings
        Active,
    };
    enum class Tristate { Any, Yes, No };

    Result result = Result::Any;
    std::optional<RunRole> role;
    QDate since; // local dates, inclusive; invalid = open
    QDate until;
    // Matched, ignoring case, against the cause, warnings, configuration, peer and UUID, and
    // against the events of the runs listed in `eventMatches`.
    QString text;
    std::unordered_set<qint64> eventMatches;
    Tristate tls = Tristate::Any;
    Tristate faults = Tristate::Any;
    Tristate devices = Tristate::Any;
    Tristate postcopy = Tristate::Any;

    bool operator==(const HistoryFilter&) const = default;
};

class HistoryFilterModel : public QSortFilterProxyModel {
    Q_OBJECT

public:
    explicit HistoryFilterModel(QObject* parent = nullptr);

    void setFilter(HistoryFilter filter);
    const HistoryFilter& filter() const { return filter_; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    // Ties (runs with the same result, say) keep the newest first whichever way the column sorts.
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    HistoryFilter filter_;
};

} // namespace migrascope::ui
