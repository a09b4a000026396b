#!/usr/bin/env bash
# The service half of `make demo` (DESIGN §10): `coffer manager` on SQLite and
# one `coffer agent`, both on 127.0.0.1 with their embedded defaults, a local
# target, and one backup-restore cycle of the demo's volume driven through the
# REST API with curl. Then, when standard input is a terminal, the manager keeps
# running (URL and admin token printed) until Ctrl-C; otherwise the demo ends.
# Both services are stopped cleanly (SIGTERM) on the way out.
#
# Usage: demo_service.sh DIR IMAGE   (DIR: the demo's data directory; IMAGE
# inside it). Ports: COFFER_DEMO_MANAGER_PORT (8080), COFFER_DEMO_AGENT_PORT (8081).
set -euo pipefail
cd "$(dirname "$0")/.."

COFFER=${COFFER:-build/coffer}
DIR=$1
IMG=$2
MANAGER_PORT=${COFFER_DEMO_MANAGER_PORT:-8080}
AGENT_PORT=${COFFER_DEMO_AGENT_PORT:-8081}
URL=http://127.0.0.1:$MANAGER_PORT
SVC=$DIR/service
RESTORED=$DIR/vm-disk.api-restored.img

step() { printf '\n== %s\n' "$*"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }

for port in "$MANAGER_PORT" "$AGENT_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is taken; set COFFER_DEMO_MANAGER_PORT / COFFER_DEMO_AGENT_PORT" >&2
    exit 1
  fi
done

rm -rf "$SVC" "$RESTORED"
mkdir -p "$SVC"
AGENT_PID="" MANAGER_PID=""
stop() {
  # SIGTERM: both stop cleanly (the agent cancels its jobs, the manager its
  # loops); polled rather than `wait`ed, which a signal can cut short.
  for pid in $MANAGER_PID $AGENT_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $MANAGER_PID $AGENT_PID; do
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  AGENT_PID="" MANAGER_PID=""
}
trap stop EXIT
# Ctrl-C reaches this script only: background commands of a script ignore
# SIGINT, so the services stop through stop() above.
trap 'printf "\nstopping the manager and the agent\n"; exit 0' INT TERM

wait_up() {  # URL [TOKEN]
  for _ in $(seq 1 200); do
    curl -fsS ${2:+-H "Authorization: Bearer $2"} "$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "demo: $1 did not come up; see $SVC/*.log" >&2
  exit 1
}

step "coffer agent --listen 127.0.0.1:$AGENT_PORT (volumes under $DIR)"
AGENT_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
(umask 077 && echo "$AGENT_TOKEN" > "$SVC/agent.token")
"$COFFER" agent --listen "127.0.0.1:$AGENT_PORT" --token-file "$SVC/agent.token" \
  --volume-root "$DIR" >"$SVC/agent.log" 2>&1 &
AGENT_PID=$!
wait_up "http://127.0.0.1:$AGENT_PORT" "$AGENT_TOKEN"

step "coffer manager --data-dir $SVC/manager --listen 127.0.0.1:$MANAGER_PORT (SQLite)"
# The admin token is made at the first start and printed once, on stderr.
env -u COFFER_ADMIN_TOKEN "$COFFER" manager --data-dir "$SVC/manager" \
  --listen "127.0.0.1:$MANAGER_PORT" >"$SVC/manager.log" 2>&1 &
MANAGER_PID=$!
wait_up "$URL"
TOKEN=$(sed -n 's/^admin token: //p' "$SVC/manager.log" | head -1)
[ -n "$TOKEN" ] || { echo "demo: the manager printed no admin token" >&2; exit 1; }
echo "   $URL  (admin token in $SVC/manager.log)"

api() {  # METHOD PATH [JSON]; an error answer goes to stderr and fails
  local out body=${3:-}
  # A POST without a body still sends one: without Content-Length the server
  # would wait for a body until its read timeout.
  [ "$1" = POST ] && [ -z "$body" ] && body='{}'
  if ! out=$(curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' ${body:+--data "$body"} "$URL$2"); then
    echo "demo: $1 $2: $out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

step "Registering the agent, a local target and the volume"
AGENT_ID=$(api POST /v1/agents "{\"name\": \"local\", \"url\": \"http://127.0.0.1:$AGENT_PORT\",
  \"token\": \"$AGENT_TOKEN\"}" | json '["id"]')
TARGET_ID=$(api POST /v1/backup_targets "{\"name\": \"local\",
  \"address\": \"$(realpath "$SVC")/target\", \"passphrase\": \"$COFFER_PASSPHRASE\"}" |
  json '["id"]')
VOLUME_ID=$(api POST /v1/volumes "{\"name\": \"vm-disk\", \"agent_id\": \"$AGENT_ID\",
  \"backend\": \"file\", \"locator\": \"$(realpath "$IMG")\"}" | json '["id"]')
api PATCH "/v1/volumes/$VOLUME_ID/backup_schedule" "{\"backup_target_id\": \"$TARGET_ID\",
  \"backup_cron\": \"0 3 * * *\", \"backup_retain_count\": 7}" |
  json '["next_backup_runs"][0]' | sed 's/^/   scheduled daily at 03:00 UTC, next run /'
echo "   agent $AGENT_ID, target $TARGET_ID, volume $VOLUME_ID"

step "POST /v1/volumes/$VOLUME_ID/backup"
BACKUP_ID=$(api POST "/v1/volumes/$VOLUME_ID/backup" | json '["id"]')
while :; do
  B=$(api GET "/v1/backups/$BACKUP_ID")
  [ "$(echo "$B" | json '["status"]')" != running ] && break
  echo "$B" | python3 -c 'import json,sys
p = json.load(sys.stdin)["progress"] or {}
done, total = p.get("done_bytes", 0) / 1e6, p.get("total_bytes", 0) / 1e6
print(f"\r   {done:8.1f} of {total:.1f} MB", end="")'
  sleep 0.5
done
echo
# An agent that does not take the manager's backup id stores the backup under
# its own; the manager records it there and points to it (docs/API.md).
STORED_AS=$(echo "$B" | python3 -c 'import json,sys
e = json.load(sys.stdin).get("error") or ""
p = "the agent stored this backup as "
print(e[len(p):len(p) + 36] if e.startswith(p) else "")')
if [ -n "$STORED_AS" ]; then
  echo "   (the agent stored it as backup $STORED_AS)"
  BACKUP_ID=$STORED_AS
  B=$(api GET "/v1/backups/$BACKUP_ID")
fi
[ "$(echo "$B" | json '["status"]')" = completed ] || { echo "demo: backup failed: $B" >&2; exit 1; }
echo "$B" | python3 scripts/demo_report.py api-backup

step "POST /v1/backups/$BACKUP_ID/restore (into a new volume)"
RESTORE_ID=$(api POST "/v1/backups/$BACKUP_ID/restore" "{\"name\": \"vm-disk-restored\",
  \"agent_id\": \"$AGENT_ID\", \"backend\": \"file\", \"locator\": \"$(realpath "$DIR")/$(basename "$RESTORED")\"}" |
  json '["restore"]["id"]')
while :; do
  R=$(api GET "/v1/restores/$RESTORE_ID")
  [ "$(echo "$R" | json '["state"]')" != running ] && break
  sleep 0.5
done
[ "$(echo "$R" | json '["state"]')" = completed ] || { echo "demo: restore failed: $R" >&2; exit 1; }
echo "$R" | python3 scripts/demo_report.py api-restore

step "Verifying: the volume restored through the API equals the source"
if cmp "$IMG" "$RESTORED"; then
  echo "   identical ($(stat -c %s "$RESTORED") bytes)"
else
  echo "   MISMATCH" >&2
  exit 1
fi
api GET /metrics | grep -E '^coffer_(backups|backup_bytes)\{' | sed 's/^/   /'

if [ -t 0 ]; then
  printf '\nThe manager is running: %s\n  admin token: %s\n  try: curl -H "Authorization: Bearer %s" %s/v1/backups\nPress Ctrl-C to stop.\n' \
    "$URL" "$TOKEN" "$TOKEN" "$URL"
  while kill -0 "$MANAGER_PID" 2>/dev/null; do sleep 1; done
  MANAGER_PID=""
else
  printf '\nService demo finished (standard input is not a terminal: not keeping the manager).\n'
fi
