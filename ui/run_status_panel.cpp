#include "ui/run_status_panel.h"

#include "ui/display_format.h"
#include "ui/glossary.h"
#include "ui/theme.h"

#include <QEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QVBoxLayout>
#include <algorithm>

namespace migrascope::ui {

namespace {
// Below this the figures take two caption/value pairs a row instead of four.
constexpr int kFourColumnsWidth = 900;
} // namespace
RunStatusPanel::RunStatusPanel(QWidget* parent) : QWidget(parent) {
    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("statusValue"));
    emphasiseStatus();
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    phase_ = new QLabel(this);
    phase_->setObjectName(QStringLiteral("phaseValue"));
    phase_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_ = new QLabel(this);
    error_->setObjectName(QStringLiteral("errorValue"));
    error_->setWordWrap(true);
    error_->setStyleSheet(theme::textStyle(theme::failure(), true));
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->hide();

    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("progressBar"));
    progress_->setRange(0, 100);
    progress_->setValue(0);
    progress_->setMinimumWidth(200);

    auto* statusRow = new QHBoxLayout;
    auto* statusCaption = new QLabel(tr("Status:"), this);
    statusRow->addWidget(statusCaption);
    statusRow->addWidget(status_);
    statusRow->addSpacing(16);
    statusRow->addWidget(phase_, 1);
    statusRow->addWidget(progress_, 1);

    // Progress alone can mislead (remaining can grow); the figures beside it say whether the
    // migration converges: iterations keep coming while the dirty rate stays above the rate sent.
    auto* figures = new QGridLayout;
    figures_ = figures;
    figures->setHorizontalSpacing(12);
    iteration_ = addFigure(tr("Dirty syncs:"), "iterationValue");
    iteration_->setToolTip(tr("QEMU's dirty-sync-count: how many times the dirty bitmap was "
                              "synchronised; the phase \"dirty sync N\" and the log use the "
                              "same count"));
    dirtyRate_ = addFigure(tr("Dirty pages rate:"), "dirtyPagesRateValue");
    remaining_ = addFigure(tr("Remaining:"), "remainingValue");
    integrity_ = addFigure(tr("Integrity:"), "integrityValue");
    transferred_ = addFigure(tr("Transferred:"), "transferredValue");
    throughput_ = addFigure(tr("Throughput:"), "mbpsValue");
    throughput_->setToolTip(tr("QEMU's mbps (megabits per second: over the last window while "
                               "migrating, the average after completion), in bytes per second"));
    downtime_ = addFigure(tr("Downtime:"), "downtimeValue");
    guest_ = addFigure(tr("Source guest:"), "sourceGuestValue");
    arrangeFigures(figureColumns_);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(statusRow);
    layout->addWidget(error_);
    layout->addLayout(figures);
    reset();
}

QLabel* RunStatusPanel::addFigure(const QString& label, const char* objectName) {
    auto* caption = new QLabel(label, this);
    caption->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    auto* value = new QLabel(this);
    value->setObjectName(QLatin1String(objectName));
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // A long value ("453 ms (expected 239 ms, limit 300 ms)") wraps instead of widening the
    // window past a small screen.
    value->setWordWrap(true);
    figureLabels_.emplace_back(caption, value);
    return value;
}

void RunStatusPanel::arrangeFigures(int columns) {
    for (const auto& [caption, value] : figureLabels_) {
        figures_->removeWidget(caption);
        figures_->removeWidget(value);
    }
    for (int column = 0; column < 8; ++column)
        figures_->setColumnStretch(column, 0);
    for (std::size_t i = 0; i < figureLabels_.size(); ++i) {
        const int row = static_cast<int>(i) / columns;
        const int column = static_cast<int>(i) % columns;
        figures_->addWidget(figureLabels_[i].first, row, column * 2);
        figures_->addWidget(figureLabels_[i].second, row, column * 2 + 1);
    }
    for (int column = 0; column < columns; ++column)
        figures_->setColumnStretch(column * 2 + 1, 1);
    figureColumns_ = columns;
}

void RunStatusPanel::emphasiseStatus() {
    QFont bold = font();
    bold.setBold(true);
    bold.setPointSizeF(bold.pointSizeF() * 1.3);
    status_->setFont(bold);
}

void RunStatusPanel::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    // The status word has a font of its own, which a larger application font (presentation
    // mode) would not reach.
    if (event->type() == QEvent::FontChange)
        emphasiseStatus();
}

void RunStatusPanel::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    // Four pairs a row where there is room, two on a small screen.
    const int columns = width() >= kFourColumnsWidth ? 4 : 2;
    if (columns != figureColumns_)
        arrangeFigures(columns);
}

void RunStatusPanel::reset() {
    status_->setText(statusText(MigrationStatus::None));
    status_->setStyleSheet(QString());
    phase_->setText(tr("no migration yet"));
    error_->clear();
    error_->hide();
    progress_->setValue(0);
    progress_->setFormat(QStringLiteral("%p%"));
    for (QLabel* value : {iteration_, dirtyRate_, remaining_, transferred_, throughput_, downtime_,
                          integrity_, guest_})
        value->setText(QStringLiteral("–"));
}

void RunStatusPanel::showError(const QString& text) {
    status_->setText(statusText(MigrationStatus::Failed));
    status_->setStyleSheet(theme::textStyle(theme::failure()));
    error_->setText(text);
    error_->show();
}

void RunStatusPanel::showSnapshot(const TelemetrySnapshot& snapshot) {
    const MigrationStats& stats = snapshot.stats;
    const bool withWarnings =
        snapshot.status == MigrationStatus::Completed && !snapshot.warnings.empty();
    status_->setText(resultText(snapshot.status, withWarnings));
    status_->setToolTip(explain(status_->text()));
    const auto colour = withWarnings ? std::optional<QColor>(theme::attention())
                                     : theme::forStatus(snapshot.status);
    theme::applyStyleSheet(status_, colour ? theme::textStyle(*colour) : QString());
    // A finished run keeps the phase it ended in: the status word already says "completed",
    // but "failed" is more useful with where it failed.
    const QString phase = QString::fromStdString(snapshot.phase);
    if (!snapshot.heldAt.empty() && !isFinal(snapshot.status))
        phase_->setText(
            tr("held at %1: Continue (F8) goes on").arg(QString::fromStdString(snapshot.heldAt)));
    else if (!isFinal(snapshot.status) && snapshot.slowMotion > 1)
        phase_->setText(tr("%1 (slow motion 1/%2)").arg(phase).arg(snapshot.slowMotion));
    else if (!isFinal(snapshot.status))
        phase_->setText(phase);
    else if (phase.isEmpty() || phase == statusText(snapshot.status))
        phase_->clear();
    else
        phase_->setText(tr("ended during: %1").arg(phase));
    if (withWarnings) {
        // The same line a failure's cause uses, in the colour of attention, not failure.
        error_->setText(warningsText(snapshot.warnings));
        theme::applyStyleSheet(error_, theme::textStyle(theme::attention(), true));
        error_->show();
    } else if (snapshot.errorDesc.empty()) {
        error_->hide();
    } else {
        error_->setText(QString::fromStdString(snapshot.errorDesc));
        theme::applyStyleSheet(error_, theme::textStyle(theme::failure(), true));
        error_->show();
    }

    // The engine already never lowers progress; keeping the larger value here as well means
    // the bar cannot run backwards even if a snapshot from before a reset arrives late.
    // A run that ended short of its goal moved nothing: what the destination had is
    // discarded, so neither a nearly full bar nor what was left to send means anything then
    // (QEMU's query-migrate drops its RAM figures once a migration failed).
    const bool endedShort =
        snapshot.status == MigrationStatus::Failed || snapshot.status == MigrationStatus::Cancelled;
    if (endedShort) {
        progress_->setValue(0);
        progress_->setFormat(statusText(snapshot.status));
        progress_->setToolTip(tr("The migration did not complete: what was sent is discarded."));
        remaining_->setText(tr("–"));
        remaining_->setToolTip(tr("Nothing remains to send: the migration ended."));
    } else {
        const int percent = std::clamp(static_cast<int>(snapshot.progress * 100), 0, 100);
        progress_->setValue(std::max(progress_->value(), percent));
        progress_->setFormat(QStringLiteral("%p%"));
        progress_->setToolTip(QString());
        remaining_->setText(bytesText(static_cast<double>(stats.remaining)));
        remaining_->setToolTip(QString());
    }

    iteration_->setText(QString::number(stats.dirtySyncCount));
    dirtyRate_->setText(tr("%1 pages/s").arg(qRound64(stats.dirtyPagesRate)));
    const QString transferred = bytesText(static_cast<double>(stats.transferred));
    // The RAM size is known only once the source has started migrating. Not "x of y": pages
    // dirtied again are sent again, so what is sent passes the RAM's size.
    // The guest's RAM as configured, and what else QEMU migrates (video RAM) apart from it.
    // Short enough for two lines in a 1400 px window; the tooltip says it in full.
    if (stats.total == 0) {
        transferred_->setText(transferred);
        transferred_->setToolTip(QString());
    } else if (stats.guestRam == 0 || stats.guestRam >= stats.total) {
        transferred_->setText(
            tr("%1 (RAM %2)").arg(transferred, bytesText(static_cast<double>(stats.total))));
        transferred_->setToolTip(
            tr("%1 sent; the guest has %2 of RAM. Pages the guest dirties "
               "again are sent again, so what is sent can pass it.")
                .arg(transferred, bytesText(static_cast<double>(stats.total))));
    } else {
        const QString ram = bytesText(static_cast<double>(stats.guestRam));
        const QString video = bytesText(static_cast<double>(stats.total - stats.guestRam));
        transferred_->setText(tr("%1 (RAM %2 + %3 video)").arg(transferred, ram, video));
        transferred_->setToolTip(
            tr("%1 sent; the guest has %2 of RAM as configured, and QEMU also migrates %3 of "
               "video RAM. Pages the guest dirties again are sent again, so what is sent can "
               "pass their sum.")
                .arg(transferred, ram, video));
    }
    if (stats.precopyBytes && stats.downtimeBytes && stats.postcopyBytes) {
        // A watched QEMU says how much went in each phase: a second line under the total.
        const auto bytes = [](std::uint64_t value) {
            return bytesText(static_cast<double>(value));
        };
        transferred_->setText(transferred_->text() + "\n" +
                              tr("precopy %1 · downtime %2 · postcopy %3")
                                  .arg(bytes(*stats.precopyBytes), bytes(*stats.downtimeBytes),
                                       bytes(*stats.postcopyBytes)));
        transferred_->setToolTip(transferred_->toolTip() +
                                 tr(" QEMU's precopy-bytes, downtime-bytes and postcopy-bytes: "
                                    "what it sent before the guest stopped, while it was "
                                    "stopped, and after the destination's guest started."));
    }
    // One unit per quantity on screen: rates are bytes per second, as the plot and the
    // channel table show them; QEMU's mbps (megabits) stays in the JSON.
    throughput_->setText(rateText(stats.mbps * 1e6 / 8));
    // The limit beside both figures; over it in the attention colour, with the reason.
    const bool over = stats.downtimeLimitMs > 0 &&
                      (stats.downtimeMs > 0 ? stats.downtimeMs : stats.expectedDowntimeMs) >
                          static_cast<double>(stats.downtimeLimitMs);
    const QString limit = durationText(static_cast<double>(stats.downtimeLimitMs));
    if (stats.downtimeMs > 0)
        downtime_->setText(tr("%1 (expected %2, limit %3)")
                               .arg(durationText(stats.downtimeMs),
                                    durationText(stats.expectedDowntimeMs), limit));
    else
        downtime_->setText(
            tr("expected %1 (limit %2)").arg(durationText(stats.expectedDowntimeMs), limit));
    theme::applyStyleSheet(downtime_,
                           over ? theme::textStyle(theme::attention(), true) : QString());
    downtime_->setToolTip(QString::fromStdString(snapshot.convergence));
    integrity_->setText(QString::fromStdString(snapshot.integrity));
    // auto-converge's throttle belongs to the source guest's vCPUs.
    const QString guest = QString::fromLatin1(toString(snapshot.sourceGuest));
    guest_->setToolTip(explain(guest));
    guest_->setText(stats.cpuThrottlePercentage > 0 && snapshot.sourceGuest == GuestState::Running
                        ? tr("%1, CPU throttled %2 %").arg(guest).arg(stats.cpuThrottlePercentage)
                        : guest);
}

QString RunStatusPanel::displayedStatus() const {
    return status_->text();
}

int RunStatusPanel::displayedProgress() const {
    return progress_->value();
}

} // namespace migrascope::ui
