// Tells an operator who looked away that a run ended: a desktop notification through the
// freedesktop.org notification service on the session bus (what GNOME, KDE, Xfce and dunst
// all answer), and the window's urgency hint in the taskbar. Only when the window is not the
// active one: someone watching it needs neither.
#pragma once

#include <QObject>
#include <QString>

class QWidget;

namespace migrascope::ui {

class RunNotifier : public QObject {
    Q_OBJECT

public:
    explicit RunNotifier(QWidget* window);

    // `failed` asks for critical urgency. Never blocks: the bus call is asynchronous, and
    // without a session bus or a notification service only the urgency hint remains.
    void runEnded(const QString& summary, const QString& body, bool failed);

signals:
    // The notification service answered (its id), or refused (empty id, the bus's error).
    void notified(uint id, const QString& error);

private:
    QWidget* window_;
};

} // namespace migrascope::ui
