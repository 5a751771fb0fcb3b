#include "ui/glossary.h"

#include <QCoreApplication>

namespace migrascope::ui {

namespace {

// The words, untranslated: marked for lupdate (which files them under this namespace, the
// context they are translated by) and translated when shown, one at a time.
struct Entry {
    const char* term;
    const char* meaning;
};

QString translated(const char* meaning) {
    return QCoreApplication::translate("migrascope::ui", meaning);
}

const Entry kEntries[] = {
    // The migration's status, as QEMU's query-migrate names it.
    {"none", QT_TR_NOOP("No migration has started yet.")},
    {"setup", QT_TR_NOOP("The migration is connecting its channels and agreeing on its settings; "
                         "nothing of the guest has been sent yet.")},
    {"active",
     QT_TR_NOOP("Precopy: the guest keeps running while its memory is copied, round after "
                "round, until what is left fits the downtime limit.")},
    {"device", QT_TR_NOOP("Switchover: the guest is stopped and the devices' final state is being "
                          "saved and sent.")},
    {"postcopy-active",
     QT_TR_NOOP("Postcopy: the guest already runs at the destination, which fetches the pages it "
                "still lacks from the source when it touches them. From here on the guest exists "
                "only at the destination.")},
    {"postcopy-paused",
     QT_TR_NOOP("Postcopy stopped by a failure or by the operator: neither side has the whole "
                "guest, so nothing is given up; it waits for a recovery over a new connection.")},
    {"postcopy-recover-setup",
     QT_TR_NOOP("The source is reconnecting to the destination to resume a paused postcopy.")},
    {"postcopy-recover",
     QT_TR_NOOP("Resuming postcopy: the two sides compare which pages the destination has, then "
                "the source sends the rest.")},
    {"completed", QT_TR_NOOP("The guest runs at the destination; the migration is over.")},
    {"completed with warnings",
     QT_TR_NOOP("It completed, but something deserves a look: a setting let a failure through, a "
                "fault never fired, or the downtime passed its limit. The warnings say which.")},
    {"failed", QT_TR_NOOP("The migration did not complete. Before postcopy the source guest keeps "
                          "running, as if nothing had happened; the cause names the first thing "
                          "that went wrong.")},
    {"cancelling", QT_TR_NOOP("The operator cancelled; the channels are closing.")},
    {"cancelled", QT_TR_NOOP("The operator cancelled it; the source guest keeps running.")},
    // The guest's run state (QEMU's RunState).
    {"running", QT_TR_NOOP("The guest's vCPUs run.")},
    {"paused", QT_TR_NOOP("The guest is stopped, e.g. for the switchover.")},
    {"postmigrate",
     QT_TR_NOOP("The source guest after a completed migration: stopped for good, because the guest "
                "now runs at the destination.")},
    // SHUT: the destination's verdict on the return path.
    {"SHUT 0",
     QT_TR_NOOP("The destination's verdict on the return path: success, its guest runs.")},
    {"SHUT 1", QT_TR_NOOP("The destination could not load the stream.")},
    {"SHUT 2", QT_TR_NOOP("The destination's copy of RAM or device state differs from the source's "
                          "(the integrity check).")},
    {"SHUT 3", QT_TR_NOOP("A channel broke at the destination, or ended without close_notify.")},
    {"SHUT 4",
     QT_TR_NOOP("A device at the destination refused a state change or its saved state.")},
    {"SHUT 5", QT_TR_NOOP("A destination daemon turned the migration away before receiving it.")},
    {"SHUT 6", QT_TR_NOOP("The destination's operator cancelled it.")},
    // Words of the protocols.
    {"return path", QT_TR_NOOP("The main channel's way back: the destination tells the source its "
                               "verdict (SHUT), answers pings, acknowledges the switchover and, in "
                               "postcopy, asks for pages.")},
    {"multifd", QT_TR_NOOP("Several connections carrying memory pages in parallel, beside the main "
                           "channel that carries the stream's commands.")},
    {"dirty sync", QT_TR_NOOP("Reading which pages the guest wrote since the last round (QEMU's "
                              "dirty-sync-count counts them).")},
    {"downtime", QT_TR_NOOP("How long the guest is stopped at the switchover, from the source "
                            "stopping it to the destination's verdict.")},
    {"close_notify",
     QT_TR_NOOP("TLS's alert that ends a session in order. Without it, the receiver "
                "cannot tell an orderly end from a connection cut short.")},
    {"KeyUpdate",
     QT_TR_NOOP("TLS 1.3 replacing its traffic keys after many records, so that no key "
                "protects too much data.")},
    {"auto-converge", QT_TR_NOOP("A QEMU capability: slow the guest's vCPUs step by step until it "
                                 "writes memory slower than the link sends it.")},
    {"switchover-ack", QT_TR_NOOP("A QEMU capability: the source switches over only after the "
                                  "destination says it is ready (its devices have loaded their "
                                  "precopy data).")},
    // VFIO device states (the kernel's VFIO migration uAPI, v2).
    {"RUNNING", QT_TR_NOOP("The device works normally.")},
    {"STOP",
     QT_TR_NOOP("The device is stopped: it neither changes its state nor talks to others.")},
    {"STOP_COPY", QT_TR_NOOP("Stopped, with its final state being read out for migration.")},
    {"RESUMING", QT_TR_NOOP("At the destination: the device's saved state is being written into "
                            "it. The driver checks that state when the device leaves RESUMING.")},
    {"PRE_COPY", QT_TR_NOOP("Running, while part of its state is already read out ahead of the "
                            "switchover (like RAM's precopy).")},
    {"RUNNING_P2P", QT_TR_NOOP("Running, but not starting new transfers to other devices (peer to "
                               "peer), so that several devices can stop consistently.")},
    {"PRE_COPY_P2P", QT_TR_NOOP("PRE_COPY without new peer-to-peer transfers.")},
    {"ERROR", QT_TR_NOOP("The device failed a state change; only a reset brings it back.")},
};

} // namespace

QList<GlossaryEntry> glossary() {
    // In the language loaded now: a window started in another language in the same process
    // must not read the first one's words.
    QList<GlossaryEntry> entries;
    for (const Entry& entry : kEntries)
        entries.append({QString::fromLatin1(entry.term), translated(entry.meaning)});
    return entries;
}

QString explain(const QString& term) {
    // Asked four times a second for the status panel's tooltips: one lookup, one translation.
    for (const Entry& entry : kEntries)
        if (term == QLatin1String(entry.term))
            return translated(entry.meaning);
    return {};
}

QString glossaryHtml() {
    QString html = QStringLiteral("<dl>");
    for (const GlossaryEntry& entry : glossary())
        html += QStringLiteral("<dt><b>%1</b></dt><dd>%2</dd>")
                    .arg(entry.term.toHtmlEscaped(), entry.meaning.toHtmlEscaped());
    return html + QStringLiteral("</dl>");
}

} // namespace migrascope::ui
