#!/usr/bin/env python3
"""A randomised fault campaign against the migrascope binary (packaging/dev.sh soak).

Not a test: it runs for a long time and its mix changes with the seed. Every run gets a random
configuration and one of: a fault from the catalogue, a signal, SIGKILL, a storage fault (a
held lock, a read-only or a full history: the last two need root) or a malformed command line.
Some runs go to a long-lived destination daemon, whose descriptors and threads must come back
to where they were after each one. For every run it checks what an operator relies on and
prints a table; any violation is listed with the command line that replays it, and the seed
replays the whole campaign.

    packaging/soak.py [--runs 300] [--seed N] [--binary build/app/migrascope]
"""

import argparse
import collections
import json
import os
import random
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

FINAL = {"completed", "failed", "cancelled"}
# The arcs each emulated device takes, by side; a tenth of the faults pick any arc (the
# command line must refuse those a device never takes).
ARCS = {
    "accel": {"src": ["RUNNING>STOP", "STOP>STOP_COPY", "STOP_COPY>STOP"],
              "dst": ["STOP>RESUMING", "RESUMING>STOP", "STOP>RUNNING"]},
    "nic": {"src": ["RUNNING>PRE_COPY", "PRE_COPY>PRE_COPY_P2P", "PRE_COPY_P2P>STOP_COPY",
                    "STOP_COPY>STOP"],
            "dst": ["STOP>RESUMING", "RESUMING>STOP", "STOP>RUNNING_P2P", "RUNNING_P2P>RUNNING"]},
}
ANY_ARC = sorted({arc for sides in ARCS.values() for arcs in sides.values() for arc in arcs})
MALFORMED = [
    ["--ram-size", "abc"], ["--ram-size", "0"], ["--ram-size", "-1"], ["--ram-size", "12Q"],
    ["--multifd-channels", "-1"], ["--multifd-channels", "999"], ["--multifd-channels", "x"],
    ["--downtime-limit", "-5"], ["--downtime-limit", "soon"], ["--inject", "bogus"],
    ["--inject", "cut-channel="], ["--inject", "cut-channel=multifd-9@1M"],
    ["--inject", "switchover-ack-after=-1"], ["--inject", "vfio-fail=nodev:RUNNING>STOP@src"],
    ["--tls-creds", "/nonexistent/pki"], ["--capability", "frobnicate=on"],
    ["--capability", "postcopy-ram=maybe"], ["--device", "gpu"], ["--frobnicate"],
    ["--dirty-rate", "99999999999G"], ["--max-bandwidth", "-3M"], ["--postcopy-after", "x"],
    ["--guest-content", "striped"], ["--destination", "nohost"], ["--tls-priority", "NOPE:+X"],
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.root = os.geteuid() == 0
        self.work = tempfile.mkdtemp(prefix="migrascope-soak-")
        self.env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.work, "config"),
                        XDG_DATA_HOME=os.path.join(self.work, "data"))
        self.history = os.path.join(self.work, "history.sqlite")
        self.table = collections.defaultdict(collections.Counter)
        self.slowest = collections.defaultdict(float)
        self.violations = []
        self.killed = []       # (history id, command) of SIGKILLed runs
        self.unrecorded = []   # (history id, json, command) whose end the history did not have
        self.daemon = None
        self.daemon_port = None
        self.daemon_baseline = None
        self.refusals = collections.Counter()  # the last line of each refusal's message

    # ---- the runs ----

    def config(self, needs_device=False, needs_postcopy=False, lasting=False):
        r = self.rng
        ram = r.choice([32, 64, 128, 256])
        channels = r.choice([0, 1, 2, 4])
        bandwidth = r.choice([64, 128]) if lasting else r.choice([0, 0, 64, 256])
        if lasting:
            ram = max(ram, 128)
        dirty = r.choice([0, 0, 8, 32, 64])
        if bandwidth and dirty > bandwidth // 4:
            dirty = bandwidth // 4
        argv = ["--ram-size", f"{ram}M", "--multifd-channels", str(channels),
                "--dirty-rate", f"{dirty}M", "--max-bandwidth", f"{bandwidth}M"]
        tls = r.random() < 0.6
        if not tls:
            argv.append("--no-tls")
        devices = []
        postcopy = needs_postcopy or (not needs_device and r.random() < 0.15)
        # VFIO devices do not migrate in postcopy: the command line refuses the pair.
        if not postcopy and (needs_device or r.random() < 0.25):
            devices.append(r.choice(["nic", "accel"]))
            # State that takes longer than 80 % of the 300 ms limit at the cap can never switch
            # over (the run says so and waits for the operator): not a fault of this campaign.
            sizes = [m for m in (1, 4, 16) if not bandwidth or m / bandwidth < 0.15]
            argv += ["--device", f"{devices[0]},state-size={r.choice(sizes)}M"]
        if postcopy:
            argv += ["--capability", "postcopy-ram=on", "--postcopy-after", r.choice(["1", "2"])]
        return {"argv": argv, "channels": channels, "tls": tls, "devices": devices,
                "postcopy": postcopy, "ram": ram}

    def fault(self):
        r = self.rng
        kind = r.choice(["cut-channel", "corrupt-page", "tls-no-bye", "switchover-ack-after",
                         "vfio-fail", "vfio-corrupt", "cut-main@postcopy"])
        cfg = self.config(needs_device=kind.startswith("vfio"),
                          needs_postcopy=kind == "cut-main@postcopy")
        names = ["main"] + [f"multifd-{i}" for i in range(cfg["channels"])]
        extra = []
        if kind == "cut-channel":
            spec = f"cut-channel={r.choice(names)}@{r.randint(1, cfg['ram'] * 1024)}K"
        elif kind == "corrupt-page":
            spec = f"corrupt-page={r.choice(names)}@{r.randint(1, cfg['ram'])}M"
        elif kind == "tls-no-bye":
            spec = "tls-no-bye"
        elif kind == "switchover-ack-after":
            spec = f"switchover-ack-after={r.randint(1, 4)}"
            extra = ["--capability", "switchover-ack=on"]
        elif kind == "vfio-fail":
            device = cfg["devices"][0]
            side = r.choice(["src", "dst"])
            arc = r.choice(ANY_ARC if r.random() < 0.1 else ARCS[device][side])
            spec = f"vfio-fail={device}0:{arc}@{side}"
        elif kind == "vfio-corrupt":
            spec = f"vfio-corrupt={cfg['devices'][0]}0"
        else:
            spec = f"cut-main@postcopy+{r.choice([0, 4, 16])}M"
        return cfg, kind, ["--inject", spec] + extra

    def start(self, argv, history=None):
        command = [self.args.binary, "--headless", "--json",
                   "--history", history or self.history] + argv
        started = time.monotonic()
        process = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        return process, command, started

    def finish(self, process, started, bound):
        try:
            out, err = process.communicate(timeout=bound)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            return None, out, err, time.monotonic() - started
        return process.returncode, out, err, time.monotonic() - started

    def violate(self, label, command, what):
        self.violations.append((label, what, shlex.join(command)))
        self.table[label]["violations"] += 1

    def check(self, label, cfg, command, code, out, err, took, history=None):
        self.slowest[label] = max(self.slowest[label], took)
        if code is None:
            self.violate(label, command, f"no end within {self.args.bound} s")
            return
        if code == 2:
            self.table[label]["refused"] += 1
            self.refusals[err.strip().splitlines()[0][:110] if err.strip() else ""] += 1
            if not err.strip():
                self.violate(label, command, "exit 2 without saying what was wrong")
            return
        try:
            result = json.loads(out)
        except ValueError:
            self.violate(label, command, f"exit {code} without a JSON result: {err[-300:]}")
            return
        status = result.get("status")
        if status not in FINAL:
            self.violate(label, command, f"ended in status {status!r}, not a final one")
            return
        warned = status == "completed" and result.get("warnings")
        self.table[label]["completed with warnings" if warned else status] += 1
        if (code == 0) != (status == "completed"):
            self.violate(label, command, f"exit {code} for status {status}")
        if status == "completed" and not str(result.get("integrity", "")).startswith("verified"):
            self.violate(label, command, f"completed with integrity {result.get('integrity')!r}")
        reached_postcopy = cfg.get("postcopy") and (
            result["postcopy"]["page-requests"] > 0 or "postcopy" in result.get("diagnosis", ""))
        if status != "completed" and not reached_postcopy and result.get("source-guest") != "running":
            self.violate(label, command,
                         f"{status} before postcopy, source guest {result.get('source-guest')!r}")
        self.compare_history(label, command, result, history or self.history)

    def compare_history(self, label, command, result, history):
        if result.get("history-id") is None:
            if "history-error" not in result:
                self.violate(label, command, "not recorded, and the JSON does not say so")
            return
        row = self.row(history, result["history-id"])
        if "history-error" in result:
            self.unrecorded.append((label, result, command, history))
            return
        if row is None or row[0] != result["status"] or row[1] != result["ram"]["transferred"]:
            self.violate(label, command, f"history row {row} differs from the JSON "
                                         f"({result['status']}, {result['ram']['transferred']})")

    @staticmethod
    def row(history, run_id):
        try:
            with sqlite3.connect(f"file:{history}?mode=ro", uri=True, timeout=30) as db:
                return db.execute("SELECT status, transferred FROM runs WHERE id = ?",
                                  (run_id,)).fetchone()
        except sqlite3.Error:
            return None

    def run_fault(self):
        cfg, kind, argv = self.fault()
        destination = self.daemon_route(cfg)
        process, command, started = self.start(cfg["argv"] + argv + destination)
        code, out, err, took = self.finish(process, started, self.args.bound)
        self.check(f"fault {kind}", cfg, command, code, out, err, took)
        if destination:
            self.check_daemon(f"fault {kind}", command)

    def run_clean(self):
        cfg = self.config()
        destination = self.daemon_route(cfg)
        process, command, started = self.start(cfg["argv"] + destination)
        code, out, err, took = self.finish(process, started, self.args.bound)
        self.check("no fault", cfg, command, code, out, err, took)
        if code == 2:
            self.violate("no fault", command, "a valid configuration was refused: " + err[-200:])
        if destination:
            self.check_daemon("no fault", command)

    def run_signal(self):
        cfg = self.config(lasting=True)
        number = self.rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
        process, command, started = self.start(cfg["argv"])
        time.sleep(self.rng.uniform(0.1, 3.0))
        if process.poll() is None:
            process.send_signal(number)
        code, out, err, took = self.finish(process, started, self.args.bound)
        self.check(f"signal {signal.Signals(number).name}", cfg, command, code, out, err, took)

    def run_kill(self):
        cfg = self.config(lasting=True)
        process, command, started = self.start(cfg["argv"])
        time.sleep(self.rng.uniform(0.2, 3.0))
        process.kill()
        process.communicate()
        self.table["SIGKILL"]["killed"] += 1
        try:
            with sqlite3.connect(f"file:{self.history}?mode=ro", uri=True, timeout=30) as db:
                found = db.execute("SELECT id FROM runs WHERE owner_pid = ? ORDER BY id DESC",
                                   (process.pid,)).fetchone()
        except sqlite3.Error:
            found = None
        if found:
            self.killed.append((found[0], command))

    def run_lock(self):
        cfg = self.config()
        holder = sqlite3.connect(self.history, timeout=30, isolation_level=None,
                                 check_same_thread=False)
        process, command, started = self.start(cfg["argv"])
        time.sleep(self.rng.uniform(0.2, 2.0))
        holder.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(self.rng.uniform(1, 25), lambda: holder.execute("ROLLBACK"))
        release.start()
        code, out, err, took = self.finish(process, started, self.args.bound)
        release.join()
        holder.close()
        self.check("history locked", cfg, command, code, out, err, took)
        if code == 2:
            self.violate("history locked", command, "refused: " + err.strip()[-200:])

    def run_storage(self, readonly):
        label = "history read-only" if readonly else "history disk full"
        if not self.root:
            self.table[label]["skipped (needs root)"] += 1
            return
        mount = tempfile.mkdtemp(dir=self.work)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", mount], check=True)
        try:
            history = os.path.join(mount, "history.sqlite")
            if not readonly:
                # Room for the history to begin, not always for it to end.
                free = self.rng.randint(16, 512) * 1024
                with open(os.path.join(mount, "filler"), "wb") as filler:
                    filler.write(b"\0" * (4 * 1024 * 1024 - free))
            if readonly:
                sqlite3.connect(history).close()
                subprocess.run(["mount", "-o", "remount,ro", mount], check=True)
            cfg = self.config()
            process, command, started = self.start(cfg["argv"], history)
            code, out, err, took = self.finish(process, started, self.args.bound)
            self.check(label, cfg, command, code, out, err, took, history)
            if code == 0 and "history-error" not in out and readonly:
                self.violate(label, command, "a read-only history was reported as written")
            self.unrecorded = [u for u in self.unrecorded if u[3] != history]
        finally:
            subprocess.run(["umount", "-l", mount], check=False)

    def run_malformed(self):
        bad = self.rng.choice(MALFORMED)
        cfg = self.config()
        process, command, started = self.start(cfg["argv"] + bad)
        code, out, err, took = self.finish(process, started, self.args.bound)
        label = "malformed command line"
        self.slowest[label] = max(self.slowest[label], took)
        if code == 2:
            self.table[label]["refused"] += 1
            if not err.strip():
                self.violate(label, command, "exit 2 without a message")
        elif code is None:
            self.violate(label, command, f"no end within {self.args.bound} s")
        else:
            self.violate(label, command, f"accepted (exit {code}): {err.strip()[-200:]}")

    # ---- the destination daemon ----

    def daemon_route(self, cfg):
        if cfg["tls"] or self.rng.random() > 0.25:
            return []
        if self.daemon is None:
            self.daemon_port = free_port()
            self.daemon = subprocess.Popen(
                [self.args.binary, "--incoming", f"tcp://127.0.0.1:{self.daemon_port}",
                 "--no-tls", "--history", os.path.join(self.work, "daemon.sqlite")],
                env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        return ["--destination", f"127.0.0.1:{self.daemon_port}"]

    def daemon_resources(self):
        pid = self.daemon.pid
        return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))

    def check_daemon(self, label, command):
        if self.daemon.poll() is not None:
            self.violate(label, command, f"the destination daemon exited ({self.daemon.returncode})")
            self.daemon = None
            return
        if self.daemon_baseline is None:
            time.sleep(2.0)
            self.daemon_baseline = self.daemon_resources()
            return
        deadline = time.monotonic() + 10
        while self.daemon_resources() > self.daemon_baseline and time.monotonic() < deadline:
            time.sleep(0.2)
        now = self.daemon_resources()
        if now[0] > self.daemon_baseline[0] or now[1] > self.daemon_baseline[1]:
            self.violate(label, command, f"the daemon kept {now[0]} descriptors and {now[1]} "
                                         f"threads (baseline {self.daemon_baseline})")

    # ---- the campaign ----

    def run(self):
        kinds = [(self.run_fault, 45), (self.run_clean, 10), (self.run_signal, 15),
                 (self.run_kill, 8), (self.run_lock, 7),
                 (lambda: self.run_storage(True), 3), (lambda: self.run_storage(False), 4),
                 (self.run_malformed, 8)]
        began = time.monotonic()
        for n in range(self.args.runs):
            step = self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            step()
            if (n + 1) % 25 == 0:
                print(f"{n + 1} runs, {len(self.violations)} violations, "
                      f"{time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
        self.closing_checks()
        if self.daemon is not None:
            self.daemon.send_signal(signal.SIGTERM)
            if self.daemon.wait(timeout=30) != 0:
                self.violate("destination daemon", [], f"SIGTERM exit {self.daemon.returncode}")
        return time.monotonic() - began

    def closing_checks(self):
        # One more run opens the history for writing: killed runs become interrupted, and ends
        # that were queued behind a lock are stored.
        process, command, started = self.start(["--ram-size", "32M", "--no-tls"])
        self.finish(process, started, self.args.bound)
        for run_id, command in self.killed:
            row = self.row(self.history, run_id)
            if row is None or row[0] == "active":
                self.violate("SIGKILL", command, f"killed run {run_id} is recorded as {row}")
        for label, result, command, history in self.unrecorded:
            row = self.row(history, result["history-id"])
            if row is None or row[0] != result["status"]:
                self.violate(label, command, f"queued end never stored: {row}, JSON said "
                                             f"{result['status']} ({result['history-error']})")

    def report(self, seconds):
        columns = ["completed", "completed with warnings", "failed", "cancelled", "refused",
                   "killed", "skipped (needs root)", "violations"]
        print(f"\nseed {self.args.seed}, {self.args.runs} runs in {seconds:.0f} s, "
              f"history {self.history}\n")
        print("| what | runs | " + " | ".join(columns) + " | slowest end |")
        print("|---" * (len(columns) + 3) + "|")
        total = collections.Counter()
        for label in sorted(self.table):
            counts = self.table[label]
            runs = sum(v for k, v in counts.items() if k != "violations")
            total.update(counts)
            total["runs"] += runs
            print(f"| {label} | {runs} | " + " | ".join(str(counts[c]) for c in columns) +
                  f" | {self.slowest[label]:.1f} s |")
        print(f"| all | {total['runs']} | " + " | ".join(str(total[c]) for c in columns) +
              f" | {max(self.slowest.values(), default=0):.1f} s |")
        if self.refusals:
            print("\nRefused before start (exit 2), by message:")
            for message, count in self.refusals.most_common(12):
                print(f"  {count:4} {message}")
        for label, what, command in self.violations:
            print(f"\nVIOLATION ({label}): {what}\n  {command}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 32))
    parser.add_argument("--binary", default="build/app/migrascope")
    parser.add_argument("--bound", type=float, default=120.0,
                        help="seconds a run may take to end before it counts as hung")
    args = parser.parse_args()
    print(f"soak: seed {args.seed} (replay with --seed {args.seed} --runs {args.runs})",
          file=sys.stderr, flush=True)
    campaign = Campaign(args)
    seconds = campaign.run()
    campaign.report(seconds)
    sys.exit(1 if campaign.violations else 0)


if __name__ == "__main__":
    main()
