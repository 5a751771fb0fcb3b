#include "ui/history_browser.h"

#include "ui/display_format.h"
#include "ui/history_model.h"
#include "ui/run_comparison.h"
#include "ui/run_details.h"
#include "ui/run_report.h"
#include "ui/table_view.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDateEdit>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QShortcut>
#include <QSplitter>
#include <QSysInfo>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>

namespace migrascope::ui {
namespace {

// The earliest date a date field holds; it reads "any" there, an open end of the range.
const QDate kOpenDate(2000, 1, 1);

QDateEdit* makeDateField(const QString& prefix, QWidget* parent) {
    auto* field = new QDateEdit(parent);
    field->setCalendarPopup(true);
    field->setMinimumDate(kOpenDate);
    field->setSpecialValueText(prefix + HistoryBrowser::tr("any"));
    field->setDisplayFormat(prefix + QStringLiteral("yyyy-MM-dd"));
    field->setDate(kOpenDate);
    return field;
}

QComboBox* makeTristate(const QString& any, const QString& yes, const QString& no,
                        QWidget* parent) {
    auto* box = new QComboBox(parent);
    box->addItem(any, static_cast<int>(HistoryFilter::Tristate::Any));
    box->addItem(yes, static_cast<int>(HistoryFilter::Tristate::Yes));
    box->addItem(no, static_cast<int>(HistoryFilter::Tristate::No));
    return box;
}

HistoryFilter::Tristate tristateOf(const QComboBox* box) {
    return static_cast<HistoryFilter::Tristate>(box->currentData().toInt());
}

QDate dateOf(const QDateEdit* field) {
    return field->date() == kOpenDate ? QDate() : field->date();
}

qint64 fileBytes(const QString& path) {
    // The WAL holds recent runs until SQLite checkpoints them into the file.
    return QFileInfo(path).size() + QFileInfo(path + QStringLiteral("-wal")).size();
}

} // namespace

HistoryBrowser::HistoryBrowser(HistoryModel* model, QWidget* parent)
    : QWidget(parent), model_(model), filter_(new HistoryFilterModel(this)) {
    filter_->setSourceModel(model_);
    view_ = makeTableView(filter_, "historyTable", this);
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection); // export several at once
    view_->setSortingEnabled(true);
    view_->setContextMenuPolicy(Qt::CustomContextMenu);
    // Years of runs: columns are sized once from the first rows, not on every change.
    view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    view_->horizontalHeader()->setStretchLastSection(true);
    view_->horizontalHeader()->setSortIndicator(HistoryModel::Result, Qt::AscendingOrder);
    view_->setColumnWidth(HistoryModel::Run, 56);
    view_->setColumnWidth(HistoryModel::Started, 140);
    view_->setColumnWidth(HistoryModel::Result, 185);
    view_->setColumnWidth(HistoryModel::Diagnosis, 340);

    details_ = new RunDetails(this);
    details_->setObjectName(QStringLiteral("runDetails"));

    connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &HistoryBrowser::showSelectedRun);
    connect(view_, &QTableView::customContextMenuRequested, this, &HistoryBrowser::showContextMenu);
    connect(view_, &QTableView::activated, this, [this] { details_->setFocus(); });
    connect(filter_, &QAbstractItemModel::rowsInserted, this, &HistoryBrowser::updateCount);
    connect(filter_, &QAbstractItemModel::rowsRemoved, this, &HistoryBrowser::updateCount);
    connect(filter_, &QAbstractItemModel::modelReset, this, &HistoryBrowser::updateCount);
    connect(filter_, &QAbstractItemModel::layoutChanged, this, &HistoryBrowser::updateCount);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("historySplitter"));
    auto* top = new QWidget(splitter);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(createFilterBar());
    topLayout->addWidget(view_, 1);
    splitter->addWidget(top);
    splitter->addWidget(details_);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);

    auto* remove = new QShortcut(QKeySequence::Delete, view_, nullptr, nullptr, Qt::WidgetShortcut);
    connect(remove, &QShortcut::activated, this, &HistoryBrowser::askToDeleteSelected);
    auto* find = new QShortcut(QKeySequence::Find, this);
    connect(find, &QShortcut::activated, this, [this] {
        search_->setFocus();
        search_->selectAll();
    });
    updateCount();
}

QWidget* HistoryBrowser::createFilterBar() {
    auto* bar = new QWidget(this);
    search_ = new QLineEdit(bar);
    search_->setObjectName(QStringLiteral("historySearch"));
    search_->setPlaceholderText(tr("Search causes, warnings, events, configuration, UUIDs…"));
    search_->setClearButtonEnabled(true);
    result_ = new QComboBox(bar);
    result_->setObjectName(QStringLiteral("historyResult"));
    const std::pair<QString, HistoryFilter::Result> results[] = {
        {tr("All results"), HistoryFilter::Result::Any},
        {tr("Failed, interrupted or with warnings"), HistoryFilter::Result::Trouble},
        {tr("failed"), HistoryFilter::Result::Failed},
        {tr("interrupted"), HistoryFilter::Result::Interrupted},
        {tr("cancelled"), HistoryFilter::Result::Cancelled},
        {tr("completed with warnings"), HistoryFilter::Result::CompletedWithWarnings},
        {tr("completed (no warnings)"), HistoryFilter::Result::Completed},
        {tr("active"), HistoryFilter::Result::Active},
    };
    for (const auto& [text, value] : results)
        result_->addItem(text, static_cast<int>(value));
    role_ = new QComboBox(bar);
    role_->addItem(tr("Any role"), -1);
    for (const RunRole role : {RunRole::Source, RunRole::Destination, RunRole::WatchedQemu})
        role_->addItem(QString::fromLatin1(toString(role)), static_cast<int>(role));
    since_ = makeDateField(tr("From "), bar);
    until_ = makeDateField(tr("To "), bar);
    tls_ = makeTristate(tr("TLS: any"), tr("TLS: on"), tr("TLS: off"), bar);
    faults_ = makeTristate(tr("Faults: any"), tr("with faults"), tr("without faults"), bar);
    devices_ = makeTristate(tr("Devices: any"), tr("with devices"), tr("without devices"), bar);
    postcopy_ = makeTristate(tr("Postcopy: any"), tr("postcopy allowed"), tr("precopy only"), bar);
    auto* reset = new QPushButton(tr("Show all"), bar);
    count_ = new QLabel(bar);
    count_->setObjectName(QStringLiteral("historyCount"));

    searchDelay_ = new QTimer(this);
    searchDelay_->setSingleShot(true);
    searchDelay_->setInterval(250); // searching the events on every keystroke would lag typing
    connect(searchDelay_, &QTimer::timeout, this, &HistoryBrowser::applyFilter);
    connect(search_, &QLineEdit::textChanged, searchDelay_, qOverload<>(&QTimer::start));
    for (QComboBox* box : {result_, role_, tls_, faults_, devices_, postcopy_})
        connect(box, &QComboBox::currentIndexChanged, this, &HistoryBrowser::applyFilter);
    for (QDateEdit* field : {since_, until_})
        connect(field, &QDateEdit::dateChanged, this, &HistoryBrowser::applyFilter);
    connect(reset, &QPushButton::clicked, this, &HistoryBrowser::resetFilter);

    // Three short rows rather than one long one: the tab is about 640 px wide on a 1024 px screen.
    for (QComboBox* box : {result_, role_, tls_, faults_, devices_, postcopy_})
        box->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    auto* first = new QHBoxLayout;
    first->addWidget(search_, 1);
    first->addWidget(result_);
    auto* second = new QHBoxLayout;
    for (QWidget* widget : std::initializer_list<QWidget*>{role_, since_, until_})
        second->addWidget(widget);
    second->addStretch(1);
    second->addWidget(reset);
    auto* third = new QHBoxLayout;
    for (QWidget* widget : std::initializer_list<QWidget*>{tls_, faults_, devices_, postcopy_})
        third->addWidget(widget);
    third->addStretch(1);
    auto* layout = new QVBoxLayout(bar);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(first);
    layout->addLayout(second);
    layout->addLayout(third);
    layout->addWidget(count_);
    return bar;
}

void HistoryBrowser::applyFilter() {
    searchDelay_->stop();
    HistoryFilter filter;
    filter.result = static_cast<HistoryFilter::Result>(result_->currentData().toInt());
    if (const int role = role_->currentData().toInt(); role >= 0)
        filter.role = static_cast<RunRole>(role);
    filter.since = dateOf(since_);
    filter.until = dateOf(until_);
    filter.text = search_->text().trimmed();
    if (!filter.text.isEmpty())
        for (const std::int64_t id : model_->runsWhoseEventsMention(filter.text))
            filter.eventMatches.insert(id);
    filter.tls = tristateOf(tls_);
    filter.faults = tristateOf(faults_);
    filter.devices = tristateOf(devices_);
    filter.postcopy = tristateOf(postcopy_);
    filter_->setFilter(std::move(filter));
    updateCount();
}

void HistoryBrowser::resetFilter() {
    const QSignalBlocker blockSearch(search_);
    search_->clear();
    for (QComboBox* box : {result_, role_, tls_, faults_, devices_, postcopy_}) {
        const QSignalBlocker block(box);
        box->setCurrentIndex(0);
    }
    for (QDateEdit* field : {since_, until_}) {
        const QSignalBlocker block(field);
        field->setDate(kOpenDate);
    }
    applyFilter();
}

void HistoryBrowser::reload() {
    const std::int64_t selected = selectedRunId();
    const bool wasEmpty = model_->rowCount() == 0;
    if (!model_->reload())
        return;
    if (!filter_->filter().text.isEmpty())
        applyFilter(); // new runs' events may match the search
    if (wasEmpty && model_->rowCount() > 0)
        for (const int column :
             {HistoryModel::Role, HistoryModel::Ram, HistoryModel::Channels, HistoryModel::Tls,
              HistoryModel::Transferred, HistoryModel::TotalTime, HistoryModel::Downtime})
            view_->resizeColumnToContents(column);
    if (selected != 0)
        selectRun(selected);
    updateCount();
}

bool HistoryBrowser::selectRun(std::int64_t id) {
    const int sourceRow = model_->rowOfRun(id);
    if (sourceRow < 0)
        return false;
    const QModelIndex index = filter_->mapFromSource(model_->index(sourceRow, 0));
    if (!index.isValid())
        return false;
    view_->setCurrentIndex(index);
    view_->scrollTo(index);
    return true;
}

std::int64_t HistoryBrowser::selectedRunId() const {
    const QModelIndex current = view_->currentIndex();
    return current.isValid() ? current.data(HistoryModel::RunIdRole).toLongLong() : 0;
}

void HistoryBrowser::showSelectedRun() {
    const std::int64_t id = selectedRunId();
    if (id == 0)
        details_->clear();
    else
        details_->showRun(model_->path(), id);
}

void HistoryBrowser::updateCount() {
    const QString path = QString::fromStdString(model_->path());
    const QString size = QFileInfo::exists(path) ? bytesText(static_cast<double>(fileBytes(path)))
                                                 : tr("not created yet");
    count_->setText(tr("%1 of %2 runs shown · history file %3")
                        .arg(filter_->rowCount())
                        .arg(model_->rowCount())
                        .arg(size));
}

void HistoryBrowser::showContextMenu(const QPoint& position) {
    const QModelIndex index = view_->indexAt(position);
    if (!index.isValid())
        return;
    if (!view_->selectionModel()->isRowSelected(index.row()))
        view_->setCurrentIndex(index);
    const int sourceRow = filter_->mapToSource(index).row();
    const RunRecord run = model_->runAt(sourceRow);
    QMenu menu(this);
    menu.addAction(tr("Open"), this, [this] { details_->setFocus(); });
    QAction* copyDiagnosis = menu.addAction(tr("Copy diagnosis"), this, [this, index] {
        const QString diagnosis =
            index.siblingAtColumn(HistoryModel::Diagnosis).data(Qt::DisplayRole).toString();
        QApplication::clipboard()->setText(diagnosis);
        emit statusMessage(tr("Diagnosis copied"));
    });
    copyDiagnosis->setEnabled(
        !index.siblingAtColumn(HistoryModel::Diagnosis).data(Qt::DisplayRole).toString().isEmpty());
    menu.addAction(tr("Copy summary for a ticket"), this, [this, run] {
        QString text = tr("Migrascope run %1 (%2), started %3: %4")
                           .arg(run.id)
                           .arg(QString::fromStdString(run.uuid), localTimeText(run.startedAt),
                                runResultText(run));
        if (!run.diagnosis.empty())
            text += tr("\nDiagnosis: %1").arg(QString::fromStdString(run.diagnosis));
        if (!run.errorDesc.empty())
            text += tr("\nRecorded cause: %1").arg(QString::fromStdString(run.errorDesc));
        if (!run.warnings.empty())
            text += QLatin1Char('\n') + warningsText(run.warnings);
        text += QLatin1Char('\n') + QString::fromStdString(run.config);
        QApplication::clipboard()->setText(text);
        emit statusMessage(tr("Summary of run %1 copied").arg(run.id));
    });
    menu.addAction(tr("Run again with these settings"), this, &HistoryBrowser::runSelectedAgain);
    QAction* compare =
        menu.addAction(tr("Compare the two selected runs"), this, &HistoryBrowser::compareSelected);
    compare->setEnabled(selectedRunIds().size() == 2);
    menu.addSeparator();
    menu.addAction(tr("Export selected runs…"), this, &HistoryBrowser::askToExportSelected);
    menu.addAction(tr("Save report…"), this, &HistoryBrowser::askToSaveReport);
    menu.addAction(tr("Delete selected runs…"), this, &HistoryBrowser::askToDeleteSelected);
    menu.addSeparator();
    menu.addAction(tr("Show all runs"), this, &HistoryBrowser::resetFilter);
    menu.exec(view_->viewport()->mapToGlobal(position));
}

std::vector<std::int64_t> HistoryBrowser::selectedRunIds() const {
    std::vector<std::int64_t> ids;
    for (const QModelIndex& row : view_->selectionModel()->selectedRows())
        ids.push_back(row.data(HistoryModel::RunIdRole).toLongLong());
    std::sort(ids.rbegin(), ids.rend());
    return ids;
}

bool HistoryBrowser::exportRuns(const std::vector<std::int64_t>& ids, const QString& file) {
    try {
        const HistoryStore store(model_->path(), HistoryStore::Access::ReadOnly);
        store.exportRuns(ids, file.toStdString(), QSysInfo::machineHostName().toStdString());
    } catch (const std::exception& error) {
        emit statusMessage(tr("Export failed: %1").arg(QString::fromStdString(error.what())));
        return false;
    }
    emit statusMessage(
        tr("Exported %n run(s) to %1", nullptr, static_cast<int>(ids.size())).arg(file));
    return true;
}

bool HistoryBrowser::saveReport(std::int64_t id, const QString& file) {
    const QString error = writeRunReport(model_->path(), id, file);
    emit statusMessage(error.isEmpty() ? tr("Report of run %1 saved to %2").arg(id).arg(file)
                                       : tr("Report not saved: %1").arg(error));
    return error.isEmpty();
}

bool HistoryBrowser::importRuns(const QString& file) {
    HistoryStore::ImportResult result;
    try {
        HistoryStore store(model_->path());
        result = store.importRuns(file.toStdString());
    } catch (const std::exception& error) {
        emit statusMessage(tr("Import failed: %1").arg(QString::fromStdString(error.what())));
        return false;
    }
    reload();
    if (!result.imported.empty())
        selectRun(result.imported.back());
    QString message =
        tr("Imported %n run(s) from %1", nullptr, static_cast<int>(result.imported.size()))
            .arg(file);
    if (!result.alreadyThere.empty())
        message +=
            tr("; %n were already here", nullptr, static_cast<int>(result.alreadyThere.size()));
    emit statusMessage(message);
    return true;
}

bool HistoryBrowser::deleteRuns(const std::vector<std::int64_t>& ids) {
    std::uint64_t deleted = 0;
    try {
        HistoryStore store(model_->path());
        for (const std::int64_t id : ids)
            deleted += store.deleteRun(id);
    } catch (const std::exception& error) {
        emit statusMessage(tr("Delete failed: %1").arg(QString::fromStdString(error.what())));
        return false;
    }
    reload();
    emit statusMessage(
        deleted == ids.size()
            ? tr("Deleted %n run(s)", nullptr, static_cast<int>(deleted))
            : tr("Deleted %1 of %2 runs; a run still active is kept").arg(deleted).arg(ids.size()));
    return true;
}

void HistoryBrowser::askToExportSelected() {
    const std::vector<std::int64_t> ids = selectedRunIds();
    if (ids.empty()) {
        emit statusMessage(tr("Select the runs to export first"));
        return;
    }
    const QString file = QFileDialog::getSaveFileName(
        this, tr("Export %n run(s)", nullptr, static_cast<int>(ids.size())),
        QStringLiteral("migrascope-runs-%1.sqlite").arg(ids.front()),
        tr("Migrascope history (*.sqlite)"));
    if (!file.isEmpty())
        exportRuns(ids, file);
}

void HistoryBrowser::askToSaveReport() {
    const std::int64_t id = selectedRunId();
    if (id == 0) {
        emit statusMessage(tr("Select a run first"));
        return;
    }
    const QString file = QFileDialog::getSaveFileName(
        this, tr("Save the report of run %1").arg(id),
        QStringLiteral("migrascope-run-%1.html").arg(id), tr("Web page (*.html);;PDF (*.pdf)"));
    if (!file.isEmpty())
        saveReport(id, file);
}

void HistoryBrowser::askToImport() {
    const QString file = QFileDialog::getOpenFileName(
        this, tr("Import runs"), QString(), tr("Migrascope history (*.sqlite);;All files (*)"));
    if (!file.isEmpty())
        importRuns(file);
}

void HistoryBrowser::askToDeleteSelected() {
    const std::vector<std::int64_t> ids = selectedRunIds();
    if (ids.empty())
        return;
    const auto answer = QMessageBox::question(
        this, tr("Delete runs"),
        tr("Delete %n run(s) and everything recorded of them from the history? This cannot be "
           "undone; export them first to keep a copy.",
           nullptr, static_cast<int>(ids.size())));
    if (answer == QMessageBox::Yes)
        deleteRuns(ids);
}

void HistoryBrowser::runSelectedAgain() {
    const QModelIndex current = view_->currentIndex();
    if (!current.isValid())
        return;
    emit runAgainRequested(
        QString::fromStdString(model_->runAt(filter_->mapToSource(current).row()).config));
}

RunComparison* HistoryBrowser::compareRuns(std::int64_t first, std::int64_t second) {
    auto* dialog = new RunComparison(model_->path(), first, second, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

void HistoryBrowser::compareSelected() {
    const std::vector<std::int64_t> ids = selectedRunIds();
    if (ids.size() != 2) {
        emit statusMessage(tr("Select two runs to compare (Ctrl+click the second)"));
        return;
    }
    compareRuns(ids[1], ids[0]); // the older first
}

} // namespace migrascope::ui
