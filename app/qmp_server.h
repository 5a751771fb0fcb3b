// QEMU's machine protocol (QMP) on a Unix socket (--qmp unix:PATH), so that clients written
// for QEMU (socat, scripts, libvirt-style tools) can watch and steer a headless run: the
// greeting, qmp_capabilities, ids echoed, errors shaped as QEMU shapes them, and events. Its
// owner registers the commands that apply to it, each a handler in a table, and calls
// publish() with each snapshot so that MIGRATION and MIGRATION_PASS events go out.
#pragma once

#include "engine/api/telemetry_snapshot.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QLocalServer>
#include <QObject>
#include <QString>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

class QLocalSocket;

namespace migrascope::app {

// A command's failure as QEMU reports it: {"error": {"class": ..., "desc": ...}}.
class QmpError : public std::runtime_error {
public:
    explicit QmpError(const std::string& desc, QString errorClass = "GenericError")
        : std::runtime_error(desc), errorClass_(std::move(errorClass)) {}
    const QString& errorClass() const { return errorClass_; }

private:
    QString errorClass_;
};

// A QObject only as the context of its sockets' connections (no signals of its own).
class QmpServer : public QObject {
public:
    // Arguments in, the "return" value out; throws QmpError (or any std::exception, sent as a
    // GenericError).
    using Handler = std::function<QJsonValue(const QJsonObject& arguments)>;

    explicit QmpServer(QObject* parent = nullptr);
    ~QmpServer() override;

    // "unix:PATH" (QEMU's -qmp spelling). Throws std::invalid_argument naming what is wrong.
    static QString socketPath(const QString& address);
    // Listens on the path (a stale socket there is replaced); throws std::runtime_error.
    void listen(const QString& path);
    // A runner's --qmp: listening on `path`, or null after saying why on stderr (the runner
    // then exits 2, before anything starts).
    static std::unique_ptr<QmpServer> listenForCommandLine(const QString& path);
    void addCommand(const QString& name, Handler handler);
    // Sends MIGRATION when the status changed and MIGRATION_PASS when a dirty sync was
    // counted, to every client past qmp_capabilities.
    void publish(const TelemetrySnapshot& snapshot);
    void sendEvent(const QString& name, const QJsonObject& data);
    // Answers clients (runs the process's Qt event loop) for `milliseconds`: the owner's
    // loop calls it instead of sleeping.
    static void serveFor(int milliseconds);
    int clientCount() const { return static_cast<int>(clients_.size()); }

private:
    struct Client {
        QByteArray pending; // bytes of a JSON value not complete yet
        bool negotiated = false;
    };
    void accept();
    void read(QLocalSocket* socket);
    void execute(QLocalSocket* socket, const QByteArray& text);
    static void send(QLocalSocket* socket, const QJsonObject& message);

    QLocalServer server_;
    std::map<QLocalSocket*, Client> clients_;
    std::map<QString, Handler> commands_;
    std::size_t statusesSent_ = 0; // of the snapshot's statusChanges
    std::uint64_t lastPass_ = 0;
};

} // namespace migrascope::app
