// The parameters of the next migration, named as QEMU names them, and the Start/Cancel buttons.
#pragma once

#include "engine/api/migration_config.h"

#include <QWidget>
#include <vector>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace migrascope::ui {

class LaunchForm : public QWidget {
    Q_OBJECT

public:
    // Fills the credentials directory with the default PKI, generating it on first use.
    explicit LaunchForm(QWidget* parent = nullptr);

    MigrationConfig config() const;
    // Why the form cannot start a run as filled in (a fault it cannot read), or "".
    QString problem() const;

    // Shows `config` in the form (the window takes its starting values from the command line).
    void setConfig(const MigrationConfig& config);
    // While a run is in flight only Cancel is enabled: the run keeps the parameters it began
    // with, except those QEMU lets an operator change mid-migration (liveParametersAllowed).
    void setRunning(bool running);
    // Our own run in flight: downtime limit and max bandwidth stay editable, and "Apply to
    // the running migration" sends them (migrate-set-parameters). Not for a watched QEMU.
    void allowLiveParameters();
    std::uint64_t maxBandwidth() const; // bytes per second; 0 = unlimited
    std::uint64_t downtimeLimitMs() const;
    bool isRunning() const { return running_; }

signals:
    void startRequested();
    void cancelRequested();
    void liveParametersRequested();

private:
    void browseCredentials();
    void updateTlsControls();
    // The destination is remembered between sessions (QSettings).
    void rememberDestination() const;
    void updatePostcopyControls();

    QSpinBox* ramSize_;
    QSpinBox* dirtyRate_;
    QSpinBox* multifdChannels_;
    QSpinBox* downtimeLimit_;
    QSpinBox* maxBandwidth_;
    QPushButton* applyLiveButton_;
    // Empty: this machine (the in-process destination); HOST:PORT: a daemon (--incoming).
    QLineEdit* destination_;
    QCheckBox* tlsEnabled_;
    QLineEdit* credsDir_;
    QPushButton* browseButton_;
    QLineEdit* tlsPriority_;
    QSpinBox* rekeyInterval_;
    QCheckBox* cleanTermination_;
    QCheckBox* legacySource_;
    QSpinBox* nicDevices_;
    QSpinBox* accelDevices_;
    QSpinBox* accelStateSize_;
    QCheckBox* legacyVfioResume_;
    QCheckBox* postcopyRam_;
    QCheckBox* switchoverAck_;
    QCheckBox* autoConverge_;
    QSpinBox* postcopyAfter_;
    QCheckBox* autoRecover_;
    QSpinBox* recoverDelay_;
    // Faults in --inject spelling (the command line's arrive here too), for trainers.
    QLineEdit* faults_;
    unsigned postcopyAfterIterations_ = 0; // --postcopy-after N has no control of its own
    QLabel* pkiProblem_;
    QPushButton* startButton_;
    QPushButton* cancelButton_;
    QList<QWidget*> parameterWidgets_;
    bool running_ = false;
};

} // namespace migrascope::ui
