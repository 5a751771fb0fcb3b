#include "app/json_result.h"

#include "engine/api/channel_metrics.h"
#include "engine/api/diagnosis.h"

#include <QJsonArray>
#include <cmath>

namespace migrascope::app {

QJsonArray stringsJson(const std::vector<std::string>& texts) {
    QJsonArray array;
    for (const auto& text : texts)
        array.append(QString::fromStdString(text));
    return array;
}

QJsonObject channelJson(const ChannelSnapshot& channel) {
    QJsonObject entry;
    entry["id"] = QString::fromStdString(channel.id);
    entry["kind"] = toString(channel.kind);
    entry["state"] = toString(channel.state);
    entry["bidirectional"] = channel.bidirectional;
    QJsonObject tls;
    for (const ChannelMetric& metric : channelMetrics()) {
        const std::uint64_t value = channel.*metric.field;
        (metric.tls ? tls : entry)[metric.jsonKey] = metric.zeroMeansNone && value == 0
                                                         ? QJsonValue(QJsonValue::Null)
                                                         : QJsonValue(static_cast<qint64>(value));
    }
    if (channel.tcp) {
        QJsonObject tcp;
        tcp["bytes-acked"] = static_cast<qint64>(channel.tcp->bytesAcked);
        tcp["bytes-received"] = static_cast<qint64>(channel.tcp->bytesReceived);
        tcp["rtt-us"] = static_cast<qint64>(channel.tcp->rttUs);
        tcp["retransmits"] = static_cast<qint64>(channel.tcp->retransmits);
        tcp["send-congestion-window"] = static_cast<qint64>(channel.tcp->sendCongestionWindow);
        entry["tcp-info"] = tcp;
    }
    if (channel.tlsUnseen) {
        // A real QEMU keeps its TLS sessions to itself: say so rather than "no TLS".
        entry["tls"] = QStringLiteral("not visible from outside");
    } else if (channel.tlsVersion.empty()) {
        entry["tls"] = QJsonValue::Null;
    } else {
        tls["version"] = QString::fromStdString(channel.tlsVersion);
        tls["cipher"] = QString::fromStdString(channel.tlsCipher);
        tls["termination"] = toString(channel.termination);
        tls["protection"] = QString::fromStdString(channel.tlsProtection);
        entry["tls"] = tls;
    }
    return entry;
}

QJsonObject jsonResult(const TelemetrySnapshot& snapshot, std::int64_t historyId) {
    const MigrationStats& stats = snapshot.stats;
    QJsonObject result;
    result["status"] = toString(snapshot.status);
    if (!snapshot.errorDesc.empty() && snapshot.status != MigrationStatus::Completed)
        result["error-desc"] = QString::fromStdString(snapshot.errorDesc);
    result["total-time"] = std::llround(stats.totalTimeMs);
    if (snapshot.status == MigrationStatus::Completed)
        result["downtime"] = std::llround(stats.downtimeMs);
    // Before switchover, what switching would cost; after it, what was expected as the guest
    // stopped, beside the real figure.
    result["expected-downtime"] = std::llround(stats.expectedDowntimeMs);
    result["downtime-limit"] = static_cast<qint64>(stats.downtimeLimitMs);
    result["cpu-throttle-percentage"] = static_cast<qint64>(stats.cpuThrottlePercentage);
    if (!snapshot.convergence.empty())
        result["convergence"] = QString::fromStdString(snapshot.convergence);
    result["setup-time"] = std::llround(stats.setupTimeMs);

    QJsonObject ram;
    ram["total"] = static_cast<qint64>(stats.total);
    ram["transferred"] = static_cast<qint64>(stats.transferred);
    ram["remaining"] = static_cast<qint64>(stats.remaining);
    ram["duplicate"] = static_cast<qint64>(stats.duplicate);
    ram["normal"] = static_cast<qint64>(stats.normal);
    ram["normal-bytes"] = static_cast<qint64>(stats.normal * kPageSize);
    ram["page-size"] = static_cast<qint64>(kPageSize);
    ram["mbps"] = stats.mbps;
    for (const auto& [name, bytes] : {std::pair{"precopy-bytes", stats.precopyBytes},
                                      std::pair{"downtime-bytes", stats.downtimeBytes},
                                      std::pair{"postcopy-bytes", stats.postcopyBytes}})
        if (bytes)
            ram[name] = static_cast<qint64>(*bytes);
    ram["dirty-sync-count"] = static_cast<qint64>(stats.dirtySyncCount);
    ram["dirty-pages-rate"] = std::llround(stats.dirtyPagesRate);
    result["ram"] = ram;

    result["integrity"] = QString::fromStdString(snapshot.integrity);
    // A completed run with any of these is "completed with warnings"; status stays QEMU's.
    result["warnings"] = stringsJson(snapshot.warnings);
    result["diagnosis"] = QString::fromStdString(diagnose(snapshot));
    QJsonArray channels;
    for (const auto& channel : snapshot.channels)
        channels.append(channelJson(channel));
    result["channels"] = channels;

    // What the destination said, in order; the count includes messages past the log's cap.
    QJsonArray returnPath;
    for (const auto& record : snapshot.returnPath) {
        QJsonObject entry;
        entry["time"] = std::llround(record.timeMs);
        entry["type"] = QString::fromLatin1(toString(record.type));
        entry["message"] = QString::fromStdString(record.text);
        entry["connection"] = static_cast<qint64>(record.connection);
        returnPath.append(entry);
    }
    result["return-path"] = returnPath;
    result["return-path-count"] = static_cast<qint64>(snapshot.returnPathCount);

    const PostcopyStats& postcopy = snapshot.postcopy;
    QJsonObject postcopyJson;
    postcopyJson["page-requests"] = static_cast<qint64>(postcopy.pageRequests);
    postcopyJson["pages-served"] = static_cast<qint64>(postcopy.pagesServed);
    postcopyJson["latency-median-ms"] = postcopy.latencyMedianMs;
    postcopyJson["latency-p99-ms"] = postcopy.latencyP99Ms;
    postcopyJson["latency-max-ms"] = postcopy.latencyMaxMs;
    postcopyJson["urgent-pages-sent"] = static_cast<qint64>(postcopy.urgentPagesSent);
    postcopyJson["pauses"] = static_cast<qint64>(postcopy.pauses);
    postcopyJson["recoveries"] = static_cast<qint64>(postcopy.recoveries);
    postcopyJson["last-recovery-time"] = std::llround(postcopy.lastRecoveryMs);
    postcopyJson["pages-resent-after-recovery"] =
        static_cast<qint64>(postcopy.pagesResentAfterRecovery);
    result["postcopy"] = postcopyJson;
    result["destination-status"] = toString(snapshot.destinationStatus);
    if (!snapshot.remoteDestination.empty()) {
        // What the source knows of a destination on another host: its address, its verdict
        // as its SHUT said it, and the id of its own record in its host's history.
        QJsonObject destination;
        destination["address"] = QString::fromStdString(snapshot.remoteDestination);
        destination["status"] = toString(snapshot.destinationStatus);
        QJsonValue verdict = QJsonValue::Null;
        for (const auto& record : snapshot.returnPath)
            if (record.type == ReturnPathType::Shut)
                verdict = QString::fromStdString(record.text);
        destination["verdict"] = verdict;
        destination["history-id"] =
            snapshot.destinationHistoryId != 0
                ? QJsonValue(static_cast<qint64>(snapshot.destinationHistoryId))
                : QJsonValue(QJsonValue::Null);
        result["destination"] = destination;
    }

    QJsonArray devices;
    for (const auto& device : snapshot.devices) {
        QJsonObject entry;
        entry["name"] = QString::fromStdString(device.name);
        entry["kind"] = QString::fromStdString(device.kind);
        entry["state-size"] = static_cast<qint64>(device.stateSize);
        entry["state"] = QString::fromLatin1(vfio::toString(device.sourceState));
        entry["destination-state"] =
            device.destinationState
                ? QJsonValue(QString::fromLatin1(vfio::toString(*device.destinationState)))
                : QJsonValue(QJsonValue::Null);
        QJsonArray transitions;
        for (const auto& t : snapshot.transitions) {
            if (t.device != device.name)
                continue;
            QJsonObject arc;
            arc["time"] = std::llround(t.timeMs);
            arc["side"] = QString::fromLatin1(toString(t.side));
            arc["from"] = QString::fromStdString(fromText(t));
            arc["to"] = QString::fromLatin1(vfio::toString(t.to));
            arc["result"] = t.ok ? QStringLiteral("ok") : QStringLiteral("failed");
            if (!t.error.empty())
                arc["error"] = QString::fromStdString(t.error);
            transitions.append(arc);
        }
        entry["transitions"] = transitions;
        devices.append(entry);
    }
    result["devices"] = devices;
    result["source-guest"] = toString(snapshot.sourceGuest);
    result["history-id"] =
        historyId > 0 ? QJsonValue(static_cast<qint64>(historyId)) : QJsonValue(QJsonValue::Null);
    return result;
}

} // namespace migrascope::app
