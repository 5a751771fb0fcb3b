#include "ui/run_details.h"

#include "engine/api/history_store.h"
#include "ui/channel_table_model.h"
#include "ui/device_panel.h"
#include "ui/device_transition_model.h"
#include "ui/display_format.h"
#include "ui/event_log_model.h"
#include "ui/history_model.h"
#include "ui/return_path_model.h"
#include "ui/table_view.h"
#include "ui/throughput_plot.h"

#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSlider>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace migrascope::ui {
RunDetails::RunDetails(QWidget* parent) : QWidget(parent) {
    summary_ = new QLabel(tr("Select a run to read what happened."), this);
    summary_->setObjectName(QStringLiteral("runSummary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    summary_->setTextFormat(Qt::RichText);
    events_ = new EventLogModel(this);
    returnPath_ = new ReturnPathModel(this);
    channels_ = new ChannelTableModel(this);
    tabs_ = new QTabWidget(this);
    plot_ = new ThroughputPlot(tabs_);
    plot_->setObjectName(QStringLiteral("runPlot"));
    plot_->setMinimumSpan(0); // a recorded run fits its own length
    configuration_ = new QPlainTextEdit(tabs_);
    configuration_->setObjectName(QStringLiteral("runConfiguration"));
    configuration_->setReadOnly(true);
    configuration_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    eventsView_ = makeTableView(events_, "runEvents", tabs_, true);
    returnPathView_ = makeTableView(returnPath_, "runReturnPath", tabs_, true);
    devices_ = new DevicePanel(tabs_);
    devices_->setObjectName(QStringLiteral("runDevices"));
    transitionsView_ = devices_->transitionTable();
    tabs_->addTab(eventsView_, tr("Events"));
    tabs_->addTab(plot_, tr("Throughput"));
    tabs_->addTab(makeTableView(channels_, "runChannels", tabs_), tr("Channels"));
    tabs_->addTab(returnPathView_, tr("Return path"));
    tabs_->addTab(devices_, tr("Devices"));
    tabs_->addTab(configuration_, tr("Configuration"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(summary_);
    layout->addWidget(createReplayBar());
    layout->addWidget(tabs_, 1);
}

DeviceTransitionModel* RunDetails::transitions() const {
    return devices_->transitionModel();
}

void RunDetails::showDevicesAt(double ms) {
    // Each device as it stood: the state its last arc up to then left it in on each side.
    TelemetrySnapshot moment;
    for (const DeviceConfig& config : deviceConfigs_) {
        DeviceSnapshot device;
        device.name = config.name;
        device.kind = config.kind;
        device.stateSize = config.stateSize;
        for (const DeviceTransition& arc : recordedTransitions_) {
            if (arc.timeMs > ms)
                break;
            if (arc.device != config.name)
                continue;
            if (arc.ok) {
                if (arc.side == Side::Source)
                    device.sourceState = arc.to;
                else
                    device.destinationState = arc.to;
            } else if (arc.side == Side::Destination && !device.destinationState) {
                device.destinationState = arc.from;
            }
            device.lastArc = arc;
            if (!arc.ok && !device.failedArc)
                device.failedArc = arc;
        }
        moment.devices.push_back(std::move(device));
    }
    moment.transitions = recordedTransitions_; // the whole log; the moment's row is selected
    devices_->showSnapshot(moment);
}

QWidget* RunDetails::createReplayBar() {
    auto* bar = new QWidget(this);
    playButton_ = new QPushButton(tr("Play"), bar);
    playButton_->setObjectName(QStringLiteral("replayPlay"));
    speed_ = new QComboBox(bar);
    speed_->addItem(tr("1×"), 1.0);
    speed_->addItem(tr("10×"), 10.0);
    speed_->addItem(tr("⅒×"), 0.1);
    timeline_ = new QSlider(Qt::Horizontal, bar);
    timeline_->setObjectName(QStringLiteral("replayTimeline"));
    timeline_->setToolTip(tr("Replay: move to any moment of the run"));
    momentLabel_ = new QLabel(bar);
    momentLabel_->setObjectName(QStringLiteral("replayMoment"));
    jumpButton_ = new QPushButton(tr("Jump to the first failure"), bar);
    playTimer_ = new QTimer(this);
    playTimer_->setInterval(50);
    connect(playTimer_, &QTimer::timeout, this, &RunDetails::advancePlayback);
    connect(timeline_, &QSlider::valueChanged, this, [this](int ms) {
        if (static_cast<int>(momentMs_) != ms)
            replayTo(ms);
    });
    connect(playButton_, &QPushButton::clicked, this,
            [this] { play(playSpeed_ > 0 ? 0 : speed_->currentData().toDouble()); });
    connect(speed_, &QComboBox::currentIndexChanged, this, [this] {
        if (playSpeed_ > 0)
            play(speed_->currentData().toDouble());
    });
    connect(jumpButton_, &QPushButton::clicked, this, &RunDetails::jumpToFirstFailure);
    auto* layout = new QHBoxLayout(bar);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(playButton_);
    layout->addWidget(speed_);
    layout->addWidget(timeline_, 1);
    layout->addWidget(momentLabel_);
    layout->addWidget(jumpButton_);
    bar->setEnabled(false);
    return bar;
}

void RunDetails::play(double speed) {
    playSpeed_ = speed;
    if (speed <= 0) {
        playTimer_->stop();
        playButton_->setText(tr("Play"));
        return;
    }
    if (momentMs_ >= lengthMs_)
        replayTo(0); // from the start again
    playButton_->setText(tr("Pause"));
    playTimer_->start();
}

void RunDetails::advancePlayback() {
    const double next = momentMs_ + playTimer_->interval() * playSpeed_;
    replayTo(std::min(next, lengthMs_));
    if (momentMs_ >= lengthMs_)
        play(0);
}

void RunDetails::jumpToFirstFailure() {
    if (firstFailureMs_)
        replayTo(*firstFailureMs_);
}

namespace {

// The row of the last record at or before `ms` (records ordered by time), selected and
// scrolled to; nothing selected when none is that early.
template <typename Record>
void selectLastBefore(QTableView* view, const std::vector<Record>& records, double ms) {
    const auto after = std::upper_bound(records.begin(), records.end(), ms,
                                        [](double t, const Record& r) { return t < r.timeMs; });
    const int row = static_cast<int>(after - records.begin()) - 1;
    if (row < 0) {
        view->clearSelection();
        return;
    }
    const QModelIndex index = view->model()->index(row, 0);
    view->setCurrentIndex(index);
    view->scrollTo(index, QAbstractItemView::PositionAtCenter);
}

} // namespace

void RunDetails::replayTo(double ms) {
    momentMs_ = std::clamp(ms, 0.0, lengthMs_);
    {
        const QSignalBlocker block(timeline_);
        timeline_->setValue(static_cast<int>(momentMs_));
    }
    momentLabel_->setText(tr("%1 of %2").arg(durationText(momentMs_), durationText(lengthMs_)));
    plot_->setCursor(momentMs_ / 1000);
    selectLastBefore(eventsView_, recordedEvents_, momentMs_);
    selectLastBefore(returnPathView_, recordedReturnPath_, momentMs_);
    showDevicesAt(momentMs_);
    selectLastBefore(transitionsView_, recordedTransitions_, momentMs_);

    // Each channel as it stood: its bytes and rate from the last sample until then, open while
    // the run went on; at the end, as it ended.
    const bool ended = momentMs_ >= lengthMs_;
    std::vector<ChannelSnapshot> channels = finalChannels_;
    std::vector<ChannelSample> rates;
    for (ChannelSnapshot& channel : channels) {
        const ChannelSample* last = nullptr;
        for (const ChannelSample& sample : recordedSamples_) {
            if (sample.timeMs > momentMs_)
                break;
            if (sample.channel == channel.id)
                last = &sample;
        }
        if (ended)
            continue;
        // Open from its "connected" event (a short run may have no sample of it yet).
        const std::string connected = "channel " + channel.id + " connected";
        const bool open =
            last ||
            std::any_of(recordedEvents_.begin(), recordedEvents_.end(), [&](const Event& event) {
                return event.timeMs <= momentMs_ && event.text.starts_with(connected);
            });
        channel.bytes = last ? last->bytes : 0;
        channel.state = open ? ChannelState::Open : ChannelState::Connecting;
        channel.termination = Termination::None;
        if (last)
            rates.push_back(*last);
    }
    channels_->updateChannels(channels);
    channels_->updateRates(rates);
}

void RunDetails::clear() {
    play(0);
    recordedEvents_.clear();
    recordedReturnPath_.clear();
    recordedTransitions_.clear();
    recordedSamples_.clear();
    finalChannels_.clear();
    lengthMs_ = momentMs_ = 0;
    firstFailureMs_.reset();
    timeline_->parentWidget()->setEnabled(false);
    plot_->setCursor(-1);
    events_->clear();
    returnPath_->clear();
    devices_->reset();
    deviceConfigs_.clear();
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
        if (!run->origin.empty())
            text += tr(" · imported from %1").arg(QString::fromStdString(run->origin));
        if (run->status == RunStatus::Completed)
            text += tr(" · downtime %1 (expected %2, limit %3)")
                        .arg(durationText(run->downtimeMs), durationText(run->expectedDowntimeMs),
                             durationText(static_cast<double>(run->downtimeLimitMs)));
        if (!run->integrity.empty())
            text += tr(" · integrity %1").arg(QString::fromStdString(run->integrity));
        const std::string diagnosis = store.diagnosis(*run);
        if (!diagnosis.empty())
            text = QString::fromStdString(diagnosis) + QLatin1Char('\n') + text;
        // The diagnosis leads, in bold; everything else is the record's plain words.
        const qsizetype firstBreak = diagnosis.empty() ? -1 : text.indexOf(QLatin1Char('\n'));
        if (!run->errorDesc.empty())
            text += tr("\nRecorded cause: %1").arg(QString::fromStdString(run->errorDesc));
        if (!run->warnings.empty())
            text += QLatin1Char('\n') + warningsText(run->warnings);
        QString html = text.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
        if (firstBreak > 0)
            html = QStringLiteral("<b>") + text.left(firstBreak).toHtmlEscaped() +
                   QStringLiteral("</b>") +
                   text.mid(firstBreak)
                       .toHtmlEscaped()
                       .replace(QLatin1Char('\n'), QStringLiteral("<br>"));
        summary_->setText(html);
        configuration_->setPlainText(QString::fromStdString(run->config));
        recordedEvents_ = store.events(runId);
        recordedReturnPath_ = store.returnPath(runId);
        recordedTransitions_ = store.transitions(runId);
        recordedSamples_ = store.samples(runId);
        finalChannels_ = store.channels(runId);
        firstFailureMs_ = store.firstCauseTimeMs(*run);
        channels_->updateChannels(finalChannels_);
        plot_->appendSamples(recordedSamples_);
        events_->append(recordedEvents_);
        returnPath_->append(recordedReturnPath_);
        try {
            deviceConfigs_ = configFromDescription(run->config).devices;
        } catch (const std::exception&) {
            deviceConfigs_.clear(); // a configuration this version cannot read: no diagrams
        }
        lengthMs_ = recordedLengthMs(*run, recordedEvents_, recordedSamples_);
        timeline_->setRange(0, static_cast<int>(std::ceil(lengthMs_)));
        plot_->setPhases(phasesOf(recordedEvents_, lengthMs_));
        jumpButton_->setEnabled(firstFailureMs_.has_value());
        timeline_->parentWidget()->setEnabled(true);
        momentMs_ = lengthMs_;
        showDevicesAt(lengthMs_);
        {
            const QSignalBlocker block(timeline_);
            timeline_->setValue(timeline_->maximum());
        }
        momentLabel_->setText(tr("end, %1").arg(durationText(lengthMs_)));
    } catch (const std::exception& error) {
        summary_->setText(
            tr("Run %1 cannot be read: %2").arg(runId).arg(QString::fromStdString(error.what())));
    }
}

} // namespace migrascope::ui
