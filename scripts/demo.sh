#!/usr/bin/env bash
# The main job (`make demo`): a realistic ~1 GiB volume goes through
# init -> backup -> a clustered change of a few percent -> backup ->
# restore -> verify, with the bytes, the new data stored, the dedup ratio and
# the throughput of each step; then the service (scripts/demo_service.sh): a
# manager and an agent, one backup-restore cycle through the REST API. Everything lives in demo-data/ (or
# $COFFER_DEMO_DIR) and is made afresh on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

COFFER=${COFFER:-build/coffer}
MKIMAGE=${MKIMAGE:-build/coffer-mkimage}
DIR=${COFFER_DEMO_DIR:-demo-data}
SIZE=${COFFER_DEMO_SIZE:-1G}
export COFFER_PASSPHRASE=${COFFER_PASSPHRASE:-coffer-demo}

for bin in "$COFFER" "$MKIMAGE"; do
  [ -x "$bin" ] || { echo "demo: $bin is missing; run 'make build' first" >&2; exit 1; }
done

rm -rf "$DIR"
mkdir -p "$DIR"
IMG=$DIR/vm-disk.img
TARGET=$DIR/target
RESTORED=$DIR/vm-disk.restored.img

step() { printf '\n== %s\n' "$*"; }

report() { python3 scripts/demo_report.py "$1"; }

step "Creating a $SIZE sample volume (random, text, zeros, repeated regions)"
"$MKIMAGE" create --size "$SIZE" --seed 1 "$IMG"
ls -lh "$IMG" | awk '{print "   " $5 "  " $9}'

step "coffer init --target $TARGET"
"$COFFER" init --target "$TARGET"
echo "   passphrase: \$COFFER_PASSPHRASE (demo default: coffer-demo)"

step "coffer backup (first, full)"
FIRST=$("$COFFER" backup --target "$TARGET" --name vm-disk --json "$IMG")
echo "$FIRST" | report backup

step "Changing about 3 % of the volume in clustered regions"
"$MKIMAGE" mutate --percent 3 --seed 2 "$IMG"

step "coffer backup (second, incremental)"
SECOND=$("$COFFER" backup --target "$TARGET" --name vm-disk --json "$IMG")
echo "$SECOND" | report backup
SECOND_ID=$(echo "$SECOND" | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_id"])')

step "coffer ls"
"$COFFER" ls --target "$TARGET"

step "coffer restore $SECOND_ID"
"$COFFER" restore --target "$TARGET" --json "$SECOND_ID" "$RESTORED" | report restore

step "Verifying: the restored volume equals the source, byte for byte"
if cmp "$IMG" "$RESTORED"; then
  echo "   identical ($(stat -c %s "$RESTORED") bytes; $(du -h "$RESTORED" | cut -f1) allocated)"
else
  echo "   MISMATCH" >&2
  exit 1
fi

step "coffer check --read-data"
"$COFFER" check --target "$TARGET" --read-data | sed 's/^/   /'
printf '\nCLI demo finished. The target is in %s; try: %s ls --target %s\n' "$DIR" "$COFFER" "$TARGET"

# The same volume through the service: manager, agent, REST API.
COFFER=$COFFER bash scripts/demo_service.sh "$DIR" "$IMG"
