// The History tab as a support engineer uses it: failures first, sort by any column, filter by
// result, date, text (events included), TLS, faults, devices and postcopy, and a count of what
// the filter shows; the file is never written by looking at it.
#include "history_generator.h"
#include "ui/history_browser.h"
#include "ui/history_filter_model.h"
#include "ui/history_model.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDateEdit>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

using namespace migrascope;
using namespace migrascope::ui;

namespace {

// A missing file reads as empty: SQLite may create an empty WAL beside a WAL-mode file that a
// reader opens, which holds nothing.
QByteArray digestOf(const QString& path) {
    QFile file(path);
    const QByteArray bytes = file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
    return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256);
}

} // namespace

class HistoryBrowserTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString path_;
    test::GeneratedHistory made_;
    std::unique_ptr<HistoryModel> model_;
    std::unique_ptr<HistoryBrowser> browser_;
    QByteArray fileDigest_, walDigest_;

    HistoryFilterModel* shown() const { return browser_->filterModel(); }
    QString cell(int row, int column) const {
        return shown()->index(row, column).data().toString();
    }
    int countWhere(int column, const QString& text) const {
        int count = 0;
        for (int row = 0; row < shown()->rowCount(); ++row)
            count += cell(row, column) == text;
        return count;
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        path_ = dir_.filePath("history.sqlite");
        // 140 runs, one every 6 hours: 35 days of history.
        made_ = test::generateHistory(path_.toStdString(), 140, 5, 4, 6);
        fileDigest_ = digestOf(path_);
        walDigest_ = digestOf(path_ + "-wal");
        model_ = std::make_unique<HistoryModel>(path_.toStdString());
        browser_ = std::make_unique<HistoryBrowser>(model_.get());
        new QAbstractItemModelTester(
            shown(), QAbstractItemModelTester::FailureReportingMode::QtTest, browser_.get());
        browser_->resize(1000, 700);
        browser_->show();
        browser_->reload();
        QCOMPARE(model_->rowCount(), 140);
    }

    void failuresComeFirstThenTheNewest() {
        QCOMPARE(shown()->rowCount(), 140);
        for (int row = 0; row < made_.failed; ++row)
            QCOMPARE(cell(row, HistoryModel::Result), QStringLiteral("failed"));
        QCOMPARE(cell(made_.failed, HistoryModel::Result),
                 QStringLiteral("completed with warnings"));
        // Among the failed runs, the newest leads.
        QVERIFY(cell(0, HistoryModel::Run).toLongLong() > cell(1, HistoryModel::Run).toLongLong());
        QCOMPARE(cell(shown()->rowCount() - 1, HistoryModel::Result), QStringLiteral("completed"));
        QCOMPARE(browser_->findChild<QLabel*>("historyCount")->text().left(23),
                 QStringLiteral("140 of 140 runs shown ·"));
    }

    void sortsByAnyColumnByValueNotByText() {
        // "100.0 MiB" sorts after "90.0 MiB": by bytes, not by the text shown.
        browser_->view()->sortByColumn(HistoryModel::Transferred, Qt::AscendingOrder);
        QCOMPARE(cell(0, HistoryModel::Transferred), QStringLiteral("10.0 MiB"));
        QCOMPARE(cell(shown()->rowCount() - 1, HistoryModel::Transferred),
                 QStringLiteral("500.0 MiB"));
        QVariant previous;
        for (int row = 0; row < shown()->rowCount(); ++row) {
            const QVariant bytes =
                shown()->index(row, HistoryModel::Transferred).data(HistoryModel::SortRole);
            if (previous.isValid())
                QVERIFY(previous.toULongLong() <= bytes.toULongLong());
            previous = bytes;
        }
        browser_->view()->sortByColumn(HistoryModel::Started, Qt::DescendingOrder);
        QCOMPARE(cell(0, HistoryModel::Run).toLongLong(), 140);
        browser_->view()->sortByColumn(HistoryModel::Result, Qt::AscendingOrder);
    }

    void filtersByResultAndSaysHowMany() {
        const std::pair<const char*, int> results[] = {
            {"failed", made_.failed},
            {"cancelled", made_.cancelled},
            {"completed with warnings", made_.completedWithWarnings},
            {"completed (no warnings)", made_.completed},
            {"Failed, interrupted or with warnings", made_.failed + made_.completedWithWarnings},
        };
        QComboBox* box = browser_->resultBox();
        for (const auto& [text, expected] : results) {
            box->setCurrentIndex(box->findText(text));
            QCOMPARE(shown()->rowCount(), expected);
            QVERIFY(browser_->findChild<QLabel*>("historyCount")
                        ->text()
                        .startsWith(QStringLiteral("%1 of 140 runs shown").arg(expected)));
        }
        box->setCurrentIndex(box->findText("cancelled"));
        QCOMPARE(countWhere(HistoryModel::Result, "cancelled"), made_.cancelled);
        box->setCurrentIndex(0);
        QCOMPARE(shown()->rowCount(), 140);
    }

    void findsARunByWhatOnlyItsEventsSay() {
        browser_->searchField()->setText(QString::fromLatin1(test::kNeedle).toUpper());
        // Typing waits for a pause before searching.
        QTRY_COMPARE(shown()->rowCount(), 1);
        QCOMPARE(shown()->index(0, 0).data(HistoryModel::RunIdRole).toLongLong(), made_.needleRun);
        browser_->searchField()->setText("cut-channel=multifd-1");
        QTRY_COMPARE(shown()->rowCount(), made_.withFaults);
        browser_->searchField()->setText("no run says this");
        QTRY_COMPARE(shown()->rowCount(), 0);
        browser_->searchField()->clear();
        QTRY_COMPARE(shown()->rowCount(), 140);
    }

    void filtersByTraitsAndDates() {
        const auto boxes = browser_->findChildren<QComboBox*>();
        const auto pick = [&](const QString& item) {
            for (QComboBox* box : boxes)
                if (const int index = box->findText(item); index >= 0) {
                    box->setCurrentIndex(index);
                    return;
                }
            QFAIL(qPrintable("no filter offers " + item));
        };
        pick("with faults");
        QCOMPARE(shown()->rowCount(), made_.withFaults);
        pick("Faults: any");
        pick("with devices");
        QCOMPARE(shown()->rowCount(), made_.withDevices);
        pick("TLS: off");
        QCOMPARE(shown()->rowCount(), made_.withDevices - (made_.withDevices + 1) / 2);
        pick("Devices: any");
        pick("TLS: any");
        pick("postcopy allowed");
        QCOMPARE(shown()->rowCount(), 28);
        pick("Postcopy: any");

        // The newest run started now, one every 6 hours before it: 4 a day.
        auto dates = browser_->findChildren<QDateEdit*>();
        QCOMPARE(dates.size(), 2);
        const QDate today = QDate::currentDate();
        dates[0]->setDate(today.addDays(-1));
        const int sinceYesterday = shown()->rowCount();
        QVERIFY2(sinceYesterday >= 5 && sinceYesterday <= 8,
                 qPrintable(QString::number(sinceYesterday)));
        dates[0]->setDate(dates[0]->minimumDate()); // "any" again
        dates[1]->setDate(today.addDays(-30));
        QVERIFY(shown()->rowCount() > 0 && shown()->rowCount() < 140 - 4 * 29);
        dates[1]->setDate(dates[1]->minimumDate());
        QCOMPARE(shown()->rowCount(), 140);
    }

    void selectingARunShowsItsRecord() {
        QVERIFY(browser_->selectRun(made_.needleRun));
        QCOMPARE(browser_->selectedRunId(), made_.needleRun);
        QTRY_VERIFY(browser_->findChild<QLabel*>("runSummary")
                        ->text()
                        .contains(QStringLiteral("Run %1").arg(made_.needleRun)));
        // A reload keeps the selection.
        browser_->reload();
        QCOMPARE(browser_->selectedRunId(), made_.needleRun);
    }

    void lookingNeverWritesTheFile() {
        browser_.reset();
        model_.reset();
        QCOMPARE(digestOf(path_), fileDigest_);
        QCOMPARE(digestOf(path_ + "-wal"), walDigest_);
    }
};

QTEST_MAIN(HistoryBrowserTest)
#include "tst_history_browser.moc"
