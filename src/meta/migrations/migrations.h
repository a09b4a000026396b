// The metadata schema, as numbered migrations shared by SQLite and
// PostgreSQL, and the code that applies them when a store opens.
//
// Portability: the schema is written in the SQL both databases accept, with
// no per-dialect text at all:
//   - ids are UUIDs in TEXT columns, chosen by the store (no SERIAL vs
//     AUTOINCREMENT; a row's id is known before it is inserted, which the
//     secrets' associated data needs);
//   - integers are BIGINT (SQLite: integer affinity), times BIGINT
//     microseconds since the epoch (no TIMESTAMP semantics to reconcile);
//   - sealed secrets are TEXT (SecretBox's "1:<hex>" form), so there is no
//     BLOB vs BYTEA;
//   - enums are TEXT with CHECK constraints; "one running backup per volume"
//     is a partial unique index, which both support.
// If a future migration cannot avoid a difference, give Migration a second
// text for PostgreSQL rather than editing strings at run time.
//
// Applying (Migrate): schema_migrations(version, name, applied_at_us) records
// what has run. Each missing migration runs in its own transaction, which
// first inserts its schema_migrations row and then runs the DDL (both
// databases have transactional DDL). Two processes migrating at once
// serialise on that row (SQLite: the write lock; PostgreSQL: the unique
// index); the loser sees kAlreadyExists, rolls back and moves on. A database
// that records a version this binary does not know is refused, so an older
// manager never runs against a newer schema.
//
// Thread safety: Migrate may run concurrently in several processes.
#pragma once

#include <span>
#include <string_view>

#include "base/error.h"
#include "meta/sql/sql_db.h"

namespace coffer::meta {

struct Migration {
  int version;  // 1, 2, … in order, never reused
  std::string_view name;
  std::string_view sql;  // statements separated by ';', no parameters
};

// Coffer's migrations, in order. Append only: a released migration is never
// edited.
std::span<const Migration> Migrations();

// Applies the missing ones of `migrations` (which must be numbered 1..n).
// kConflict if the database records a version past n.
Status Migrate(sql::SqlDb& db, std::span<const Migration> migrations);

}  // namespace coffer::meta
