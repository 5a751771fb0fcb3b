// migrascope: the window by default, or one headless migration with --headless.
#include "app/command_line.h"
#include "app/headless.h"
#include "app/history_command.h"
#include "app/incoming.h"
#include "app/watch.h"
#include "ui/launch_form.h"
#include "ui/main_window.h"
#include "ui/translations.h"

#include <QApplication>
#include <QCoreApplication>
#include <QIcon>
#include <cstdio>
#include <cstring>
#include <memory>

namespace {

// `history report` draws the throughput plot: widgets, but never a window or a display.
bool drawsOffscreen(int argc, char** argv) {
    return argc > 2 && std::strcmp(argv[1], "history") == 0 && std::strcmp(argv[2], "report") == 0;
}

bool wantsHeadless(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "history") == 0)
        return !drawsOffscreen(argc, argv);
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--window") == 0)
            return false;
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--headless") == 0 || std::strcmp(argv[i], "--incoming") == 0 ||
            std::strcmp(argv[i], "--watch") == 0 || std::strncmp(argv[i], "--watch=", 8) == 0 ||
            std::strncmp(argv[i], "--incoming=", 11) == 0 || std::strcmp(argv[i], "--help") == 0 ||
            std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--version") == 0 ||
            std::strcmp(argv[i], "-v") == 0)
            return true;
    return false;
}

} // namespace

int main(int argc, char** argv) {
    // A headless run must work with no display at all, so it never creates a QApplication.
    std::unique_ptr<QCoreApplication> application;
    if (drawsOffscreen(argc, argv))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    if (wantsHeadless(argc, argv))
        application = std::make_unique<QCoreApplication>(argc, argv);
    else {
        application = std::make_unique<QApplication>(argc, argv);
        QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/io.migrascope.Migrascope.svg")));
        QGuiApplication::setDesktopFileName(QStringLiteral("io.migrascope.Migrascope"));
    }
    QCoreApplication::setApplicationName("migrascope");
    QCoreApplication::setApplicationVersion(MIGRASCOPE_VERSION);

    const QStringList arguments = QCoreApplication::arguments();
    if (arguments.size() > 1 && arguments[1] == QLatin1String("history"))
        return migrascope::app::runHistoryCommand(arguments);

    migrascope::app::CommandLine line;
    try {
        line = migrascope::app::parseCommandLine(QCoreApplication::arguments());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "migrascope: %s\nTry 'migrascope --help'.\n", error.what());
        return 2;
    }
    if (line.mode == migrascope::app::CommandLine::Mode::Headless)
        return migrascope::app::runHeadless(line);
    if (line.mode == migrascope::app::CommandLine::Mode::Incoming)
        return migrascope::app::runIncoming(line);
    if (line.mode == migrascope::app::CommandLine::Mode::Watch && !line.watchInWindow)
        return migrascope::app::runWatch(line);

    // The window speaks the user's language where a catalogue has it; the command line and its
    // JSON stay in the words scripts rely on.
    migrascope::ui::installTranslations(*QCoreApplication::instance(),
                                        migrascope::ui::windowLocale());
    migrascope::ui::MainWindow window(migrascope::ui::WindowOptions{line.historyPath});
    window.launchForm()->setConfig(line.config);
    window.show();
    if (line.mode == migrascope::app::CommandLine::Mode::Watch)
        window.watchQemu(line.watch);
    return QApplication::exec();
}
