// The words the window shows that come from QEMU, TLS or VFIO, in plain language: the tooltips
// of statuses and states, and Help > Glossary for a class.
#pragma once

#include <QList>
#include <QString>

namespace migrascope::ui {

struct GlossaryEntry {
    QString term;    // as the window shows it: "postcopy-paused", "SHUT 4", "STOP_COPY"
    QString meaning; // plain words
};

QList<GlossaryEntry> glossary();
// The meaning of `term` (exact, case-sensitive, as shown), or empty.
QString explain(const QString& term);
// The whole glossary as HTML, for the Help menu's window.
QString glossaryHtml();

} // namespace migrascope::ui
