#include "app/command_line.h"

#include "app/qmp_server.h"
#include "engine/api/faults.h"
#include "engine/api/tls_pki.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <stdexcept>
#include <tuple>

namespace migrascope::app {
namespace {

// The form's smallest step; below it a multifd packet alone takes minutes.
constexpr std::uint64_t kMinBandwidth = 1ull << 20;

std::string faultOptionHelp() {
    return "A fault to inject on purpose, repeatable. Known faults:\n" + faultHelp();
}

std::uint64_t sizeOption(const QCommandLineParser& parser, const QString& name) {
    try {
        return parseSize(parser.value(name).toStdString());
    } catch (const std::invalid_argument& error) {
        throw std::invalid_argument("--" + name.toStdString() + ": " + error.what());
    }
}

unsigned long long numberOption(const QCommandLineParser& parser, const QString& name,
                                unsigned long long max) {
    bool ok = false;
    const auto value = parser.value(name).toULongLong(&ok);
    if (!ok || value > max)
        throw std::invalid_argument("--" + name.toStdString() + ": '" +
                                    parser.value(name).toStdString() +
                                    "' is not a whole number from 0 to " + std::to_string(max));
    return value;
}

// --qmp unix:PATH, made absolute, in a directory that exists.
QString qmpPathOption(const QCommandLineParser& parser) {
    QString path;
    try {
        path = QmpServer::socketPath(parser.value("qmp"));
    } catch (const std::invalid_argument& error) {
        throw std::invalid_argument(std::string("--qmp: ") + error.what());
    }
    if (!QFileInfo(path).dir().exists())
        throw std::invalid_argument("--qmp: the directory " + QFileInfo(path).path().toStdString() +
                                    " does not exist");
    return path;
}

bool onOffOption(const QCommandLineParser& parser, const QString& name) {
    const QString value = parser.value(name);
    if (value == "on")
        return true;
    if (value == "off")
        return false;
    throw std::invalid_argument("--" + name.toStdString() + ": '" + value.toStdString() +
                                "' must be on or off");
}

// The destination daemon's options: where to listen, its TLS identity, its compatibility
// properties and the faults that fire at a destination. The source's options mean nothing here.
CommandLine parseIncoming(const QCommandLineParser& parser) {
    for (const char* sourceOnly :
         {"headless", "destination", "connect-timeout", "ram-size", "guest-content", "dirty-rate",
          "multifd-channels", "downtime-limit", "max-bandwidth", "tls-hostname",
          "tls-rekey-interval", "capability", "postcopy-after", "device", "json",
          "cpu-throttle-initial", "cpu-throttle-increment"})
        if (parser.isSet(sourceOnly))
            throw std::invalid_argument(std::string("--") + sourceOnly +
                                        " belongs to the source; a destination daemon "
                                        "(--incoming) takes what the source sends");
    CommandLine line;
    line.mode = CommandLine::Mode::Incoming;
    line.historyPath = parser.value("history").toStdString();
    IncomingAddress address;
    try {
        address = parseIncomingAddress(parser.value("incoming").toStdString());
    } catch (const std::invalid_argument& error) {
        throw std::invalid_argument(std::string("--incoming: ") + error.what());
    }
    if (address.tls == parser.isSet("no-tls"))
        throw std::invalid_argument(address.tls ? "--incoming tls://... and --no-tls contradict "
                                                  "each other (use tcp://HOST:PORT)"
                                                : "--incoming tcp://... needs --no-tls (or use "
                                                  "tls://HOST:PORT)");
    IncomingOptions& incoming = line.incoming;
    incoming.listenHost = address.host;
    incoming.port = address.port;
    incoming.historyPath = line.historyPath;
    incoming.tls.enabled = address.tls;
    if (address.tls) {
        incoming.tls.credsDir = parser.isSet("tls-creds") ? parser.value("tls-creds").toStdString()
                                                          : ensureDefaultPki();
        incoming.tls.priority = parser.value("tls-priority").toStdString();
        for (const QString& dn : parser.values("tls-authz"))
            incoming.tls.authz.push_back(dn.toStdString());
        checkTlsSetup(incoming.tls.credsDir, incoming.tls.priority, false, true);
    }
    incoming.multifdCleanTlsTermination = onOffOption(parser, "multifd-clean-tls-termination");
    incoming.handshakeTimeoutMs = numberOption(parser, "handshake-timeout", 600000);
    incoming.postcopyRecoverTimeoutMs =
        numberOption(parser, "postcopy-recover-timeout", 7ull * 24 * 3600 * 1000);
    if (incoming.handshakeTimeoutMs == 0)
        throw std::invalid_argument("--handshake-timeout: 0 would drop every connection; give "
                                    "a time in milliseconds");
    if (parser.isSet("qmp"))
        line.qmpPath = qmpPathOption(parser);
    incoming.maxIncoming = static_cast<unsigned>(numberOption(parser, "max-incoming", 64));
    if (incoming.maxIncoming == 0)
        throw std::invalid_argument("--max-incoming: 0 would refuse every migration; give a "
                                    "number from 1 to 64");
    incoming.vfioExplicitResumingStop = onOffOption(parser, "vfio-explicit-resuming-stop");
    for (const QString& text : parser.values("inject")) {
        FaultSpec fault;
        try {
            fault = parseFault(text.toStdString());
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("--inject: ") + error.what());
        }
        if (fault.side != Side::Destination)
            throw std::invalid_argument("--inject " + fault.text +
                                        ": it fires at the source; give it to the source");
        incoming.faults.push_back(fault);
    }
    return line;
}

} // namespace

CommandLine parseCommandLine(const QStringList& arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Migrascope moves a running guest to a destination over multifd TLS channels and shows "
        "every step. Without --headless it opens the window. 'migrascope history list|show' "
        "reads the history (migrascope history --help).");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOptions({
        {"headless", "Run one migration without a window (to the in-process destination "
                     "unless --destination names a daemon)."},
        {"incoming",
         "Run a destination daemon: listen on tls://HOST:PORT (tcp://HOST:PORT with --no-tls) "
         "and receive one migration after another, each recorded in this host's history. "
         "Takes the TLS options, --multifd-clean-tls-termination, "
         "--vfio-explicit-resuming-stop, --inject for faults that fire at the destination, "
         "and --history. Ctrl-C or SIGTERM stops it.",
         "URI"},
        {"watch",
         "Watch a real QEMU migration over QMP instead of migrating: qmp:SRC.sock, or "
         "qmp:SRC.sock,dst=DST.sock to follow the destination QEMU too. QEMU's figures come "
         "from query-migrate, each connection's bytes from the kernel's socket counters, each "
         "thread's CPU from /proc. Headless; takes --json and --history. Changes nothing in "
         "QEMU, unless ,events=on allows it to turn on QEMU's events migration capability "
         "(before the migration starts) so that its MIGRATION events arrive as they happen. "
         "Ctrl-C stops watching.",
         "TARGET"},
        {"window", "With --watch: follow the migration in the window instead of headless."},
        {"qmp",
         "With --headless: answer QEMU's machine protocol on a Unix socket (unix:PATH): "
         "query-migrate, query-migrate-parameters, query-migrate-capabilities, query-status, "
         "query-migrationthreads, migrate-set-parameters (max-bandwidth, downtime-limit), "
         "migrate_cancel, "
         "migrate-start-postcopy, migrate-pause, migrate-recover, migrate with resume; "
         "MIGRATION and MIGRATION_PASS events. With --incoming: query-migrate (each incoming "
         "migration), migrate_cancel, migrate-recover; MIGRATION events.",
         "unix:PATH"},
        {"watch-interval",
         "With --watch: poll QEMU and the kernel every MS milliseconds (50 to 1000). "
         "Default 200.",
         "MS", "200"},
        {"postcopy-recover-timeout",
         "With --incoming: fail a paused postcopy migration whose source has not resumed it "
         "within MS milliseconds. Default 600000.",
         "MS", "600000"},
        {"connect-timeout",
         "With --destination: give up connecting a channel after MS milliseconds (a host that "
         "does not answer). Default 10000.",
         "MS", "10000"},
        {"max-incoming",
         "With --incoming: receive at most N migrations at once (1 to 64); a source over the "
         "limit is refused with the reason. Default 1.",
         "N", "1"},
        {"handshake-timeout",
         "With --incoming: drop a connection that has not finished its TLS handshake and named "
         "its channel within MS milliseconds. Default 5000.",
         "MS", "5000"},
        {"destination",
         "Migrate to a destination daemon (migrascope --incoming) at HOST:PORT ([ADDRESS]:PORT "
         "for IPv6) instead of the in-process destination.",
         "HOST:PORT"},
        {"json", "End with one JSON object (query-migrate spelling) on stdout."},
        {"ram-size", "Guest RAM (e.g. 512M, 4G). Default 512M.", "SIZE", "512M"},
        {"guest-content",
         "What the guest's RAM holds when the migration starts: mixed (3 pages in 4 hold "
         "incompressible data, the rest are zero; default), random (every page holds data, "
         "none is zero, like a busy guest), zero (nothing written yet).",
         "mixed|random|zero", "mixed"},
        {"dirty-rate", "Workload dirtying rate per second (e.g. 64M); 0 = idle guest.", "RATE",
         "64M"},
        {"multifd-channels", "Multifd channels; 0 = everything on the main channel. Default 4.",
         "N", "4"},
        {"downtime-limit", "Maximum downtime in milliseconds. Default 300.", "MS", "300"},
        {"max-bandwidth", "Bandwidth cap per second (e.g. 128M); 0 = unlimited.", "RATE", "0"},
        {"tls-creds",
         "TLS credentials directory in QEMU's layout (ca-cert.pem, server-cert.pem, "
         "server-key.pem, client-cert.pem, client-key.pem). Default: generated on first use "
         "in $XDG_CONFIG_HOME/migrascope/pki.",
         "DIR"},
        {"no-tls", "Plain TCP channels."},
        {"tls-priority", "GnuTLS priority string. Default NORMAL.", "STRING", "NORMAL"},
        {"tls-hostname", "Name expected in the destination's certificate. Default: the host.",
         "NAME"},
        {"tls-authz",
         "Accept only client certificates with this distinguished name (RFC 4514, e.g. "
         "CN=migrascope-source,O=Migrascope); repeatable.",
         "DN"},
        {"tls-rekey-interval",
         QString("Force a TLS 1.3 key update every N records sent on each channel, at most one "
                 "every %1 ms (GnuTLS refuses more than 8 a second from a peer); 0 = only "
                 "GnuTLS's own, after 2^24 records. For tests and training.")
             .arg(kKeyUpdateSpacingMs),
         "N", "0"},
        {"tls-record-warning",
         "Warn when a channel has sent N records under one key (ciphers with a record "
         "limit). Default: 3/4 of 2^24.",
         "N", QString::number(kTlsRecordLimit / 4 * 3)},
        {"multifd-clean-tls-termination",
         "on: a multifd channel that ends without TLS close_notify fails the migration. off: "
         "tolerate it after the last packet (sources older than QEMU 9.1). Default on.",
         "on|off", "on"},
        {"capability",
         "A migration capability, repeatable: return-path (always on), postcopy-ram, "
         "switchover-ack, auto-converge. Default off.",
         "NAME=on|off"},
        {"cpu-throttle-initial",
         "With auto-converge: the first throttle of the guest's vCPUs, in percent (1-99). "
         "Default 20.",
         "PCT", "20"},
        {"cpu-throttle-increment",
         "With auto-converge: how much each further step throttles, in percent (1-99). "
         "Default 10.",
         "PCT", "10"},
        {"postcopy-after",
         "With postcopy-ram: switch to postcopy after N dirty-page iterations (e.g. 2) or "
         "after a time in precopy (e.g. 1.5s, 800ms), as migrate-start-postcopy would.",
         "WHEN"},
        {"recover-delay",
         "A paused postcopy recovers by itself after MS milliseconds (migrate-recover, then "
         "migrate resume). Default 1000.",
         "MS", "1000"},
        {"device",
         QString("An emulated VFIO device of the guest, repeatable: nic (PRE_COPY and P2P, %1M "
                 "of state) or accel (STOP_COPY only, %2M, a task in flight); options "
                 "state-size=SIZE, name=NAME, x-migration-multifd-transfer=on|off (on: the "
                 "STOP_COPY state goes over the multifd channels, as QEMU 10 sends it; off: "
                 "over the main channel alone). Default names nic0, accel0, ...")
             .arg(kNicStateSize >> 20)
             .arg(kAccelStateSize >> 20),
         "KIND[,opt=val...]"},
        {"vfio-explicit-resuming-stop",
         "on: after a device's last data the destination moves it RESUMING -> STOP and a "
         "failure there or at start fails the migration. off: the legacy way, as QEMU's "
         "destination did: straight to RUNNING at start with a failure ignored, so the guest "
         "could start after a failed device load. Default on.",
         "on|off", "on"},
        {"inject", QString::fromStdString(faultOptionHelp()), "FAULT"},
        {"history", "History database. Default $XDG_DATA_HOME/migrascope/history.sqlite.", "FILE"},
    });
    // process() would exit with 1; a wrong command line exits with 2 like every other.
    if (!parser.parse(arguments))
        throw std::invalid_argument(parser.errorText().toStdString());
    if (parser.isSet("help"))
        parser.showHelp(0);
    if (parser.isSet("version"))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty())
        throw std::invalid_argument("unexpected argument '" +
                                    parser.positionalArguments().first().toStdString() + "'");

    CommandLine line;
    line.mode = parser.isSet("headless") ? CommandLine::Mode::Headless : CommandLine::Mode::Window;
    if (parser.isSet("incoming"))
        return parseIncoming(parser);
    line.json = parser.isSet("json");
    line.historyPath = parser.value("history").toStdString();
    if (parser.isSet("watch")) {
        if (parser.isSet("qmp"))
            throw std::invalid_argument("--qmp serves a headless run of ours, not a watch");
        line.mode = CommandLine::Mode::Watch;
        try {
            line.watch = parseWatchTarget(parser.value("watch").toStdString());
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("--watch: ") + error.what());
        }
        line.watchInWindow = parser.isSet("window");
        const auto interval = numberOption(parser, "watch-interval", 1000);
        if (interval < 50)
            throw std::invalid_argument("--watch-interval: " + std::to_string(interval) +
                                        " ms is below 50 ms");
        line.watch.pollInterval = std::chrono::milliseconds(interval);
        line.watch.historyPath = line.historyPath;
        return line;
    }
    if (parser.isSet("qmp")) {
        if (line.mode != CommandLine::Mode::Headless)
            throw std::invalid_argument("--qmp serves a headless run: add --headless");
        line.qmpPath = qmpPathOption(parser);
    }
    MigrationConfig& config = line.config;
    config.guest.ramSize = sizeOption(parser, "ram-size");
    if (config.guest.ramSize < (16ull << 20) || config.guest.ramSize % kPageSize != 0)
        throw std::invalid_argument("--ram-size: " + parser.value("ram-size").toStdString() +
                                    " must be at least 16M and a multiple of 4K");
    try {
        config.guest.content = parseGuestContent(parser.value("guest-content").toStdString());
    } catch (const std::invalid_argument& error) {
        throw std::invalid_argument(std::string("--guest-content: ") + error.what());
    }
    config.guest.dirtyRate = sizeOption(parser, "dirty-rate");
    config.multifdChannels = static_cast<unsigned>(numberOption(parser, "multifd-channels", 255));
    config.downtimeLimitMs = numberOption(parser, "downtime-limit", 2000000);
    config.cpuThrottle.initial =
        static_cast<unsigned>(numberOption(parser, "cpu-throttle-initial", 99));
    config.cpuThrottle.increment =
        static_cast<unsigned>(numberOption(parser, "cpu-throttle-increment", 99));
    if (config.cpuThrottle.initial == 0 || config.cpuThrottle.increment == 0)
        throw std::invalid_argument("--cpu-throttle-initial and --cpu-throttle-increment are "
                                    "percentages from 1 to 99");
    config.maxBandwidth = sizeOption(parser, "max-bandwidth");
    if (config.maxBandwidth != 0 && config.maxBandwidth < kMinBandwidth)
        throw std::invalid_argument("--max-bandwidth: " + formatBytes(config.maxBandwidth) +
                                    "/s cannot carry even the setup in reasonable time; at "
                                    "least 1M (bytes per second), or 0 for unlimited");
    config.tls.enabled = !parser.isSet("no-tls");
    if (parser.isSet("no-tls"))
        for (const char* tlsOption :
             {"tls-creds", "tls-authz", "tls-hostname", "tls-priority", "tls-rekey-interval"})
            if (parser.isSet(tlsOption))
                throw std::invalid_argument(std::string("--no-tls and --") + tlsOption +
                                            " contradict each other");
    config.tls.priority = parser.value("tls-priority").toStdString();
    config.tls.hostname = parser.value("tls-hostname").toStdString();
    for (const QString& dn : parser.values("tls-authz"))
        config.tls.authz.push_back(dn.toStdString());
    config.tls.rekeyInterval = numberOption(parser, "tls-rekey-interval", kTlsRecordLimit);
    config.tls.recordWarning = numberOption(parser, "tls-record-warning", kTlsRecordLimit);
    config.multifdCleanTlsTermination = onOffOption(parser, "multifd-clean-tls-termination");
    if (config.tls.enabled)
        config.tls.credsDir = parser.isSet("tls-creds") ? parser.value("tls-creds").toStdString()
                                                        : ensureDefaultPki();
    for (const QString& capability : parser.values("capability")) {
        try {
            applyCapability(capability.toStdString(), config.capabilities);
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("--capability: ") + error.what());
        }
    }
    if (parser.isSet("postcopy-after")) {
        if (!config.capabilities.postcopyRam)
            throw std::invalid_argument("--postcopy-after needs --capability postcopy-ram=on");
        try {
            config.postcopyStart = parsePostcopyStart(parser.value("postcopy-after").toStdString());
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("--postcopy-after: ") + error.what());
        }
    }
    config.recoverDelayMs = numberOption(parser, "recover-delay", 3600000);
    // Without a window nobody is there to recover a paused postcopy.
    config.autoRecover = line.mode == CommandLine::Mode::Headless;
    for (const QString& fault : parser.values("inject")) {
        try {
            config.faults.push_back(parseFault(fault.toStdString()));
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("--inject: ") + error.what());
        }
    }
    for (const QString& device : parser.values("device")) {
        try {
            config.devices.push_back(parseDevice(device.toStdString(), config.devices));
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("--device: ") + error.what());
        }
    }
    config.vfioExplicitResumingStop = onOffOption(parser, "vfio-explicit-resuming-stop");
    if (!config.devices.empty() && config.capabilities.postcopyRam)
        throw std::invalid_argument("--device and --capability postcopy-ram=on cannot be "
                                    "combined: VFIO devices do not migrate in postcopy");
    for (const char* daemonOnly : {"handshake-timeout", "postcopy-recover-timeout", "max-incoming"})
        if (parser.isSet(daemonOnly))
            throw std::invalid_argument(std::string("--") + daemonOnly +
                                        " belongs to a destination daemon (--incoming)");
    config.connectTimeoutMs = numberOption(parser, "connect-timeout", 600000);
    if (config.connectTimeoutMs == 0)
        throw std::invalid_argument("--connect-timeout: give a time in milliseconds above 0");
    if (parser.isSet("destination")) {
        try {
            std::tie(config.destinationHost, config.destinationPort) =
                parseHostPort(parser.value("destination").toStdString());
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("--destination: ") + error.what());
        }
        for (const auto& fault : config.faults)
            if (fault.side == Side::Destination)
                throw std::invalid_argument(
                    "--inject " + fault.text +
                    ": it fires at the destination; give it to the destination daemon "
                    "(migrascope --incoming ... --inject " +
                    fault.text + ")");
    }
    if (const std::string problem = checkFaults(config); !problem.empty())
        throw std::invalid_argument("--inject " + problem);
    if (config.tls.enabled)
        checkTlsSetup(config.tls.credsDir, config.tls.priority, true,
                      config.destinationHost.empty());
    return line;
}

} // namespace migrascope::app
