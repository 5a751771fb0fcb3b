// Running a program to its end as a script would, for tests of the command line.
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStringList>

namespace migrascope::test {

struct ProcessOutcome {
    int exitCode = -1; // -1: it crashed, or was killed after the time limit
    QByteArray out;
    QByteArray err;
};

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

} // namespace migrascope::test
