#include "ui/table_view.h"

#include <QEvent>
#include <QHeaderView>
#include <QTableView>
#include <QTimer>
#include <algorithm>
#include <memory>

namespace migrascope::ui {

namespace {
constexpr int kRemeasureMs = 500;

// Compact rows, one line of the view's text high, also after the text grows (presentation
// mode): the header's default size is a number fixed when it is set.
class RowsFollowTheFont : public QObject {
public:
    explicit RowsFollowTheFont(QTableView* view) : QObject(view), view_(view) {
        view->installEventFilter(this);
        fit();
    }
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (watched == view_ && event->type() == QEvent::FontChange)
            fit();
        return false;
    }

private:
    void fit() {
        view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
    }
    QTableView* view_;
};

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
    new RowsFollowTheFont(view);
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
    struct State {
        bool widenOnly = false; // until the model starts afresh, columns only grow
        bool pending = false;   // changed while cooling down: measure when it ends
    };
    auto state = std::make_shared<State>();
    const auto measure = [view, header, state] {
        const int columns = view->model() ? view->model()->columnCount() : 0;
        const int last = header->stretchLastSection() ? columns - 1 : columns;
        for (int column = 0; column < last; ++column) {
            // QTableView keeps its override protected; QAbstractItemView's is public.
            const QAbstractItemView* items = view;
            const int wanted =
                std::max(items->sizeHintForColumn(column), header->sectionSizeHint(column));
            header->resizeSection(
                column, state->widenOnly ? std::max(wanted, header->sectionSize(column)) : wanted);
        }
        state->widenOnly = true;
    };
    // The first change is measured at once, later ones at most every kRemeasureMs.
    auto* coolDown = new QTimer(view);
    coolDown->setSingleShot(true);
    coolDown->setInterval(kRemeasureMs);
    QObject::connect(coolDown, &QTimer::timeout, view, [coolDown, state, measure] {
        if (!state->pending)
            return;
        state->pending = false;
        measure();
        coolDown->start();
    });
    const auto changed = [coolDown, state, measure] {
        if (coolDown->isActive()) {
            state->pending = true;
            return;
        }
        measure();
        coolDown->start();
    };
    QAbstractItemModel* model = view->model();
    QObject::connect(model, &QAbstractItemModel::rowsInserted, coolDown, changed);
    QObject::connect(model, &QAbstractItemModel::dataChanged, coolDown, changed);
    QObject::connect(model, &QAbstractItemModel::layoutChanged, coolDown, changed);
    QObject::connect(model, &QAbstractItemModel::modelReset, coolDown, [state, changed] {
        state->widenOnly = false;
        changed();
    });
    changed();
}

} // namespace migrascope::ui
