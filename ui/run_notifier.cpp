#include "ui/run_notifier.h"

#include <QApplication>
#include <QDBusConnection>
#include <QDBusMessage>
#include <QDBusPendingCallWatcher>
#include <QDBusPendingReply>
#include <QVariantMap>
#include <QWidget>

namespace migrascope::ui {

namespace {
// The Desktop Notifications Specification, 1.2: Notify's urgency hint.
constexpr unsigned char kUrgencyNormal = 1;
constexpr unsigned char kUrgencyCritical = 2;
constexpr int kServerDecidesTimeout = -1;
} // namespace

RunNotifier::RunNotifier(QWidget* window) : QObject(window), window_(window) {}

void RunNotifier::runEnded(const QString& summary, const QString& body, bool failed) {
    if (window_->isActiveWindow())
        return;
    QApplication::alert(window_);
    QDBusConnection bus = QDBusConnection::sessionBus();
    if (!bus.isConnected()) {
        emit notified(0, bus.lastError().message());
        return;
    }
    QDBusMessage call = QDBusMessage::createMethodCall(
        QStringLiteral("org.freedesktop.Notifications"),
        QStringLiteral("/org/freedesktop/Notifications"),
        QStringLiteral("org.freedesktop.Notifications"), QStringLiteral("Notify"));
    QVariantMap hints;
    hints.insert(QStringLiteral("urgency"),
                 QVariant::fromValue(failed ? kUrgencyCritical : kUrgencyNormal));
    hints.insert(QStringLiteral("desktop-entry"), QStringLiteral("io.migrascope.Migrascope"));
    call << QStringLiteral("Migrascope") << 0u << QStringLiteral("io.migrascope.Migrascope")
         << summary << body << QStringList() << hints << kServerDecidesTimeout;
    auto* watcher = new QDBusPendingCallWatcher(bus.asyncCall(call), this);
    connect(watcher, &QDBusPendingCallWatcher::finished, this,
            [this](QDBusPendingCallWatcher* finished) {
                const QDBusPendingReply<uint> reply = *finished;
                emit notified(reply.isError() ? 0 : reply.value(),
                              reply.isError() ? reply.error().message() : QString());
                finished->deleteLater();
            });
}

} // namespace migrascope::ui
