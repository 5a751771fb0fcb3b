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

// Columns as wide as their contents: measured at once on a change, then at most twice a
// second, and only ever widened while the model keeps its rows (a reset measures afresh).
// QHeaderView's ResizeToContents measures every cell on every change: a table updated ten times a
// second spent most of the window's CPU laying out text, and its columns jumped sideways as values
// changed width.
void fitColumnsToContents(QTableView* view);

} // namespace migrascope::ui
