// Running a program to its end as a script would, for tests of the command line.
#pragma once

#include <QByteArray>
#include <QDeadlineTimer>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QStringList>

namespace migrascope::test {

struct ProcessOutcome {
    int exitCode = -1; // -1: it crashed, or was killed after the time limit
    QByteArray out;
    QByteArray err;
};

// A command-line test's environment: its own config and data folders below `dir` (its PKI and
// history), and no display, which a headless run must not need.
inline QProcessEnvironment isolatedEnvironment(const QString& dir) {
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("XDG_CONFIG_HOME", dir + "/config");
    env.insert("XDG_DATA_HOME", dir + "/data");
    env.remove("DISPLAY");
    env.remove("QT_QPA_PLATFORM");
    return env;
}

inline ProcessOutcome runProcess(const QString& program, const QStringList& arguments,
                                 const QProcessEnvironment& environment, int timeoutMs) {
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(program, arguments);
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
    }
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
            process.readAllStandardOutput(), process.readAllStandardError()};
}

// Starts a destination daemon (`migrascope --incoming tcp://127.0.0.1:0 ...`) on a port the
// kernel picks and returns that port as the daemon announces it; "" when it did not within
// 20 s.
inline QString startDaemonOnAnyPort(QProcess& daemon, const QString& program,
                                    const QStringList& arguments) {
    daemon.start(program, QStringList{"--incoming", "tcp://127.0.0.1:0"} + arguments);
    if (!daemon.waitForStarted())
        return {};
    const QRegularExpression listening("listening on port (\\d+)");
    QByteArray log;
    for (QDeadlineTimer deadline(20000); !deadline.hasExpired();) {
        daemon.waitForReadyRead(100);
        log += daemon.readAllStandardError();
        if (const auto match = listening.match(QString::fromLocal8Bit(log)); match.hasMatch())
            return match.captured(1);
    }
    return {};
}

} // namespace migrascope::test
