#include "ui/table_view.h"

#include <QHeaderView>
#include <QTableView>
#include <QTimer>
#include <algorithm>
#include <memory>

namespace migrascope::ui {

namespace {
constexpr int kRemeasureMs = 500;
// Enough rows for a column's width: the newest entries of a long log say as much as all.
constexpr int kRowsMeasured = 200;
} // namespace

QTableView* makeTableView(QAbstractItemModel* model, const char* objectName, QWidget* parent,
                          bool stretchLastColumn) {
    auto* view = new QTableView(parent);
    view->setObjectName(QLatin1String(objectName));
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    view->horizontalHeader()->setHighlightSections(false);
    if (stretchLastColumn) {
        fitColumnsToContents(view);
        view->horizontalHeader()->setStretchLastSection(true);
    }
    return view;
}

void fitColumnsToContents(QTableView* view) {
    QHeaderView* header = view->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setResizeContentsPrecision(kRowsMeasured);
    auto* remeasure = new QTimer(view);
    remeasure->setSingleShot(true);
    remeasure->setInterval(kRemeasureMs);
    auto widenOnly = std::make_shared<bool>(false);
    QObject::connect(remeasure, &QTimer::timeout, view, [view, header, widenOnly] {
        const int columns = view->model() ? view->model()->columnCount() : 0;
        const int last = header->stretchLastSection() ? columns - 1 : columns;
        for (int column = 0; column < last; ++column) {
            // QTableView keeps its override protected; QAbstractItemView's is public.
            const QAbstractItemView* items = view;
            const int wanted =
                std::max(items->sizeHintForColumn(column), header->sectionSizeHint(column));
            header->resizeSection(column, *widenOnly ? std::max(wanted, header->sectionSize(column))
                                                     : wanted);
        }
        *widenOnly = true;
    });
    const auto soon = [remeasure] {
        if (!remeasure->isActive())
            remeasure->start();
    };
    QAbstractItemModel* model = view->model();
    QObject::connect(model, &QAbstractItemModel::rowsInserted, remeasure, soon);
    QObject::connect(model, &QAbstractItemModel::dataChanged, remeasure, soon);
    QObject::connect(model, &QAbstractItemModel::layoutChanged, remeasure, soon);
    QObject::connect(model, &QAbstractItemModel::modelReset, remeasure, [widenOnly, soon] {
        *widenOnly = false;
        soon();
    });
    soon();
}

} // namespace migrascope::ui
