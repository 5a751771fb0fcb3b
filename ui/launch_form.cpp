#include "ui/launch_form.h"

#include "engine/api/faults.h"
#include "engine/api/incoming_daemon.h"
#include "engine/api/tls_pki.h"
#include "ui/settings.h"
#include "ui/theme.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace migrascope::ui {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

QSpinBox* makeSpinBox(const char* objectName, int minimum, int maximum, int value,
                      const QString& suffix, QWidget* parent) {
    auto* box = new QSpinBox(parent);
    box->setObjectName(QLatin1String(objectName));
    box->setRange(minimum, maximum);
    box->setValue(value);
    box->setSuffix(suffix);
    box->setAlignment(Qt::AlignRight);
    box->setAccelerated(true);
    return box;
}

} // namespace

LaunchForm::LaunchForm(QWidget* parent) : QWidget(parent) {
    auto* guestBox = new QGroupBox(tr("Guest"), this);
    ramSize_ = makeSpinBox("ramSize", 64, 65536, 512, tr(" MiB"), guestBox);
    ramSize_->setSingleStep(64);
    ramSize_->setToolTip(tr("Guest RAM to migrate"));
    dirtyRate_ = makeSpinBox("dirtyRate", 0, 65536, 64, tr(" MiB/s"), guestBox);
    dirtyRate_->setSingleStep(16);
    dirtyRate_->setSpecialValueText(tr("idle guest"));
    dirtyRate_->setToolTip(tr("How fast the guest workload dirties memory; 0 = idle guest"));
    auto* guestLayout = new QFormLayout(guestBox);
    guestLayout->addRow(tr("RAM size:"), ramSize_);
    guestLayout->addRow(tr("Dirty rate:"), dirtyRate_);

    auto* migrationBox = new QGroupBox(tr("Migration parameters"), this);
    multifdChannels_ = makeSpinBox("multifdChannels", 0, 16, 4, QString(), migrationBox);
    multifdChannels_->setSpecialValueText(tr("off (main channel only)"));
    multifdChannels_->setToolTip(tr("multifd-channels: parallel channels for RAM pages"));
    downtimeLimit_ = makeSpinBox("downtimeLimit", 1, 600000, 300, tr(" ms"), migrationBox);
    downtimeLimit_->setSingleStep(50);
    downtimeLimit_->setToolTip(tr("downtime-limit: longest pause of the guest at switchover"));
    maxBandwidth_ = makeSpinBox("maxBandwidth", 0, 1048576, 0, tr(" MiB/s"), migrationBox);
    maxBandwidth_->setSpecialValueText(tr("unlimited"));
    maxBandwidth_->setToolTip(tr("max-bandwidth: cap on the migration stream; 0 = unlimited"));
    destination_ = new QLineEdit(migrationBox);
    destination_->setObjectName(QStringLiteral("destination"));
    destination_->setPlaceholderText(tr("this machine (in-process)"));
    destination_->setToolTip(tr("Empty: migrate to a destination inside this process. "
                                "HOST:PORT ([ADDRESS]:PORT for IPv6): migrate to a destination "
                                "daemon started there with migrascope --incoming."));
    destination_->setText(windowSettings().value(QStringLiteral("launch/destination")).toString());
    auto* migrationLayout = new QFormLayout(migrationBox);
    migrationLayout->addRow(tr("Destination:"), destination_);
    migrationLayout->addRow(tr("Multifd channels:"), multifdChannels_);
    migrationLayout->addRow(tr("Downtime limit:"), downtimeLimit_);
    migrationLayout->addRow(tr("Max bandwidth:"), maxBandwidth_);
    applyLiveButton_ = new QPushButton(tr("Apply to the running migration"), migrationBox);
    applyLiveButton_->setObjectName(QStringLiteral("applyLiveButton"));
    applyLiveButton_->setToolTip(tr("migrate-set-parameters: the downtime limit and max "
                                    "bandwidth above take effect at once in the migration in "
                                    "flight, and the change is logged"));
    applyLiveButton_->setEnabled(false);
    connect(applyLiveButton_, &QPushButton::clicked, this, &LaunchForm::liveParametersRequested);
    migrationLayout->addRow(QString(), applyLiveButton_);

    auto* tlsBox = new QGroupBox(tr("TLS"), this);
    tlsEnabled_ = new QCheckBox(tr("Encrypt every channel with TLS"), tlsBox);
    tlsEnabled_->setObjectName(QStringLiteral("tlsEnabled"));
    tlsEnabled_->setChecked(true);
    credsDir_ = new QLineEdit(tlsBox);
    credsDir_->setObjectName(QStringLiteral("credsDir"));
    // The field is narrower than most paths; the tooltip shows all of it.
    connect(credsDir_, &QLineEdit::textChanged, this, [this](const QString& dir) {
        credsDir_->setToolTip(tr("%1\n\nDirectory in tls-creds-x509 layout: ca-cert.pem, "
                                 "server-cert.pem, server-key.pem, client-cert.pem, "
                                 "client-key.pem")
                                  .arg(dir));
    });
    browseButton_ = new QPushButton(tr("Browse…"), tlsBox);
    browseButton_->setObjectName(QStringLiteral("browseCredsDir"));
    tlsPriority_ = new QLineEdit(QStringLiteral("NORMAL"), tlsBox);
    tlsPriority_->setObjectName(QStringLiteral("tlsPriority"));
    tlsPriority_->setToolTip(tr("tls-priority: a GnuTLS priority string"));
    rekeyInterval_ = makeSpinBox("tlsRekeyInterval", 0, 1000000, 0, tr(" records"), tlsBox);
    rekeyInterval_->setSpecialValueText(tr("only at the limit"));
    rekeyInterval_->setToolTip(tr("tls-rekey-interval: force a TLS 1.3 KeyUpdate every N records "
                                  "(at most one every %1 ms); for demonstrations")
                                   .arg(kKeyUpdateSpacingMs));
    cleanTermination_ = new QCheckBox(tr("Fail a channel that ends without close_notify"), tlsBox);
    cleanTermination_->setObjectName(QStringLiteral("cleanTlsTermination"));
    cleanTermination_->setChecked(true);
    cleanTermination_->setToolTip(tr("multifd-clean-tls-termination: off tolerates sources older "
                                     "than QEMU 9.1, which never sent close_notify"));
    legacySource_ = new QCheckBox(tr("Act as a legacy source (no close_notify)"), tlsBox);
    legacySource_->setObjectName(QStringLiteral("legacySource"));
    legacySource_->setToolTip(tr("Fault tls-no-bye: the multifd channels close without ending "
                                 "their TLS sessions, as sources before QEMU 9.1 did"));
    pkiProblem_ = new QLabel(tlsBox);
    pkiProblem_->setObjectName(QStringLiteral("pkiProblem"));
    pkiProblem_->setWordWrap(true);
    pkiProblem_->setStyleSheet(theme::textStyle(theme::failure()));
    pkiProblem_->hide();
    auto* credsRow = new QHBoxLayout;
    credsRow->addWidget(credsDir_, 1);
    credsRow->addWidget(browseButton_);
    auto* tlsLayout = new QFormLayout(tlsBox);
    tlsLayout->addRow(tlsEnabled_);
    tlsLayout->addRow(tr("Credentials:"), credsRow);
    tlsLayout->addRow(tr("Priority:"), tlsPriority_);
    tlsLayout->addRow(tr("Re-key every:"), rekeyInterval_);
    tlsLayout->addRow(cleanTermination_);
    tlsLayout->addRow(legacySource_);
    tlsLayout->addRow(pkiProblem_);

    // Without certificates TLS cannot work at all; the default PKI makes the first run succeed
    // without the operator running certtool.
    try {
        credsDir_->setText(QString::fromStdString(ensureDefaultPki()));
    } catch (const std::exception& error) {
        credsDir_->setText(QString::fromStdString(defaultPkiDirectory()));
        pkiProblem_->setText(tr("Default certificates could not be created: %1")
                                 .arg(QString::fromStdString(error.what())));
        pkiProblem_->show();
    }

    auto* devicesBox = new QGroupBox(tr("Devices (emulated VFIO)"), this);
    nicDevices_ = makeSpinBox("nicDevices", 0, 8, 0, QString(), devicesBox);
    nicDevices_->setSpecialValueText(tr("none"));
    nicDevices_->setToolTip(
        tr("NIC-like devices: PRE_COPY and P2P, %1 MiB of state each").arg(kNicStateSize >> 20));
    accelDevices_ = makeSpinBox("accelDevices", 0, 8, 0, QString(), devicesBox);
    accelDevices_->setSpecialValueText(tr("none"));
    accelDevices_->setToolTip(tr("Accelerators: STOP_COPY only, with a task in flight"));
    accelStateSize_ = makeSpinBox("accelStateSize", 1, 1024,
                                  static_cast<int>(kAccelStateSize >> 20), tr(" MiB"), devicesBox);
    accelStateSize_->setToolTip(tr("Device state of each accelerator, sent in STOP_COPY"));
    legacyVfioResume_ =
        new QCheckBox(tr("Legacy resume (no explicit RESUMING -> STOP)"), devicesBox);
    legacyVfioResume_->setObjectName(QStringLiteral("legacyVfioResume"));
    legacyVfioResume_->setToolTip(
        tr("QEMU's old VFIO resume: the destination goes straight to RUNNING and ignores a "
           "failure there, so the guest starts with a device that failed to load"));
    auto* devicesLayout = new QFormLayout(devicesBox);
    devicesLayout->addRow(tr("NICs:"), nicDevices_);
    devicesLayout->addRow(tr("Accelerators:"), accelDevices_);
    devicesLayout->addRow(tr("Accelerator state:"), accelStateSize_);
    devicesLayout->addRow(legacyVfioResume_);

    auto* capabilitiesBox = new QGroupBox(tr("Capabilities"), this);
    postcopyRam_ = new QCheckBox(tr("postcopy-ram"), capabilitiesBox);
    postcopyRam_->setObjectName(QStringLiteral("postcopyRam"));
    postcopyRam_->setToolTip(tr("Allow switching to postcopy: the destination guest starts "
                                "before every page is there and asks for the ones it lacks"));
    switchoverAck_ = new QCheckBox(tr("switchover-ack"), capabilitiesBox);
    switchoverAck_->setObjectName(QStringLiteral("switchoverAck"));
    switchoverAck_->setToolTip(tr("The source switches over only after the destination has "
                                  "sent SWITCHOVER_ACK"));
    autoConverge_ = new QCheckBox(tr("auto-converge"), capabilitiesBox);
    autoConverge_->setObjectName(QStringLiteral("autoConverge"));
    autoConverge_->setToolTip(tr("Throttle the guest's vCPUs step by step (cpu-throttle-initial "
                                 "20 %, then +10 %) while it dirties memory faster than the "
                                 "link sends it"));
    postcopyAfter_ = makeSpinBox("postcopyAfter", 0, 3600000, 0, tr(" ms"), capabilitiesBox);
    postcopyAfter_->setSingleStep(250);
    postcopyAfter_->setSpecialValueText(tr("by hand"));
    postcopyAfter_->setToolTip(tr("Switch to postcopy by itself after this long in precopy; "
                                  "\"by hand\" waits for the Switch to postcopy button"));
    autoRecover_ = new QCheckBox(tr("Recover a paused postcopy by itself"), capabilitiesBox);
    autoRecover_->setObjectName(QStringLiteral("autoRecover"));
    autoRecover_->setToolTip(tr("After a network failure: migrate-recover, then migrate resume, "
                                "once the delay below has passed"));
    recoverDelay_ = makeSpinBox("recoverDelay", 0, 3600000, 1000, tr(" ms"), capabilitiesBox);
    recoverDelay_->setSingleStep(250);
    auto* capabilitiesLayout = new QFormLayout(capabilitiesBox);
    capabilitiesLayout->addRow(postcopyRam_);
    capabilitiesLayout->addRow(tr("Postcopy after:"), postcopyAfter_);
    capabilitiesLayout->addRow(autoRecover_);
    capabilitiesLayout->addRow(tr("Recover after:"), recoverDelay_);
    // Side by side: the form must fit a small screen.
    auto* precopyCapabilities = new QHBoxLayout;
    precopyCapabilities->addWidget(switchoverAck_);
    precopyCapabilities->addWidget(autoConverge_);
    precopyCapabilities->addStretch(1);
    capabilitiesLayout->addRow(precopyCapabilities);

    auto* faultsBox = new QGroupBox(tr("Faults (training)"), this);
    faults_ = new QLineEdit(faultsBox);
    faults_->setObjectName(QStringLiteral("faults"));
    faults_->setPlaceholderText(tr("e.g. vfio-fail=accel0:RESUMING>STOP@dst"));
    // The catalogue's own help, so the form and --help cannot disagree.
    faults_->setToolTip(tr("Faults to inject, separated by spaces, as --inject spells them:") +
                        QLatin1Char('\n') + QString::fromStdString(faultHelp()).trimmed());
    auto* faultsLayout = new QFormLayout(faultsBox);
    faultsLayout->addRow(tr("Inject:"), faults_);

    startButton_ = new QPushButton(tr("Start migration"), this);
    startButton_->setObjectName(QStringLiteral("startButton"));
    startButton_->setDefault(true);
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("cancelButton"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(startButton_, 1);
    buttons->addWidget(cancelButton_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(guestBox);
    layout->addWidget(migrationBox);
    layout->addWidget(tlsBox);
    layout->addWidget(devicesBox);
    layout->addWidget(capabilitiesBox);
    layout->addWidget(faultsBox);
    layout->addLayout(buttons);
    layout->addStretch(1);

    parameterWidgets_ = {destination_,   ramSize_,        dirtyRate_,        multifdChannels_,
                         downtimeLimit_, maxBandwidth_,   tlsEnabled_,       credsDir_,
                         browseButton_,  tlsPriority_,    rekeyInterval_,    cleanTermination_,
                         legacySource_,  postcopyRam_,    switchoverAck_,    autoConverge_,
                         postcopyAfter_, autoRecover_,    recoverDelay_,     nicDevices_,
                         accelDevices_,  accelStateSize_, legacyVfioResume_, faults_};

    connect(tlsEnabled_, &QCheckBox::toggled, this, &LaunchForm::updateTlsControls);
    connect(postcopyRam_, &QCheckBox::toggled, this, &LaunchForm::updatePostcopyControls);
    connect(autoRecover_, &QCheckBox::toggled, this, &LaunchForm::updatePostcopyControls);
    connect(browseButton_, &QPushButton::clicked, this, &LaunchForm::browseCredentials);
    connect(startButton_, &QPushButton::clicked, this, [this] {
        if (problem().isEmpty())
            rememberDestination();
        emit startRequested();
    });
    connect(cancelButton_, &QPushButton::clicked, this, &LaunchForm::cancelRequested);
    setRunning(false);
}

MigrationConfig LaunchForm::config() const {
    MigrationConfig config;
    config.guest.ramSize = static_cast<std::uint64_t>(ramSize_->value()) * kMiB;
    config.guest.dirtyRate = static_cast<std::uint64_t>(dirtyRate_->value()) * kMiB;
    config.multifdChannels = static_cast<unsigned>(multifdChannels_->value());
    config.downtimeLimitMs = downtimeLimitMs();
    config.maxBandwidth = maxBandwidth();
    if (const QString destination = destination_->text().trimmed(); !destination.isEmpty()) {
        try {
            std::tie(config.destinationHost, config.destinationPort) =
                parseHostPort(destination.toStdString());
        } catch (const std::invalid_argument&) {
            // problem() names it; a run is never started with it.
        }
    }
    config.tls.enabled = tlsEnabled_->isChecked();
    config.tls.credsDir = credsDir_->text().trimmed().toStdString();
    config.tls.priority = tlsPriority_->text().trimmed().toStdString();
    if (config.tls.priority.empty())
        config.tls.priority = "NORMAL";
    config.tls.rekeyInterval = static_cast<std::uint64_t>(rekeyInterval_->value());
    config.multifdCleanTlsTermination = cleanTermination_->isChecked();
    if (legacySource_->isChecked())
        config.faults.push_back(parseFault("tls-no-bye"));
    config.capabilities.postcopyRam = postcopyRam_->isChecked();
    config.capabilities.switchoverAck = switchoverAck_->isChecked();
    config.capabilities.autoConverge = autoConverge_->isChecked();
    if (config.capabilities.postcopyRam) {
        config.postcopyStart.afterMs = postcopyAfter_->value();
        config.postcopyStart.afterIterations = postcopyAfterIterations_;
        config.autoRecover = autoRecover_->isChecked();
    }
    config.recoverDelayMs = static_cast<std::uint64_t>(recoverDelay_->value());
    for (int i = 0; i < nicDevices_->value(); ++i)
        config.devices.push_back(parseDevice("nic", config.devices));
    for (int i = 0; i < accelDevices_->value(); ++i)
        config.devices.push_back(parseDevice(
            "accel,state-size=" + std::to_string(accelStateSize_->value()) + "M", config.devices));
    config.vfioExplicitResumingStop = !legacyVfioResume_->isChecked();
    for (const QString& spec : faults_->text().split(' ', Qt::SkipEmptyParts)) {
        try {
            config.faults.push_back(parseFault(spec.toStdString()));
        } catch (const std::invalid_argument&) {
            // problem() names it; a run is never started with it.
        }
    }
    return config;
}

std::uint64_t LaunchForm::maxBandwidth() const {
    return static_cast<std::uint64_t>(maxBandwidth_->value()) * kMiB;
}

std::uint64_t LaunchForm::downtimeLimitMs() const {
    return static_cast<std::uint64_t>(downtimeLimit_->value());
}

void LaunchForm::allowLiveParameters() {
    if (!running_)
        return;
    downtimeLimit_->setEnabled(true);
    maxBandwidth_->setEnabled(true);
    applyLiveButton_->setEnabled(true);
}

void LaunchForm::setRunning(bool running) {
    running_ = running;
    for (QWidget* widget : std::as_const(parameterWidgets_))
        widget->setEnabled(!running);
    applyLiveButton_->setEnabled(false);
    startButton_->setEnabled(!running);
    cancelButton_->setEnabled(running);
    if (!running) {
        updateTlsControls();
        updatePostcopyControls();
    }
}

void LaunchForm::setConfig(const MigrationConfig& config) {
    if (config.remoteDestination())
        destination_->setText(QString::fromStdString(config.destinationHost) + ':' +
                              QString::number(*config.destinationPort));
    else
        destination_->clear(); // this machine, in-process
    ramSize_->setValue(static_cast<int>(config.guest.ramSize / kMiB));
    dirtyRate_->setValue(static_cast<int>(config.guest.dirtyRate / kMiB));
    multifdChannels_->setValue(static_cast<int>(config.multifdChannels));
    downtimeLimit_->setValue(static_cast<int>(config.downtimeLimitMs));
    maxBandwidth_->setValue(static_cast<int>(config.maxBandwidth / kMiB));
    tlsEnabled_->setChecked(config.tls.enabled);
    if (!config.tls.credsDir.empty())
        credsDir_->setText(QString::fromStdString(config.tls.credsDir));
    tlsPriority_->setText(QString::fromStdString(config.tls.priority));
    rekeyInterval_->setValue(static_cast<int>(config.tls.rekeyInterval));
    cleanTermination_->setChecked(config.multifdCleanTlsTermination);
    legacySource_->setChecked(std::any_of(config.faults.begin(), config.faults.end(), [](auto& f) {
        return f.kind == FaultSpec::Kind::TlsNoBye;
    }));
    QStringList faults;
    for (const auto& fault : config.faults)
        if (fault.kind != FaultSpec::Kind::TlsNoBye)
            faults << QString::fromStdString(fault.text);
    faults_->setText(faults.join(' '));
    postcopyRam_->setChecked(config.capabilities.postcopyRam);
    switchoverAck_->setChecked(config.capabilities.switchoverAck);
    autoConverge_->setChecked(config.capabilities.autoConverge);
    postcopyAfter_->setValue(static_cast<int>(config.postcopyStart.afterMs));
    postcopyAfterIterations_ = config.postcopyStart.afterIterations;
    autoRecover_->setChecked(config.autoRecover);
    recoverDelay_->setValue(static_cast<int>(config.recoverDelayMs));
    int nics = 0;
    int accels = 0;
    for (const auto& device : config.devices) {
        if (device.kind == "nic") {
            ++nics;
        } else {
            if (accels++ == 0)
                accelStateSize_->setValue(
                    static_cast<int>(std::max<std::uint64_t>(1, device.stateSize / kMiB)));
        }
    }
    nicDevices_->setValue(nics);
    accelDevices_->setValue(accels);
    legacyVfioResume_->setChecked(!config.vfioExplicitResumingStop);
    updateTlsControls();
    updatePostcopyControls();
}

void LaunchForm::rememberDestination() const {
    windowSettings().setValue(QStringLiteral("launch/destination"), destination_->text().trimmed());
}

QString LaunchForm::problem() const {
    if (const QString destination = destination_->text().trimmed(); !destination.isEmpty()) {
        try {
            parseHostPort(destination.toStdString());
        } catch (const std::invalid_argument& error) {
            return tr("Destination: %1").arg(QString::fromStdString(error.what()));
        }
    }
    for (const QString& spec : faults_->text().split(' ', Qt::SkipEmptyParts)) {
        try {
            parseFault(spec.toStdString());
        } catch (const std::invalid_argument& error) {
            return tr("Inject: %1").arg(QString::fromStdString(error.what()));
        }
    }
    if (const std::string problem = checkFaults(config()); !problem.empty())
        return tr("Inject %1").arg(QString::fromStdString(problem));
    return {};
}

void LaunchForm::updatePostcopyControls() {
    const bool postcopy = postcopyRam_->isChecked() && !running_;
    postcopyAfter_->setEnabled(postcopy);
    autoRecover_->setEnabled(postcopy);
    recoverDelay_->setEnabled(postcopy && autoRecover_->isChecked());
}

void LaunchForm::updateTlsControls() {
    const bool tls = tlsEnabled_->isChecked() && !running_;
    credsDir_->setEnabled(tls);
    browseButton_->setEnabled(tls);
    tlsPriority_->setEnabled(tls);
    rekeyInterval_->setEnabled(tls);
    cleanTermination_->setEnabled(tls);
    legacySource_->setEnabled(tls);
}

void LaunchForm::browseCredentials() {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("TLS credentials directory"), credsDir_->text());
    if (!dir.isEmpty())
        credsDir_->setText(dir);
}

} // namespace migrascope::ui
