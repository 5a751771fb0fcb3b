#include "ui/history_model.h"

#include "ui/display_format.h"
#include "ui/theme.h"

#include <QApplication>
#include <QBrush>
#include <QColor>
#include <QFileInfo>
#include <QStyle>
#include <algorithm>
#include <stdexcept>

namespace migrascope::ui {
namespace {

// Failures first: the order a support engineer reads a list of runs in.
int resultRank(const RunRecord& run) {
    switch (run.status) {
    case RunStatus::Failed:
        return 0;
    case RunStatus::Interrupted:
        return 1;
    case RunStatus::Completed:
        return run.warnings.empty() ? 5 : 2;
    case RunStatus::Cancelled:
        return 3;
    case RunStatus::Active:
        return 4;
    }
    return 5;
}

// What the list says of a run: its diagnosis (a run recorded before diagnoses were stored:
// its cause or warnings); nothing for a clean completion.
QString diagnosisText(const RunRecord& run) {
    if (run.status == RunStatus::Completed && run.warnings.empty())
        return {};
    if (!run.diagnosis.empty())
        return QString::fromStdString(run.diagnosis);
    return run.errorDesc.empty() && !run.warnings.empty() ? warningsText(run.warnings)
                                                          : QString::fromStdString(run.errorDesc);
}

} // namespace

RunTraits runTraits(const RunRecord& run) {
    RunTraits traits;
    const QString config = QString::fromStdString(run.config);
    for (const QStringView line : QStringView(config).split(u'\n')) {
        if (line.startsWith(u"inject="))
            traits.faults << line.mid(7).toString();
        else if (line.startsWith(u"device="))
            traits.devices << line.mid(7).toString();
        else if (line == u"capability=postcopy-ram=on")
            traits.postcopy = true;
    }
    traits.postcopy = traits.postcopy || run.postcopyPageRequests > 0 || run.postcopyRecoveries > 0;
    return traits;
}

double recordedLengthMs(const RunRecord& run, const std::vector<Event>& events,
                        const std::vector<ChannelSample>& samples) {
    double length = run.totalTimeMs;
    if (!events.empty())
        length = std::max(length, events.back().timeMs);
    if (!samples.empty())
        length = std::max(length, samples.back().timeMs);
    return length;
}

QString runResultText(const RunRecord& run) {
    if (run.status == RunStatus::Completed && !run.warnings.empty())
        return HistoryModel::tr("completed with warnings");
    return QString::fromLatin1(toString(run.status));
}

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
    const RunTraits& traits = traits_[static_cast<std::size_t>(index.row())];
    const bool trouble = isTroubleStatus(run.status);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Run:
            return QVariant::fromValue<qint64>(run.id);
        case Started:
            return localTimeText(run.startedAt);
        case Result:
            return runResultText(run);
        case Diagnosis:
            return diagnosisText(run);
        case Role:
            // An imported run says where it was recorded, in every view.
            return run.origin.empty() ? QString::fromLatin1(toString(run.role))
                                      : tr("%1, imported from %2")
                                            .arg(QString::fromLatin1(toString(run.role)),
                                                 QString::fromStdString(run.origin));
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
        case Integrity:
            return QString::fromStdString(run.integrity);
        case Faults:
            return traits.faults.join(QStringLiteral(", "));
        case Devices:
            return traits.devices.join(QStringLiteral("; "));
        case Postcopy:
            if (run.postcopyPageRequests == 0 && run.postcopyRecoveries == 0)
                return traits.postcopy ? tr("allowed, not used") : QString();
            return tr("%1 requests, p99 %2 ms, %3 recoveries")
                .arg(run.postcopyPageRequests)
                .arg(run.postcopyLatencyP99Ms, 0, 'f', 1)
                .arg(run.postcopyRecoveries);
        }
        break;
    case SortRole:
        switch (index.column()) {
        case Run:
            return QVariant::fromValue<qint64>(run.id);
        case Started:
            return QString::fromStdString(run.startedAt); // ISO 8601 UTC sorts as text
        case Result:
            return resultRank(run);
        case Ram:
            return QVariant::fromValue<qulonglong>(run.ramTotal);
        case Channels:
            return run.multifdChannels;
        case Transferred:
            return QVariant::fromValue<qulonglong>(run.transferred);
        case TotalTime:
            return run.totalTimeMs;
        case Downtime:
            return run.status == RunStatus::Completed ? run.downtimeMs : -1.0;
        case Postcopy:
            return QVariant::fromValue<qulonglong>(run.postcopyPageRequests);
        default:
            return data(index, Qt::DisplayRole).toString().toLower();
        }
    case Qt::ToolTipRole:
        if (index.column() == Diagnosis && !diagnosisText(run).isEmpty())
            return run.errorDesc.empty()
                       ? diagnosisText(run)
                       : tr("%1\n\nRecorded cause: %2")
                             .arg(diagnosisText(run), QString::fromStdString(run.errorDesc));
        if (index.column() == Result && !run.warnings.empty())
            return warningsText(run.warnings);
        return QString::fromStdString(run.config); // the full configuration of the run
    case Qt::DecorationRole:
        if (index.column() != Result)
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
        case Run:
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
    case Run:
        return tr("Run");
    case Started:
        return tr("Started");
    case Result:
        return tr("Result");
    case Diagnosis:
        return tr("Diagnosis");
    case Role:
        return tr("Role");
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
    case Integrity:
        return tr("Integrity");
    case Faults:
        return tr("Faults injected");
    case Devices:
        return tr("Devices");
    case Postcopy:
        return tr("Postcopy");
    }
    return {};
}

bool HistoryModel::openStore() {
    if (store_)
        return true;
    if (!QFileInfo::exists(QString::fromStdString(path_)))
        return false; // nothing recorded yet
    store_ = std::make_unique<HistoryStore>(path_, HistoryStore::Access::ReadOnly);
    return true;
}

bool HistoryModel::reload() {
    std::vector<RunRecord> runs;
    try {
        if (openStore())
            runs = store_->listRuns(-1);
    } catch (const std::exception& error) {
        store_.reset(); // the next reload opens the file afresh (it may have been replaced)
        lastError_ = QString::fromStdString(error.what());
        emit reloadFailed(lastError_);
        return false;
    }
    std::vector<RunTraits> traits;
    traits.reserve(runs.size());
    for (const RunRecord& run : runs)
        traits.push_back(runTraits(run));
    lastError_.clear();
    beginResetModel();
    runs_ = std::move(runs);
    traits_ = std::move(traits);
    endResetModel();
    return true;
}

int HistoryModel::rowOfRun(std::int64_t id) const {
    for (std::size_t row = 0; row < runs_.size(); ++row)
        if (runs_[row].id == id)
            return static_cast<int>(row);
    return -1;
}

std::vector<std::int64_t> HistoryModel::runsWhoseEventsMention(const QString& text) {
    try {
        if (openStore())
            return store_->runsWhoseEventsMention(text.toStdString());
    } catch (const std::exception& error) {
        lastError_ = QString::fromStdString(error.what());
    }
    return {};
}

} // namespace migrascope::ui
