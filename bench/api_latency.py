#!/usr/bin/env python3
"""API latency at scale: GET /v1/backups with 100,000 backup rows, on SQLite
and on PostgreSQL, measured with wrk (issue 17, docs/RELIABILITY.md).

For each database it starts a real `coffer agent` and `coffer manager` on
loopback, registers the agent, a directory target and 200 volumes through
the API, inserts ROWS completed backups spread over the volumes and a year,
and runs wrk against three reads: the newest 100 of all backups, the newest
100 of one volume, and one volume's whole history. It prints p50 and p99 per
read (wrk's --latency), and writes them as JSON with --json.

  bench/api_latency.py --coffer build/coffer --rows 100000 --duration 15

Needs wrk (make deps) and, for PostgreSQL, the server binaries of Debian's
postgresql package (run as the postgres user when this runs as root).
"""

import argparse
import glob
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

TOKEN = "api-latency-admin-token-0123456789"
AGENT_TOKEN = "api-latency-agent-token-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, headers=None, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2)
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + TOKEN,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


class Postgres:
    def __init__(self, work):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries (make deps)")
        self.bin = bins[-1]
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        self.port = free_port()
        self.prefix = []
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            os.chmod(work, 0o755)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run(self.prefix + [f"{self.bin}/initdb", "-D", self.dir + "/data", "-U",
                                      "coffer", "--auth=trust"], check=True,
                       capture_output=True)
        self.proc = subprocess.Popen(
            self.prefix + [f"{self.bin}/postgres", "-D", self.dir + "/data", "-p",
                           str(self.port), "-c", "listen_addresses=127.0.0.1", "-c",
                           "unix_socket_directories=", "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"postgresql://coffer@127.0.0.1:{self.port}/postgres"
        for _ in range(600):
            if subprocess.run(["psql", self.url, "-c", "select 1"],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not start")

    def sql(self, text):
        subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", self.url, "-c", text], check=True,
                       capture_output=True)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def insert_rows(db, rows, volume_ids, target_id, data_dir, pg):
    year_us = 365 * 86400 * 10**6
    now_us = int(time.time() * 10**6)
    rng = random.Random(1)
    if db == "postgres":
        vols = "ARRAY[" + ",".join(f"'{v}'" for v in volume_ids) + "]"
        pg.sql(f"""
INSERT INTO backup (id, volume_id, target_id, status, logical_bytes, new_bytes, stored_bytes,
                    chunks, new_chunks, started_at_us, heartbeat_at_us, finished_at_us,
                    duration_ms)
SELECT md5(g::text)::uuid::text, ({vols})[1 + g % {len(volume_ids)}], '{target_id}',
       'completed', 1073741824, 10485760, 5242880, 1024, 10,
       {now_us} - (g::bigint * {year_us // rows}), {now_us} - (g::bigint * {year_us // rows}),
       {now_us} - (g::bigint * {year_us // rows}) + 60000000, 60000
FROM generate_series(1, {rows}) AS g""")
        return
    con = sqlite3.connect(os.path.join(data_dir, "coffer.db"))
    batch = []
    for g in range(rows):
        started = now_us - rng.randrange(year_us)
        batch.append((str(uuid.UUID(int=rng.getrandbits(128))), volume_ids[g % len(volume_ids)],
                      target_id, "completed", 1 << 30, 10 << 20, 5 << 20, 1024, 10, started,
                      started, started + 60 * 10**6, 60000))
    con.executemany("""
INSERT INTO backup (id, volume_id, target_id, status, logical_bytes, new_bytes, stored_bytes,
                    chunks, new_chunks, started_at_us, heartbeat_at_us, finished_at_us,
                    duration_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", batch)
    con.commit()
    con.close()


def wrk(url, duration, connections):
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s",
                          "--latency", "-H", "Authorization: Bearer " + TOKEN, url],
                         check=True, capture_output=True, text=True).stdout

    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    requests = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50_ms": ms("50"), "p99_ms": ms("99"),
            "requests": int(requests.group(1)) if requests else 0,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def measure(db, args, work):
    pg = Postgres(work) if db == "postgres" else None
    data_dir = os.path.join(work, "manager-" + db)
    volumes_root = os.path.join(work, "volumes")
    os.makedirs(volumes_root, exist_ok=True)
    token_file = os.path.join(work, "agent.token")
    with open(token_file, "w") as f:
        f.write(AGENT_TOKEN + "\n")
    agent_port, manager_port = free_port(), free_port()
    agent = subprocess.Popen([args.coffer, "agent", "--listen", f"127.0.0.1:{agent_port}",
                              "--token-file", token_file, "--volume-root", volumes_root],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, COFFER_ADMIN_TOKEN=TOKEN)

    def start_manager():
        argv = [args.coffer, "manager", "--data-dir", data_dir, "--listen",
                f"127.0.0.1:{manager_port}"]
        if pg:
            argv += ["--database-url", pg.url]
        log = open(os.path.join(work, f"manager-{db}.log"), "a")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        wait_http(f"http://127.0.0.1:{manager_port}/readyz")
        return proc

    base = f"http://127.0.0.1:{manager_port}"
    manager = start_manager()
    try:
        wait_http(f"http://127.0.0.1:{agent_port}/healthz",
                  {"Authorization": "Bearer " + AGENT_TOKEN})
        a = call(base, "POST", "/v1/agents", {"name": "a", "url": f"http://127.0.0.1:{agent_port}",
                                              "token": AGENT_TOKEN})
        t = call(base, "POST", "/v1/backup_targets",
                 {"name": "t", "address": os.path.join(work, "target-" + db),
                  "passphrase": "api latency passphrase"})
        volume_ids = []
        for i in range(args.volumes):
            v = call(base, "POST", "/v1/volumes",
                     {"name": f"v{i}", "agent_id": a["id"], "backend": "file",
                      "locator": os.path.join(volumes_root, f"v{i}.img")})
            volume_ids.append(v["id"])
        manager.terminate()
        manager.wait()
        started = time.time()
        insert_rows(db, args.rows, volume_ids, t["id"], data_dir, pg)
        inserted_s = time.time() - started
        manager = start_manager()
        total = call(base, "GET", "/v1/backups?limit=1")
        assert len(total["backups"]) == 1
        reads = {
            "newest 100 of all": f"{base}/v1/backups?limit=100",
            "newest 100 of one volume": f"{base}/v1/backups?volume_id={volume_ids[0]}&limit=100",
            f"one volume's history ({args.rows // args.volumes} rows)":
                f"{base}/v1/backups?volume_id={volume_ids[1]}",
        }
        results = {"rows": args.rows, "insert_seconds": round(inserted_s, 1), "reads": {}}
        for name, url in reads.items():
            results["reads"][name] = wrk(url, args.duration, args.connections)
            r = results["reads"][name]
            print(f"{db:<9} {name:<40} p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  "
                  f"({r['requests']} requests, {r['non_2xx']} not 2xx)", flush=True)
        return results
    finally:
        manager.terminate()
        manager.wait()
        agent.terminate()
        agent.wait()
        if pg:
            pg.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--coffer", default="build/coffer")
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--volumes", type=int, default=200)
    p.add_argument("--duration", type=int, default=15, help="seconds of wrk per read")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="coffer-api-latency-")
    out = {"command": " ".join(sys.argv), "connections": args.connections}
    try:
        os.chmod(work, 0o755)  # the postgres user works in a folder inside
        for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            os.makedirs(os.path.join(work, db))
            out[db] = measure(db, args, os.path.join(work, db))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
