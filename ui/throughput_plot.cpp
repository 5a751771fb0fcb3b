#include "ui/throughput_plot.h"

#include "ui/theme.h"

#include <QEvent>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <array>
#include <qcustomplot.h>

namespace migrascope::ui {
namespace {

constexpr double kBytesPerMiB = 1024.0 * 1024.0;
// The x axis shows at least this much, so the first seconds of a run do not look stretched.
constexpr double kMinimumSpanSeconds = 10;
constexpr double kChannelPenWidth = 2;
constexpr double kTotalPenWidth = 3;
constexpr const char* kTotalLayer = "total";
constexpr int kLegendColumns = 9;
// Room one legend entry ("multifd-10" and its line) takes, to decide how many fit in a row.
constexpr int kLegendEntryWidth = 150;
// Phase names take up to this many rows at the top of the plot before one is left out.
constexpr int kPhaseLabelRows = 3;
constexpr int kPhaseLabelGap = 6; // pixels between two names on one row

} // namespace

ThroughputPlot::ThroughputPlot(QWidget* parent)
    : QWidget(parent), plot_(new QCustomPlot(this)), minimumSpanSeconds_(kMinimumSpanSeconds),
      refreshTimer_(new QTimer(this)) {
    refreshTimer_->setSingleShot(true);
    connect(refreshTimer_, &QTimer::timeout, this, &ThroughputPlot::replotNow);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    // The raster renderer pays most for antialiasing; a few hundred points per line do not
    // need it to look right.
    plot_->setNotAntialiasedElements(QCP::aePlottables);
    plot_->setPlottingHints(QCP::phFastPolylines | QCP::phCacheLabels);
    plot_->setNoAntialiasingOnDrag(true);

    plot_->xAxis->setLabel(tr("Time since start (s)"));
    plot_->yAxis->setLabel(tr("Throughput (MiB/s)"));
    plot_->xAxis->setRange(0, kMinimumSpanSeconds);
    plot_->yAxis->setRange(0, 1);
    plot_->addLayer(QLatin1String(kTotalLayer), plot_->layer(QStringLiteral("main")),
                    QCustomPlot::limAbove);
    // The legend gets its own row above the axes (inside them it hides the first seconds of
    // every run, and with 16 channels most of the plot), but only once it has an entry: an
    // empty legend in the layout grid squeezes the axes to a sliver.
    plot_->legend->setVisible(false);
    plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot_->legend->setWrap(kLegendColumns);
    plot_->legend->setBorderPen(Qt::NoPen);
    plot_->legend->setMargins(QMargins(4, 2, 4, 2));
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->axisRect()->setRangeZoom(Qt::Horizontal);
    plot_->axisRect()->setRangeDrag(Qt::Horizontal);
    setMinimumHeight(180);
    applyPaletteColors();
    connect(plot_, &QCustomPlot::afterLayout, this, &ThroughputPlot::layoutPhaseLabels);
}

ThroughputPlot::~ThroughputPlot() = default;

QCPGraph* ThroughputPlot::graphFor(const QString& channel) {
    if (QCPGraph* graph = graphs_.value(channel))
        return graph;
    QCPGraph* graph = plot_->addGraph();
    showLegendRow(true);
    graph->setName(channel);
    graph->setAdaptiveSampling(true);
    if (channel == QLatin1String(kTotalChannel)) {
        graph->setPen(QPen(palette().color(QPalette::Text), kTotalPenWidth * lineScale_));
        // Channels overlap the total when only one carries data; keep the total visible.
        graph->setLayer(QLatin1String(kTotalLayer));
    } else {
        const int index = channelGraphs_++;
        graph->setPen(
            QPen(theme::channel(index), kChannelPenWidth * lineScale_, theme::channelStyle(index)));
    }
    graphs_.insert(channel, graph);
    return graph;
}

void ThroughputPlot::appendSamples(const std::vector<ChannelSample>& samples) {
    if (samples.empty())
        return;
    for (const ChannelSample& sample : samples) {
        const double seconds = sample.timeMs / 1000;
        graphFor(QString::fromStdString(sample.channel))
            ->addData(seconds, sample.bytesPerSecond / kBytesPerMiB);
        latestSeconds_ = std::max(latestSeconds_, seconds);
    }
    rescaleAxes();
    replotForNewData();
}

void ThroughputPlot::replotForNewData() {
    // A hidden tab still costs a replot; showEvent catches up when it becomes visible.
    if (!isVisible() || refreshTimer_->isActive())
        return;
    const qint64 since = sinceReplot_.isValid() ? sinceReplot_.elapsed() : refreshIntervalMs_;
    if (since >= refreshIntervalMs_)
        replotNow();
    else
        refreshTimer_->start(static_cast<int>(refreshIntervalMs_ - since));
}

void ThroughputPlot::replotNow() {
    sinceReplot_.start();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ThroughputPlot::rescaleAxes() {
    plot_->xAxis->setRange(0, std::max({minimumSpanSeconds_, latestSeconds_, 0.1}));
    bool found = false;
    const QCPRange values = [&] {
        QCPRange range(0, 0);
        for (QCPGraph* graph : std::as_const(graphs_)) {
            bool graphFound = false;
            const QCPRange graphRange = graph->getValueRange(graphFound);
            if (graphFound) {
                range.expand(graphRange);
                found = true;
            }
        }
        return range;
    }();
    // Headroom so that the peak does not sit on the frame, and a floor so that an idle
    // channel does not blow noise up to full height.
    plot_->yAxis->setRange(0, found ? std::max(1.0, values.upper * 1.1) : 1.0);
}

void ThroughputPlot::setMinimumSpan(double seconds) {
    minimumSpanSeconds_ = seconds;
    rescaleAxes();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool ThroughputPlot::onlyLastPhaseGrew(const std::vector<PhaseSpan>& phases) const {
    if (phases.empty() || phases.size() != phases_.size())
        return false;
    for (std::size_t i = 0; i < phases.size(); ++i) {
        const bool last = i + 1 == phases.size();
        if (phases[i].name != phases_[i].name || phases[i].startMs != phases_[i].startMs ||
            (!last && phases[i].endMs != phases_[i].endMs))
            return false;
    }
    return true;
}

void ThroughputPlot::setPhases(const std::vector<PhaseSpan>& phases) {
    if (onlyLastPhaseGrew(phases)) {
        // Four times a second during a live run: move one edge instead of rebuilding items.
        phaseItems_.back().band->bottomRight->setCoords(phases.back().endMs / 1000, 1);
        phases_ = phases;
        replotForNewData();
        return;
    }
    phases_ = phases;
    for (const PhaseItems& items : phaseItems_) {
        plot_->removeItem(items.band);
        plot_->removeItem(items.name);
    }
    phaseItems_.clear();
    int index = 0;
    for (const PhaseSpan& phase : phases) {
        // x in seconds, y from the axis rectangle's top (0) to its bottom (1).
        auto* band = new QCPItemRect(plot_);
        band->setLayer(QStringLiteral("background"));
        band->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
        band->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
        band->topLeft->setCoords(phase.startMs / 1000, 0);
        band->bottomRight->setCoords(phase.endMs / 1000, 1);
        band->setPen(Qt::NoPen);
        band->setBrush(theme::phaseBand(index++));
        auto* name = new QCPItemText(plot_);
        name->setLayer(QStringLiteral("background"));
        name->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        name->position->setCoords((phase.startMs + phase.endMs) / 2000, 0.02);
        name->setPositionAlignment(Qt::AlignTop | Qt::AlignHCenter);
        name->setText(QString::fromStdString(phase.name));
        name->setColor(palette().color(QPalette::WindowText));
        name->setClipToAxisRect(true);
        phaseItems_.push_back({band, name});
    }
    replotForNewData();
}

void ThroughputPlot::layoutPhaseLabels() {
    // Short phases (a dirty sync of 40 ms) lie side by side: each name takes the first row
    // where it clears the names already placed, and one that clears none is not drawn, rather
    // than written over another.
    QCPAxisRect* rect = plot_->axisRect();
    if (phaseItems_.empty() || rect->height() <= 0)
        return;
    std::array<double, kPhaseLabelRows> rowEnds;
    rowEnds.fill(-1e9);
    for (std::size_t i = 0; i < phaseItems_.size(); ++i) {
        QCPItemText* label = phaseItems_[i].name;
        const double centreSeconds = (phases_[i].startMs + phases_[i].endMs) / 2000;
        const QFontMetrics metrics(label->font());
        const double width = metrics.horizontalAdvance(label->text()) + kPhaseLabelGap;
        // Inside the axes even when its band touches an edge ("setup" at 0 s).
        const double centre =
            std::clamp(plot_->xAxis->coordToPixel(centreSeconds), rect->left() + width / 2,
                       std::max(rect->left() + width / 2, rect->right() - width / 2));
        const double left = centre - width / 2;
        int row = 0;
        while (row < kPhaseLabelRows && left < rowEnds[static_cast<std::size_t>(row)])
            ++row;
        label->setVisible(row < kPhaseLabelRows);
        if (row == kPhaseLabelRows)
            continue;
        rowEnds[static_cast<std::size_t>(row)] = left + width;
        const double top = 2 + row * (metrics.height() + 1);
        label->position->setCoords(plot_->xAxis->pixelToCoord(centre), top / rect->height());
    }
}

QStringList ThroughputPlot::phaseNames() const {
    QStringList names;
    for (const PhaseSpan& phase : phases_)
        names << QString::fromStdString(phase.name);
    return names;
}

QList<QPair<QString, QRectF>> ThroughputPlot::shownPhaseLabels() const {
    QList<QPair<QString, QRectF>> shown;
    for (const PhaseItems& items : phaseItems_)
        if (items.name->visible())
            shown.append({items.name->text(), QRectF(items.name->topLeft->pixelPosition(),
                                                     items.name->bottomRight->pixelPosition())});
    return shown;
}

void ThroughputPlot::setCursor(double seconds) {
    if (!cursor_) {
        cursor_ = new QCPItemStraightLine(plot_);
        cursor_->setPen(QPen(theme::attention(), 1.5, Qt::DashLine));
    }
    cursor_->setVisible(seconds >= 0);
    cursor_->point1->setCoords(seconds, 0);
    cursor_->point2->setCoords(seconds, 1);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ThroughputPlot::clear() {
    plot_->clearGraphs();
    graphs_.clear();
    if (cursor_)
        cursor_->setVisible(false);
    setPhases({});
    showLegendRow(false);
    channelGraphs_ = 0;
    latestSeconds_ = 0;
    rescaleAxes();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ThroughputPlot::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    // As many entries per row as fit: a fixed row of nine made the plot's smallest width, and
    // so the window's, wider than a 1024-pixel screen once a run had five channels.
    const int columns = std::clamp(width() / kLegendEntryWidth, 2, kLegendColumns);
    if (plot_->legend->wrap() == columns)
        return;
    plot_->legend->setWrap(columns);
    plot_->legend->setFillOrder(QCPLegend::foColumnsFirst, true);
    plot_->updateGeometry();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ThroughputPlot::showLegendRow(bool show) {
    QCPLayoutGrid* layout = plot_->plotLayout();
    const bool inRow = layout->hasElement(0, 0) && layout->element(0, 0) == plot_->legend;
    if (show && !inRow) {
        plot_->axisRect()->insetLayout()->take(plot_->legend);
        layout->insertRow(0);
        layout->addElement(0, 0, plot_->legend);
        layout->setRowStretchFactor(0, 0.001);
    } else if (!show && inRow) {
        layout->take(plot_->legend);
        layout->simplify();
        plot_->axisRect()->insetLayout()->addElement(plot_->legend, Qt::AlignTop | Qt::AlignRight);
    }
    plot_->legend->setVisible(show);
}

int ThroughputPlot::graphCount() const {
    return plot_->graphCount();
}

int ThroughputPlot::pointCount(const QString& channel) const {
    const QCPGraph* graph = graphs_.value(channel);
    return graph ? graph->data()->size() : -1;
}

QStringList ThroughputPlot::channels() const {
    QStringList names;
    for (int i = 0; i < plot_->graphCount(); ++i)
        names << plot_->graph(i)->name();
    return names;
}

void ThroughputPlot::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange)
        applyPaletteColors();
    if (event->type() == QEvent::FontChange)
        applyFonts();
}

void ThroughputPlot::applyFonts() {
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        axis->setTickLabelFont(font());
        axis->setLabelFont(font());
    }
    plot_->legend->setFont(font());
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ThroughputPlot::setLineScale(double scale) {
    lineScale_ = scale;
    for (auto it = graphs_.cbegin(); it != graphs_.cend(); ++it) {
        QPen pen = it.value()->pen();
        pen.setWidthF(
            (it.key() == QLatin1String(kTotalChannel) ? kTotalPenWidth : kChannelPenWidth) * scale);
        it.value()->setPen(pen);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

double ThroughputPlot::lineWidth(const QString& channel) const {
    const QCPGraph* graph = graphs_.value(channel);
    return graph ? graph->pen().widthF() : 0;
}

void ThroughputPlot::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ThroughputPlot::applyPaletteColors() {
    // QCustomPlot paints its own background and axes; follow the widget palette so a dark
    // theme does not get a white plot with black text.
    const QPalette colors = palette();
    const QColor text = colors.color(QPalette::Text);
    const QColor grid = colors.color(QPalette::Mid);
    plot_->setBackground(colors.brush(QPalette::Base));
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        axis->setBasePen(QPen(text));
        axis->setTickPen(QPen(text));
        axis->setSubTickPen(QPen(text));
        axis->setTickLabelColor(text);
        axis->setLabelColor(text);
        axis->grid()->setPen(QPen(grid, 0, Qt::DotLine));
    }
    plot_->legend->setBrush(colors.brush(QPalette::Base));
    plot_->legend->setTextColor(text);
    if (QCPGraph* total = graphs_.value(QLatin1String(kTotalChannel)))
        total->setPen(QPen(text, kTotalPenWidth * lineScale_));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace migrascope::ui
