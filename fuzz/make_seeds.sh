#!/usr/bin/env bash
# Makes the seeds of the fuzz targets that read a target's objects and the
# local caches (fuzz/corpus/{chunk_object,manifest,manifest_parts,
# config_object,key_slot,gc_generation,known_chunks_cache,summary_cache}/
# real-*) from a real target: `coffer init` with small chunks, two backups
# of an image changed in between, `coffer forget` of the first and a
# `coffer gc` (the gc object), a third backup (a parent, a cache rebuilt at
# generation 1), then fuzz_seed_dump.
# The hand-written seeds beside them are kept.
#
#   fuzz/make_seeds.sh [COFFER [FUZZ_SEED_DUMP]]
# (defaults: build/coffer and build-fuzz/fuzz/fuzz_seed_dump)
set -euo pipefail
cd "$(dirname "$0")/.."
coffer=$(realpath "${1:-build/coffer}")
dump=$(realpath "${2:-build-fuzz/fuzz/fuzz_seed_dump}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export COFFER_PASSPHRASE="coffer fuzz seeds"

# 192 KiB: text-like bytes (compressible), a zero run, random bytes.
python3 - "$work/disk.img" <<'PY'
import random, sys
r = random.Random(17)
words = [b"coffer", b"chunk", b"manifest", b"target", b"volume", b"backup"]
text = b" ".join(r.choice(words) for _ in range(12000))[:64 * 1024]
data = text + bytes(64 * 1024) + bytes(r.getrandbits(8) for _ in range(64 * 1024))
open(sys.argv[1], "wb").write(data)
PY

"$coffer" init --target "$work/target" --chunk-min 4K --chunk-avg 16K --chunk-max 64K \
  --segment 0 >/dev/null
backup() {  # prints the backup's id
  "$coffer" backup --target "$work/target" --cache-dir "$work/cache" --name seed --json \
    "$work/disk.img" | python3 -c 'import json, sys; print(json.load(sys.stdin)["backup_id"])'
}
change() { printf '%s' "$1" | dd of="$work/disk.img" bs=1 seek="$2" conv=notrunc status=none; }
first=$(backup)
change first 70000
backup >/dev/null
# Forgetting the first backup leaves chunks for gc to sweep: it raises the
# GC generation (the gc object), and the next backup's cache is rebuilt at
# generation 1.
"$coffer" forget --target "$work/target" "$first" >/dev/null
"$coffer" gc --target "$work/target" --grace 0 >/dev/null
change second 140000
backup >/dev/null

rm -f fuzz/corpus/*/real-*
"$dump" "$work/target" "$work/cache" fuzz/corpus
