#include "app/console.h"

#include <cstdio>

namespace migrascope::app {

void printEvents(const std::vector<Event>& events, EventLevel minimum) {
    for (const auto& event : events)
        if (event.level >= minimum)
            std::fprintf(stderr, "[%s %s] %s\n", toString(event.side), toString(event.level),
                         event.text.c_str());
}

} // namespace migrascope::app
