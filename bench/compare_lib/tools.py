"""The three tools under test, each driven through its ordinary command line
with its default settings (only passphrases, cache locations and host names
are set, so that every run starts from a fresh, isolated state).

Every run gets a RunDirs: a fresh repository, a fresh home for caches and a
fresh restore directory. backup() and restore() return the measured Sample;
only the step itself is timed, never init or verification."""

import dataclasses
import json
import os
import shutil
import subprocess

from . import measure

PASSPHRASE = "coffer-bench-passphrase"


@dataclasses.dataclass
class RunDirs:
    root: str  # per-run directory holding everything below
    workdir: str  # cwd for the tools; the source is workdir/SOURCE_REL
    source_rel: str  # relative path of the backed-up image, e.g. vol/disk.img
    repo: str
    home: str
    restore: str
    log: str

    @property
    def source(self):
        return os.path.join(self.workdir, self.source_rel)


class Tool:
    name = ""
    # What the tool does by default (printed with the results).
    settings = ""

    def missing(self):
        """None when the tool can run, else why not."""
        raise NotImplementedError

    def version(self):
        raise NotImplementedError

    def init(self, d: RunDirs):
        raise NotImplementedError

    def backup(self, d: RunDirs, label: str) -> measure.Sample:
        raise NotImplementedError

    def restore(self, d: RunDirs):
        """Restores the latest backup; returns (Sample, path of the restored image)."""
        raise NotImplementedError

    def _env(self, d: RunDirs, **extra):
        env = dict(os.environ)
        env.update(extra)
        return env


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


class Coffer(Tool):
    name = "coffer"
    settings = ("FastCDC 256 KiB/1 MiB/4 MiB, keyed BLAKE3 ids, zstd when smaller, "
                "XChaCha20-Poly1305 (DESIGN.md §1-2)")

    def __init__(self, binary):
        self.binary = binary
        self.backup_ids = {}

    def missing(self):
        if not os.access(self.binary, os.X_OK):
            return (f"{self.binary} does not exist yet: the Coffer CLI (DESIGN.md §9) is not "
                    f"built; run `make build` once it exists, or use --tools restic,borg")
        return None

    def version(self):
        # --dirty: a binary built from a working tree with uncommitted changes says so.
        rev = _first_line(["git", "-C", os.path.dirname(os.path.abspath(__file__)),
                           "describe", "--always", "--dirty"])
        return f"coffer (git {rev}, binary {self.binary})"

    def _run(self, d, argv, **kw):
        return measure.run([self.binary, *argv], env=self._env(d, COFFER_PASSPHRASE=PASSPHRASE),
                           cwd=d.workdir, log_path=d.log, **kw)

    def init(self, d):
        self._run(d, ["init", "--target", d.repo])

    def backup(self, d, label):
        out = os.path.join(d.root, f"coffer-{label}.json")
        sample = self._run(d, ["backup", "--target", d.repo, "--name", "vol", "--json",
                               d.source], stdout_path=out)
        with open(out) as f:
            doc = json.load(f)
        if "backup_id" not in doc:
            raise measure.CommandFailed(f"coffer backup printed no backup_id: {doc}")
        self.backup_ids[d.repo] = doc["backup_id"]
        return sample

    def restore(self, d):
        dest = os.path.join(d.restore, "disk.img")
        sample = self._run(d, ["restore", "--target", d.repo, self.backup_ids[d.repo], dest])
        return sample, dest


class Restic(Tool):
    name = "restic"
    settings = ("repository v2, compression auto (zstd), AES-256-CTR + Poly1305-AES, "
                "SHA-256 ids, Rabin CDC 512 KiB/1 MiB/8 MiB; restore writes zeros (0.14 has "
                "no --sparse)")

    def missing(self):
        return None if shutil.which("restic") else "restic is not installed (run `make deps`)"

    def version(self):
        return _first_line(["restic", "version"])

    def _run(self, d, argv, **kw):
        env = self._env(d, RESTIC_PASSWORD=PASSPHRASE,
                        RESTIC_CACHE_DIR=os.path.join(d.home, "cache"))
        return measure.run(["restic", "-r", d.repo, *argv], env=env, cwd=d.workdir,
                           log_path=d.log, **kw)

    def init(self, d):
        self._run(d, ["init"])

    def backup(self, d, label):
        return self._run(d, ["backup", "--host", "bench", "--quiet", d.source_rel])

    def restore(self, d):
        sample = self._run(d, ["restore", "latest", "--target", d.restore])
        return sample, os.path.join(d.restore, d.source.lstrip("/"))


class Borg(Tool):
    name = "borg"
    settings = ("`borg init -e repokey` (AES-256-CTR + HMAC-SHA256), compression lz4, "
                "buzhash CDC 512 KiB/2 MiB/8 MiB; extract writes zeros (no --sparse)")

    def __init__(self, sparse_extract=False):
        self.sparse_extract = sparse_extract
        if sparse_extract:
            self.settings = self.settings.replace("writes zeros (no --sparse)",
                                                  "with --sparse")
        self.archives = 0

    def missing(self):
        return None if shutil.which("borg") else "borg is not installed (run `make deps`)"

    def version(self):
        return _first_line(["borg", "--version"])

    def _run(self, d, argv, cwd=None, **kw):
        env = self._env(d, BORG_PASSPHRASE=PASSPHRASE, BORG_BASE_DIR=d.home)
        return measure.run(["borg", *argv], env=env, cwd=cwd or d.workdir, log_path=d.log,
                           **kw)

    def init(self, d):
        self._run(d, ["init", "-e", "repokey", d.repo])

    def backup(self, d, label):
        return self._run(d, ["create", f"{d.repo}::{label}", d.source_rel])

    def restore(self, d):
        latest = subprocess.run(
            ["borg", "list", "--last", "1", "--format", "{archive}", d.repo],
            env=self._env(d, BORG_PASSPHRASE=PASSPHRASE, BORG_BASE_DIR=d.home),
            capture_output=True, text=True, check=True).stdout.strip()
        argv = ["extract", f"{d.repo}::{latest}"] + (["--sparse"] if self.sparse_extract else [])
        sample = self._run(d, argv, cwd=d.restore)
        return sample, os.path.join(d.restore, d.source_rel)
