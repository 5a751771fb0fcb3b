#include "ui/history_filter_model.h"

#include "ui/history_model.h"

#include <QDateTime>

namespace migrascope::ui {
namespace {

bool resultMatches(HistoryFilter::Result wanted, const RunRecord& run) {
    const bool warned = run.status == RunStatus::Completed && !run.warnings.empty();
    switch (wanted) {
    case HistoryFilter::Result::Any:
        return true;
    case HistoryFilter::Result::Trouble:
        return run.status == RunStatus::Failed || run.status == RunStatus::Interrupted || warned;
    case HistoryFilter::Result::Failed:
        return run.status == RunStatus::Failed;
    case HistoryFilter::Result::Interrupted:
        return run.status == RunStatus::Interrupted;
    case HistoryFilter::Result::Cancelled:
        return run.status == RunStatus::Cancelled;
    case HistoryFilter::Result::CompletedWithWarnings:
        return warned;
    case HistoryFilter::Result::Completed:
        return run.status == RunStatus::Completed && !warned;
    case HistoryFilter::Result::Active:
        return run.status == RunStatus::Active;
    }
    return true;
}

bool tristateMatches(HistoryFilter::Tristate wanted, bool value) {
    return wanted == HistoryFilter::Tristate::Any ||
           (wanted == HistoryFilter::Tristate::Yes) == value;
}

bool contains(const std::string& haystack, const QString& needle) {
    return QString::fromStdString(haystack).contains(needle, Qt::CaseInsensitive);
}

} // namespace

HistoryFilterModel::HistoryFilterModel(QObject* parent) : QSortFilterProxyModel(parent) {
    setSortRole(HistoryModel::SortRole);
    setDynamicSortFilter(true);
}

void HistoryFilterModel::setFilter(HistoryFilter filter) {
    if (filter == filter_)
        return;
    filter_ = std::move(filter);
    invalidateRowsFilter();
}

bool HistoryFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex&) const {
    const auto* history = static_cast<const HistoryModel*>(sourceModel());
    const RunRecord& run = history->runAt(sourceRow);
    const RunTraits& traits = history->traitsAt(sourceRow);
    if (!resultMatches(filter_.result, run))
        return false;
    if (filter_.role && *filter_.role != run.role)
        return false;
    if (filter_.since.isValid() || filter_.until.isValid()) {
        const QDate day =
            QDateTime::fromString(QString::fromStdString(run.startedAt), Qt::ISODateWithMs)
                .toLocalTime()
                .date();
        if ((filter_.since.isValid() && day < filter_.since) ||
            (filter_.until.isValid() && day > filter_.until))
            return false;
    }
    if (!tristateMatches(filter_.tls, run.tls) ||
        !tristateMatches(filter_.faults, !traits.faults.isEmpty()) ||
        !tristateMatches(filter_.devices, !traits.devices.isEmpty()) ||
        !tristateMatches(filter_.postcopy, traits.postcopy))
        return false;
    if (filter_.text.isEmpty())
        return true;
    if (filter_.eventMatches.count(run.id) != 0)
        return true;
    if (QString::number(run.id) == filter_.text)
        return true;
    for (const std::string& warning : run.warnings)
        if (contains(warning, filter_.text))
            return true;
    return contains(run.errorDesc, filter_.text) || contains(run.diagnosis, filter_.text) ||
           contains(run.config, filter_.text) || contains(run.peer, filter_.text) ||
           contains(run.uuid, filter_.text);
}

bool HistoryFilterModel::lessThan(const QModelIndex& left, const QModelIndex& right) const {
    const QVariant a = left.data(sortRole());
    const QVariant b = right.data(sortRole());
    const QPartialOrdering order = QVariant::compare(a, b);
    if (order == QPartialOrdering::Less)
        return true;
    if (order == QPartialOrdering::Greater)
        return false;
    const qint64 leftId = left.data(HistoryModel::RunIdRole).toLongLong();
    const qint64 rightId = right.data(HistoryModel::RunIdRole).toLongLong();
    // Qt reverses the comparison for a descending sort; undo that for the tie-break.
    return sortOrder() == Qt::AscendingOrder ? leftId > rightId : leftId < rightId;
}

} // namespace migrascope::ui
