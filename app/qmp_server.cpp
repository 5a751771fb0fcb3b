#include "app/qmp_server.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QEventLoop>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocalSocket>
#include <QTimer>
#include <cstdio>

namespace migrascope::app {
namespace {

// A client that sends this much without completing one JSON value is cut off.
constexpr qsizetype kMaxPending = 1 << 20;

// Where the first complete JSON value in `buffer` ends (QEMU's parser is a stream lexer: the
// values need no newline between them). A line that does not start an object or array is
// complete at its newline, so that garbage gets its error instead of waiting for more.
std::optional<qsizetype> endOfFirstValue(const QByteArray& buffer) {
    qsizetype start = 0;
    while (start < buffer.size() && std::isspace(static_cast<unsigned char>(buffer[start])))
        ++start;
    if (start == buffer.size())
        return std::nullopt;
    if (buffer[start] != '{' && buffer[start] != '[') {
        const qsizetype newline = buffer.indexOf('\n', start);
        return newline < 0 ? std::nullopt : std::optional<qsizetype>(newline + 1);
    }
    int depth = 0;
    bool inString = false;
    bool escaped = false;
    for (qsizetype i = start; i < buffer.size(); ++i) {
        const char c = buffer[i];
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return std::nullopt;
}

QJsonObject errorReply(const QString& errorClass, const QString& desc) {
    return {{"error", QJsonObject{{"class", errorClass}, {"desc", desc}}}};
}

QJsonObject greeting() {
    const QStringList parts = QCoreApplication::applicationVersion().split('.');
    const auto part = [&](int i) { return parts.size() > i ? parts[i].toInt() : 0; };
    return {
        {"QMP",
         QJsonObject{
             {"version",
              QJsonObject{
                  {"qemu", QJsonObject{{"major", part(0)}, {"minor", part(1)}, {"micro", part(2)}}},
                  {"package", "Migrascope " + QCoreApplication::applicationVersion()}}},
             {"capabilities", QJsonArray{}}}}};
}

} // namespace

QmpServer::QmpServer(QObject* parent) : QObject(parent) {
    // Whoever reaches the socket can cancel the migration: the owner only.
    server_.setSocketOptions(QLocalServer::UserAccessOption);
    connect(&server_, &QLocalServer::newConnection, this, &QmpServer::accept);
}

QmpServer::~QmpServer() {
    for (auto& [socket, client] : clients_)
        socket->disconnect(this);
    server_.close(); // removes the socket file
}

QString QmpServer::socketPath(const QString& address) {
    if (!address.startsWith("unix:") || address.size() == 5)
        throw std::invalid_argument("'" + address.toStdString() +
                                    "': expected unix:PATH (QEMU's -qmp spelling)");
    return QFileInfo(address.mid(5)).absoluteFilePath();
}

void QmpServer::listen(const QString& path) {
    if (QFileInfo::exists(path)) {
        QLocalSocket probe;
        probe.connectToServer(path);
        if (probe.waitForConnected(500))
            throw std::runtime_error(path.toStdString() +
                                     ": another process already serves QMP there");
        QLocalServer::removeServer(path); // left by a process that died
    }
    if (!server_.listen(path))
        throw std::runtime_error(path.toStdString() + ": " + server_.errorString().toStdString());
}

void QmpServer::serveFor(int milliseconds) {
    QEventLoop loop;
    QTimer::singleShot(milliseconds, &loop, &QEventLoop::quit);
    loop.exec();
}

std::unique_ptr<QmpServer> QmpServer::listenForCommandLine(const QString& path) {
    auto server = std::make_unique<QmpServer>();
    try {
        server->listen(path);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "migrascope: --qmp: %s\n", error.what());
        return nullptr;
    }
    return server;
}

void QmpServer::addCommand(const QString& name, Handler handler) {
    commands_[name] = std::move(handler);
}

void QmpServer::accept() {
    while (QLocalSocket* socket = server_.nextPendingConnection()) {
        clients_[socket] = Client{};
        connect(socket, &QLocalSocket::readyRead, this, [this, socket] { read(socket); });
        connect(socket, &QLocalSocket::disconnected, this, [this, socket] {
            clients_.erase(socket);
            socket->deleteLater();
        });
        send(socket, greeting());
    }
}

void QmpServer::read(QLocalSocket* socket) {
    auto found = clients_.find(socket);
    if (found == clients_.end())
        return;
    found->second.pending += socket->readAll();
    while (clients_.count(socket) != 0) {
        QByteArray& pending = clients_[socket].pending;
        const auto end = endOfFirstValue(pending);
        if (!end) {
            if (pending.size() > kMaxPending) {
                send(socket, errorReply("GenericError", "JSON value too long"));
                socket->disconnectFromServer();
            }
            return;
        }
        const QByteArray text = pending.left(*end);
        pending.remove(0, *end);
        execute(socket, text);
    }
}

void QmpServer::execute(QLocalSocket* socket, const QByteArray& text) {
    QJsonParseError parseError{};
    const QJsonDocument document = QJsonDocument::fromJson(text, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return send(socket,
                    errorReply("GenericError", "JSON parse error, " + parseError.errorString()));
    if (!document.isObject())
        return send(socket, errorReply("GenericError", "QMP input must be a JSON object"));
    const QJsonObject request = document.object();
    const auto reply = [&](QJsonObject message) {
        if (request.contains("id"))
            message["id"] = request["id"];
        send(socket, message);
    };
    if (!request["execute"].isString())
        return reply(errorReply("GenericError", "QMP input lacks member 'execute'"));
    if (request.contains("arguments") && !request["arguments"].isObject())
        return reply(errorReply("GenericError", "QMP input member 'arguments' must be an object"));
    const QString name = request["execute"].toString();
    Client& client = clients_[socket];
    if (name == "qmp_capabilities") {
        if (client.negotiated)
            return reply(errorReply("CommandNotFound",
                                    "Capabilities negotiation is already complete, command "
                                    "ignored"));
        client.negotiated = true;
        return reply({{"return", QJsonObject{}}});
    }
    if (!client.negotiated)
        return reply(errorReply("CommandNotFound",
                                "Expecting capabilities negotiation with 'qmp_capabilities'"));
    const auto command = commands_.find(name);
    if (command == commands_.end())
        return reply(errorReply("CommandNotFound", "The command " + name + " has not been found"));
    try {
        reply({{"return", command->second(request["arguments"].toObject())}});
    } catch (const QmpError& error) {
        reply(errorReply(error.errorClass(), QString::fromStdString(error.what())));
    } catch (const std::exception& error) {
        reply(errorReply("GenericError", QString::fromStdString(error.what())));
    }
}

void QmpServer::send(QLocalSocket* socket, const QJsonObject& message) {
    socket->write(QJsonDocument(message).toJson(QJsonDocument::Compact) + "\r\n");
}

void QmpServer::sendEvent(const QString& name, const QJsonObject& data) {
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QJsonObject event{
        {"event", name},
        {"data", data},
        {"timestamp", QJsonObject{{"seconds", now / 1000}, {"microseconds", (now % 1000) * 1000}}}};
    for (auto& [socket, client] : clients_)
        if (client.negotiated)
            send(socket, event);
}

void QmpServer::publish(const TelemetrySnapshot& snapshot) {
    // Passes first: the last ones happen before the switchover's statuses.
    while (lastPass_ < snapshot.stats.dirtySyncCount)
        sendEvent("MIGRATION_PASS", {{"pass", static_cast<qint64>(++lastPass_)}});
    for (; statusesSent_ < snapshot.statusChanges.size(); ++statusesSent_)
        sendEvent("MIGRATION", {{"status", toString(snapshot.statusChanges[statusesSent_])}});
}

} // namespace migrascope::app
