// Live throughput per channel: one line per channel id plus a thicker "total" line.
#pragma once

#include "engine/api/diagnosis.h"
#include "engine/api/telemetry_snapshot.h"

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QPair>
#include <QRectF>
#include <QString>
#include <QWidget>
#include <vector>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemRect;
class QCPItemText;
class QTimer;

namespace migrascope::ui {

class ThroughputPlot : public QWidget {
    Q_OBJECT

public:
    static constexpr const char* kTotalChannel = "total";

    explicit ThroughputPlot(QWidget* parent = nullptr);
    ~ThroughputPlot() override;

    // Adds the samples (time in ms since the run started, bytes per second) and asks for one
    // coalesced repaint; a graph appears the first time its channel id does.
    void appendSamples(const std::vector<ChannelSample>& samples);
    // Forgets every graph, for the next run.
    void clear();
    // The time axis spans at least this much (a live run: 10 s, so that it does not rescale on
    // every sample); a recorded run is drawn with 0, fitting its own length.
    void setMinimumSpan(double seconds);
    // Bands under the lines, one per phase of a recorded run, named at their top.
    void setPhases(const std::vector<PhaseSpan>& phases);
    QStringList phaseNames() const;
    // The phase names drawn now, each with its rectangle in the plot's pixels: a name that
    // fits nowhere beside its neighbours is left out (its band stays, and its colour).
    QList<QPair<QString, QRectF>> shownPhaseLabels() const;
    // A vertical line at this moment of a recorded run (a replay); negative hides it.
    void setCursor(double seconds);

    // Data and phases redraw the plot at most once per `milliseconds` (0: at each change). A
    // live run's rates are averages over half a second, so redrawing more often than that
    // costs the window's thread without showing anything new.
    void setRefreshInterval(int milliseconds) { refreshIntervalMs_ = milliseconds; }

    // Presentation mode: every line `scale` times as thick, for a projector.
    void setLineScale(double scale);
    double lineWidth(const QString& channel) const; // the channel's pen width; 0 without a graph

    int graphCount() const;
    // Points held for the channel's graph; -1 when there is no graph for it.
    int pointCount(const QString& channel) const;
    QStringList channels() const;
    QCustomPlot* plot() const { return plot_; }

protected:
    void changeEvent(QEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void showLegendRow(bool show);
    QCPGraph* graphFor(const QString& channel);
    void applyPaletteColors();
    void applyFonts(); // QCustomPlot's axes and legend keep their own fonts: follow the widget's
    void rescaleAxes();
    void layoutPhaseLabels(); // after each layout, when the axis has its pixels
    void replotForNewData();  // coalesced by the refresh interval
    void replotNow();
    // The same phases, only the last one longer (a live run between two events).
    bool onlyLastPhaseGrew(const std::vector<PhaseSpan>& phases) const;

    QCustomPlot* plot_;
    QHash<QString, QCPGraph*> graphs_;
    int channelGraphs_ = 0; // channel lines made so far, to pick the next colour
    double latestSeconds_ = 0;
    double minimumSpanSeconds_;
    QCPItemStraightLine* cursor_ = nullptr;
    // What is drawn for each of phases_, in the same order.
    struct PhaseItems {
        QCPItemRect* band;
        QCPItemText* name;
    };
    std::vector<PhaseSpan> phases_;
    std::vector<PhaseItems> phaseItems_;
    double lineScale_ = 1;
    int refreshIntervalMs_ = 0;
    QTimer* refreshTimer_;
    QElapsedTimer sinceReplot_;
};

} // namespace migrascope::ui
