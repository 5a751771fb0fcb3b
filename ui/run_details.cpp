#include "ui/run_details.h"

#include "engine/api/history_store.h"
#include "ui/device_transition_model.h"
#include "ui/display_format.h"
#include "ui/event_log_model.h"
#include "ui/return_path_model.h"
#include "ui/table_view.h"

#include <QLabel>
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
    tabs_ = new QTabWidget(this);
    tabs_->addTab(makeTableView(events_, "runEvents", tabs_, true), tr("Events"));
    tabs_->addTab(makeTableView(returnPath_, "runReturnPath", tabs_, true), tr("Return path"));
    tabs_->addTab(makeTableView(transitions_, "runTransitions", tabs_, true),
                  tr("Device transitions"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(summary_);
    layout->addWidget(tabs_, 1);
}

void RunDetails::clear() {
    events_->clear();
    returnPath_->clear();
    transitions_->clear();
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
        QString text =
            tr("Run %1 · %2 · started %3")
                .arg(runId)
                .arg(QString::fromLatin1(toString(run->status)), localTimeText(run->startedAt));
        if (!run->errorDesc.empty())
            text += tr("\nCause: %1").arg(QString::fromStdString(run->errorDesc));
        summary_->setText(text);
        events_->append(store.events(runId));
        returnPath_->append(store.returnPath(runId));
        transitions_->append(store.transitions(runId));
    } catch (const std::exception& error) {
        summary_->setText(
            tr("Run %1 cannot be read: %2").arg(runId).arg(QString::fromStdString(error.what())));
    }
}

} // namespace migrascope::ui
