// The window's remembered choices (last destination, retention, geometry, splitters), in
// $XDG_CONFIG_HOME/migrascope/migrascope.conf.
#pragma once

#include <QSettings>

namespace migrascope::ui {

inline QSettings windowSettings() {
    return QSettings(QStringLiteral("migrascope"), QStringLiteral("migrascope"));
}

} // namespace migrascope::ui
