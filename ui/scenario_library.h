// Scenarios for a class: a known behaviour of QEMU's migration, explained for trainees, with the
// settings that stage it and, where there is one, the behaviour before and after its fix. Each
// is a JSON file: the ones shipped in the binary's resources (resources/scenarios/), then any a
// trainer puts in $XDG_DATA_HOME/migrascope/scenarios/ (no build needed). Settings are the
// history's configuration lines (KEY=VALUE, as `history show` prints them; sizes as "64M").
#pragma once

#include "engine/api/migration_config.h"

#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace migrascope::ui {

struct ScenarioVariant {
    QString label;        // "With the fix (explicit RESUMING -> STOP)"
    QStringList settings; // on top of the scenario's own
    // What the run ends as, in the window's words: "completed", "completed with warnings",
    // "failed", or "keeps iterating" (it would run until cancelled).
    QString expect;
};

// A behaviour too dangerous for a migration (it breaks the session or the process it runs in),
// shown by one of the demonstration programs in its own process: QEMU's old code paths, on
// purpose, beside the fixed ones.
struct ScenarioDemonstration {
    QString label;         // "Without the session lock (QEMU before its fix)"
    QString program;       // a file name in demonstrationDirectory(): "demo_tls_unprotected"
    QStringList arguments; // ["5"]
};

struct Scenario {
    QString file; // where it was read from
    QString title;
    QString summary;
    QStringList explanation; // paragraphs
    QStringList watch;       // what to watch, one point each
    QStringList settings;
    QList<ScenarioVariant> variants;             // at least one
    QList<ScenarioDemonstration> demonstrations; // may be none

    // The configuration of variant `index`: the scenario's settings, then the variant's.
    // Throws std::invalid_argument naming the line it cannot read.
    MigrationConfig config(int index) const;
    // The explanation, what to watch and each variant's outcome, as HTML for the window.
    QString html() const;
};

struct ScenarioLibrary {
    QList<Scenario> scenarios; // shipped first, then the trainer's, each in file-name order
    QStringList problems;      // "FILE: what is wrong", for files that could not be used
};

// The directory a trainer's own scenarios go in.
QString userScenarioDirectory();
// Where the demonstration programs are: installed beside the binary's libexec
// (/usr/libexec/migrascope), else in the build tree (tests/demos); empty when neither has it.
QString demonstrationProgram(const QString& program);
// Reads every *.json of `directories` in order (default: the shipped ones, then the trainer's).
ScenarioLibrary loadScenarios(QStringList directories = {});

} // namespace migrascope::ui

Q_DECLARE_METATYPE(migrascope::ui::Scenario)
