"""Prints the figures of a `coffer backup --json` or `coffer restore --json`
document, or of the manager API's backup and restore (GET /v1/backups/{id},
GET /v1/restores/{id}), read from stdin, for the demo.
Usage: demo_report.py backup|restore|api-backup|api-restore"""
import json
import sys


def mb(n):
    return n / 1e6


def backup(b):
    logical, new, stored, secs = b["logical_bytes"], b["new_bytes"], b["stored_bytes"], b["seconds"]
    print(f"   read        {mb(logical):9.1f} MB  ({mb(b['zero_bytes']):.1f} MB of zeros, never stored)")
    print(f"   new data    {mb(new):9.1f} MB  in {b['new_chunks']} of {b['chunks']} chunks")
    print(f"   stored      {mb(stored):9.1f} MB  (after dedup and zstd)")
    ratio = logical / stored if stored else float("inf")
    print(f"   ratio       {ratio:9.1f} x  (volume bytes per stored byte)")
    print(f"   speed       {mb(logical) / secs:9.1f} MB/s  ({secs:.2f} s)")
    print(f"   backup id   {b['backup_id']}")


def restore(r):
    print(f"   restored    {mb(r['bytes']):9.1f} MB  ({mb(r['zero_bytes']):.1f} MB left sparse)")
    print(f"   speed       {mb(r['bytes']) / r['seconds']:9.1f} MB/s  ({r['seconds']:.2f} s)")


def api_backup(b):
    # The manager's backup row: the same figures under the API's names.
    backup({**b, "backup_id": b["id"], "seconds": max(b["duration_ms"], 1) / 1000})


def api_restore(r):
    restore(r["result"])


if __name__ == "__main__":
    modes = {"backup": backup, "restore": restore, "api-backup": api_backup,
             "api-restore": api_restore}
    modes[sys.argv[1]](json.load(sys.stdin))
