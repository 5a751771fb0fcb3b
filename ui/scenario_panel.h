// The scenario being taught, beside the dashboard: its explanation and what to watch, a choice
// of its variants (before and after a fix), and buttons that put its settings in the launch
// form or start it at once.
#pragma once

#include "engine/api/migration_config.h"
#include "ui/scenario_library.h"

#include <QDockWidget>

class QButtonGroup;
class QGroupBox;
class QLabel;
class QPlainTextEdit;
class QProcess;
class QPushButton;
class QTextBrowser;
class QTimer;
class QVBoxLayout;

namespace migrascope::ui {

class ScenarioPanel : public QDockWidget {
    Q_OBJECT

public:
    explicit ScenarioPanel(QWidget* parent = nullptr);
    ~ScenarioPanel() override;

    void show(const Scenario& scenario);
    const Scenario& scenario() const { return scenario_; }
    int chosenVariant() const;
    void chooseVariant(int index);

    // Runs the scenario's demonstration `index` in a process of its own (one at a time), its
    // output shown as it comes; stopped after kDemonstrationBound, or by the Stop button.
    void runDemonstration(int index);
    bool demonstrationRunning() const;
    static constexpr int kDemonstrationBoundSeconds = 60;

signals:
    // The chosen variant's configuration: put it in the form, or put it there and start.
    void loadRequested(const migrascope::MigrationConfig& config, const QString& description);
    void startRequested(const migrascope::MigrationConfig& config, const QString& description);
    // A demonstration ended; `result` is what the panel says of it.
    void demonstrationFinished(const QString& result);

private:
    void request(bool start);
    void showDemonstrations();
    void demonstrationEnded(const QString& result);

    Scenario scenario_;
    QTextBrowser* text_;
    QVBoxLayout* variantsLayout_;
    QButtonGroup* variants_;
    QGroupBox* demonstrationBox_;
    QVBoxLayout* demonstrationButtons_;
    QPushButton* stopDemonstration_;
    QPlainTextEdit* demonstrationOutput_;
    QLabel* demonstrationResult_;
    QProcess* demonstration_ = nullptr; // the one running, a child of this panel
    QTimer* demonstrationBound_;
    bool demonstrationStopped_ = false; // by the Stop button or the bound, not by itself
};

} // namespace migrascope::ui
