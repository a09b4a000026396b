#include "meta/migrations/migrations.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/text.h"

namespace coffer::meta {
namespace {

// Version 1: everything DESIGN §4–§5 names. Times are *_us (microseconds
// since the epoch), sealed secrets *_sealed (SecretBox text).
constexpr std::string_view kInitial = R"sql(
CREATE TABLE agent (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  url           TEXT NOT NULL,
  token_sealed  TEXT NOT NULL,
  created_at_us BIGINT NOT NULL
);

CREATE TABLE backup_target (
  id                          TEXT PRIMARY KEY,
  name                        TEXT NOT NULL UNIQUE,
  address                     TEXT NOT NULL,
  s3_endpoint                 TEXT NOT NULL DEFAULT '',
  s3_region                   TEXT NOT NULL DEFAULT '',
  s3_access_key_id            TEXT NOT NULL DEFAULT '',
  s3_secret_access_key_sealed TEXT,
  target_key_sealed           TEXT NOT NULL,
  gc_hour                     BIGINT NOT NULL CHECK (gc_hour BETWEEN 0 AND 23),
  gc_grace_seconds            BIGINT NOT NULL CHECK (gc_grace_seconds >= 0),
  lease_seq                   BIGINT NOT NULL DEFAULT 0,
  created_at_us               BIGINT NOT NULL,
  updated_at_us               BIGINT NOT NULL
);

CREATE TABLE volume (
  id                   TEXT PRIMARY KEY,
  name                 TEXT NOT NULL UNIQUE,
  agent_id             TEXT NOT NULL REFERENCES agent (id),
  backend              TEXT NOT NULL CHECK (backend IN ('file', 'iscsi', 'nbd')),
  locator              TEXT NOT NULL,
  size_bytes           BIGINT NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
  backup_target_id     TEXT REFERENCES backup_target (id),
  backup_cron          TEXT NOT NULL DEFAULT '',
  backup_retain_count  BIGINT NOT NULL DEFAULT 0 CHECK (backup_retain_count >= 0),
  pre_backup_command   TEXT NOT NULL DEFAULT '',
  post_backup_command  TEXT NOT NULL DEFAULT '',
  hook_timeout_seconds BIGINT NOT NULL DEFAULT 300 CHECK (hook_timeout_seconds > 0),
  created_at_us        BIGINT NOT NULL
);
CREATE INDEX volume_agent ON volume (agent_id);
CREATE INDEX volume_backup_target ON volume (backup_target_id);

CREATE TABLE backup (
  id              TEXT PRIMARY KEY,
  volume_id       TEXT NOT NULL REFERENCES volume (id),
  target_id       TEXT NOT NULL REFERENCES backup_target (id),
  status          TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  attempt         BIGINT NOT NULL DEFAULT 1,
  agent_job_id    TEXT NOT NULL DEFAULT '',
  logical_bytes   BIGINT NOT NULL DEFAULT 0,
  zero_bytes      BIGINT NOT NULL DEFAULT 0,
  new_bytes       BIGINT NOT NULL DEFAULT 0,
  stored_bytes    BIGINT NOT NULL DEFAULT 0,
  chunks          BIGINT NOT NULL DEFAULT 0,
  new_chunks      BIGINT NOT NULL DEFAULT 0,
  started_at_us   BIGINT NOT NULL,
  heartbeat_at_us BIGINT NOT NULL,
  finished_at_us  BIGINT,
  duration_ms     BIGINT NOT NULL DEFAULT 0,
  error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_volume_started ON backup (volume_id, started_at_us);
CREATE INDEX backup_target_status ON backup (target_id, status);
CREATE INDEX backup_status_heartbeat ON backup (status, heartbeat_at_us);
-- Never two runs of one volume at once (DESIGN §4), whatever the callers do.
CREATE UNIQUE INDEX backup_one_running_per_volume ON backup (volume_id)
  WHERE status = 'running';

CREATE TABLE backup_gc_run (
  id             TEXT PRIMARY KEY,
  target_id      TEXT NOT NULL REFERENCES backup_target (id) ON DELETE CASCADE,
  status         TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  started_at_us  BIGINT NOT NULL,
  finished_at_us BIGINT,
  chunks_deleted BIGINT NOT NULL DEFAULT 0,
  bytes_deleted  BIGINT NOT NULL DEFAULT 0,
  error          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_gc_run_target_started ON backup_gc_run (target_id, started_at_us);

-- DESIGN §5: per-target leases. Rows whose expires_at_us has passed are dead
-- and are removed by the next acquisition on the target.
CREATE TABLE target_lease (
  target_id      TEXT NOT NULL REFERENCES backup_target (id) ON DELETE CASCADE,
  holder         TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('backup', 'gc')),
  acquired_at_us BIGINT NOT NULL,
  expires_at_us  BIGINT NOT NULL,
  PRIMARY KEY (target_id, holder)
);

CREATE TABLE api_token (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  token_hash    TEXT NOT NULL UNIQUE,
  created_at_us BIGINT NOT NULL
);
)sql";

// Version 2: restores as rows, so that one survives a manager restart and
// every replica sees it. backup_id is not a reference: a restore's record
// outlives the backup it read.
constexpr std::string_view kRestores = R"sql(
CREATE TABLE restore (
  id              TEXT PRIMARY KEY,
  backup_id       TEXT NOT NULL,
  volume_id       TEXT NOT NULL REFERENCES volume (id),
  agent_id        TEXT NOT NULL REFERENCES agent (id),
  agent_job_id    TEXT NOT NULL DEFAULT '',
  state           TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
  total_bytes     BIGINT NOT NULL DEFAULT 0,
  done_bytes      BIGINT NOT NULL DEFAULT 0,
  result          TEXT NOT NULL DEFAULT '',
  error           TEXT NOT NULL DEFAULT '',
  started_at_us   BIGINT NOT NULL,
  heartbeat_at_us BIGINT NOT NULL,
  finished_at_us  BIGINT
);
CREATE INDEX restore_volume_started ON restore (volume_id, started_at_us);
CREATE INDEX restore_state ON restore (state);
)sql";

// Version 3: indexes in the order the lists read, so that a page of the
// newest backups or restores, of all volumes or of one, reads that page and
// not the table (bench/api_latency.py: 100,000 backups).
constexpr std::string_view kListOrder = R"sql(
CREATE INDEX backup_started ON backup (started_at_us, id);
CREATE INDEX backup_volume_started_id ON backup (volume_id, started_at_us, id);
DROP INDEX backup_volume_started;
CREATE INDEX restore_started ON restore (started_at_us, id);
CREATE INDEX restore_volume_started_id ON restore (volume_id, started_at_us, id);
DROP INDEX restore_volume_started;
)sql";

constexpr Migration kMigrations[] = {
    {1, "initial schema", kInitial},
    {2, "restores", kRestores},
    {3, "list order", kListOrder},
};

// The advisory lock key under which PostgreSQL sessions migrate one at a
// time: "Coffer" 0x0002 (leadership is 0x0001, pg_db.cc).
constexpr int64_t kMigrationLockKey = 0x436f666665720002;

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at_us BIGINT NOT NULL)";

Result<std::vector<int64_t>> AppliedVersions(sql::SqlDb& db) {
  return sql::TransactValue<std::vector<int64_t>>(
      db, sql::TxKind::kRead, [](sql::SqlConn& c) -> Result<std::vector<int64_t>> {
        COFFER_ASSIGN_OR_RETURN(
            auto res, c.Exec("SELECT version FROM schema_migrations ORDER BY version", {}));
        std::vector<int64_t> versions;
        for (const auto& row : res.rows) {
          sql::RowReader r(row);
          versions.push_back(r.Int());
          if (!r.ok()) return Corruption("schema_migrations holds a malformed version");
        }
        return versions;
      });
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

Status Migrate(sql::SqlDb& db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != int(i) + 1) {
      return Internal("migration " + std::string(migrations[i].name) + " is numbered " +
                      std::to_string(migrations[i].version) + ", expected " +
                      std::to_string(i + 1));
    }
  }
  // Two PostgreSQL sessions creating the same table at once collide in the
  // catalogue even with IF NOT EXISTS (duplicate type, SQLSTATE 42710), so
  // managers opening one database at once take turns: a transaction-scoped
  // advisory lock, released at commit. SQLite's BEGIN IMMEDIATE already
  // serializes them.
  const bool postgres = db.backend() == "postgresql";
  auto take_turns = [postgres](sql::SqlConn& c) -> Status {
    if (!postgres) return {};
    return sql::Done(c.Exec("SELECT pg_advisory_xact_lock($1::bigint)", {kMigrationLockKey}));
  };
  Status created = db.Transact(sql::TxKind::kWrite, [&](sql::SqlConn& c) -> Status {
    COFFER_RETURN_IF_ERROR(take_turns(c));
    return c.ExecScript(kCreateMigrationsTable);
  });
  COFFER_RETURN_IF_ERROR(AddContext(created, "creating schema_migrations"));

  COFFER_ASSIGN_OR_RETURN(auto applied, AppliedVersions(db));
  if (!applied.empty() && applied.back() > int64_t(migrations.size())) {
    return Conflict("the metadata database has schema version " + std::to_string(applied.back()) +
                    " but this coffer knows only up to " + std::to_string(migrations.size()) +
                    "; run a newer coffer");
  }
  for (const Migration& m : migrations) {
    if (std::find(applied.begin(), applied.end(), m.version) != applied.end()) continue;
    bool raced = false;  // another process applied it while we waited for the lock
    Status st = db.Transact(sql::TxKind::kWrite, [&](sql::SqlConn& c) -> Status {
      raced = false;
      COFFER_RETURN_IF_ERROR(take_turns(c));
      auto row =
          c.Exec("INSERT INTO schema_migrations (version, name, applied_at_us) VALUES ($1, $2, $3)",
                 {int64_t(m.version), m.name, UnixNowMicros()});
      if (!row) {
        raced = row.error().code() == ErrorCode::kAlreadyExists;
        return std::unexpected(row.error());
      }
      return c.ExecScript(m.sql);
    });
    if (!st && !raced) {
      return std::unexpected(st.error().WithContext(
          "applying migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")"));
    }
  }
  return {};
}

}  // namespace coffer::meta
