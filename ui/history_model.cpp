#include "ui/history_model.h"

#include "ui/display_format.h"
#include "ui/theme.h"

#include <QApplication>
#include <QBrush>
#include <QColor>
#include <QStyle>
#include <stdexcept>

namespace migrascope::ui {

HistoryModel::HistoryModel(std::string path, QObject* parent)
    : QAbstractTableModel(parent), path_(std::move(path)) {}

HistoryModel::~HistoryModel() = default;

int HistoryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}

int HistoryModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HistoryModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const RunRecord& run = runs_[static_cast<std::size_t>(index.row())];
    const bool trouble = isTroubleStatus(run.status);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Started:
            return localTimeText(run.startedAt);
        case Status:
            if (run.status == RunStatus::Completed && !run.warnings.empty())
                return tr("completed with warnings");
            return QString::fromLatin1(toString(run.status));
        case Ram:
            return bytesText(static_cast<double>(run.ramTotal));
        case Channels:
            return run.multifdChannels == 0 ? tr("main only")
                                            : tr("main + %1 multifd").arg(run.multifdChannels);
        case Tls:
            return run.tls ? tr("yes") : tr("no");
        case Transferred:
            return bytesText(static_cast<double>(run.transferred));
        case TotalTime:
            return run.endedAt.empty() ? QString() : durationText(run.totalTimeMs);
        case Downtime:
            return run.status == RunStatus::Completed ? durationText(run.downtimeMs) : QString();
        case Postcopy:
            if (run.postcopyPageRequests == 0 && run.postcopyRecoveries == 0)
                return QString();
            return tr("%1 requests, p99 %2 ms, %3 recoveries")
                .arg(run.postcopyPageRequests)
                .arg(run.postcopyLatencyP99Ms, 0, 'f', 1)
                .arg(run.postcopyRecoveries);
        case Error:
            // A completed run's warnings sit where a failed run's cause does.
            return run.errorDesc.empty() && !run.warnings.empty()
                       ? warningsText(run.warnings)
                       : QString::fromStdString(run.errorDesc);
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == Error && !run.errorDesc.empty())
            return QString::fromStdString(run.errorDesc);
        if (index.column() == Status && !run.warnings.empty())
            return warningsText(run.warnings);
        return QString::fromStdString(run.config); // the full configuration of the run
    case Qt::DecorationRole:
        if (index.column() != Status)
            break;
        if (trouble)
            return QApplication::style()->standardIcon(QStyle::SP_MessageBoxCritical);
        if (run.status == RunStatus::Cancelled || !run.warnings.empty())
            return QApplication::style()->standardIcon(QStyle::SP_MessageBoxWarning);
        if (run.status == RunStatus::Completed)
            return QApplication::style()->standardIcon(QStyle::SP_DialogApplyButton);
        break;
    case Qt::BackgroundRole:
        if (trouble)
            return QBrush(theme::troubleBackground());
        break;
    case Qt::ForegroundRole:
        // The light red background needs dark text, whatever the palette says.
        if (trouble)
            return QBrush(theme::troubleText());
        break;
    case Qt::TextAlignmentRole:
        switch (index.column()) {
        case Ram:
        case Transferred:
        case TotalTime:
        case Downtime:
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
        }
    case RunIdRole:
        return QVariant::fromValue<qint64>(run.id);
    }
    return {};
}

QVariant HistoryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Started:
        return tr("Started");
    case Status:
        return tr("Status");
    case Ram:
        return tr("RAM");
    case Channels:
        return tr("Channels");
    case Tls:
        return tr("TLS");
    case Transferred:
        return tr("Transferred");
    case TotalTime:
        return tr("Total time");
    case Downtime:
        return tr("Downtime");
    case Postcopy:
        return tr("Postcopy");
    case Error:
        return tr("Error");
    }
    return {};
}

bool HistoryModel::reload() {
    std::vector<RunRecord> runs;
    try {
        if (!store_)
            store_ = std::make_unique<HistoryStore>(path_);
        runs = store_->listRuns();
    } catch (const std::exception& error) {
        lastError_ = QString::fromStdString(error.what());
        emit reloadFailed(lastError_);
        return false;
    }
    lastError_.clear();
    beginResetModel();
    runs_ = std::move(runs);
    endResetModel();
    return true;
}

} // namespace migrascope::ui
