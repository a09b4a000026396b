#!/usr/bin/env python3
"""Crash campaign: SIGKILL Coffer's commands at random moments, then prove
nothing was lost (issue 17, docs/RELIABILITY.md).

Each iteration picks a command -- backup, restore, forget, gc or
check --read-data -- and a target -- a directory, or a bucket on moto_server
-- starts it, kills it with SIGKILL at a random moment of its expected run,
and then asserts:

  1. `coffer check --read-data` is clean;
  2. every backup that completed before still restores bit for bit (a killed
     forget may have removed the one it was forgetting, nothing else);
  3. the same command, run again, completes without manual unlocking (the
     dead process's lock is broken because it is provably dead);
  4. after that rerun of a gc, no temporary object is left in the target.

It prints one line per iteration and a summary by kind; with --json FILE it
also writes the summary as JSON. Exit 0 when every assertion held.

  scripts/crash_campaign.py --coffer build/coffer --mkimage build/coffer-mkimage \\
      --iterations 200 --seed 1

Needs moto_server on PATH for the S3 target (skip it with --no-s3).
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

KINDS = ["backup", "restore", "forget", "gc", "check"]
PASSPHRASE = "crash campaign passphrase"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Failure(Exception):
    pass


class Target:
    """One target and the coffer flags and environment that reach it."""

    def __init__(self, name, flags, env):
        self.name = name
        self.flags = flags
        self.env = env
        self.backups = {}  # backup id -> sha256 of the image it holds


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = args.work or tempfile.mkdtemp(prefix="coffer-crash-")
        self.moto = None
        self.images = []
        self.targets = []
        # kind -> {"iterations", "killed", "finished", "failures"}
        self.stats = {k: {"iterations": 0, "killed": 0, "finished": 0, "failures": 0}
                      for k in KINDS}
        self.durations = {}  # (kind, target) -> seconds of an unkilled run
        self.failures = []

    # --- processes ---

    def env(self, target):
        env = dict(os.environ)
        env.update(target.env)
        env["COFFER_PASSPHRASE"] = PASSPHRASE
        # Known-chunk caches out of the user's home.
        env["XDG_CACHE_HOME"] = os.path.join(self.work, "cache")
        return env

    def argv(self, target, verb, *rest):
        return [self.args.coffer, verb] + target.flags + list(rest)

    def run(self, target, verb, *rest, check=True):
        p = subprocess.run(self.argv(target, verb, *rest), env=self.env(target),
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise Failure(f"{target.name}: coffer {verb} {' '.join(rest)} exited "
                          f"{p.returncode}: {p.stderr.strip()[-600:]}")
        return p

    # --- setup ---

    def setup(self):
        os.makedirs(os.path.join(self.work, "cache"), exist_ok=True)
        for i in range(self.args.images):
            path = os.path.join(self.work, f"image-{i}.img")
            subprocess.run([self.args.mkimage, "create", "--size", self.args.image_size,
                            "--seed", str(1000 + i), path], check=True,
                           capture_output=True)
            self.images.append(path)
        directory = Target("dir", ["--target", os.path.join(self.work, "target")], {})
        self.targets.append(directory)
        if not self.args.no_s3:
            self.targets.append(self.start_moto())
        for t in self.targets:
            self.run(t, "init")

    def start_moto(self):
        port = free_port()
        log = open(os.path.join(self.work, "moto.log"), "w")
        self.moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=log, stderr=subprocess.STDOUT)
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except Exception:
                if time.time() > deadline or self.moto.poll() is not None:
                    raise Failure("moto_server did not start; see " + log.name)
                time.sleep(0.1)
        req = urllib.request.Request(endpoint + "/crash", method="PUT")
        urllib.request.urlopen(req, timeout=10)
        return Target("s3", ["--target", "s3://crash/coffer", "--s3-endpoint", endpoint],
                      {"AWS_ACCESS_KEY_ID": "crash", "AWS_SECRET_ACCESS_KEY": "campaign",
                       "AWS_REGION": "us-east-1"})

    def stop(self):
        if self.moto:
            self.moto.terminate()
            self.moto.wait()
        if not self.args.keep and not self.args.work:
            shutil.rmtree(self.work, ignore_errors=True)

    # --- one command of each kind ---

    def command(self, target, kind):
        """argv of a command of `kind`, and what to record if it completes."""
        if kind == "backup" or (kind in ("restore", "forget") and not target.backups):
            image = self.rng.choice(self.images)
            if self.rng.random() < 0.5:
                subprocess.run([self.args.mkimage, "mutate", "--percent", "2", "--seed",
                                str(self.rng.randrange(1 << 30)), image],
                               check=True, capture_output=True)
            return "backup", self.argv(target, "backup", "--json", image), image
        if kind == "restore":
            backup = self.rng.choice(sorted(target.backups))
            out = os.path.join(self.work, f"restore-{self.rng.randrange(1 << 30)}.img")
            return kind, self.argv(target, "restore", backup, out), (backup, out)
        if kind == "forget":
            backup = self.rng.choice(sorted(target.backups))
            return kind, self.argv(target, "forget", backup), backup
        if kind == "gc":
            return kind, self.argv(target, "gc", "--grace", "0"), None
        return kind, self.argv(target, "check", "--read-data"), None

    def settle(self, target, kind, detail, proc, finished):
        """Records what a command that ran to its end (or was killed) did."""
        if kind == "backup" and finished and proc.returncode == 0:
            out = json.loads(proc.stdout.read())
            target.backups[out["backup_id"]] = sha256(detail)
        if kind == "restore":
            _, out = detail
            if os.path.exists(out):
                os.remove(out)
        if kind == "forget":
            listed = self.listed(target)
            if detail not in listed:
                target.backups.pop(detail, None)

    def listed(self, target):
        p = self.run(target, "ls", "--json")
        return {b["backup_id"] for b in json.loads(p.stdout)}

    # --- the assertions ---

    def verify(self, target, kind, detail):
        check = self.run(target, "check", "--read-data", "--json", check=False)
        if check.returncode != 0:
            raise Failure(f"{target.name}: check --read-data after a killed {kind} exited "
                          f"{check.returncode}: {check.stdout.strip()[-400:]} "
                          f"{check.stderr.strip()[-400:]}")
        listed = self.listed(target)
        for backup, digest in sorted(target.backups.items()):
            if backup not in listed:
                raise Failure(f"{target.name}: backup {backup} completed before, and is gone "
                              f"after a killed {kind}")
            out = os.path.join(self.work, "verify.img")
            self.run(target, "restore", backup, out)
            got = sha256(out)
            os.remove(out)
            if got != digest:
                raise Failure(f"{target.name}: backup {backup} restores other bytes after a "
                              f"killed {kind}")
        # The same command again completes without `coffer unlock`.
        again_kind, argv, again_detail = self.command(target, kind)
        p = subprocess.run(argv, env=self.env(target), capture_output=True, text=True)
        if p.returncode != 0:
            raise Failure(f"{target.name}: {again_kind} after a killed {kind} exited "
                          f"{p.returncode}: {p.stderr.strip()[-600:]}")
        if again_kind == "backup":
            target.backups[json.loads(p.stdout)["backup_id"]] = sha256(again_detail)
        elif again_kind == "restore":
            backup, out = again_detail
            got = sha256(out)
            os.remove(out)
            if got != target.backups[backup]:
                raise Failure(f"{target.name}: a restore of {backup} gave other bytes")
        elif again_kind == "forget":
            target.backups.pop(again_detail, None)
        elif again_kind == "gc":
            left = self.temporaries(target)
            if left:
                raise Failure(f"{target.name}: a gc after a killed {kind} left temporaries: "
                              f"{left[:5]}")
        # Keep the set small: forget the oldest beyond six.
        while len(target.backups) > 6:
            oldest = sorted(target.backups)[0]
            self.run(target, "forget", oldest)
            target.backups.pop(oldest)

    def temporaries(self, target):
        """What `check` counts as temporaries (a directory target's tmp/, an
        S3 target's unfinished uploads), as a list of descriptions."""
        doc = json.loads(self.run(target, "check", "--json").stdout)
        n = doc.get("temporaries", 0)
        return [f"{n} temporaries ({doc.get('temporaries_bytes', 0)} bytes)"] if n else []

    # --- the loop ---

    def iteration(self, i):
        target = self.rng.choice(self.targets)
        kind = self.rng.choice(KINDS)
        kind, argv, detail = self.command(target, kind)
        stats = self.stats[kind]
        stats["iterations"] += 1
        expected = self.durations.get((kind, target.name))
        proc = subprocess.Popen(argv, env=self.env(target), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if expected is None:
            started = time.time()
            proc.wait()
            self.durations[(kind, target.name)] = max(time.time() - started, 0.05)
            finished, when = True, None
        else:
            when = self.rng.uniform(0, expected * 1.2)
            try:
                proc.wait(timeout=when)
                finished = True
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                finished = False
        stats["finished" if finished else "killed"] += 1
        if finished and proc.returncode != 0:
            err = proc.stderr.read().strip()[-600:]
            raise Failure(f"{target.name}: {kind} that was not killed exited "
                          f"{proc.returncode}: {err}")
        self.settle(target, kind, detail, proc, finished)
        self.verify(target, kind, detail)
        moment = "ran to its end" if finished else f"killed at {when:.2f}s"
        print(f"[{i + 1}/{self.args.iterations}] {target.name} {kind}: {moment}; "
              f"{len(target.backups)} backups restore", flush=True)

    def main(self):
        self.setup()
        try:
            for i in range(self.args.iterations):
                try:
                    self.iteration(i)
                except Failure as e:
                    kind = str(e)
                    self.failures.append(kind)
                    for k in KINDS:
                        if f" {k}" in kind:
                            self.stats[k]["failures"] += 1
                            break
                    print(f"[{i + 1}/{self.args.iterations}] FAILED: {e}", flush=True)
                    if self.args.stop_on_failure:
                        break
        finally:
            self.stop()
        summary = {"iterations": self.args.iterations, "seed": self.args.seed,
                   "targets": [t.name for t in self.targets], "by_kind": self.stats,
                   "failures": self.failures}
        print("\nkind      iterations  killed  ran-to-end  failures")
        for k in KINDS:
            s = self.stats[k]
            print(f"{k:<9} {s['iterations']:>10} {s['killed']:>7} {s['finished']:>11} "
                  f"{s['failures']:>9}")
        print(f"{len(self.failures)} failures in {self.args.iterations} iterations")
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump(summary, f, indent=2)
        return 0 if not self.failures else 1


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--coffer", default="build/coffer")
    p.add_argument("--mkimage", default="build/coffer-mkimage")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--images", type=int, default=3, help="distinct source images")
    p.add_argument("--image-size", default="32M")
    p.add_argument("--no-s3", action="store_true", help="the directory target only")
    p.add_argument("--work", help="work directory (kept); default: a temporary one")
    p.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    p.add_argument("--json", help="write the summary here")
    p.add_argument("--stop-on-failure", action="store_true")
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(Campaign(parse()).main())
