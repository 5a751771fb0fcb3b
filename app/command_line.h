// The command line scripts rely on (README.md, "Headless").
#pragma once

#include "engine/api/incoming_daemon.h"
#include "engine/api/migration_config.h"
#include "engine/api/qemu_watch.h"

#include <QString>
#include <QStringList>
#include <string>

namespace migrascope::app {

struct CommandLine {
    enum class Mode { Window, Headless, Incoming, Watch };
    Mode mode = Mode::Window;
    MigrationConfig config;
    bool json = false;
    std::string historyPath;  // empty = the default in XDG_DATA_HOME
    IncomingOptions incoming; // Mode::Incoming
    WatchOptions watch;       // Mode::Watch
    bool watchInWindow = false;
    QString qmpPath; // --qmp unix:PATH, absolute; empty = no QMP socket
};

// Throws std::invalid_argument with a message naming the option and what was wrong.
// --help and --version print and exit, as QCommandLineParser does.
CommandLine parseCommandLine(const QStringList& arguments);

} // namespace migrascope::app
