#include "ui/table_view.h"

#include <QHeaderView>
#include <QTableView>

namespace migrascope::ui {

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
        view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
        view->horizontalHeader()->setStretchLastSection(true);
    }
    return view;
}

} // namespace migrascope::ui
