#include "ui/scenario_panel.h"

#include <QButtonGroup>
#include <QHBoxLayout>
#include <QPushButton>
#include <QRadioButton>
#include <QTextBrowser>
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
    auto* layout = new QVBoxLayout(body);
    layout->addWidget(text_, 1);
    layout->addLayout(variantsLayout_);
    layout->addLayout(buttons);
    setWidget(body);
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
        auto* choice = new QRadioButton(scenario.variants[index].label, widget());
        choice->setObjectName(QStringLiteral("scenarioVariant%1").arg(index));
        choice->setToolTip(tr("Ends: %1").arg(scenario.variants[index].expect));
        variants_->addButton(choice, index);
        variantsLayout_->addWidget(choice);
    }
    chooseVariant(0);
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
