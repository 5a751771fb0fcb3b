<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>QObject</name>
    <message>
        <source>Diagnosis</source>
        <translation>Diagnose</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Lauf</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>Peer</source>
        <translation>Gegenstelle</translation>
    </message>
    <message>
        <source>Imported from</source>
        <translation>Importiert aus</translation>
    </message>
    <message>
        <source>Started (UTC)</source>
        <translation>Gestartet (UTC)</translation>
    </message>
    <message>
        <source>Ended (UTC)</source>
        <translation>Beendet (UTC)</translation>
    </message>
    <message>
        <source>Recorded cause</source>
        <translation>Aufgezeichnete Ursache</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>Warnung</translation>
    </message>
    <message>
        <source>Integrity</source>
        <translation>Integrität</translation>
    </message>
    <message>
        <source>Transferred</source>
        <translation>Übertragen</translation>
    </message>
    <message>
        <source>Total time</source>
        <translation>Gesamtzeit</translation>
    </message>
    <message>
        <source>Downtime</source>
        <translation>Downtime</translation>
    </message>
    <message>
        <source>%1 (expected %2, limit %3)</source>
        <translation>%1 (erwartet %2, Grenze %3)</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>Zusammenfassung</translation>
    </message>
    <message>
        <source>Throughput per channel</source>
        <translation>Durchsatz je Kanal</translation>
    </message>
    <message>
        <source>throughput per channel over the run</source>
        <translation>Durchsatz je Kanal während des Laufs</translation>
    </message>
    <message>
        <source>Configuration</source>
        <translation>Konfiguration</translation>
    </message>
    <message>
        <source>Time (s)</source>
        <translation>Zeit (s)</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>Seite</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>Stufe</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Meldung</translation>
    </message>
    <message>
        <source>Timeline</source>
        <translation>Zeitleiste</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>Ende</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Gesendet</translation>
    </message>
    <message>
        <source>Received</source>
        <translation>Empfangen</translation>
    </message>
    <message>
        <source>Acked (kernel)</source>
        <translation>Bestätigt (Kernel)</translation>
    </message>
    <message>
        <source>TLS</source>
        <translation>TLS</translation>
    </message>
    <message>
        <source>not read</source>
        <translation>nicht gelesen</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>Channels as they ended</source>
        <translation>Kanäle bei ihrem Ende</translation>
    </message>
    <message>
        <source>&lt;p&gt;No devices.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Keine Geräte.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Gerät</translation>
    </message>
    <message>
        <source>Arc</source>
        <translation>Übergang</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <source>failed: %1</source>
        <translation>fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>Device transitions</source>
        <translation>Geräteübergänge</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>Verbindung</translation>
    </message>
    <message>
        <source>Return path</source>
        <translation>Rückkanal</translation>
    </message>
    <message>
        <source>the history has no run %1</source>
        <translation>der Verlauf enthält keinen Lauf %1</translation>
    </message>
    <message>
        <source>%1 was not written</source>
        <translation>%1 wurde nicht geschrieben</translation>
    </message>
    <message>
        <source>cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
    <message>
        <source>What to watch</source>
        <translation>Worauf zu achten ist</translation>
    </message>
    <message>
        <source>How each variant ends</source>
        <translation>Wie jede Variante endet</translation>
    </message>
    <message>
        <source>Demonstrations, each in a process of its own</source>
        <translation>Vorführungen, jede in einem eigenen Prozess</translation>
    </message>
</context>
<context>
    <name>migrascope::ui</name>
    <message>
        <source>No migration has started yet.</source>
        <translation>Es wurde noch keine Migration gestartet.</translation>
    </message>
    <message>
        <source>The migration is connecting its channels and agreeing on its settings; nothing of the guest has been sent yet.</source>
        <translation>Die Migration verbindet ihre Kanäle und handelt ihre Einstellungen aus; vom Gast wurde noch nichts gesendet.</translation>
    </message>
    <message>
        <source>Precopy: the guest keeps running while its memory is copied, round after round, until what is left fits the downtime limit.</source>
        <translation>Precopy: Der Gast läuft weiter, während sein Speicher Runde um Runde kopiert wird, bis der Rest in die Downtime-Grenze passt.</translation>
    </message>
    <message>
        <source>Switchover: the guest is stopped and the devices&apos; final state is being saved and sent.</source>
        <translation>Umschalten: Der Gast ist angehalten, der Endzustand der Geräte wird gespeichert und gesendet.</translation>
    </message>
    <message>
        <source>Postcopy: the guest already runs at the destination, which fetches the pages it still lacks from the source when it touches them. From here on the guest exists only at the destination.</source>
        <translation>Postcopy: Der Gast läuft bereits am Ziel, das noch fehlende Seiten bei der Quelle abruft, sobald der Gast auf sie zugreift. Ab hier existiert der Gast nur noch am Ziel.</translation>
    </message>
    <message>
        <source>Postcopy stopped by a failure or by the operator: neither side has the whole guest, so nothing is given up; it waits for a recovery over a new connection.</source>
        <translation>Postcopy durch einen Fehler oder den Bediener angehalten: Keine Seite hat den ganzen Gast, daher wird nichts aufgegeben; es wartet auf eine Wiederherstellung über eine neue Verbindung.</translation>
    </message>
    <message>
        <source>The source is reconnecting to the destination to resume a paused postcopy.</source>
        <translation>Die Quelle verbindet sich erneut mit dem Ziel, um ein pausiertes Postcopy fortzusetzen.</translation>
    </message>
    <message>
        <source>Resuming postcopy: the two sides compare which pages the destination has, then the source sends the rest.</source>
        <translation>Postcopy wird fortgesetzt: Quelle und Ziel gleichen ab, welche Seiten das Ziel hat, dann sendet die Quelle den Rest.</translation>
    </message>
    <message>
        <source>The guest runs at the destination; the migration is over.</source>
        <translation>Der Gast läuft am Ziel; die Migration ist beendet.</translation>
    </message>
    <message>
        <source>It completed, but something deserves a look: a setting let a failure through, a fault never fired, or the downtime passed its limit. The warnings say which.</source>
        <translation>Abgeschlossen, aber etwas verdient einen Blick: Eine Einstellung ließ einen Fehler durch, ein eingespeister Fehler trat nie ein, oder die Downtime überschritt ihre Grenze. Die Warnungen sagen, was davon.</translation>
    </message>
    <message>
        <source>The migration did not complete. Before postcopy the source guest keeps running, as if nothing had happened; the cause names the first thing that went wrong.</source>
        <translation>Die Migration wurde nicht abgeschlossen. Vor Postcopy läuft der Quellgast weiter, als wäre nichts geschehen; die Ursache nennt das Erste, was schiefging.</translation>
    </message>
    <message>
        <source>The operator cancelled; the channels are closing.</source>
        <translation>Der Bediener hat abgebrochen; die Kanäle werden geschlossen.</translation>
    </message>
    <message>
        <source>The operator cancelled it; the source guest keeps running.</source>
        <translation>Der Bediener hat sie abgebrochen; der Quellgast läuft weiter.</translation>
    </message>
    <message>
        <source>The guest&apos;s vCPUs run.</source>
        <translation>Die vCPUs des Gasts laufen.</translation>
    </message>
    <message>
        <source>The guest is stopped, e.g. for the switchover.</source>
        <translation>Der Gast ist angehalten, z. B. für das Umschalten.</translation>
    </message>
    <message>
        <source>The source guest after a completed migration: stopped for good, because the guest now runs at the destination.</source>
        <translation>Der Quellgast nach abgeschlossener Migration: endgültig angehalten, da der Gast nun am Ziel läuft.</translation>
    </message>
    <message>
        <source>The destination&apos;s verdict on the return path: success, its guest runs.</source>
        <translation>Das Urteil des Ziels über den Rückkanal: Erfolg, sein Gast läuft.</translation>
    </message>
    <message>
        <source>The destination could not load the stream.</source>
        <translation>Das Ziel konnte den Strom nicht laden.</translation>
    </message>
    <message>
        <source>The destination&apos;s copy of RAM or device state differs from the source&apos;s (the integrity check).</source>
        <translation>Die Kopie von RAM oder Gerätezustand am Ziel weicht von der Quelle ab (die Integritätsprüfung).</translation>
    </message>
    <message>
        <source>A channel broke at the destination, or ended without close_notify.</source>
        <translation>Ein Kanal brach am Ziel ab oder endete ohne close_notify.</translation>
    </message>
    <message>
        <source>A device at the destination refused a state change or its saved state.</source>
        <translation>Ein Gerät am Ziel lehnte einen Zustandswechsel oder seinen gespeicherten Zustand ab.</translation>
    </message>
    <message>
        <source>A destination daemon turned the migration away before receiving it.</source>
        <translation>Ein Ziel-Daemon wies die Migration ab, bevor er sie empfing.</translation>
    </message>
    <message>
        <source>The destination&apos;s operator cancelled it.</source>
        <translation>Der Bediener am Ziel hat sie abgebrochen.</translation>
    </message>
    <message>
        <source>The main channel&apos;s way back: the destination tells the source its verdict (SHUT), answers pings, acknowledges the switchover and, in postcopy, asks for pages.</source>
        <translation>Der Rückweg des Hauptkanals: Das Ziel teilt der Quelle sein Urteil mit (SHUT), beantwortet Pings, bestätigt das Umschalten und fordert in Postcopy Seiten an.</translation>
    </message>
    <message>
        <source>Several connections carrying memory pages in parallel, beside the main channel that carries the stream&apos;s commands.</source>
        <translation>Mehrere Verbindungen, die Speicherseiten parallel übertragen, neben dem Hauptkanal, der die Befehle des Stroms überträgt.</translation>
    </message>
    <message>
        <source>Reading which pages the guest wrote since the last round (QEMU&apos;s dirty-sync-count counts them).</source>
        <translation>Auslesen, welche Seiten der Gast seit der letzten Runde beschrieben hat (QEMUs dirty-sync-count zählt diese Abgleiche).</translation>
    </message>
    <message>
        <source>How long the guest is stopped at the switchover, from the source stopping it to the destination&apos;s verdict.</source>
        <translation>Wie lange der Gast beim Umschalten angehalten ist, vom Anhalten durch die Quelle bis zum Urteil des Ziels.</translation>
    </message>
    <message>
        <source>TLS&apos;s alert that ends a session in order. Without it, the receiver cannot tell an orderly end from a connection cut short.</source>
        <translation>Der TLS-Alert, der eine Sitzung ordnungsgemäß beendet. Ohne ihn kann der Empfänger ein geordnetes Ende nicht von einer abgerissenen Verbindung unterscheiden.</translation>
    </message>
    <message>
        <source>TLS 1.3 replacing its traffic keys after many records, so that no key protects too much data.</source>
        <translation>TLS 1.3 ersetzt seine Verkehrsschlüssel nach vielen Records, damit kein Schlüssel zu viele Daten schützt.</translation>
    </message>
    <message>
        <source>A QEMU capability: slow the guest&apos;s vCPUs step by step until it writes memory slower than the link sends it.</source>
        <translation>Eine QEMU-Capability: die vCPUs des Gasts schrittweise bremsen, bis er Speicher langsamer beschreibt, als die Leitung ihn sendet.</translation>
    </message>
    <message>
        <source>A QEMU capability: the source switches over only after the destination says it is ready (its devices have loaded their precopy data).</source>
        <translation>Eine QEMU-Capability: Die Quelle schaltet erst um, wenn das Ziel meldet, dass es bereit ist (seine Geräte haben ihre Precopy-Daten geladen).</translation>
    </message>
    <message>
        <source>The device works normally.</source>
        <translation>Das Gerät arbeitet normal.</translation>
    </message>
    <message>
        <source>The device is stopped: it neither changes its state nor talks to others.</source>
        <translation>Das Gerät ist angehalten: Es ändert weder seinen Zustand, noch kommuniziert es mit anderen.</translation>
    </message>
    <message>
        <source>Stopped, with its final state being read out for migration.</source>
        <translation>Angehalten; sein Endzustand wird für die Migration ausgelesen.</translation>
    </message>
    <message>
        <source>At the destination: the device&apos;s saved state is being written into it. The driver checks that state when the device leaves RESUMING.</source>
        <translation>Am Ziel: Der gespeicherte Zustand wird in das Gerät geschrieben. Der Treiber prüft diesen Zustand, wenn das Gerät RESUMING verlässt.</translation>
    </message>
    <message>
        <source>Running, while part of its state is already read out ahead of the switchover (like RAM&apos;s precopy).</source>
        <translation>Läuft, während ein Teil seines Zustands schon vor dem Umschalten ausgelesen wird (wie Precopy beim RAM).</translation>
    </message>
    <message>
        <source>Running, but not starting new transfers to other devices (peer to peer), so that several devices can stop consistently.</source>
        <translation>Läuft, startet aber keine neuen Transfers zu anderen Geräten (Peer-to-Peer), damit mehrere Geräte konsistent anhalten können.</translation>
    </message>
    <message>
        <source>PRE_COPY without new peer-to-peer transfers.</source>
        <translation>PRE_COPY ohne neue Peer-to-Peer-Transfers.</translation>
    </message>
    <message>
        <source>The device failed a state change; only a reset brings it back.</source>
        <translation>Ein Zustandswechsel des Geräts ist fehlgeschlagen; nur ein Reset stellt es wieder her.</translation>
    </message>
    <message>
        <source>%1/s</source>
        <translation>%1/s</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <source>completed with warnings</source>
        <translation>completed with warnings</translation>
    </message>
    <message>
        <source>Warnings: %1</source>
        <translation>Warnungen: %1</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::ChannelTableModel</name>
    <message>
        <source>not visible from outside</source>
        <translation>von außen nicht sichtbar</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>no limit</source>
        <translation>keine Grenze</translation>
    </message>
    <message>
        <source>not visible</source>
        <translation>nicht sichtbar</translation>
    </message>
    <message>
        <source>both ways</source>
        <translation>beide Richtungen</translation>
    </message>
    <message>
        <source>one way</source>
        <translation>eine Richtung</translation>
    </message>
    <message>
        <source>Label inferred from the order QEMU opened its connections: QEMU does not say which socket is which</source>
        <translation>Bezeichnung aus der Reihenfolge abgeleitet, in der QEMU seine Verbindungen öffnete: QEMU sagt nicht, welcher Socket welcher ist</translation>
    </message>
    <message>
        <source>Bytes the destination acknowledged on this connection, as the source host&apos;s kernel counts them (tcp_info bytes_acked, TLS framing included)</source>
        <translation>Vom Ziel auf dieser Verbindung bestätigte Bytes, wie der Kernel des Quellhosts sie zählt (tcp_info bytes_acked, einschließlich TLS-Framing)</translation>
    </message>
    <message>
        <source>Bytes the destination host&apos;s kernel received on this connection (tcp_info bytes_received); 0 when the destination QEMU is not watched</source>
        <translation>Vom Kernel des Zielhosts auf dieser Verbindung empfangene Bytes (tcp_info bytes_received); 0, wenn das Ziel-QEMU nicht beobachtet wird</translation>
    </message>
    <message>
        <source>Seen from outside QEMU: TLS records, key updates and how a session ended are not visible</source>
        <translation>Von außerhalb von QEMU gesehen: TLS-Records, Schlüsselwechsel und das Ende einer Sitzung sind nicht sichtbar</translation>
    </message>
    <message>
        <source>Bytes the peer acknowledged on this channel&apos;s socket, as the kernel counts them (tcp_info bytes_acked): TLS records and handshake included, so a little above Sent with TLS</source>
        <translation>Von der Gegenstelle auf dem Socket dieses Kanals bestätigte Bytes, wie der Kernel sie zählt (tcp_info bytes_acked): einschließlich TLS-Records und Handshake, mit TLS also etwas über „Gesendet“</translation>
    </message>
    <message>
        <source>The kernel&apos;s smoothed round-trip time for the socket (tcp_info rtt)</source>
        <translation>Die geglättete Round-Trip-Zeit des Kernels für den Socket (tcp_info rtt)</translation>
    </message>
    <message>
        <source>Segments the kernel retransmitted on the socket (tcp_info total_retrans)</source>
        <translation>Vom Kernel auf dem Socket erneut gesendete Segmente (tcp_info total_retrans)</translation>
    </message>
    <message>
        <source>Bytes the source sent on the channel (before TLS)</source>
        <translation>Von der Quelle auf dem Kanal gesendete Bytes (vor TLS)</translation>
    </message>
    <message>
        <source>Bytes the destination received on the channel, as it counted them (a destination on another host reports them); equal to Sent once the channel has delivered everything</source>
        <translation>Vom Ziel auf dem Kanal empfangene Bytes, nach seiner eigenen Zählung (ein Ziel auf einem anderen Host meldet sie); gleich „Gesendet“, sobald der Kanal alles zugestellt hat</translation>
    </message>
    <message>
        <source>TLS records this end sent on the channel</source>
        <translation>TLS-Records, die diese Seite auf dem Kanal gesendet hat</translation>
    </message>
    <message>
        <source>TLS records this end received on the channel</source>
        <translation>TLS-Records, die diese Seite auf dem Kanal empfangen hat</translation>
    </message>
    <message>
        <source>TLS 1.3 KeyUpdates sent / received</source>
        <translation>TLS-1.3-KeyUpdates gesendet / empfangen</translation>
    </message>
    <message>
        <source>Records sent under the current key, as a share of the cipher&apos;s limit (2^24 for AES-GCM; GnuTLS re-keys there)</source>
        <translation>Unter dem aktuellen Schlüssel gesendete Records, als Anteil an der Grenze des Ciphers (2^24 bei AES-GCM; GnuTLS wechselt dort den Schlüssel)</translation>
    </message>
    <message>
        <source>How the TLS session ended: clean (close_notify), premature (closed without it), error</source>
        <translation>Wie die TLS-Sitzung endete: clean (close_notify), premature (ohne close_notify geschlossen), error</translation>
    </message>
    <message>
        <source>How a session read and written by two threads at once is kept safe</source>
        <translation>Wie eine Sitzung geschützt wird, die zwei Threads zugleich lesen und schreiben</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Gesendet</translation>
    </message>
    <message>
        <source>Received</source>
        <translation>Empfangen</translation>
    </message>
    <message>
        <source>Rate</source>
        <translation>Rate</translation>
    </message>
    <message>
        <source>Acked (kernel)</source>
        <translation>Bestätigt (Kernel)</translation>
    </message>
    <message>
        <source>RTT</source>
        <translation>RTT</translation>
    </message>
    <message>
        <source>Retrans.</source>
        <translation>Wiederh.</translation>
    </message>
    <message>
        <source>TLS</source>
        <translation>TLS</translation>
    </message>
    <message>
        <source>Cipher</source>
        <translation>Cipher</translation>
    </message>
    <message>
        <source>Rec. out</source>
        <translation>Rec. aus</translation>
    </message>
    <message>
        <source>Rec. in</source>
        <translation>Rec. ein</translation>
    </message>
    <message>
        <source>KeyUpd out/in</source>
        <translation>KeyUpd aus/ein</translation>
    </message>
    <message>
        <source>Key use</source>
        <translation>Schlüsselnutzung</translation>
    </message>
    <message>
        <source>End</source>
        <translation>Ende</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Richtung</translation>
    </message>
    <message>
        <source>Protection</source>
        <translation>Schutz</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::DevicePanel</name>
    <message>
        <source>No VFIO devices in this run (add them under Devices in the form).</source>
        <translation>Keine VFIO-Geräte in diesem Lauf (im Formular unter „Geräte“ hinzufügen).</translation>
    </message>
    <message>
        <source>%1 (%2, %3 MiB of state)</source>
        <translation>%1 (%2, %3 MiB Zustand)</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::DeviceStateDiagram</name>
    <message>
        <source>failed at dst</source>
        <translation>Fehler: Ziel</translation>
    </message>
    <message>
        <source>failed at src</source>
        <translation>Fehler: Quelle</translation>
    </message>
    <message>
        <source>src </source>
        <translation>Quelle </translation>
    </message>
    <message>
        <source>dst</source>
        <translation>Ziel</translation>
    </message>
    <message>
        <source>dashed: a state this device does not support · orange: the last arc · red: the arc that failed</source>
        <translation>gestrichelt: vom Gerät nicht unterstützter Zustand · orange: letzter Übergang · rot: fehlgeschlagener Übergang</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::DeviceTransitionModel</name>
    <message>
        <source>Time (s)</source>
        <translation>Zeit (s)</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>Seite</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Gerät</translation>
    </message>
    <message>
        <source>From</source>
        <translation>Von</translation>
    </message>
    <message>
        <source>To</source>
        <translation>Nach</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::EventLogModel</name>
    <message>
        <source>Time (s)</source>
        <translation>Zeit (s)</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>Seite</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>Stufe</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Meldung</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::HistoryBrowser</name>
    <message>
        <source>any</source>
        <translation>beliebig</translation>
    </message>
    <message>
        <source>Search causes, warnings, events, configuration, UUIDs…</source>
        <translation>Ursachen, Warnungen, Ereignisse, Konfiguration, UUIDs durchsuchen…</translation>
    </message>
    <message>
        <source>All results</source>
        <translation>Alle Ergebnisse</translation>
    </message>
    <message>
        <source>Failed, interrupted or with warnings</source>
        <translation>Fehlgeschlagen, unterbrochen oder mit Warnungen</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>failed</translation>
    </message>
    <message>
        <source>interrupted</source>
        <translation>interrupted</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>cancelled</translation>
    </message>
    <message>
        <source>completed with warnings</source>
        <translation>completed with warnings</translation>
    </message>
    <message>
        <source>completed (no warnings)</source>
        <translation>completed (ohne Warnungen)</translation>
    </message>
    <message>
        <source>active</source>
        <translation>active</translation>
    </message>
    <message>
        <source>Any role</source>
        <translation>Jede Rolle</translation>
    </message>
    <message>
        <source>From </source>
        <translation>Von </translation>
    </message>
    <message>
        <source>To </source>
        <translation>Bis </translation>
    </message>
    <message>
        <source>TLS: any</source>
        <translation>TLS: beliebig</translation>
    </message>
    <message>
        <source>TLS: on</source>
        <translation>TLS: an</translation>
    </message>
    <message>
        <source>TLS: off</source>
        <translation>TLS: aus</translation>
    </message>
    <message>
        <source>Faults: any</source>
        <translation>Fehler: beliebig</translation>
    </message>
    <message>
        <source>with faults</source>
        <translation>mit Fehlern</translation>
    </message>
    <message>
        <source>without faults</source>
        <translation>ohne Fehler</translation>
    </message>
    <message>
        <source>Devices: any</source>
        <translation>Geräte: beliebig</translation>
    </message>
    <message>
        <source>with devices</source>
        <translation>mit Geräten</translation>
    </message>
    <message>
        <source>without devices</source>
        <translation>ohne Geräte</translation>
    </message>
    <message>
        <source>Postcopy: any</source>
        <translation>Postcopy: beliebig</translation>
    </message>
    <message>
        <source>postcopy allowed</source>
        <translation>Postcopy erlaubt</translation>
    </message>
    <message>
        <source>precopy only</source>
        <translation>nur Precopy</translation>
    </message>
    <message>
        <source>Show all</source>
        <translation>Alle zeigen</translation>
    </message>
    <message>
        <source>not created yet</source>
        <translation>noch nicht angelegt</translation>
    </message>
    <message>
        <source>%1 of %2 runs shown · history file %3</source>
        <translation>%1 von %2 Läufen angezeigt · Verlaufsdatei %3</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <source>Copy diagnosis</source>
        <translation>Diagnose kopieren</translation>
    </message>
    <message>
        <source>Diagnosis copied</source>
        <translation>Diagnose kopiert</translation>
    </message>
    <message>
        <source>Copy summary for a ticket</source>
        <translation>Zusammenfassung für ein Ticket kopieren</translation>
    </message>
    <message>
        <source>Migrascope run %1 (%2), started %3: %4</source>
        <translation>Migrascope-Lauf %1 (%2), gestartet %3: %4</translation>
    </message>
    <message>
        <source>
Diagnosis: %1</source>
        <translation>
Diagnose: %1</translation>
    </message>
    <message>
        <source>
Recorded cause: %1</source>
        <translation>
Aufgezeichnete Ursache: %1</translation>
    </message>
    <message>
        <source>Summary of run %1 copied</source>
        <translation>Zusammenfassung von Lauf %1 kopiert</translation>
    </message>
    <message>
        <source>Run again with these settings</source>
        <translation>Mit diesen Einstellungen erneut ausführen</translation>
    </message>
    <message>
        <source>Compare the two selected runs</source>
        <translation>Die zwei ausgewählten Läufe vergleichen</translation>
    </message>
    <message>
        <source>Export selected runs…</source>
        <translation>Ausgewählte Läufe exportieren…</translation>
    </message>
    <message>
        <source>Save report…</source>
        <translation>Bericht speichern…</translation>
    </message>
    <message>
        <source>Delete selected runs…</source>
        <translation>Ausgewählte Läufe löschen…</translation>
    </message>
    <message>
        <source>Show all runs</source>
        <translation>Alle Läufe zeigen</translation>
    </message>
    <message>
        <source>Export failed: %1</source>
        <translation>Export fehlgeschlagen: %1</translation>
    </message>
    <message numerus="yes">
        <source>Exported %n run(s) to %1</source>
        <translation>
            <numerusform>%n Lauf nach %1 exportiert</numerusform>
            <numerusform>%n Läufe nach %1 exportiert</numerusform>
        </translation>
    </message>
    <message>
        <source>Report of run %1 saved to %2</source>
        <translation>Bericht von Lauf %1 unter %2 gespeichert</translation>
    </message>
    <message>
        <source>Report not saved: %1</source>
        <translation>Bericht nicht gespeichert: %1</translation>
    </message>
    <message>
        <source>Import failed: %1</source>
        <translation>Import fehlgeschlagen: %1</translation>
    </message>
    <message numerus="yes">
        <source>Imported %n run(s) from %1</source>
        <translation>
            <numerusform>%n Lauf aus %1 importiert</numerusform>
            <numerusform>%n Läufe aus %1 importiert</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>; %n were already here</source>
        <translation>
            <numerusform>; %n war bereits vorhanden</numerusform>
            <numerusform>; %n waren bereits vorhanden</numerusform>
        </translation>
    </message>
    <message>
        <source>Delete failed: %1</source>
        <translation>Löschen fehlgeschlagen: %1</translation>
    </message>
    <message numerus="yes">
        <source>Deleted %n run(s)</source>
        <translation>
            <numerusform>%n Lauf gelöscht</numerusform>
            <numerusform>%n Läufe gelöscht</numerusform>
        </translation>
    </message>
    <message>
        <source>Deleted %1 of %2 runs; a run still active is kept</source>
        <translation>%1 von %2 Läufen gelöscht; ein noch aktiver Lauf bleibt erhalten</translation>
    </message>
    <message>
        <source>Select the runs to export first</source>
        <translation>Zuerst die zu exportierenden Läufe auswählen</translation>
    </message>
    <message numerus="yes">
        <source>Export %n run(s)</source>
        <translation>
            <numerusform>%n Lauf exportieren</numerusform>
            <numerusform>%n Läufe exportieren</numerusform>
        </translation>
    </message>
    <message>
        <source>Migrascope history (*.sqlite)</source>
        <translation>Migrascope-Verlauf (*.sqlite)</translation>
    </message>
    <message>
        <source>Select a run first</source>
        <translation>Zuerst einen Lauf auswählen</translation>
    </message>
    <message>
        <source>Save the report of run %1</source>
        <translation>Bericht von Lauf %1 speichern</translation>
    </message>
    <message>
        <source>Web page (*.html);;PDF (*.pdf)</source>
        <translation>Webseite (*.html);;PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Import runs</source>
        <translation>Läufe importieren</translation>
    </message>
    <message>
        <source>Migrascope history (*.sqlite);;All files (*)</source>
        <translation>Migrascope-Verlauf (*.sqlite);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Delete runs</source>
        <translation>Läufe löschen</translation>
    </message>
    <message numerus="yes">
        <source>Delete %n run(s) and everything recorded of them from the history? This cannot be undone; export them first to keep a copy.</source>
        <translation>
            <numerusform>%n Lauf und alles dazu Aufgezeichnete aus dem Verlauf löschen? Das lässt sich nicht rückgängig machen; für eine Kopie vorher exportieren.</numerusform>
            <numerusform>%n Läufe und alles dazu Aufgezeichnete aus dem Verlauf löschen? Das lässt sich nicht rückgängig machen; für eine Kopie vorher exportieren.</numerusform>
        </translation>
    </message>
    <message>
        <source>Select two runs to compare (Ctrl+click the second)</source>
        <translation>Zwei Läufe zum Vergleich auswählen (den zweiten mit Strg+Klick)</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::HistoryModel</name>
    <message>
        <source>completed with warnings</source>
        <translation>completed with warnings</translation>
    </message>
    <message>
        <source>%1, imported from %2</source>
        <translation>%1, importiert aus %2</translation>
    </message>
    <message>
        <source>main only</source>
        <translation>nur Hauptkanal</translation>
    </message>
    <message>
        <source>main + %1 multifd</source>
        <translation>Hauptkanal + %1 multifd</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>no</source>
        <translation>nein</translation>
    </message>
    <message>
        <source>allowed, not used</source>
        <translation>erlaubt, nicht genutzt</translation>
    </message>
    <message>
        <source>%1 requests, p99 %2 ms, %3 recoveries</source>
        <translation>%1 Anforderungen, p99 %2 ms, %3 Wiederherstellungen</translation>
    </message>
    <message>
        <source>%1

Recorded cause: %2</source>
        <translation>%1

Aufgezeichnete Ursache: %2</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Lauf</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Gestartet</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Diagnosis</source>
        <translation>Diagnose</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>RAM</source>
        <translation>RAM</translation>
    </message>
    <message>
        <source>Channels</source>
        <translation>Kanäle</translation>
    </message>
    <message>
        <source>TLS</source>
        <translation>TLS</translation>
    </message>
    <message>
        <source>Transferred</source>
        <translation>Übertragen</translation>
    </message>
    <message>
        <source>Total time</source>
        <translation>Gesamtzeit</translation>
    </message>
    <message>
        <source>Downtime</source>
        <translation>Downtime</translation>
    </message>
    <message>
        <source>Integrity</source>
        <translation>Integrität</translation>
    </message>
    <message>
        <source>Faults injected</source>
        <translation>Eingespeiste Fehler</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <source>Postcopy</source>
        <translation>Postcopy</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::LaunchForm</name>
    <message>
        <source>Guest</source>
        <translation>Gast</translation>
    </message>
    <message>
        <source> MiB</source>
        <translation> MiB</translation>
    </message>
    <message>
        <source>Guest RAM to migrate</source>
        <translation>Zu migrierender Gast-RAM</translation>
    </message>
    <message>
        <source> MiB/s</source>
        <translation> MiB/s</translation>
    </message>
    <message>
        <source>idle guest</source>
        <translation>untätiger Gast</translation>
    </message>
    <message>
        <source>How fast the guest workload dirties memory; 0 = idle guest</source>
        <translation>Wie schnell die Last im Gast Speicher beschreibt; 0 = untätiger Gast</translation>
    </message>
    <message>
        <source>RAM size:</source>
        <translation>RAM-Größe:</translation>
    </message>
    <message>
        <source>Dirty rate:</source>
        <translation>Schreibrate:</translation>
    </message>
    <message>
        <source>Migration parameters</source>
        <translation>Migrationsparameter</translation>
    </message>
    <message>
        <source>off (main channel only)</source>
        <translation>aus (nur Hauptkanal)</translation>
    </message>
    <message>
        <source>multifd-channels: parallel channels for RAM pages</source>
        <translation>multifd-channels: parallele Kanäle für RAM-Seiten</translation>
    </message>
    <message>
        <source> ms</source>
        <translation> ms</translation>
    </message>
    <message>
        <source>downtime-limit: longest pause of the guest at switchover</source>
        <translation>downtime-limit: längste Pause des Gasts beim Umschalten</translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation>unbegrenzt</translation>
    </message>
    <message>
        <source>max-bandwidth: cap on the migration stream; 0 = unlimited</source>
        <translation>max-bandwidth: Obergrenze des Migrationsstroms; 0 = unbegrenzt</translation>
    </message>
    <message>
        <source>this machine (in-process)</source>
        <translation>dieser Rechner (im Prozess)</translation>
    </message>
    <message>
        <source>Empty: migrate to a destination inside this process. HOST:PORT ([ADDRESS]:PORT for IPv6): migrate to a destination daemon started there with migrascope --incoming.</source>
        <translation>Leer: zu einem Ziel in diesem Prozess migrieren. HOST:PORT ([ADRESSE]:PORT bei IPv6): zu einem Ziel-Daemon migrieren, der dort mit migrascope --incoming gestartet wurde.</translation>
    </message>
    <message>
        <source>Destination:</source>
        <translation>Ziel:</translation>
    </message>
    <message>
        <source>Multifd channels:</source>
        <translation>Multifd-Kanäle:</translation>
    </message>
    <message>
        <source>Downtime limit:</source>
        <translation>Downtime-Grenze:</translation>
    </message>
    <message>
        <source>Max bandwidth:</source>
        <translation>Max. Bandbreite:</translation>
    </message>
    <message>
        <source>Apply to the running migration</source>
        <translation>Auf die laufende Migration anwenden</translation>
    </message>
    <message>
        <source>migrate-set-parameters: the downtime limit and max bandwidth above take effect at once in the migration in flight, and the change is logged</source>
        <translation>migrate-set-parameters: Downtime-Grenze und max. Bandbreite oben wirken sofort auf die laufende Migration; die Änderung wird protokolliert</translation>
    </message>
    <message>
        <source>TLS</source>
        <translation>TLS</translation>
    </message>
    <message>
        <source>Encrypt every channel with TLS</source>
        <translation>Jeden Kanal mit TLS verschlüsseln</translation>
    </message>
    <message>
        <source>%1

Directory in tls-creds-x509 layout: ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem</source>
        <translation>%1

Verzeichnis im Layout von tls-creds-x509: ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>tls-priority: a GnuTLS priority string</source>
        <translation>tls-priority: eine GnuTLS-Prioritätszeichenkette</translation>
    </message>
    <message>
        <source> records</source>
        <translation> Records</translation>
    </message>
    <message>
        <source>only at the limit</source>
        <translation>nur an der Grenze</translation>
    </message>
    <message>
        <source>tls-rekey-interval: force a TLS 1.3 KeyUpdate every N records (at most one every %1 ms); for demonstrations</source>
        <translation>tls-rekey-interval: alle N Records ein TLS-1.3-KeyUpdate erzwingen (höchstens eines alle %1 ms); für Vorführungen</translation>
    </message>
    <message>
        <source>Fail a channel that ends without close_notify</source>
        <translation>Einen Kanal ohne close_notify als Fehler werten</translation>
    </message>
    <message>
        <source>multifd-clean-tls-termination: off tolerates sources older than QEMU 9.1, which never sent close_notify</source>
        <translation>multifd-clean-tls-termination: off duldet Quellen älter als QEMU 9.1, die nie close_notify sendeten</translation>
    </message>
    <message>
        <source>Act as a legacy source (no close_notify)</source>
        <translation>Wie eine alte Quelle handeln (kein close_notify)</translation>
    </message>
    <message>
        <source>Fault tls-no-bye: the multifd channels close without ending their TLS sessions, as sources before QEMU 9.1 did</source>
        <translation>Fehler tls-no-bye: Die multifd-Kanäle schließen, ohne ihre TLS-Sitzungen zu beenden, wie Quellen vor QEMU 9.1</translation>
    </message>
    <message>
        <source>Credentials:</source>
        <translation>Zertifikate:</translation>
    </message>
    <message>
        <source>Priority:</source>
        <translation>Priorität:</translation>
    </message>
    <message>
        <source>Re-key every:</source>
        <translation>Neuer Schlüssel alle:</translation>
    </message>
    <message>
        <source>Default certificates could not be created: %1</source>
        <translation>Standardzertifikate konnten nicht erzeugt werden: %1</translation>
    </message>
    <message>
        <source>Devices (emulated VFIO)</source>
        <translation>Geräte (emuliertes VFIO)</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>NIC-like devices: PRE_COPY and P2P, %1 MiB of state each</source>
        <translation>NIC-artige Geräte: PRE_COPY und P2P, je %1 MiB Zustand</translation>
    </message>
    <message>
        <source>Accelerators: STOP_COPY only, with a task in flight</source>
        <translation>Beschleuniger: nur STOP_COPY, mit laufender Aufgabe</translation>
    </message>
    <message>
        <source>Device state of each accelerator, sent in STOP_COPY</source>
        <translation>Gerätezustand jedes Beschleunigers, in STOP_COPY gesendet</translation>
    </message>
    <message>
        <source>Legacy resume (no explicit RESUMING -&gt; STOP)</source>
        <translation>Altes Fortsetzen (ohne ausdrückliches RESUMING -&gt; STOP)</translation>
    </message>
    <message>
        <source>QEMU&apos;s old VFIO resume: the destination goes straight to RUNNING and ignores a failure there, so the guest starts with a device that failed to load</source>
        <translation>QEMUs altes VFIO-Fortsetzen: Das Ziel geht direkt nach RUNNING und ignoriert dort einen Fehler, sodass der Gast mit einem Gerät startet, das nicht geladen werden konnte</translation>
    </message>
    <message>
        <source>NICs:</source>
        <translation>NICs:</translation>
    </message>
    <message>
        <source>Accelerators:</source>
        <translation>Beschleuniger:</translation>
    </message>
    <message>
        <source>Accelerator state:</source>
        <translation>Beschleunigerzustand:</translation>
    </message>
    <message>
        <source>Capabilities</source>
        <translation>Capabilities</translation>
    </message>
    <message>
        <source>postcopy-ram</source>
        <translation>postcopy-ram</translation>
    </message>
    <message>
        <source>Allow switching to postcopy: the destination guest starts before every page is there and asks for the ones it lacks</source>
        <translation>Wechsel zu Postcopy erlauben: Der Zielgast startet, bevor alle Seiten da sind, und fordert die fehlenden an</translation>
    </message>
    <message>
        <source>switchover-ack</source>
        <translation>switchover-ack</translation>
    </message>
    <message>
        <source>The source switches over only after the destination has sent SWITCHOVER_ACK</source>
        <translation>Die Quelle schaltet erst um, nachdem das Ziel SWITCHOVER_ACK gesendet hat</translation>
    </message>
    <message>
        <source>auto-converge</source>
        <translation>auto-converge</translation>
    </message>
    <message>
        <source>Throttle the guest&apos;s vCPUs step by step (cpu-throttle-initial 20 %, then +10 %) while it dirties memory faster than the link sends it</source>
        <translation>Die vCPUs des Gasts schrittweise drosseln (cpu-throttle-initial 20 %, dann +10 %), solange er Speicher schneller beschreibt, als die Leitung ihn sendet</translation>
    </message>
    <message>
        <source>by hand</source>
        <translation>von Hand</translation>
    </message>
    <message>
        <source>Switch to postcopy by itself after this long in precopy; &quot;by hand&quot; waits for the Switch to postcopy button</source>
        <translation>Nach so langer Zeit in Precopy selbst zu Postcopy wechseln; „von Hand“ wartet auf die Schaltfläche „Zu Postcopy wechseln“</translation>
    </message>
    <message>
        <source>Recover a paused postcopy by itself</source>
        <translation>Ein pausiertes Postcopy selbst wiederherstellen</translation>
    </message>
    <message>
        <source>After a network failure: migrate-recover, then migrate resume, once the delay below has passed</source>
        <translation>Nach einem Netzausfall: migrate-recover, dann migrate resume, sobald die Wartezeit unten verstrichen ist</translation>
    </message>
    <message>
        <source>Postcopy after:</source>
        <translation>Postcopy nach:</translation>
    </message>
    <message>
        <source>Recover after:</source>
        <translation>Wiederherstellen nach:</translation>
    </message>
    <message>
        <source>Faults (training)</source>
        <translation>Fehler (Schulung)</translation>
    </message>
    <message>
        <source>e.g. vfio-fail=accel0:RESUMING&gt;STOP@dst</source>
        <translation>z. B. vfio-fail=accel0:RESUMING&gt;STOP@dst</translation>
    </message>
    <message>
        <source>Faults to inject, separated by spaces, as --inject spells them:</source>
        <translation>Einzuspeisende Fehler, durch Leerzeichen getrennt, wie --inject sie schreibt:</translation>
    </message>
    <message>
        <source>Inject:</source>
        <translation>Einspeisen:</translation>
    </message>
    <message>
        <source>Start migration</source>
        <translation>Migration starten</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Destination: %1</source>
        <translation>Ziel: %1</translation>
    </message>
    <message>
        <source>Inject: %1</source>
        <translation>Einspeisen: %1</translation>
    </message>
    <message>
        <source>Inject %1</source>
        <translation>%1 einspeisen</translation>
    </message>
    <message>
        <source>TLS credentials directory</source>
        <translation>Verzeichnis der TLS-Zertifikate</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::MainWindow</name>
    <message>
        <source>Migrascope</source>
        <translation>Migrascope</translation>
    </message>
    <message>
        <source>Launch &amp;form</source>
        <translation>Start&amp;formular</translation>
    </message>
    <message>
        <source>Show or hide the launch form (Ctrl+Shift+L)</source>
        <translation>Startformular zeigen oder verbergen (Strg+Umschalt+L)</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>Live</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Verlauf</translation>
    </message>
    <message>
        <source>◀ Hide form</source>
        <translation>◀ Formular ausblenden</translation>
    </message>
    <message>
        <source>▶ Show form</source>
        <translation>▶ Formular einblenden</translation>
    </message>
    <message>
        <source>History: %1</source>
        <translation>Verlauf: %1</translation>
    </message>
    <message>
        <source>migrate-set-parameters: applied to the running migration</source>
        <translation>migrate-set-parameters: auf die laufende Migration angewandt</translation>
    </message>
    <message>
        <source>migrate-set-parameters refused: %1</source>
        <translation>migrate-set-parameters abgelehnt: %1</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Switch to postcopy</source>
        <translation>Zu Postcopy wechseln</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausieren</translation>
    </message>
    <message>
        <source>Recover</source>
        <translation>Wiederherstellen</translation>
    </message>
    <message>
        <source>Cut network</source>
        <translation>Netz trennen</translation>
    </message>
    <message>
        <source>The form holds the scenario %1</source>
        <translation>Das Formular enthält das Szenario %1</translation>
    </message>
    <message>
        <source>Cannot watch: %1</source>
        <translation>Beobachten nicht möglich: %1</translation>
    </message>
    <message>
        <source>History cannot be read: %1</source>
        <translation>Verlauf nicht lesbar: %1</translation>
    </message>
    <message>
        <source>History is not recorded: %1</source>
        <translation>Verlauf wird nicht aufgezeichnet: %1</translation>
    </message>
    <message>
        <source>Keep runs for</source>
        <translation>Läufe aufbewahren</translation>
    </message>
    <message>
        <source>Delete finished runs started more than this many days ago (0 keeps every run). Runs older than a week keep one throughput sample a second.</source>
        <translation>Beendete Läufe löschen, die vor mehr als so vielen Tagen gestartet wurden (0 behält jeden Lauf). Läufe, die älter als eine Woche sind, behalten einen Durchsatz-Messwert pro Sekunde.</translation>
    </message>
    <message>
        <source>Keeping runs for %1 days: deleted %2 runs, thinned %3 samples</source>
        <translation>Läufe werden %1 Tage aufbewahrt: %2 Läufe gelöscht, %3 Messwerte ausgedünnt</translation>
    </message>
    <message>
        <source>History cannot be kept bounded: %1</source>
        <translation>Verlauf kann nicht begrenzt werden: %1</translation>
    </message>
    <message>
        <source>Bringing the history up to date and keeping it bounded…</source>
        <translation>Verlauf wird aktualisiert und begrenzt…</translation>
    </message>
    <message>
        <source>Events</source>
        <translation>Ereignisse</translation>
    </message>
    <message>
        <source>Return path</source>
        <translation>Rückkanal</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <source>&amp;Migration</source>
        <translation>&amp;Migration</translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation>&amp;Starten</translation>
    </message>
    <message>
        <source>&amp;Cancel (migrate_cancel)</source>
        <translation>&amp;Abbrechen (migrate_cancel)</translation>
    </message>
    <message>
        <source>Switch to &amp;postcopy (migrate-start-postcopy)</source>
        <translation>Zu &amp;Postcopy wechseln (migrate-start-postcopy)</translation>
    </message>
    <message>
        <source>P&amp;ause (migrate-pause)</source>
        <translation>Pa&amp;usieren (migrate-pause)</translation>
    </message>
    <message>
        <source>&amp;Recover (migrate-recover)</source>
        <translation>&amp;Wiederherstellen (migrate-recover)</translation>
    </message>
    <message>
        <source>Res&amp;ume (migrate resume=true)</source>
        <translation>&amp;Fortsetzen (migrate resume=true)</translation>
    </message>
    <message>
        <source>Stop at each p&amp;hase</source>
        <translation>An jeder P&amp;hase anhalten</translation>
    </message>
    <message>
        <source>Hold the migration at each phase boundary (setup, bulk copy, each dirty sync, switchover, device stop-copy, verification, postcopy start, postcopy recovery) until Continue</source>
        <translation>Die Migration an jeder Phasengrenze anhalten (setup, bulk copy, jeder dirty sync, switchover, device stop-copy, verification, postcopy start, postcopy recovery), bis „Weiter“</translation>
    </message>
    <message>
        <source>Stop at each phase</source>
        <translation>An jeder Phase anhalten</translation>
    </message>
    <message>
        <source>Stepping off</source>
        <translation>Schrittbetrieb aus</translation>
    </message>
    <message>
        <source>C&amp;ontinue from the held phase</source>
        <translation>An der angehaltenen Phase &amp;weitermachen</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <source>&amp;Watch a QEMU migration…</source>
        <translation>QEMU-Migration &amp;beobachten…</translation>
    </message>
    <message>
        <source>Follow a real QEMU migration over QMP, with each connection&apos;s throughput from the kernel</source>
        <translation>Eine echte QEMU-Migration über QMP verfolgen, mit dem Durchsatz jeder Verbindung laut Kernel</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Presentation mode</source>
        <translation>&amp;Präsentationsmodus</translation>
    </message>
    <message>
        <source>&amp;Scenarios</source>
        <translation>&amp;Szenarien</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>&amp;Verlauf</translation>
    </message>
    <message>
        <source>&amp;Import runs…</source>
        <translation>Läufe &amp;importieren…</translation>
    </message>
    <message>
        <source>&amp;Export selected runs…</source>
        <translation>Ausgewählte Läufe &amp;exportieren…</translation>
    </message>
    <message>
        <source>Save &amp;report of the selected run…</source>
        <translation>&amp;Bericht des ausgewählten Laufs speichern…</translation>
    </message>
    <message>
        <source>Run &amp;again with these settings</source>
        <translation>Mit diesen Einstellungen &amp;erneut ausführen</translation>
    </message>
    <message>
        <source>&amp;Compare the two selected runs</source>
        <translation>Die zwei ausgewählten Läufe &amp;vergleichen</translation>
    </message>
    <message>
        <source>&amp;Delete selected runs…</source>
        <translation>Ausgewählte Läufe &amp;löschen…</translation>
    </message>
    <message>
        <source>&amp;Keep runs for…</source>
        <translation>Läufe &amp;aufbewahren für…</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&amp;Glossary</source>
        <translation>&amp;Glossar</translation>
    </message>
    <message>
        <source>Migrascope glossary</source>
        <translation>Migrascope-Glossar</translation>
    </message>
    <message>
        <source>&amp;About Migrascope</source>
        <translation>&amp;Über Migrascope</translation>
    </message>
    <message>
        <source>About Migrascope</source>
        <translation>Über Migrascope</translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;Migrascope&lt;/b&gt; %1&lt;/p&gt;&lt;p&gt;Live migration over multifd TLS channels, shown as it happens; and real QEMU migrations, watched from outside.&lt;/p&gt;&lt;p&gt;Licence: GPL-3.0-or-later (QCustomPlot is GPL).&lt;/p&gt;</source>
        <translation>&lt;p&gt;&lt;b&gt;Migrascope&lt;/b&gt; %1&lt;/p&gt;&lt;p&gt;Live-Migration über multifd-TLS-Kanäle, dargestellt, während sie geschieht; dazu echte QEMU-Migrationen, von außen beobachtet.&lt;/p&gt;&lt;p&gt;Lizenz: GPL-3.0-or-later (QCustomPlot steht unter der GPL).&lt;/p&gt;</translation>
    </message>
    <message>
        <source>A migration is in flight; try again once it has ended</source>
        <translation>Eine Migration läuft; nach ihrem Ende erneut versuchen</translation>
    </message>
    <message>
        <source>Cannot read that run&apos;s configuration: %1</source>
        <translation>Konfiguration dieses Laufs nicht lesbar: %1</translation>
    </message>
    <message>
        <source>The form holds that run&apos;s settings; Start (Ctrl+Return) runs it</source>
        <translation>Das Formular enthält die Einstellungen dieses Laufs; Starten (Strg+Eingabe) führt ihn aus</translation>
    </message>
    <message>
        <source>Your own scenarios: %1</source>
        <translation>Eigene Szenarien: %1</translation>
    </message>
    <message>
        <source>&amp;Reload scenarios</source>
        <translation>Szenarien neu &amp;laden</translation>
    </message>
    <message>
        <source>Scenario files not used: %1</source>
        <translation>Nicht verwendete Szenariodateien: %1</translation>
    </message>
    <message>
        <source>Cannot watch: a migration is in flight</source>
        <translation>Beobachten nicht möglich: eine Migration läuft</translation>
    </message>
    <message>
        <source>Watch a QEMU migration</source>
        <translation>QEMU-Migration beobachten</translation>
    </message>
    <message>
        <source>QEMU&apos;s QMP socket, and optionally the destination&apos;s:
qmp:SRC.sock or qmp:SRC.sock,dst=DST.sock
(add ,events=on to let Migrascope turn on QEMU&apos;s events capability)
(a QMP socket serves one client: give QEMU a monitor of its own for Migrascope)</source>
        <translation>QMP-Socket von QEMU, optional auch der des Ziels:
qmp:SRC.sock oder qmp:SRC.sock,dst=DST.sock
(,events=on anhängen, damit Migrascope QEMUs Capability events einschaltet)
(ein QMP-Socket bedient nur einen Client: QEMU einen eigenen Monitor für Migrascope geben)</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Verbinde mit %1…</translation>
    </message>
    <message>
        <source>Cannot start: %1</source>
        <translation>Start nicht möglich: %1</translation>
    </message>
    <message>
        <source>%1: accepted</source>
        <translation>%1: angenommen</translation>
    </message>
    <message>
        <source>%1 refused: %2</source>
        <translation>%1 abgelehnt: %2</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Fortsetzen</translation>
    </message>
    <message>
        <source>Resume: requested, waiting for the destination&apos;s answer</source>
        <translation>Fortsetzen: angefordert, warte auf die Antwort des Ziels</translation>
    </message>
    <message>
        <source>Resume failed: %1</source>
        <translation>Fortsetzen fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>Resume: the destination accepted it (%1)</source>
        <translation>Fortsetzen: vom Ziel angenommen (%1)</translation>
    </message>
    <message>
        <source>Migration %1; run %2&apos;s end is NOT in the history (it shows as active): %3</source>
        <translation>Migration %1; das Ende von Lauf %2 steht NICHT im Verlauf (er erscheint als active): %3</translation>
    </message>
    <message>
        <source>Migration %1; recorded as run %2</source>
        <translation>Migration %1; als Lauf %2 aufgezeichnet</translation>
    </message>
    <message>
        <source>Migration %1; not recorded in the history</source>
        <translation>Migration %1; nicht im Verlauf aufgezeichnet</translation>
    </message>
    <message>
        <source>Migration %1</source>
        <translation>Migration %1</translation>
    </message>
    <message>
        <source>Cancelling the migration in flight…</source>
        <translation>Laufende Migration wird abgebrochen…</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Sprache</translation>
    </message>
    <message>
        <source>Language: %1, from the next start of Migrascope</source>
        <translation>Sprache: %1, ab dem nächsten Start von Migrascope</translation>
    </message>
    <message>
        <source>System language (%1)</source>
        <translation>Systemsprache (%1)</translation>
    </message>
    <message>
        <source>The launch form makes room for the scenario on this screen; Show form brings it back</source>
        <translation>Das Startformular macht auf diesem Bildschirm dem Szenario Platz; „Formular einblenden“ holt es zurück</translation>
    </message>
    <message>
        <source>Slow &amp;motion</source>
        <translation>&amp;Zeitlupe</translation>
    </message>
    <message>
        <source>Normal speed</source>
        <translation>Normale Geschwindigkeit</translation>
    </message>
    <message>
        <source>1/%1 speed</source>
        <translation>1/%1 Geschwindigkeit</translation>
    </message>
    <message>
        <source>Slow motion</source>
        <translation>Zeitlupe</translation>
    </message>
    <message>
        <source>The link, the guest&apos;s workload and the downtime limit slowed together: the same rounds, several times as long</source>
        <translation>Verbindung, Last des Gasts und Downtime-Grenze gemeinsam verlangsamt: dieselben Runden, um ein Vielfaches länger</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::PostcopyPanel</name>
    <message>
        <source>Switch to postcopy</source>
        <translation>Zu Postcopy wechseln</translation>
    </message>
    <message>
        <source>migrate-start-postcopy: the destination guest starts now; pages it lacks are requested from the source</source>
        <translation>migrate-start-postcopy: Der Zielgast startet jetzt; fehlende Seiten werden bei der Quelle angefordert</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausieren</translation>
    </message>
    <message>
        <source>migrate-pause: break the connection; both sides pause</source>
        <translation>migrate-pause: die Verbindung trennen; beide Seiten pausieren</translation>
    </message>
    <message>
        <source>Recover</source>
        <translation>Wiederherstellen</translation>
    </message>
    <message>
        <source>migrate-recover: the destination accepts the source&apos;s resume</source>
        <translation>migrate-recover: Das Ziel nimmt das Fortsetzen der Quelle an</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Fortsetzen</translation>
    </message>
    <message>
        <source>migrate resume=true: the source reconnects, asks for the received-pages bitmaps and resends what is missing</source>
        <translation>migrate resume=true: Die Quelle verbindet sich neu, fordert die Bitmaps der empfangenen Seiten an und sendet Fehlendes erneut</translation>
    </message>
    <message>
        <source>Cut network</source>
        <translation>Netz trennen</translation>
    </message>
    <message>
        <source>Trainer&apos;s fault: the network under the main channel fails</source>
        <translation>Schulungsfehler: Das Netz unter dem Hauptkanal fällt aus</translation>
    </message>
    <message>
        <source>Destination: —</source>
        <translation>Ziel: —</translation>
    </message>
    <message>
        <source>Page requests: —</source>
        <translation>Seitenanforderungen: —</translation>
    </message>
    <message>
        <source>Recoveries: —</source>
        <translation>Wiederherstellungen: —</translation>
    </message>
    <message>
        <source>Destination: %1</source>
        <translation>Ziel: %1</translation>
    </message>
    <message>
        <source>Page requests: none</source>
        <translation>Seitenanforderungen: keine</translation>
    </message>
    <message>
        <source>Page requests: %1 · latency median %2 ms · p99 %3 ms</source>
        <translation>Seitenanforderungen: %1 · Latenz Median %2 ms · p99 %3 ms</translation>
    </message>
    <message>
        <source>Recoveries: none</source>
        <translation>Wiederherstellungen: keine</translation>
    </message>
    <message>
        <source>Pauses %1 · recoveries %2 · last took %3</source>
        <translation>Pausen %1 · Wiederherstellungen %2 · letzte dauerte %3</translation>
    </message>
    <message>
        <source>—</source>
        <translation>—</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::ReturnPathModel</name>
    <message>
        <source>Time (s)</source>
        <translation>Zeit (s)</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>Verbindung</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Meldung</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::RunComparison</name>
    <message>
        <source>Compare runs %1 and %2</source>
        <translation>Läufe %1 und %2 vergleichen</translation>
    </message>
    <message>
        <source>Run %1</source>
        <translation>Lauf %1</translation>
    </message>
    <message>
        <source>Figure</source>
        <translation>Kennzahl</translation>
    </message>
    <message>
        <source>Difference (%1 − %2)</source>
        <translation>Differenz (%1 − %2)</translation>
    </message>
    <message>
        <source>Parameter</source>
        <translation>Parameter</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Diagnosis</source>
        <translation>Diagnose</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Gestartet</translation>
    </message>
    <message>
        <source>Total time</source>
        <translation>Gesamtzeit</translation>
    </message>
    <message>
        <source>Downtime</source>
        <translation>Downtime</translation>
    </message>
    <message>
        <source>Expected downtime</source>
        <translation>Erwartete Downtime</translation>
    </message>
    <message>
        <source>– (not completed)</source>
        <translation>– (nicht abgeschlossen)</translation>
    </message>
    <message>
        <source>Transferred</source>
        <translation>Übertragen</translation>
    </message>
    <message>
        <source>Average throughput</source>
        <translation>Mittlerer Durchsatz</translation>
    </message>
    <message>
        <source>Integrity</source>
        <translation>Integrität</translation>
    </message>
    <message>
        <source>(not set)</source>
        <translation>(nicht gesetzt)</translation>
    </message>
    <message>
        <source>Cannot compare: %1</source>
        <translation>Vergleich nicht möglich: %1</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::RunController</name>
    <message>
        <source>Watching QEMU %1, pid %2: connection labels %3; TLS sessions are not visible from outside</source>
        <translation>Beobachte QEMU %1, PID %2: Verbindungsbezeichnungen %3; TLS-Sitzungen sind von außen nicht sichtbar</translation>
    </message>
    <message>
        <source>still connecting to QEMU&apos;s QMP socket</source>
        <translation>verbinde noch mit dem QMP-Socket von QEMU</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::RunDetails</name>
    <message>
        <source>Select a run to read what happened.</source>
        <translation>Einen Lauf auswählen, um zu lesen, was geschah.</translation>
    </message>
    <message>
        <source>Events</source>
        <translation>Ereignisse</translation>
    </message>
    <message>
        <source>Throughput</source>
        <translation>Durchsatz</translation>
    </message>
    <message>
        <source>Channels</source>
        <translation>Kanäle</translation>
    </message>
    <message>
        <source>Return path</source>
        <translation>Rückkanal</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <source>Configuration</source>
        <translation>Konfiguration</translation>
    </message>
    <message>
        <source>Play</source>
        <translation>Abspielen</translation>
    </message>
    <message>
        <source>1×</source>
        <translation>1×</translation>
    </message>
    <message>
        <source>10×</source>
        <translation>10×</translation>
    </message>
    <message>
        <source>⅒×</source>
        <translation>⅒×</translation>
    </message>
    <message>
        <source>Replay: move to any moment of the run</source>
        <translation>Wiedergabe: zu jedem Zeitpunkt des Laufs springen</translation>
    </message>
    <message>
        <source>Jump to the first failure</source>
        <translation>Zum ersten Fehler springen</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausieren</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>Run %1 is not in the history.</source>
        <translation>Lauf %1 ist nicht im Verlauf.</translation>
    </message>
    <message>
        <source>Run %1 · %2 · started %3 · %4 · %5 sent in %6</source>
        <translation>Lauf %1 · %2 · gestartet %3 · %4 · %5 gesendet in %6</translation>
    </message>
    <message>
        <source> · imported from %1</source>
        <translation> · importiert aus %1</translation>
    </message>
    <message>
        <source> · downtime %1 (expected %2, limit %3)</source>
        <translation> · Downtime %1 (erwartet %2, Grenze %3)</translation>
    </message>
    <message>
        <source> · integrity %1</source>
        <translation> · Integrität %1</translation>
    </message>
    <message>
        <source>
Recorded cause: %1</source>
        <translation>
Aufgezeichnete Ursache: %1</translation>
    </message>
    <message>
        <source>end, %1</source>
        <translation>Ende, %1</translation>
    </message>
    <message>
        <source>Run %1 cannot be read: %2</source>
        <translation>Lauf %1 nicht lesbar: %2</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::RunStatusPanel</name>
    <message>
        <source>Status:</source>
        <translation>Status:</translation>
    </message>
    <message>
        <source>Dirty syncs:</source>
        <translation>Dirty syncs:</translation>
    </message>
    <message>
        <source>QEMU&apos;s dirty-sync-count: how many times the dirty bitmap was synchronised; the phase &quot;dirty sync N&quot; and the log use the same count</source>
        <translation>QEMUs dirty-sync-count: wie oft die Dirty-Bitmap abgeglichen wurde; die Phase „dirty sync N“ und das Protokoll verwenden dieselbe Zählung</translation>
    </message>
    <message>
        <source>Dirty pages rate:</source>
        <translation>Dirty-pages-Rate:</translation>
    </message>
    <message>
        <source>Remaining:</source>
        <translation>Verbleibend:</translation>
    </message>
    <message>
        <source>Integrity:</source>
        <translation>Integrität:</translation>
    </message>
    <message>
        <source>Transferred:</source>
        <translation>Übertragen:</translation>
    </message>
    <message>
        <source>Throughput:</source>
        <translation>Durchsatz:</translation>
    </message>
    <message>
        <source>QEMU&apos;s mbps (megabits per second: over the last window while migrating, the average after completion), in bytes per second</source>
        <translation>QEMUs mbps (Megabit pro Sekunde: während der Migration über das letzte Fenster, nach Abschluss der Mittelwert), in Bytes pro Sekunde</translation>
    </message>
    <message>
        <source>Downtime:</source>
        <translation>Downtime:</translation>
    </message>
    <message>
        <source>Source guest:</source>
        <translation>Quellgast:</translation>
    </message>
    <message>
        <source>no migration yet</source>
        <translation>noch keine Migration</translation>
    </message>
    <message>
        <source>held at %1: Continue (F8) goes on</source>
        <translation>angehalten bei %1: Weiter (F8) setzt fort</translation>
    </message>
    <message>
        <source>ended during: %1</source>
        <translation>endete während: %1</translation>
    </message>
    <message>
        <source>The migration did not complete: what was sent is discarded.</source>
        <translation>Die Migration wurde nicht abgeschlossen: das Gesendete wird verworfen.</translation>
    </message>
    <message>
        <source>–</source>
        <translation>–</translation>
    </message>
    <message>
        <source>Nothing remains to send: the migration ended.</source>
        <translation>Nichts mehr zu senden: die Migration ist beendet.</translation>
    </message>
    <message>
        <source>%1 pages/s</source>
        <translation>%1 Seiten/s</translation>
    </message>
    <message>
        <source>%1 (RAM %2)</source>
        <translation>%1 (RAM %2)</translation>
    </message>
    <message>
        <source>%1 sent; the guest has %2 of RAM. Pages the guest dirties again are sent again, so what is sent can pass it.</source>
        <translation>%1 gesendet; der Gast hat %2 RAM. Seiten, die der Gast erneut beschreibt, werden erneut gesendet; das Gesendete kann den RAM daher übersteigen.</translation>
    </message>
    <message>
        <source>%1 (RAM %2 + %3 video)</source>
        <translation>%1 (RAM %2 + %3 Video)</translation>
    </message>
    <message>
        <source>%1 sent; the guest has %2 of RAM as configured, and QEMU also migrates %3 of video RAM. Pages the guest dirties again are sent again, so what is sent can pass their sum.</source>
        <translation>%1 gesendet; der Gast hat laut Konfiguration %2 RAM, und QEMU migriert zusätzlich %3 Video-RAM. Seiten, die der Gast erneut beschreibt, werden erneut gesendet; das Gesendete kann die Summe daher übersteigen.</translation>
    </message>
    <message>
        <source>precopy %1 · downtime %2 · postcopy %3</source>
        <translation>Precopy %1 · Downtime %2 · Postcopy %3</translation>
    </message>
    <message>
        <source> QEMU&apos;s precopy-bytes, downtime-bytes and postcopy-bytes: what it sent before the guest stopped, while it was stopped, and after the destination&apos;s guest started.</source>
        <translation> QEMUs precopy-bytes, downtime-bytes und postcopy-bytes: was es vor dem Anhalten des Gasts, während des Anhaltens und nach dem Start des Zielgasts gesendet hat.</translation>
    </message>
    <message>
        <source>%1 (expected %2, limit %3)</source>
        <translation>%1 (erwartet %2, Grenze %3)</translation>
    </message>
    <message>
        <source>expected %1 (limit %2)</source>
        <translation>erwartet %1 (Grenze %2)</translation>
    </message>
    <message>
        <source>%1, CPU throttled %2 %</source>
        <translation>%1, CPU gedrosselt %2 %</translation>
    </message>
    <message>
        <source>%1 (slow motion 1/%2)</source>
        <translation>%1 (Zeitlupe 1/%2)</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::ScenarioPanel</name>
    <message>
        <source>Scenario</source>
        <translation>Szenario</translation>
    </message>
    <message>
        <source>Load into the form</source>
        <translation>In das Formular laden</translation>
    </message>
    <message>
        <source>Put the chosen variant&apos;s settings in the launch form, to adjust them before starting</source>
        <translation>Die Einstellungen der gewählten Variante ins Startformular übernehmen, um sie vor dem Start anzupassen</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Starten</translation>
    </message>
    <message>
        <source>Put the chosen variant&apos;s settings in the launch form and start</source>
        <translation>Die Einstellungen der gewählten Variante ins Startformular übernehmen und starten</translation>
    </message>
    <message>
        <source>Scenario: %1</source>
        <translation>Szenario: %1</translation>
    </message>
    <message>
        <source>Ends: %1</source>
        <translation>Endet: %1</translation>
    </message>
    <message>
        <source>Demonstrations (each in its own process)</source>
        <translation>Vorführungen (jede in eigenem Prozess)</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Anhalten</translation>
    </message>
    <message>
        <source>Runs %1 %2 in a process of its own; it never touches a migration</source>
        <translation>Führt %1 %2 in einem eigenen Prozess aus; keine Migration wird berührt</translation>
    </message>
    <message>
        <source>%1 is not installed here: it comes with the package, in /usr/libexec/migrascope.</source>
        <translation>%1 ist hier nicht installiert: Es gehört zum Paket, in /usr/libexec/migrascope.</translation>
    </message>
    <message>
        <source>It could not start: %1</source>
        <translation>Start nicht möglich: %1</translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation>Angehalten.</translation>
    </message>
    <message>
        <source>Stopped after %1 s without ending.</source>
        <translation>Nach %1 s ohne Ende angehalten.</translation>
    </message>
    <message>
        <source>It crashed: what it demonstrates broke the process it ran in.</source>
        <translation>Abgestürzt: Was es vorführt, hat seinen eigenen Prozess zerstört.</translation>
    </message>
    <message>
        <source>It ended without a failure (exit 0).</source>
        <translation>Ohne Fehler beendet (exit 0).</translation>
    </message>
    <message>
        <source>It ended with failures (exit %1): its output below says which.</source>
        <translation>Mit Fehlern beendet (exit %1): Die Ausgabe unten nennt sie.</translation>
    </message>
    <message>
        <source>Running %1…</source>
        <translation>%1 läuft…</translation>
    </message>
</context>
<context>
    <name>migrascope::ui::ThroughputPlot</name>
    <message>
        <source>Time since start (s)</source>
        <translation>Zeit seit Start (s)</translation>
    </message>
    <message>
        <source>Throughput (MiB/s)</source>
        <translation>Durchsatz (MiB/s)</translation>
    </message>
</context>
</TS>
