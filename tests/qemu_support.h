// Real QEMU processes for tests that watch a migration from outside: Debian's
// qemu-system-x86_64 under TCG, a guest that never runs (-S), RAM backed by a file of random
// bytes so every page travels, and two QMP monitors per QEMU (QEMU serves one client per
// socket): one the test drives, one for the watcher.
#pragma once

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QThread>
#include <QtTest>
#include <arpa/inet.h>
#include <cstring>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <random>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace migrascope::test {

inline QString qemuBinary() {
    return QStandardPaths::findExecutable("qemu-system-x86_64");
}

// A QMP client as simple as QEMU's own test scripts: blocking, one command at a time.
class QmpDriver {
public:
    ~QmpDriver() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    bool connect(const QString& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray bytes = QFile::encodeName(path);
        std::memcpy(address.sun_path, bytes.constData(),
                    static_cast<std::size_t>(bytes.size()) + 1);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
            return false;
        timeval timeout{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        if (!readMessage().contains("QMP"))
            return false;
        return command("qmp_capabilities").contains("return");
    }
    // The whole answer: {"return": ...} or {"error": ...}; {} when QEMU went away.
    QJsonObject command(const QString& name, const QJsonObject& arguments = {}) {
        QJsonObject request{{"execute", name}};
        if (!arguments.isEmpty())
            request["arguments"] = arguments;
        const QByteArray line = QJsonDocument(request).toJson(QJsonDocument::Compact) + "\n";
        if (::send(fd_, line.constData(), static_cast<std::size_t>(line.size()), MSG_NOSIGNAL) !=
            line.size())
            return {};
        for (;;) {
            const QJsonObject message = readMessage();
            if (message.isEmpty() || !message.contains("event"))
                return message;
        }
    }
    QJsonObject queryMigrate() { return command("query-migrate")["return"].toObject(); }

private:
    QJsonObject readMessage() {
        for (;;) {
            if (const auto newline = buffer_.indexOf('\n'); newline >= 0) {
                const QByteArray line = buffer_.left(newline);
                buffer_.remove(0, newline + 1);
                return QJsonDocument::fromJson(line).object();
            }
            char chunk[4096];
            const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
            if (got <= 0)
                return {};
            buffer_.append(chunk, static_cast<qsizetype>(got));
        }
    }
    int fd_ = -1;
    QByteArray buffer_;
};

inline quint16 freeTcpPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

inline void writeRandomFile(const QString& path, std::uint64_t size) {
    std::ofstream file(path.toStdString(), std::ios::binary);
    std::mt19937_64 random(42);
    std::vector<std::uint64_t> block(1 << 16);
    for (std::uint64_t written = 0; written < size; written += block.size() * 8) {
        for (auto& word : block)
            word = random();
        file.write(reinterpret_cast<const char*>(block.data()),
                   static_cast<std::streamsize>(block.size() * 8));
    }
}

// One QEMU: `control` is the test's monitor, watchSocket() the watcher's.
class QemuProcess {
public:
    QemuProcess(QString dir, QString name) : dir_(std::move(dir)), name_(std::move(name)) {}
    ~QemuProcess() { kill(); }

    QString controlSocket() const { return dir_ + "/" + name_ + "-control.sock"; }
    QString watchSocket() const { return dir_ + "/" + name_ + "-watch.sock"; }
    qint64 pid() const { return process_.processId(); }

    // ramFile: the guest's RAM (share=off: QEMU reads it, never writes it back). Empty:
    // anonymous RAM, which a postcopy destination needs (userfaultfd does not take a private
    // file mapping).
    bool start(const QString& ramFile, std::uint64_t ramSize, const QStringList& extra = {}) {
        const QString size = QString::number(ramSize >> 20) + "M";
        const QString backend = ramFile.isEmpty() ? "memory-backend-ram,id=ram0,size=" + size
                                                  : "memory-backend-file,id=ram0,size=" + size +
                                                        ",mem-path=" + ramFile + ",share=off";
        QStringList arguments = {"-nodefaults",
                                 "-display",
                                 "none",
                                 "-accel",
                                 "tcg",
                                 "-machine",
                                 "pc,memory-backend=ram0",
                                 "-m",
                                 size,
                                 "-object",
                                 backend,
                                 "-name",
                                 name_ + ",debug-threads=on",
                                 "-qmp",
                                 "unix:" + controlSocket() + ",server=on,wait=off",
                                 "-qmp",
                                 "unix:" + watchSocket() + ",server=on,wait=off"};
        arguments += extra;
        process_.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        process_.start(qemuBinary(), arguments);
        if (!process_.waitForStarted())
            return false;
        QElapsedTimer waited;
        waited.start();
        while (!QFile::exists(watchSocket()) && waited.elapsed() < 20000) {
            if (process_.state() != QProcess::Running)
                return false;
            QThread::msleep(20);
        }
        return control.connect(controlSocket());
    }
    void kill() {
        if (process_.state() != QProcess::NotRunning) {
            process_.kill();
            process_.waitForFinished();
        }
    }

    QmpDriver control;

private:
    QString dir_;
    QString name_;
    QProcess process_;
};

// A source and a destination QEMU ready to migrate over `channels` multifd connections;
// tlsCreds: a directory in QEMU's tls-creds-x509 layout, or empty for plain TCP.
struct QemuPair {
    QemuPair(const QString& dir) : source(dir, "source"), destination(dir, "destination") {}

    // postcopy: the postcopy-ram capability on both sides, and a destination with anonymous
    // RAM; channels 0 migrates without multifd.
    bool start(const QString& ramFile, std::uint64_t ramSize, int channels,
               const QString& tlsCreds = {}, bool postcopy = false) {
        QStringList sourceExtra = {"-S"};
        QStringList destinationExtra = {"-incoming", "defer"};
        if (!tlsCreds.isEmpty()) {
            sourceExtra += {"-object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + tlsCreds};
            destinationExtra +=
                {"-object", "tls-creds-x509,id=tls0,endpoint=server,dir=" + tlsCreds};
        }
        if (!source.start(ramFile, ramSize, sourceExtra) ||
            !destination.start(postcopy ? QString() : ramFile, ramSize, destinationExtra))
            return false;
        QJsonArray enabled;
        if (channels > 0)
            enabled.append(QJsonObject{{"capability", "multifd"}, {"state", true}});
        if (postcopy)
            enabled.append(QJsonObject{{"capability", "postcopy-ram"}, {"state", true}});
        const QJsonObject capabilities{{"capabilities", enabled}};
        QJsonObject parameters;
        if (channels > 0)
            parameters["multifd-channels"] = channels;
        if (!tlsCreds.isEmpty())
            parameters["tls-creds"] = "tls0";
        for (QemuProcess* qemu : {&source, &destination})
            if (!qemu->control.command("migrate-set-capabilities", capabilities)
                     .contains("return") ||
                (!parameters.isEmpty() &&
                 !qemu->control.command("migrate-set-parameters", parameters).contains("return")))
                return false;
        port = freeTcpPort();
        return destination.control
            .command("migrate-incoming", {{"uri", QString("tcp:127.0.0.1:%1").arg(port)}})
            .contains("return");
    }
    bool migrate(std::uint64_t maxBandwidth) {
        return source.control
                   .command("migrate-set-parameters",
                            {{"max-bandwidth", static_cast<qint64>(maxBandwidth)}})
                   .contains("return") &&
               source.control.command("migrate", {{"uri", QString("tcp:127.0.0.1:%1").arg(port)}})
                   .contains("return");
    }
    // QEMU's own final answer once it ended, or {} after `limitMs`.
    QJsonObject waitForEnd(int limitMs = 60000) {
        QElapsedTimer waited;
        waited.start();
        while (waited.elapsed() < limitMs) {
            const QJsonObject info = source.control.queryMigrate();
            const QString status = info["status"].toString();
            if (status == "completed" || status == "failed" || status == "cancelled")
                return info;
            QThread::msleep(100);
        }
        return {};
    }

    QemuProcess source;
    QemuProcess destination;
    quint16 port = 0;
};

} // namespace migrascope::test
