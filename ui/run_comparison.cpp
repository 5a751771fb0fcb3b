#include "ui/run_comparison.h"

#include "engine/api/history_store.h"
#include "ui/display_format.h"
#include "ui/history_model.h"
#include "ui/theme.h"
#include "ui/throughput_plot.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <map>

namespace migrascope::ui {
namespace {

QTableWidget* makeTable(const QStringList& headers, QWidget* parent) {
    auto* table = new QTableWidget(0, static_cast<int>(headers.size()), parent);
    table->setHorizontalHeaderLabels(headers);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->verticalHeader()->hide();
    table->horizontalHeader()->setStretchLastSection(true);
    table->setWordWrap(true);
    return table;
}

void addRow(QTableWidget* table, const QStringList& cells, bool differs) {
    const int row = table->rowCount();
    table->insertRow(row);
    for (int column = 0; column < cells.size(); ++column) {
        auto* item = new QTableWidgetItem(cells[column]);
        item->setToolTip(cells[column]);
        if (differs)
            item->setForeground(theme::attention());
        table->setItem(row, column, item);
    }
}

// "key=value" lines; a key given several times (inject=, device=) keeps every value.
std::map<QString, QStringList> configLines(const std::string& config) {
    std::map<QString, QStringList> lines;
    for (const QString& line : QString::fromStdString(config).split('\n', Qt::SkipEmptyParts)) {
        const qsizetype equals = line.indexOf('=');
        if (line.startsWith(QLatin1String("uuid=")))
            continue; // every run has its own
        lines[line.left(equals)] << line.mid(equals + 1);
    }
    return lines;
}

QString signedDifference(double difference, const QString& text) {
    return (difference > 0   ? QStringLiteral("+")
            : difference < 0 ? QStringLiteral("−")
                             : QString()) +
           text;
}

} // namespace

RunComparison::RunComparison(const std::string& historyPath, std::int64_t first,
                             std::int64_t second, QWidget* parent)
    : QDialog(parent) {
    setWindowTitle(tr("Compare runs %1 and %2").arg(first).arg(second));
    const QString a = tr("Run %1").arg(first);
    const QString b = tr("Run %1").arg(second);
    figures_ =
        makeTable({tr("Figure"), a, b, tr("Difference (%1 − %2)").arg(second).arg(first)}, this);
    figures_->setObjectName(QStringLiteral("comparisonFigures"));
    configuration_ = makeTable({tr("Parameter"), a, b}, this);
    configuration_->setObjectName(QStringLiteral("comparisonConfiguration"));
    plot_ = new ThroughputPlot(this);
    plot_->setMinimumSpan(0);
    auto* problem = new QLabel(this);
    problem->setWordWrap(true);
    problem->hide();

    try {
        const HistoryStore store(historyPath, HistoryStore::Access::ReadOnly);
        const std::optional<RunRecord> left = store.run(first);
        const std::optional<RunRecord> right = store.run(second);
        if (!left || !right)
            throw std::runtime_error("the history does not have both runs");
        const auto text = [&](const QString& name, const QString& x, const QString& y) {
            addRow(figures_, {name, x, y, QString()}, x != y);
        };
        const auto figure = [&](const QString& name, double x, double y,
                                QString (*format)(double)) {
            addRow(figures_,
                   {name, format(x), format(y), signedDifference(y - x, format(std::abs(y - x)))},
                   x != y);
        };
        text(tr("Result"), runResultText(*left), runResultText(*right));
        text(tr("Diagnosis"), QString::fromStdString(store.diagnosis(*left)),
             QString::fromStdString(store.diagnosis(*right)));
        text(tr("Started"), localTimeText(left->startedAt), localTimeText(right->startedAt));
        figure(tr("Total time"), left->totalTimeMs, right->totalTimeMs, durationText);
        // Downtime is a completed run's figure; a failed one never switched its guest over.
        if (left->status == RunStatus::Completed && right->status == RunStatus::Completed) {
            figure(tr("Downtime"), left->downtimeMs, right->downtimeMs, durationText);
            figure(tr("Expected downtime"), left->expectedDowntimeMs, right->expectedDowntimeMs,
                   durationText);
        } else {
            const auto completedOnly = [](const RunRecord& run, double ms) {
                return run.status == RunStatus::Completed ? durationText(ms)
                                                          : tr("– (not completed)");
            };
            text(tr("Downtime"), completedOnly(*left, left->downtimeMs),
                 completedOnly(*right, right->downtimeMs));
        }
        figure(tr("Transferred"), static_cast<double>(left->transferred),
               static_cast<double>(right->transferred), bytesText);
        // QEMU's mbps is megabits per second; shown, like every rate here, in bytes.
        figure(tr("Average throughput"), left->mbps * 1e6 / 8, right->mbps * 1e6 / 8, rateText);
        text(tr("Integrity"), QString::fromStdString(left->integrity),
             QString::fromStdString(right->integrity));

        const auto leftConfig = configLines(left->config);
        const auto rightConfig = configLines(right->config);
        std::map<QString, bool> keys;
        for (const auto& [key, values] : leftConfig)
            keys[key] = true;
        for (const auto& [key, values] : rightConfig)
            keys[key] = true;
        // Differences first, then what both runs shared.
        for (const bool differing : {true, false})
            for (const auto& [key, unused] : keys) {
                const auto x = leftConfig.find(key);
                const auto y = rightConfig.find(key);
                const QString xs = x == leftConfig.end() ? tr("(not set)") : x->second.join('\n');
                const QString ys = y == rightConfig.end() ? tr("(not set)") : y->second.join('\n');
                if ((xs != ys) == differing)
                    addRow(configuration_, {key, xs, ys}, differing);
            }

        // Each run's total, named by its run.
        for (const auto& [id, name] : {std::pair{first, a}, std::pair{second, b}}) {
            std::vector<ChannelSample> totals;
            for (ChannelSample sample : store.samples(id))
                if (sample.channel == ThroughputPlot::kTotalChannel) {
                    sample.channel = name.toStdString();
                    totals.push_back(std::move(sample));
                }
            plot_->appendSamples(totals);
        }
    } catch (const std::exception& error) {
        problem->setText(tr("Cannot compare: %1").arg(QString::fromStdString(error.what())));
        problem->show();
    }
    // Both runs get the same width, whatever the length of a diagnosis; long cells wrap.
    for (QTableWidget* table : {figures_, configuration_}) {
        QHeaderView* header = table->horizontalHeader();
        header->setStretchLastSection(false);
        for (int column = 0; column < table->columnCount(); ++column)
            header->setSectionResizeMode(column, column == 1 || column == 2
                                                     ? QHeaderView::Stretch
                                                     : QHeaderView::ResizeToContents);
        table->resizeRowsToContents();
        connect(header, &QHeaderView::sectionResized, table, &QTableWidget::resizeRowsToContents);
    }

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(figures_);
    splitter->addWidget(configuration_);
    splitter->addWidget(plot_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(problem);
    layout->addWidget(splitter, 1);
    layout->addWidget(buttons);
    resize(900, 700);
}

} // namespace migrascope::ui
