#include "ui/postcopy_panel.h"

#include "ui/display_format.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>

namespace migrascope::ui {
namespace {

QPushButton* makeButton(const QString& text, const char* objectName, const QString& tip,
                        QWidget* parent) {
    auto* button = new QPushButton(text, parent);
    button->setObjectName(QLatin1String(objectName));
    button->setToolTip(tip);
    button->setEnabled(false);
    return button;
}

} // namespace

PostcopyPanel::PostcopyPanel(QWidget* parent) : QWidget(parent) {
    destinationState_ = new QLabel(this);
    destinationState_->setObjectName(QStringLiteral("destinationState"));
    requests_ = new QLabel(this);
    requests_->setObjectName(QStringLiteral("pageRequests"));
    recoveries_ = new QLabel(this);
    recoveries_->setObjectName(QStringLiteral("recoveries"));

    startPostcopy_ = makeButton(tr("Switch to postcopy"), "startPostcopyButton",
                                tr("migrate-start-postcopy: the destination guest starts now; "
                                   "pages it lacks are requested from the source"),
                                this);
    pause_ = makeButton(tr("Pause"), "pauseButton",
                        tr("migrate-pause: break the connection; both sides pause"), this);
    recover_ = makeButton(tr("Recover"), "recoverButton",
                          tr("migrate-recover: the destination accepts the source's resume"), this);
    resume_ = makeButton(tr("Resume"), "resumeButton",
                         tr("migrate resume=true: the source reconnects, asks for the "
                            "received-pages bitmaps and resends what is missing"),
                         this);
    cutNetwork_ = makeButton(tr("Cut network"), "cutNetworkButton",
                             tr("Trainer's fault: the network under the main channel fails"), this);
    connect(startPostcopy_, &QPushButton::clicked, this, &PostcopyPanel::startPostcopyRequested);
    connect(pause_, &QPushButton::clicked, this, &PostcopyPanel::pauseRequested);
    connect(recover_, &QPushButton::clicked, this, &PostcopyPanel::recoverRequested);
    connect(resume_, &QPushButton::clicked, this, &PostcopyPanel::resumeRequested);
    connect(cutNetwork_, &QPushButton::clicked, this, &PostcopyPanel::cutNetworkRequested);

    auto* buttons = new QHBoxLayout;
    for (QPushButton* button : {startPostcopy_, pause_, recover_, resume_, cutNetwork_})
        buttons->addWidget(button);
    buttons->addStretch(1);
    auto* figures = new QHBoxLayout;
    figures->addWidget(destinationState_);
    figures->addSpacing(24);
    figures->addWidget(requests_);
    figures->addSpacing(24);
    figures->addWidget(recoveries_);
    figures->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(figures);
    layout->addLayout(buttons);
    reset();
}

void PostcopyPanel::reset() {
    destinationState_->setText(tr("Destination: —"));
    requests_->setText(tr("Page requests: —"));
    recoveries_->setText(tr("Recoveries: —"));
    for (QPushButton* button : {startPostcopy_, pause_, recover_, resume_, cutNetwork_})
        button->setEnabled(false);
}

void PostcopyPanel::showSnapshot(const TelemetrySnapshot& snapshot, bool postcopyAllowed) {
    destinationState_->setText(tr("Destination: %1").arg(statusText(snapshot.destinationStatus)));
    const PostcopyStats& postcopy = snapshot.postcopy;
    if (postcopy.pageRequests == 0)
        requests_->setText(tr("Page requests: none"));
    else
        requests_->setText(tr("Page requests: %1 · latency median %2 ms · p99 %3 ms")
                               .arg(postcopy.pageRequests)
                               .arg(postcopy.latencyMedianMs, 0, 'f', 2)
                               .arg(postcopy.latencyP99Ms, 0, 'f', 2));
    if (postcopy.pauses == 0)
        recoveries_->setText(tr("Recoveries: none"));
    else
        recoveries_->setText(
            tr("Pauses %1 · recoveries %2 · last took %3")
                .arg(postcopy.pauses)
                .arg(postcopy.recoveries)
                .arg(postcopy.recoveries > 0 ? durationText(postcopy.lastRecoveryMs) : tr("—")));
    const MigrationStatus source = snapshot.status;
    const bool alive =
        source == MigrationStatus::PostcopyActive || source == MigrationStatus::PostcopyRecover;
    startPostcopy_->setEnabled(
        postcopyAllowed && (source == MigrationStatus::Setup || source == MigrationStatus::Active));
    pause_->setEnabled(alive);
    cutNetwork_->setEnabled(source == MigrationStatus::PostcopyActive);
    recover_->setEnabled(snapshot.destinationStatus == MigrationStatus::PostcopyPaused);
    resume_->setEnabled(source == MigrationStatus::PostcopyPaused);
}

} // namespace migrascope::ui
