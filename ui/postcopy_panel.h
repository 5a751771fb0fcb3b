// Postcopy at a glance and at hand: the destination's state, page requests and their
// latency, recoveries, and the operator's actions (QEMU's migrate-start-postcopy,
// migrate-pause, migrate-recover, migrate resume), plus a trainer's network cut. Each
// button is enabled only in the states where the engine would accept it.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QWidget>

class QLabel;
class QPushButton;

namespace migrascope::ui {

class PostcopyPanel : public QWidget {
    Q_OBJECT

public:
    explicit PostcopyPanel(QWidget* parent = nullptr);

    // postcopyAllowed: the run has the postcopy-ram capability.
    void showSnapshot(const TelemetrySnapshot& snapshot, bool postcopyAllowed);
    void reset();

signals:
    void startPostcopyRequested();
    void pauseRequested();
    void recoverRequested();
    void resumeRequested();
    void cutNetworkRequested();

private:
    QLabel* destinationState_;
    QLabel* requests_;
    QLabel* recoveries_;
    QPushButton* startPostcopy_;
    QPushButton* pause_;
    QPushButton* recover_;
    QPushButton* resume_;
    QPushButton* cutNetwork_;
};

} // namespace migrascope::ui
