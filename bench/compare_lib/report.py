"""Turns the samples into one table of medians, as aligned text and Markdown.

Speed ratios are speed-ups: the reference tool's median wall time divided by
this tool's (2.0x = twice as fast as restic). Memory and size ratios are this
tool's value divided by the reference's (0.5 = half of restic's)."""

import statistics

MiB = 1 << 20
STEPS = ("first backup", "second backup", "restore")


def _med(values):
    return statistics.median(values) if values else None


def _fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def _ratio(num, den, suffix=""):
    if num is None or den is None or den == 0:
        return "-"
    return f"{num / den:.2f}{suffix}"


def build_tables(results, repo_sizes, repo_growth, image_bytes):
    """results[tool][step] -> [Sample]; repo_sizes/repo_growth[tool] -> [bytes]."""
    tools = list(results)
    refs = [r for r in ("restic", "borg") if r in results]
    wall = {t: {s: _med([x.wall for x in results[t].get(s, [])]) for s in STEPS} for t in tools}
    rss = {t: {s: _med([x.rss for x in results[t].get(s, [])]) for s in STEPS} for t in tools}

    head = ["step", "tool", "wall s", "(min-max)", "CPU s", "peak RSS MiB", "MB/s"]
    head += [f"speed-up vs {r}" for r in refs] + [f"RSS / {r}" for r in refs]
    rows = []
    for step in STEPS:
        for t in tools:
            samples = results[t].get(step, [])
            if not samples:
                continue
            walls = [x.wall for x in samples]
            row = [step, t, _fmt(wall[t][step]), f"{min(walls):.2f}-{max(walls):.2f}",
                   _fmt(_med([x.cpu for x in samples])), _fmt(rss[t][step] / MiB, 0),
                   _fmt(image_bytes / 1e6 / wall[t][step], 0)]
            row += [_ratio(wall[r][step], wall[t][step], "x") for r in refs]
            row += [_ratio(rss[t][step], rss[r][step]) for r in refs]
            rows.append(row)

    size = {t: _med(repo_sizes.get(t, [])) for t in tools}
    growth = {t: _med(repo_growth.get(t, [])) for t in tools}
    repo_head = ["tool", "repository after first backup, MiB"] + [f"/ {r}" for r in refs]
    repo_head += ["added by second backup, MiB"]
    repo_rows = []
    for t in tools:
        if size[t] is None:
            continue
        repo_rows.append([t, _fmt(size[t] / MiB, 0)] + [_ratio(size[t], size[r]) for r in refs]
                         + [_fmt(growth[t] / MiB if growth[t] is not None else None, 1)])
    return (head, rows), (repo_head, repo_rows)


def text_table(table):
    head, rows = table
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def markdown_table(table):
    head, rows = table
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def header_lines(*, date, command, host, load, size, seed, sparse, cold, layout, mutation,
                 mutate_seed, runs):
    kinds = {k: 0 for k in ("random", "text", "zeros", "repeated")}
    for _, n, k in layout:
        kinds[k] = kinds.get(k, 0) + n
    comp = ", ".join(f"{k} {100 * v / max(size, 1):.1f} %" for k, v in kinds.items())
    changed = sum(m[1] for m in mutation)
    extents = sum(1 for m in mutation if m[3] == "extent")
    return [
        f"date: {date:%Y-%m-%d %H:%M} UTC; command: {command}",
        f"machine: {host}; load average {load[0]} at start, {load[1]} at end "
        f"(a shared machine: other work may run at the same time)",
        f"image: {size / MiB:.0f} MiB, seed {seed}, {len(layout)} extents: {comp}"
        f"{', zeros as holes' if sparse else ', zeros written out'}; "
        f"{'cold: image and repository dropped from the page cache before each step' if cold else 'page-cached'}",
        f"mutation: {changed / MiB:.1f} MiB ({100 * changed / max(size, 1):.2f} %), seed "
        f"{mutate_seed}: {extents} extents of 64 KiB-2 MiB and {len(mutation) - extents} "
        f"scattered 4 KiB blocks in hot zones",
        f"runs: {runs} per tool and step, fresh repository each run; medians",
    ]


def limit_section(limit, rates, results, image_bytes, cores, fastcdc_gbps):
    """The machine-limit estimate as lines, each step compared with the fastest tool."""
    out = []
    for step in STEPS:
        seconds, cpu, terms, disk, disk_terms = limit[step]

        def parts(ts):
            return " + ".join(f"{name} {nbytes / MiB:.0f} MiB @ {rate / 1e9:.2f} GB/s"
                              for name, nbytes, rate in ts)

        line = (f"{step}: >= {seconds:.2f} s ({image_bytes / 1e6 / seconds:.0f} MB/s) = the "
                f"larger of CPU {cpu:.2f} s = ({parts(terms)}) / {cores} cores")
        if disk_terms:
            line += f" and disk {disk:.2f} s = {parts(disk_terms)}"
        walls = [(_med([x.wall for x in results[t][step]]), t)
                 for t in results if results[t].get(step)]
        if walls:
            wall, tool = min(walls)
            line += f"; fastest measured: {tool} {wall:.2f} s, {wall / seconds:.1f}x the limit"
        # No tool can be faster than the limit, so against restic's median no tool
        # can be more than restic / limit times faster on this machine today.
        if seconds > 0 and results.get("restic", {}).get(step):
            restic = _med([x.wall for x in results["restic"][step]])
            line += (f"; the limit allows at most {restic / seconds:.2f}x restic's "
                     f"{restic:.2f} s")
        out.append(line)
    def r(key):
        return rates.get(key, 0) / 1e9

    fastcdc_line = (f"{fastcdc_gbps:.2f} GB/s (assumed)" if fastcdc_gbps is not None else
                    f"{r('fastcdc'):.2f} GB/s (coffer_bench BM_FastCdc, random data, per CPU-s)")

    out.append(
        f"rates, one thread: read {r('read'):.2f} GB/s (dd bs=1M, per CPU-s), BLAKE3 "
        f"{r('blake3'):.2f} GB/s (b3sum --num-threads 1, per CPU-s), zstd -b1 -B1MiB text "
        f"{r('zstd1_text'):.2f} GB/s (ratio {rates.get('text_ratio', 0):.2f}), random "
        f"{r('zstd1_random'):.2f} GB/s, FastCDC {fastcdc_line}, zstd -d text "
        f"{r('unzstd_text'):.2f} GB/s, "
        f"ChaCha20-Poly1305 {r('chacha20poly1305'):.2f} GB/s (openssl speed, 16 KiB), "
        f"page-cache write {r('write'):.2f} GB/s (dd bs=1M, per CPU-s); disk with O_DIRECT "
        f"(dd bs=1M, per wall second): write {r('disk_write'):.2f} GB/s, read "
        f"{r('disk_read'):.2f} GB/s, reading and writing together {r('disk_mixed'):.2f} GB/s")
    a = limit["_assumptions"]
    out.append(
        f"assumptions: zero runs cost only the read (no chunking, hashing or storing); "
        f"repeated data is hashed but not compressed or encrypted; random data costs "
        f"zstd on the 1/16 of it that Coffer samples (four 16 KiB samples a chunk of 1 MiB "
        f"on average) to find it incompressible; the key slot (Argon2id, one thread, "
        f"~50-100 ms) and start-up are left out; the second backup stores "
        f"{a['new_bytes_second_backup'] / MiB:.0f} MiB (the 1 MiB windows the mutation "
        f"touches); restore fetches each chunk once per use and leaves zeros as holes; the disk "
        f"bound assumes the step's input comes from the page cache (warmed by the script) "
        f"and its output is made durable: restic and borg leave their restored bytes in the "
        f"page cache, so the disk bound does not hold them")
    return out


def render(date, header, tool_lines, results, sizes, growth, image_bytes, limit_lines, notes):
    """Returns (plain text, Markdown) of the whole report."""
    steps, repo = build_tables(results, sizes, growth, image_bytes)
    text = header + [""] + tool_lines + ["", text_table(steps), "", text_table(repo)]
    md = [f"### bench/compare, {date:%Y-%m-%d}", ""] + [f"- {h}" for h in header + tool_lines]
    md += ["", markdown_table(steps), "", markdown_table(repo)]
    if limit_lines:
        text += ["", "machine limit:"] + ["  " + line for line in limit_lines]
        md += ["", "Machine limit:", ""] + [f"- {line}" for line in limit_lines]
    if notes:
        text += [""] + notes
        md += [""] + [f"- {n}" for n in notes]
    return "\n".join(text), "\n".join(md)
