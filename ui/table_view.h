// The read-only tables of the window (channels, logs, history) all look and behave alike.
#pragma once

class QAbstractItemModel;
class QTableView;
class QWidget;

namespace migrascope::ui {

// Whole-row selection, no editing, compact rows, no row numbers. A log (`stretchLastColumn`)
// sizes its columns to their contents and gives the rest to the last, its message.
QTableView* makeTableView(QAbstractItemModel* model, const char* objectName, QWidget* parent,
                          bool stretchLastColumn = false);

} // namespace migrascope::ui
