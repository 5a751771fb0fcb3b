// Where Migrascope keeps the user's files, by the XDG base directory spec.
#pragma once

#include <filesystem>

namespace migrascope {

// $XDG_CONFIG_HOME, else ~/.config (a relative value is ignored, as the spec says).
std::filesystem::path userConfigHome();
// $XDG_DATA_HOME, else ~/.local/share.
std::filesystem::path userDataHome();

} // namespace migrascope
