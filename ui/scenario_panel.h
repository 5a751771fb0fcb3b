// The scenario being taught, beside the dashboard: its explanation and what to watch, a choice
// of its variants (before and after a fix), and buttons that put its settings in the launch
// form or start it at once.
#pragma once

#include "engine/api/migration_config.h"
#include "ui/scenario_library.h"

#include <QDockWidget>

class QButtonGroup;
class QTextBrowser;
class QVBoxLayout;

namespace migrascope::ui {

class ScenarioPanel : public QDockWidget {
    Q_OBJECT

public:
    explicit ScenarioPanel(QWidget* parent = nullptr);

    void show(const Scenario& scenario);
    const Scenario& scenario() const { return scenario_; }
    int chosenVariant() const;
    void chooseVariant(int index);

signals:
    // The chosen variant's configuration: put it in the form, or put it there and start.
    void loadRequested(const migrascope::MigrationConfig& config, const QString& description);
    void startRequested(const migrascope::MigrationConfig& config, const QString& description);

private:
    void request(bool start);

    Scenario scenario_;
    QTextBrowser* text_;
    QVBoxLayout* variantsLayout_;
    QButtonGroup* variants_;
};

} // namespace migrascope::ui
