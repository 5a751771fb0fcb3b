// A run from the history as a report for a ticket: the diagnosis first, then the summary,
// the throughput plot, configuration, timeline, channels, devices and return path. One HTML
// file with the plot embedded, or the same printed to PDF.
#pragma once

#include <QString>
#include <cstdint>
#include <string>

namespace migrascope {
class HistoryStore;
}

namespace migrascope::ui {

// The report's HTML; `plotSource` is the <img> source of the throughput plot, which the caller
// provides (a data: URL for a file, a resource name for a QTextDocument).
QString runReportHtml(const HistoryStore& store, std::int64_t runId, const QString& plotSource);

// Writes the report of run `runId` of the history at `historyPath` to `file`: PDF when the
// name ends in .pdf, HTML otherwise. Needs a QApplication (the plot is drawn by QCustomPlot).
// Returns an empty string, or what went wrong.
QString writeRunReport(const std::string& historyPath, std::int64_t runId, const QString& file);

} // namespace migrascope::ui
