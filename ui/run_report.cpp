#include "ui/run_report.h"

#include "engine/api/history_store.h"
#include "ui/display_format.h"
#include "ui/history_model.h"
#include "ui/throughput_plot.h"

#include <QBuffer>
#include <QFile>
#include <QImage>
#include <QPageSize>
#include <QPrinter>
#include <QTextDocument>
#include <qcustomplot.h>
#include <stdexcept>

namespace migrascope::ui {
namespace {

constexpr int kPlotWidth = 900;
constexpr int kPlotHeight = 320;
const QString kPlotResource = QStringLiteral("migrascope-plot.png");

QString escaped(const std::string& text) {
    return QString::fromStdString(text).toHtmlEscaped();
}

QString cell(const QString& text) {
    return QStringLiteral("<td>") + text.toHtmlEscaped() + QStringLiteral("</td>");
}

QString headerRow(const QStringList& names) {
    QString row = QStringLiteral("<tr>");
    for (const QString& name : names)
        row += QStringLiteral("<th>") + name.toHtmlEscaped() + QStringLiteral("</th>");
    return row + QStringLiteral("</tr>");
}

QImage plotImage(const HistoryStore& store, const RunRecord& run) {
    ThroughputPlot plot;
    plot.setMinimumSpan(0);
    const std::vector<ChannelSample> samples = store.samples(run.id);
    const std::vector<Event> events = store.events(run.id);
    plot.appendSamples(samples);
    plot.setPhases(phasesOf(events, recordedLengthMs(run, events, samples)));
    return plot.plot()->toPixmap(kPlotWidth, kPlotHeight).toImage();
}

QString section(const QString& id, const QString& title, const QString& body) {
    return QStringLiteral("<h2 id=\"%1\">%2</h2>\n%3\n").arg(id, title.toHtmlEscaped(), body);
}

} // namespace

QString runReportHtml(const HistoryStore& store, std::int64_t runId, const QString& plotSource) {
    const std::optional<RunRecord> run = store.run(runId);
    if (!run)
        throw std::runtime_error("the history has no run " + std::to_string(runId));
    QString html =
        QStringLiteral(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Migrascope run %1</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}"
            ".diagnosis{font-size:1.2em;font-weight:bold}.error{color:#a00}"
            "pre{background:#f4f4f4;padding:.5em}</style></head><body>\n")
            .arg(runId);
    html += QStringLiteral("<h1>Migrascope run %1: %2</h1>\n")
                .arg(runId)
                .arg(runResultText(*run).toHtmlEscaped());
    html += section(
        QStringLiteral("diagnosis"), QObject::tr("Diagnosis"),
        QStringLiteral("<p class=\"diagnosis\">%1</p>").arg(escaped(store.diagnosis(*run))));

    QString summary = QStringLiteral("<table>");
    const auto row = [&summary](const QString& name, const QString& value) {
        summary += QStringLiteral("<tr><th>%1</th><td>%2</td></tr>")
                       .arg(name.toHtmlEscaped(), value.toHtmlEscaped());
    };
    row(QObject::tr("Run"),
        QStringLiteral("%1 (%2)").arg(runId).arg(QString::fromStdString(run->uuid)));
    row(QObject::tr("Result"), runResultText(*run));
    row(QObject::tr("Role"), QString::fromLatin1(toString(run->role)));
    if (!run->peer.empty())
        row(QObject::tr("Peer"), QString::fromStdString(run->peer));
    if (!run->origin.empty())
        row(QObject::tr("Imported from"), QString::fromStdString(run->origin));
    row(QObject::tr("Started (UTC)"), QString::fromStdString(run->startedAt));
    row(QObject::tr("Ended (UTC)"), QString::fromStdString(run->endedAt));
    row(QObject::tr("Recorded cause"), QString::fromStdString(run->errorDesc));
    for (const std::string& warning : run->warnings)
        row(QObject::tr("Warning"), QString::fromStdString(warning));
    row(QObject::tr("Integrity"), QString::fromStdString(run->integrity));
    row(QObject::tr("Transferred"), bytesText(static_cast<double>(run->transferred)));
    row(QObject::tr("Total time"), durationText(run->totalTimeMs));
    row(QObject::tr("Downtime"),
        QObject::tr("%1 (expected %2, limit %3)")
            .arg(durationText(run->downtimeMs), durationText(run->expectedDowntimeMs),
                 durationText(static_cast<double>(run->downtimeLimitMs))));
    summary += QStringLiteral("</table>");
    html += section(QStringLiteral("summary"), QObject::tr("Summary"), summary);

    html += section(QStringLiteral("throughput"), QObject::tr("Throughput per channel"),
                    QStringLiteral("<img src=\"%1\" width=\"%2\" height=\"%3\" alt=\"%4\">")
                        .arg(plotSource)
                        .arg(kPlotWidth)
                        .arg(kPlotHeight)
                        .arg(QObject::tr("throughput per channel over the run").toHtmlEscaped()));
    html += section(QStringLiteral("configuration"), QObject::tr("Configuration"),
                    QStringLiteral("<pre>%1</pre>").arg(escaped(run->config)));

    QString events =
        QStringLiteral("<table>") + headerRow({QObject::tr("Time (s)"), QObject::tr("Side"),
                                               QObject::tr("Level"), QObject::tr("Message")});
    for (const Event& event : store.events(runId))
        events += QStringLiteral("<tr%1>").arg(event.level == EventLevel::Error
                                                   ? QStringLiteral(" class=\"error\"")
                                                   : QString()) +
                  cell(QString::number(event.timeMs / 1000, 'f', 3)) +
                  cell(QString::fromLatin1(toString(event.side))) +
                  cell(QString::fromLatin1(toString(event.level))) +
                  cell(QString::fromStdString(event.text)) + QStringLiteral("</tr>");
    html += section(QStringLiteral("timeline"), QObject::tr("Timeline"),
                    events + QStringLiteral("</table>"));

    QString channels =
        QStringLiteral("<table>") +
        headerRow({QObject::tr("Channel"), QObject::tr("State"), QObject::tr("Ended"),
                   QObject::tr("Sent"), QObject::tr("Received"), QObject::tr("Acked (kernel)"),
                   QObject::tr("TLS")});
    for (const ChannelSnapshot& channel : store.channels(runId))
        channels +=
            QStringLiteral("<tr>") + cell(QString::fromStdString(channel.id)) +
            cell(QString::fromLatin1(toString(channel.state))) +
            cell(QString::fromLatin1(describe(channel.termination))) +
            cell(bytesText(static_cast<double>(channel.bytes))) +
            cell(bytesText(static_cast<double>(channel.bytesReceived))) +
            cell(channel.tcp ? bytesText(static_cast<double>(channel.tcp->bytesAcked))
                             : QObject::tr("not read")) +
            cell(channel.tlsVersion.empty()
                     ? QObject::tr("none")
                     : QString::fromStdString(channel.tlsVersion + " " + channel.tlsCipher)) +
            QStringLiteral("</tr>");
    html += section(QStringLiteral("channels"), QObject::tr("Channels as they ended"),
                    channels + QStringLiteral("</table>"));

    const std::vector<DeviceTransition> transitions = store.transitions(runId);
    QString devices =
        transitions.empty()
            ? QObject::tr("<p>No devices.</p>")
            : QStringLiteral("<table>") +
                  headerRow({QObject::tr("Time (s)"), QObject::tr("Side"), QObject::tr("Device"),
                             QObject::tr("Arc"), QObject::tr("Result")});
    for (const DeviceTransition& transition : transitions)
        devices +=
            QStringLiteral("<tr%1>").arg(transition.ok ? QString()
                                                       : QStringLiteral(" class=\"error\"")) +
            cell(QString::number(transition.timeMs / 1000, 'f', 3)) +
            cell(QString::fromLatin1(toString(transition.side))) +
            cell(QString::fromStdString(transition.device)) +
            cell(QString::fromStdString(arcText(transition))) +
            cell(transition.ok
                     ? QObject::tr("ok")
                     : QObject::tr("failed: %1").arg(QString::fromStdString(transition.error))) +
            QStringLiteral("</tr>");
    if (!transitions.empty())
        devices += QStringLiteral("</table>");
    html += section(QStringLiteral("devices"), QObject::tr("Device transitions"), devices);

    QString returnPath =
        QStringLiteral("<table>") +
        headerRow({QObject::tr("Time (s)"), QObject::tr("Connection"), QObject::tr("Message")});
    for (const ReturnPathRecord& message : store.returnPath(runId))
        returnPath += QStringLiteral("<tr>") +
                      cell(QString::number(message.timeMs / 1000, 'f', 3)) +
                      cell(QString::number(message.connection)) +
                      cell(QString::fromStdString(message.text)) + QStringLiteral("</tr>");
    html += section(QStringLiteral("return-path"), QObject::tr("Return path"),
                    returnPath + QStringLiteral("</table>"));
    html += QStringLiteral("</body></html>\n");
    return html;
}

QString writeRunReport(const std::string& historyPath, std::int64_t runId, const QString& file) {
    try {
        const HistoryStore store(historyPath, HistoryStore::Access::ReadOnly);
        const std::optional<RunRecord> run = store.run(runId);
        if (!run)
            return QObject::tr("the history has no run %1").arg(runId);
        const QImage plot = plotImage(store, *run);
        if (file.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) {
            QTextDocument document;
            document.addResource(QTextDocument::ImageResource, QUrl(kPlotResource), plot);
            document.setHtml(runReportHtml(store, runId, kPlotResource));
            QPrinter printer(QPrinter::HighResolution);
            printer.setOutputFormat(QPrinter::PdfFormat);
            printer.setOutputFileName(file);
            printer.setPageSize(QPageSize(QPageSize::A4));
            document.print(&printer);
            return QFile::exists(file) ? QString() : QObject::tr("%1 was not written").arg(file);
        }
        QByteArray png;
        QBuffer buffer(&png);
        buffer.open(QIODevice::WriteOnly);
        plot.save(&buffer, "PNG");
        const QString html = runReportHtml(store, runId,
                                           QStringLiteral("data:image/png;base64,") +
                                               QString::fromLatin1(png.toBase64()));
        QFile out(file);
        if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return QObject::tr("cannot write %1: %2").arg(file, out.errorString());
        out.write(html.toUtf8());
        return out.error() == QFileDevice::NoError ? QString() : out.errorString();
    } catch (const std::exception& error) {
        return QString::fromStdString(error.what());
    }
}

} // namespace migrascope::ui
