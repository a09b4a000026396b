"""The machine's limit for this work (issue 3): the per-byte CPU cost of every
primitive a backup or restore must apply, measured single-threaded on this
machine and this image, summed over the bytes each one touches, divided by the
cores. No real tool can beat it; how close one gets is the figure of merit.

A step that must move its data through the disk (a backup's new objects; a
restore's output made durable) cannot beat the disk either: the limit of a step is the larger of the CPU bound and the disk bound,
the bytes it must read and write divided by what the device does with direct
I/O, measured here with dd.

Rates are single-thread, best of three runs: bytes per CPU-second (user +
system) for dd and b3sum, since a busy neighbour on a shared machine takes wall
time away but inflates CPU time much less (`openssl speed` divides by CPU time
too); zstd's in-memory benchmark, which divides by wall time, on 1 MiB blocks."""

import json
import os
import re
import shutil
import subprocess
import time

from . import measure

GB = 1e9
MiB = 1 << 20


def _extract(image, layout, kind, out_path, limit):
    """Copies up to `limit` bytes of the extents of one kind into out_path."""
    total = 0
    with open(image, "rb", buffering=0) as src, open(out_path, "wb") as dst:
        for offset, length, k in layout:
            if k != kind or total >= limit:
                continue
            n = min(length, limit - total)
            src.seek(offset)
            while n > 0:
                chunk = src.read(min(n, 8 * MiB))
                dst.write(chunk)
                n -= len(chunk)
                total += len(chunk)
    return total


def _best_rate(nbytes, argv, log, repeat=3, **kw):
    """Bytes per CPU-second of the fastest of `repeat` runs: the limit is about what
    the machine can do, so the least disturbed run is the right one."""
    cpu = min(measure.run(argv, log_path=log, **kw).cpu for _ in range(repeat))
    return nbytes / max(cpu, 1e-3)


def _zstd_rates(path, log, repeat=3):
    """zstd level 1 as a chunked backup uses it: in memory, 1 MiB blocks (Coffer's
    average chunk), one thread (`zstd -b1 -B1MiB`). zstd's benchmark divides by
    wall time, so the best of `repeat` runs is taken. Returns compress and
    decompress rates in bytes per second and the ratio."""
    best = (0.0, 0.0, 0.0)
    for _ in range(repeat):
        out = subprocess.run(["zstd", "-b1", "-i1", "-B1MiB", path], capture_output=True,
                             text=True, check=True)
        text = (out.stdout + out.stderr).replace("\r", "\n")
        m = re.findall(r"\(x?([\d.]+)\),\s*([\d.]+) MB/s,\s*([\d.]+) MB/s", text)
        if not m:
            raise RuntimeError("cannot parse `zstd -b1` output:\n" + text[-500:])
        with open(log, "a") as f:
            f.write(f"$ zstd -b1 -i1 -B1MiB {path}\n{m[-1]}\n")
        ratio, comp, decomp = (float(x) for x in m[-1])
        best = (max(best[0], comp * 1e6), max(best[1], decomp * 1e6), ratio)  # MB = 10^6 B
    return best


def _openssl_chacha():
    out = subprocess.run(["openssl", "speed", "-evp", "chacha20-poly1305", "-seconds", "2",
                          "-bytes", "16384"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"(?im)^chacha20-poly1305\s+([\d.]+)k\s*$", out)
    if not m:
        raise RuntimeError("cannot parse `openssl speed` output:\n" + out)
    return float(m.group(1)) * 1000  # openssl reports 1000s of bytes per second


def _dd_wall(argv_list, log):
    """Wall seconds for the dd commands in `argv_list`, all started together."""
    with open(log, "a") as f:
        f.write("$ " + " & ".join(" ".join(a) for a in argv_list) + "\n")
        start = time.monotonic()
        procs = [subprocess.Popen(a, stdout=f, stderr=f) for a in argv_list]
        codes = [p.wait() for p in procs]
        wall = time.monotonic() - start
    if any(codes):
        raise subprocess.CalledProcessError(max(codes), argv_list[codes.index(max(codes))])
    return wall


def _disk_rates(scratch, log, repeat=3):
    """What the device under `scratch` does with direct I/O (bytes per wall second,
    best of `repeat`): writing 1 GiB in 1 MiB blocks, reading it back, and reading
    it while writing another 1 GiB (the two together: a restore's pattern).
    Returns {} where O_DIRECT is refused (e.g. tmpfs)."""
    a, b = os.path.join(scratch, "limit-disk-a.bin"), os.path.join(scratch, "limit-disk-b.bin")
    count = 1024

    def write(path):
        return ["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={count}", "oflag=direct",
                "status=none"]

    read = ["dd", f"if={a}", "of=/dev/null", "bs=1M", "iflag=direct", "status=none"]
    rates = {"disk_write": 0.0, "disk_read": 0.0, "disk_mixed": 0.0}
    try:
        for _ in range(repeat):
            for path in (a, b):
                if os.path.exists(path):
                    os.remove(path)
            subprocess.run(["sync"], check=True)
            rates["disk_write"] = max(rates["disk_write"], count * MiB / _dd_wall([write(a)], log))
            rates["disk_read"] = max(rates["disk_read"], count * MiB / _dd_wall([read], log))
            subprocess.run(["sync"], check=True)
            rates["disk_mixed"] = max(rates["disk_mixed"],
                                      2 * count * MiB / _dd_wall([read, write(b)], log))
    except subprocess.CalledProcessError:
        return {}
    finally:
        for path in (a, b):
            if os.path.exists(path):
                os.remove(path)
    return rates


def _fastcdc_rate(bench_binary, log, repeat=3):
    """FastCDC's scan on random data, bytes per CPU-second, the best of `repeat`
    repetitions of Coffer's own micro benchmark (`BM_FastCdc`, 16 MiB buffers).
    No tool outside the project runs this chunker; None without the binary."""
    if not bench_binary or not os.access(bench_binary, os.X_OK):
        return None
    out = subprocess.run([bench_binary, "--benchmark_filter=^BM_FastCdc$",
                          f"--benchmark_repetitions={repeat}", "--benchmark_format=json"],
                         capture_output=True, text=True)
    with open(log, "a") as f:
        f.write(f"$ {bench_binary} --benchmark_filter=^BM_FastCdc$\n{out.stderr}\n")
    if out.returncode != 0:
        return None
    # The limit is measured after every timed run: an output this cannot
    # read leaves FastCDC out of it (assumed instead), not the report lost.
    try:
        runs = [b for b in json.loads(out.stdout)["benchmarks"]
                if b.get("run_type") == "iteration" and not b.get("error_occurred")]
        rate = max((float(b["bytes_per_second"]) for b in runs), default=None)
    except (ValueError, KeyError, TypeError):
        return None
    with open(log, "a") as f:
        f.write(f"FastCDC: {rate} bytes per CPU-second\n")
    return rate


def measure_rates(image, layout, scratch, log, bench_binary=None):
    """Measures the primitives on this image; returns {name: bytes per second} plus
    the zstd -1 ratio of the text. dd, b3sum: per CPU-second, best of 3; zstd -b1:
    in memory, best of 3; openssl speed: per CPU-second (its default); FastCDC:
    `bench_binary` (Coffer's coffer_bench), per CPU-second, best of 3. A primitive
    whose tool is missing is left out (and so missing from the estimate, which the
    report shows)."""
    size = os.path.getsize(image)
    rates = {}
    fastcdc = _fastcdc_rate(bench_binary, log)
    if fastcdc:
        rates["fastcdc"] = fastcdc
    rates["read"] = _best_rate(size, ["dd", f"if={image}", "of=/dev/null", "bs=1M"], log)
    if shutil.which("b3sum"):
        rates["blake3"] = _best_rate(size, ["b3sum", "--num-threads", "1", image], log,
                                     stdout_path=os.devnull)
    for kind in ("text", "random") if shutil.which("zstd") else ():
        part = os.path.join(scratch, f"limit-{kind}.bin")
        if _extract(image, layout, kind, part, 256 * MiB):
            comp, decomp, ratio = _zstd_rates(part, log)
            rates[f"zstd1_{kind}"] = comp
            if kind == "text":
                rates["unzstd_text"], rates["text_ratio"] = decomp, ratio
        os.remove(part)
    if shutil.which("openssl"):
        rates["chacha20poly1305"] = _openssl_chacha()
    wfile = os.path.join(scratch, "limit-write.bin")
    count = max(1, min(size, 1 << 30) // MiB)
    rates["write"] = _best_rate(count * MiB, ["dd", "if=/dev/zero", f"of={wfile}", "bs=1M",
                                              f"count={count}"], log)
    os.remove(wfile)
    rates.update(_disk_rates(scratch, log))
    return rates


# A chunk is compressed only if one of four 16 KiB samples of it compresses:
# random data, in chunks of 1 MiB on average, costs zstd on 1/16 of its bytes.
SAMPLED = 4 * 16 * 1024 / MiB


def estimate(rates, layout, mutation, cores, fastcdc_rate=None):
    """Lower bounds on the wall time of the three steps. Returns {step: (seconds,
    cpu_seconds, [(cpu term, bytes, rate), ...], disk_seconds, [(disk term, bytes,
    rate), ...])}: seconds is the larger of the CPU bound (the CPU terms divided by
    the cores) and the disk bound (the disk terms, one after another). FastCDC runs
    at `fastcdc_rate` if given, else at the measured rates["fastcdc"]."""
    by_kind = {}
    for _, length, kind in layout:
        by_kind[kind] = by_kind.get(kind, 0) + length
    size = sum(by_kind.values())
    zeros, text = by_kind.get("zeros", 0), by_kind.get("text", 0)
    rand, rep = by_kind.get("random", 0), by_kind.get("repeated", 0)
    data = size - zeros
    ratio = rates.get("text_ratio", 1.0)
    stored = text / ratio + rand  # repeats are deduplicated
    stored_fraction = stored / max(text + rand, 1)
    text_fraction = text / max(text + rand, 1)
    # Changed chunks of a second backup: 1 MiB windows touched by the mutation
    # (the average chunk size; a rough proxy for the cut points CDC finds).
    windows = set()
    for offset, length in mutation:
        windows.update(range(offset // MiB, (offset + length - 1) // MiB + 1))
    new = min(len(windows) * MiB, data)

    def compress_terms(nbytes):
        return [("zstd -1 (text share)", nbytes * text_fraction, rates.get("zstd1_text")),
                ("zstd -1 (random share, 1/16 sampled)",
                 nbytes * (1 - text_fraction) * SAMPLED, rates.get("zstd1_random")),
                ("ChaCha20-Poly1305", nbytes * stored_fraction, rates.get("chacha20poly1305"))]

    scan = [("read (cached)", size, rates.get("read")),
            ("FastCDC (assumed rate)" if fastcdc_rate else "FastCDC", data,
             fastcdc_rate or rates.get("fastcdc")),
            ("BLAKE3", data, rates.get("blake3"))]
    steps = {
        "first backup": scan + compress_terms(text + rand),
        "second backup": scan + compress_terms(new),
        "restore": [
            ("read objects (cached)", data * stored_fraction, rates.get("read")),
            ("ChaCha20-Poly1305", data * stored_fraction, rates.get("chacha20poly1305")),
            ("zstd -d (text share)", data * text_fraction, rates.get("unzstd_text")),
            ("BLAKE3 (verify)", data, rates.get("blake3")),
            ("write (page cache; zeros as holes)", data, rates.get("write")),
        ],
    }
    # The disk: new objects written; a restore writes its output (zeros stay
    # holes). Its objects come from the page cache, which the script warms
    # before each restore as it does the image before each backup.
    disk_steps = {
        "first backup": [("write objects (direct)", stored, rates.get("disk_write"))],
        "second backup": [("write objects (direct)", new * stored_fraction,
                           rates.get("disk_write"))],
        "restore": [("write output (direct)", data, rates.get("disk_write"))],
    }
    result = {}
    for step, terms in steps.items():
        terms = [t for t in terms if t[2]]
        cpu = sum(nbytes / rate for _, nbytes, rate in terms) / cores
        disk_terms = [t for t in disk_steps[step] if t[2]]
        disk = sum(nbytes / rate for _, nbytes, rate in disk_terms)
        result[step] = (max(cpu, disk), cpu, terms, disk, disk_terms)
    result["_assumptions"] = {
        "new_bytes_second_backup": new, "stored_fraction": stored_fraction,
        "text_fraction": text_fraction, "repeated_bytes": rep, "zero_bytes": zeros,
    }
    return result
