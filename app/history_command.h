// `migrascope history list|show ...`: the history from the command line, for scripts and
// support bundles. Reads the file only; never writes to it.
#pragma once

#include <QStringList>

namespace migrascope::app {

// arguments: the whole command line, "history" among them. Returns the exit status: 0, 1
// when asked for a run the file does not have, 2 for a wrong command line or an unreadable
// file.
int runHistoryCommand(const QStringList& arguments);

} // namespace migrascope::app
