// SqlDb: the small driver interface that lets one implementation of the
// metadata store (sql_meta_store.h) and one set of migrations run on SQLite
// and on PostgreSQL. A driver (meta/sqlite, meta/postgres) knows how to run
// a parameterised statement, a transaction and the leader lock; every query
// is written once, in the SQL both databases accept.
//
// Statements are parameterised, never built from values: placeholders are
// PostgreSQL's $1, $2, … (SQLite binds them by name, so a number may appear
// more than once and in any order). Parameters are NULL, a 64-bit integer or
// text; results come back as text cells (NULL as nullopt), which RowReader
// turns into values.
//
// Driver errors map to codes the store can act on: a unique violation is
// kAlreadyExists, a foreign-key violation kConflict, a CHECK or NOT NULL
// violation kInvalidArgument, busy / locked / serialisation failures and
// lost connections kUnavailable, anything else kInternal.
//
// Thread safety: SqlDb::Transact may be called from any number of threads;
// a SqlConn belongs to the transaction it was handed to.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"
#include "meta/meta_store.h"

namespace coffer::meta::sql {

using SqlParam = std::variant<std::monostate, int64_t, std::string_view>;  // monostate: NULL
using SqlCell = std::optional<std::string>;
using SqlRow = std::vector<SqlCell>;

struct SqlResult {
  std::vector<SqlRow> rows;
  int64_t affected = 0;  // rows changed by INSERT / UPDATE / DELETE
};

class SqlConn {
 public:
  virtual ~SqlConn() = default;
  // One statement with parameters $1..$n.
  virtual Result<SqlResult> Exec(std::string_view sql, std::initializer_list<SqlParam> params) = 0;
  // Parameterless statements separated by ';' (migrations' DDL). Never
  // called with text that holds values.
  virtual Status ExecScript(std::string_view sql) = 0;
};

enum class TxKind {
  kRead,   // reads only
  kWrite,  // SQLite: BEGIN IMMEDIATE, so the write lock is taken up front
};

class SqlDb {
 public:
  virtual ~SqlDb() = default;
  virtual std::string_view backend() const = 0;  // "sqlite" | "postgresql"
  // Runs `fn` in a transaction: commits if it succeeds, rolls back if it
  // fails (and returns its error). A driver may run `fn` again, in a fresh
  // transaction, after a transient failure before the commit.
  virtual Status Transact(TxKind kind, const std::function<Status(SqlConn&)>& fn) = 0;
  virtual Result<std::unique_ptr<LeaderLock>> NewLeaderLock() = 0;
};

// Reads a row's cells in order: r.Text(), r.Int(), … then r.ok().
class RowReader {
 public:
  explicit RowReader(const SqlRow& row) : row_(row) {}
  std::string Text() {
    const SqlCell* c = Next();
    return c && *c ? **c : std::string();
  }
  std::optional<std::string> OptText() {
    const SqlCell* c = Next();
    return c ? *c : std::nullopt;
  }
  int64_t Int() {
    auto v = OptInt();
    if (!v) ok_ = false;
    return v.value_or(0);
  }
  std::optional<int64_t> OptInt() {
    const SqlCell* c = Next();
    if (!c || !*c) return std::nullopt;
    int64_t v = 0;
    const std::string& s = **c;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
      ok_ = false;
      return std::nullopt;
    }
    return v;
  }
  // False if a cell was missing or an integer did not parse.
  bool ok() const { return ok_; }

 private:
  const SqlCell* Next() {
    if (i_ >= row_.size()) {
      ok_ = false;
      return nullptr;
    }
    return &row_[i_++];
  }
  const SqlRow& row_;
  size_t i_ = 0;
  bool ok_ = true;
};

// Transact for a function that returns a value.
template <typename T>
Result<T> TransactValue(SqlDb& db, TxKind kind, const std::function<Result<T>(SqlConn&)>& fn) {
  std::optional<T> out;
  Status st = db.Transact(kind, [&](SqlConn& c) -> Status {
    auto r = fn(c);
    if (!r) return std::unexpected(r.error());
    out = std::move(*r);
    return {};
  });
  if (!st) return std::unexpected(st.error());
  return std::move(*out);
}

// A statement's outcome as a Status.
// One condition of a list's WHERE for the optional filter in parameter $n:
// "column = $n" when the filter is set, else "$n IS NULL" (true, and no OR
// to hide the column from the planner: a query written "($n IS NULL OR
// column = $n)" reads the whole table on SQLite even when it could use an
// index, which made a page of 100 backups out of 100,000 take 600 ms).
// CAST: PostgreSQL cannot tell a parameter's type from IS NULL alone.
inline std::string FilterOn(bool set, std::string_view column, int n) {
  const std::string param = "CAST($" + std::to_string(n) + " AS TEXT)";
  return set ? std::string(column) + " = " + param : param + " IS NULL";
}

inline Status Done(const Result<SqlResult>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

// Whether a query returned any row.
inline Result<bool> Exists(SqlConn& c, std::string_view sql,
                           std::initializer_list<SqlParam> params) {
  COFFER_ASSIGN_OR_RETURN(auto res, c.Exec(sql, params));
  return !res.rows.empty();
}

// The single integer a query returns (count(*), …).
inline Result<int64_t> QueryInt(SqlConn& c, std::string_view sql,
                                std::initializer_list<SqlParam> params) {
  COFFER_ASSIGN_OR_RETURN(auto res, c.Exec(sql, params));
  if (res.rows.size() != 1) return Internal("expected one row from: " + std::string(sql));
  RowReader r(res.rows[0]);
  int64_t v = r.Int();
  if (!r.ok()) return Internal("expected an integer from: " + std::string(sql));
  return v;
}

// Opens the database at `url` (see OpenMetaStore) without migrating it. The
// store uses it, and tests use it to look at raw rows.
Result<std::unique_ptr<SqlDb>> OpenSqlDb(std::string_view url, const MetaStoreOptions& options);

}  // namespace coffer::meta::sql
