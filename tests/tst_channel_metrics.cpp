// Every channel metric reaches each place that shows or keeps it: the history (stored and
// read back), the headless JSON (under its declared key) and the window's channel table.
// A metric added to the declaration but forgotten somewhere fails here.
#include "app/json_result.h"
#include "engine/api/channel_metrics.h"
#include "engine/api/history_store.h"
#include "engine/telemetry/telemetry.h"
#include "ui/channel_table_model.h"
#include "ui/table_view.h"

#include <QHeaderView>
#include <QJsonArray>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

using namespace migrascope;

namespace {

// A TLS channel whose metrics all differ from each other and from zero.
ChannelSnapshot channelWithDistinctValues(std::uint64_t base) {
    ChannelSnapshot channel;
    channel.id = "multifd-0";
    channel.kind = ChannelKind::Multifd;
    channel.state = ChannelState::Closed;
    channel.tlsVersion = "TLS1.3";
    channel.tlsCipher = "AES-256-GCM";
    channel.termination = Termination::Clean;
    std::uint64_t value = base;
    for (const ChannelMetric& metric : channelMetrics())
        channel.*metric.field = value += 1000;
    return channel;
}

QStringList rowText(const QAbstractItemModel& model) {
    QStringList cells;
    for (int column = 0; column < model.columnCount(); ++column)
        cells << model.index(0, column).data().toString();
    return cells;
}

} // namespace

class TestChannelMetrics : public QObject {
    Q_OBJECT

private slots:
    void historyKeepsEveryStoredMetric() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        HistoryStore store(dir.filePath("history.sqlite").toStdString());
        const auto id = store.beginRun("metrics", "", 64ull << 20, 1, true);
        TelemetrySnapshot final;
        final.status = MigrationStatus::Completed;
        final.channels = {channelWithDistinctValues(0)};
        store.finishRun(id, final);
        const auto stored = store.channels(id);
        QCOMPARE(stored.size(), std::size_t{1});
        for (const ChannelMetric& metric : channelMetrics()) {
            const std::uint64_t expected =
                metric.historyColumn ? final.channels[0].*metric.field : 0;
            QVERIFY2(stored[0].*metric.field == expected, metric.jsonKey);
        }
    }

    void jsonCarriesEveryMetricUnderItsKey() {
        TelemetrySnapshot snapshot;
        snapshot.channels = {channelWithDistinctValues(0)};
        const QJsonObject channel =
            app::jsonResult(snapshot, 0)["channels"].toArray().first().toObject();
        for (const ChannelMetric& metric : channelMetrics()) {
            const QJsonObject where = metric.tls ? channel["tls"].toObject() : channel;
            QVERIFY2(where.contains(metric.jsonKey), metric.jsonKey);
            QCOMPARE(where[metric.jsonKey].toInteger(),
                     static_cast<qint64>(snapshot.channels[0].*metric.field));
        }
    }

    void theChannelTableShowsWhatItDeclares() {
        ui::ChannelTableModel model;
        const ChannelSnapshot base = channelWithDistinctValues(0);
        model.updateChannels({base});
        const QStringList before = rowText(model);
        for (const ChannelMetric& metric : channelMetrics()) {
            if (!metric.inChannelTable)
                continue;
            ChannelSnapshot changed = base;
            changed.*metric.field += 7 << 20; // large enough to show in rounded units
            model.updateChannels({changed});
            QVERIFY2(rowText(model) != before, metric.label);
            model.updateChannels({base});
        }
    }

    // The sampler reads all sockets at once and may finish after a channel recorded the
    // kernel's final count for its socket (CI once showed "main: 262 counted, 177 acked"):
    // the final count stays, and only a new socket (a resumed channel) replaces it.
    void aLateSampleNeverReplacesAChannelsFinalKernelCount() {
        ChannelCounters counters;
        TcpKernelView sampled;
        sampled.bytesAcked = 177;
        TcpKernelView finalView;
        finalView.bytesAcked = 263;
        counters.setKernelView(finalView, 42, ChannelCounters::KernelViewKind::Final);
        counters.setKernelView(sampled, 42, ChannelCounters::KernelViewKind::Sampled);
        QCOMPARE(counters.kernelView()->bytesAcked, std::uint64_t{263});
        TcpKernelView resumed;
        resumed.bytesAcked = 10;
        counters.setKernelView(resumed, 43, ChannelCounters::KernelViewKind::Sampled);
        QCOMPARE(counters.kernelView()->bytesAcked, std::uint64_t{10});
    }

    // A column is as wide as its widest value and does not shrink while the run goes on
    // (values jumping sideways ten times a second), until the table starts afresh.
    void columnsFitTheirValuesAndDoNotJumpSideways() {
        ui::ChannelTableModel model;
        std::unique_ptr<QTableView> view(ui::makeTableView(&model, "channels", nullptr));
        ui::fitColumnsToContents(view.get());
        view->resize(1200, 300);
        view->show();
        ChannelSnapshot channel = channelWithDistinctValues(0);
        channel.bytes = 1536ull << 30;
        model.updateChannels({channel});
        const QString wide = model.index(0, ui::ChannelTableModel::Bytes).data().toString();
        const int needed = view->fontMetrics().horizontalAdvance(wide);
        QHeaderView* header = view->horizontalHeader();
        QTest::qWait(1200); // measured at most twice a second
        QVERIFY2(header->sectionSize(ui::ChannelTableModel::Bytes) > needed, qPrintable(wide));
        const int widest = header->sectionSize(ui::ChannelTableModel::Bytes);
        channel.bytes = 5;
        model.updateChannels({channel});
        QTest::qWait(1200);
        QCOMPARE(header->sectionSize(ui::ChannelTableModel::Bytes), widest);
        model.clear();
        model.updateChannels({channel});
        QTRY_VERIFY(header->sectionSize(ui::ChannelTableModel::Bytes) < widest);
    }
};

QTEST_MAIN(TestChannelMetrics)
#include "tst_channel_metrics.moc"
