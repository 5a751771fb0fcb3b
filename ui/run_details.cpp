#include "ui/run_details.h"

#include "engine/api/history_store.h"
#include "ui/channel_table_model.h"
#include "ui/device_transition_model.h"
#include "ui/display_format.h"
#include "ui/event_log_model.h"
#include "ui/history_model.h"
#include "ui/return_path_model.h"
#include "ui/table_view.h"
#include "ui/throughput_plot.h"

#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace migrascope::ui {
RunDetails::RunDetails(QWidget* parent) : QWidget(parent) {
    summary_ = new QLabel(tr("Select a run to read what happened."), this);
    summary_->setObjectName(QStringLiteral("runSummary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    events_ = new EventLogModel(this);
    returnPath_ = new ReturnPathModel(this);
    transitions_ = new DeviceTransitionModel(this);
    channels_ = new ChannelTableModel(this);
    tabs_ = new QTabWidget(this);
    plot_ = new ThroughputPlot(tabs_);
    plot_->setObjectName(QStringLiteral("runPlot"));
    plot_->setMinimumSpan(0); // a recorded run fits its own length
    configuration_ = new QPlainTextEdit(tabs_);
    configuration_->setObjectName(QStringLiteral("runConfiguration"));
    configuration_->setReadOnly(true);
    configuration_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    tabs_->addTab(makeTableView(events_, "runEvents", tabs_, true), tr("Events"));
    tabs_->addTab(plot_, tr("Throughput"));
    tabs_->addTab(makeTableView(channels_, "runChannels", tabs_), tr("Channels"));
    tabs_->addTab(makeTableView(returnPath_, "runReturnPath", tabs_, true), tr("Return path"));
    tabs_->addTab(makeTableView(transitions_, "runTransitions", tabs_, true),
                  tr("Device transitions"));
    tabs_->addTab(configuration_, tr("Configuration"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(summary_);
    layout->addWidget(tabs_, 1);
}

void RunDetails::clear() {
    events_->clear();
    returnPath_->clear();
    transitions_->clear();
    channels_->clear();
    plot_->clear();
    configuration_->clear();
}

void RunDetails::showRun(const std::string& historyPath, std::int64_t runId) {
    clear();
    try {
        // A viewer: nothing in the file changes because someone looked at a run.
        const HistoryStore store(historyPath, HistoryStore::Access::ReadOnly);
        const auto run = store.run(runId);
        if (!run) {
            summary_->setText(tr("Run %1 is not in the history.").arg(runId));
            return;
        }
        QString text = tr("Run %1 · %2 · started %3 · %4 · %5 sent in %6")
                           .arg(runId)
                           .arg(runResultText(*run), localTimeText(run->startedAt),
                                QString::fromLatin1(toString(run->role)),
                                bytesText(static_cast<double>(run->transferred)),
                                durationText(run->totalTimeMs));
        if (run->status == RunStatus::Completed)
            text += tr(" · downtime %1 (expected %2, limit %3)")
                        .arg(durationText(run->downtimeMs), durationText(run->expectedDowntimeMs),
                             durationText(static_cast<double>(run->downtimeLimitMs)));
        if (!run->integrity.empty())
            text += tr(" · integrity %1").arg(QString::fromStdString(run->integrity));
        const std::string diagnosis = store.diagnosis(*run);
        if (!diagnosis.empty())
            text = QString::fromStdString(diagnosis) + QLatin1Char('\n') + text;
        if (!run->errorDesc.empty())
            text += tr("\nRecorded cause: %1").arg(QString::fromStdString(run->errorDesc));
        if (!run->warnings.empty())
            text += QLatin1Char('\n') + warningsText(run->warnings);
        summary_->setText(text);
        configuration_->setPlainText(QString::fromStdString(run->config));
        channels_->updateChannels(store.channels(runId));
        plot_->appendSamples(store.samples(runId));
        events_->append(store.events(runId));
        returnPath_->append(store.returnPath(runId));
        transitions_->append(store.transitions(runId));
    } catch (const std::exception& error) {
        summary_->setText(
            tr("Run %1 cannot be read: %2").arg(runId).arg(QString::fromStdString(error.what())));
    }
}

} // namespace migrascope::ui
