#include "ui/scenario_panel.h"

#include <QButtonGroup>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QTextBrowser>
#include <QTimer>
#include <QVBoxLayout>

namespace migrascope::ui {

ScenarioPanel::ScenarioPanel(QWidget* parent) : QDockWidget(tr("Scenario"), parent) {
    setObjectName(QStringLiteral("scenarioPanel"));
    auto* body = new QWidget(this);
    text_ = new QTextBrowser(body);
    text_->setObjectName(QStringLiteral("scenarioText"));
    text_->setOpenExternalLinks(false);
    variantsLayout_ = new QVBoxLayout;
    variants_ = new QButtonGroup(this);
    auto* load = new QPushButton(tr("Load into the form"), body);
    load->setObjectName(QStringLiteral("scenarioLoad"));
    load->setToolTip(tr("Put the chosen variant's settings in the launch form, to adjust them "
                        "before starting"));
    auto* start = new QPushButton(tr("Start"), body);
    start->setObjectName(QStringLiteral("scenarioStart"));
    start->setToolTip(tr("Put the chosen variant's settings in the launch form and start"));
    connect(load, &QPushButton::clicked, this, [this] { request(false); });
    connect(start, &QPushButton::clicked, this, [this] { request(true); });
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(load);
    buttons->addWidget(start);
    buttons->addStretch(1);
    // Demonstrations: old behaviour that would break a migration's session or process, run in
    // a process of its own beside the scenario.
    demonstrationBox_ = new QGroupBox(tr("Demonstrations (each in its own process)"), body);
    demonstrationBox_->setObjectName(QStringLiteral("scenarioDemonstrations"));
    demonstrationButtons_ = new QVBoxLayout; // stacked: the labels are long, the dock narrow
    stopDemonstration_ = new QPushButton(tr("Stop"), demonstrationBox_);
    stopDemonstration_->setObjectName(QStringLiteral("demonstrationStop"));
    stopDemonstration_->setEnabled(false);
    demonstrationResult_ = new QLabel(demonstrationBox_);
    demonstrationResult_->setObjectName(QStringLiteral("demonstrationResult"));
    demonstrationResult_->setWordWrap(true);
    demonstrationOutput_ = new QPlainTextEdit(demonstrationBox_);
    demonstrationOutput_->setObjectName(QStringLiteral("demonstrationOutput"));
    demonstrationOutput_->setReadOnly(true);
    demonstrationOutput_->setMaximumBlockCount(2000);
    demonstrationOutput_->hide();
    demonstrationBound_ = new QTimer(this);
    demonstrationBound_->setSingleShot(true);
    demonstrationBound_->setInterval(kDemonstrationBoundSeconds * 1000);
    auto stop = [this] {
        if (!demonstration_)
            return;
        demonstrationStopped_ = true;
        demonstration_->kill();
    };
    connect(stopDemonstration_, &QPushButton::clicked, this, stop);
    connect(demonstrationBound_, &QTimer::timeout, this, stop);
    auto* resultRow = new QHBoxLayout;
    resultRow->addWidget(demonstrationResult_, 1);
    resultRow->addWidget(stopDemonstration_);
    auto* demonstrationLayout = new QVBoxLayout(demonstrationBox_);
    demonstrationLayout->addLayout(demonstrationButtons_);
    demonstrationLayout->addLayout(resultRow);
    demonstrationLayout->addWidget(demonstrationOutput_, 1);
    demonstrationBox_->hide();

    auto* layout = new QVBoxLayout(body);
    layout->addWidget(text_, 1);
    layout->addLayout(variantsLayout_);
    layout->addLayout(buttons);
    layout->addWidget(demonstrationBox_);
    // Its labels and buttons scroll rather than widen the window: beside the form and the
    // dashboard it must still fit a small screen.
    auto* scroll = new QScrollArea(this);
    scroll->setObjectName(QStringLiteral("scenarioScroll"));
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(body);
    setWidget(scroll);
}

ScenarioPanel::~ScenarioPanel() {
    // A demonstration still running ends with the window, and says nothing to a panel going.
    if (demonstration_) {
        demonstration_->disconnect(this);
        demonstration_->kill();
        demonstration_->waitForFinished(5000);
    }
}

void ScenarioPanel::showDemonstrations() {
    while (QLayoutItem* item = demonstrationButtons_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    for (int index = 0; index < scenario_.demonstrations.size(); ++index) {
        const ScenarioDemonstration& demonstration = scenario_.demonstrations[index];
        auto* run = new QPushButton(demonstration.label, demonstrationBox_);
        run->setObjectName(QStringLiteral("demonstration%1").arg(index));
        run->setToolTip(tr("Runs %1 %2 in a process of its own; it never touches a migration")
                            .arg(demonstration.program, demonstration.arguments.join(' ')));
        run->setEnabled(!demonstrationRunning());
        connect(run, &QPushButton::clicked, this, [this, index] { runDemonstration(index); });
        demonstrationButtons_->addWidget(run);
    }
    demonstrationBox_->setVisible(!scenario_.demonstrations.isEmpty());
}

bool ScenarioPanel::demonstrationRunning() const {
    return demonstration_ != nullptr;
}

void ScenarioPanel::runDemonstration(int index) {
    if (demonstrationRunning() || index < 0 || index >= scenario_.demonstrations.size())
        return;
    const ScenarioDemonstration& demonstration = scenario_.demonstrations[index];
    demonstrationOutput_->clear();
    demonstrationOutput_->show();
    const QString program = demonstrationProgram(demonstration.program);
    if (program.isEmpty()) {
        demonstrationEnded(tr("%1 is not installed here: it comes with the package, in "
                              "/usr/libexec/migrascope.")
                               .arg(demonstration.program));
        return;
    }
    demonstrationStopped_ = false;
    demonstration_ = new QProcess(this);
    demonstration_->setProcessChannelMode(QProcess::MergedChannels);
    auto showOutput = [this] {
        const QString said =
            QString::fromLocal8Bit(demonstration_->readAllStandardOutput()).trimmed();
        if (!said.isEmpty())
            demonstrationOutput_->appendPlainText(said);
    };
    connect(demonstration_, &QProcess::readyReadStandardOutput, this, showOutput);
    connect(demonstration_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart)
            demonstrationEnded(tr("It could not start: %1").arg(demonstration_->errorString()));
    });
    connect(
        demonstration_, &QProcess::finished, this,
        [this, showOutput](int exitCode, QProcess::ExitStatus status) {
            showOutput();
            if (demonstrationStopped_)
                demonstrationEnded(
                    demonstrationBound_->isActive()
                        ? tr("Stopped.")
                        : tr("Stopped after %1 s without ending.").arg(kDemonstrationBoundSeconds));
            else if (status == QProcess::CrashExit)
                demonstrationEnded(tr("It crashed: what it demonstrates broke the process "
                                      "it ran in."));
            else if (exitCode == 0)
                demonstrationEnded(tr("It ended without a failure (exit 0)."));
            else
                demonstrationEnded(
                    tr("It ended with failures (exit %1): its output below says which.")
                        .arg(exitCode));
        });
    demonstrationResult_->setText(tr("Running %1…").arg(demonstration.label));
    for (QPushButton* button : demonstrationBox_->findChildren<QPushButton*>())
        button->setEnabled(button == stopDemonstration_);
    demonstrationBound_->start();
    demonstration_->start(program, demonstration.arguments);
}

void ScenarioPanel::demonstrationEnded(const QString& result) {
    demonstrationBound_->stop();
    if (demonstration_) {
        demonstration_->disconnect(this);
        demonstration_->deleteLater();
        demonstration_ = nullptr;
    }
    demonstrationResult_->setText(result);
    for (QPushButton* button : demonstrationBox_->findChildren<QPushButton*>())
        button->setEnabled(button != stopDemonstration_);
    emit demonstrationFinished(result);
}

void ScenarioPanel::show(const Scenario& scenario) {
    scenario_ = scenario;
    setWindowTitle(tr("Scenario: %1").arg(scenario.title));
    text_->setHtml(scenario.html());
    for (QAbstractButton* old : variants_->buttons()) {
        variants_->removeButton(old);
        delete old;
    }
    for (int index = 0; index < scenario.variants.size(); ++index) {
        auto* choice = new QRadioButton(scenario.variants[index].label, text_->parentWidget());
        choice->setObjectName(QStringLiteral("scenarioVariant%1").arg(index));
        choice->setToolTip(tr("Ends: %1").arg(scenario.variants[index].expect));
        variants_->addButton(choice, index);
        variantsLayout_->addWidget(choice);
    }
    chooseVariant(0);
    showDemonstrations();
    QDockWidget::show();
    raise();
}

int ScenarioPanel::chosenVariant() const {
    return std::max(0, variants_->checkedId());
}

void ScenarioPanel::chooseVariant(int index) {
    if (QAbstractButton* button = variants_->button(index))
        button->setChecked(true);
}

void ScenarioPanel::request(bool start) {
    const int index = chosenVariant();
    const QString description =
        QStringLiteral("%1 — %2").arg(scenario_.title, scenario_.variants.value(index).label);
    const MigrationConfig config = scenario_.config(index); // read once already: it parses
    if (start)
        emit startRequested(config, description);
    else
        emit loadRequested(config, description);
}

} // namespace migrascope::ui
