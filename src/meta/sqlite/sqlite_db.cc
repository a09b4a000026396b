#include "meta/sqlite/sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace coffer::meta::sql {
namespace {

Error SqliteError(int code, std::string_view what, std::string_view detail) {
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  msg += detail;
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error(ErrorCode::kAlreadyExists, msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error(ErrorCode::kConflict, msg);
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return Error(ErrorCode::kInvalidArgument, msg);
  }
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::kUnavailable, msg);
    case SQLITE_FULL:
      // The disk under the database is full: unavailable (503) until an
      // operator makes room, not the caller's quota.
      return Error(ErrorCode::kUnavailable, msg + " (the metadata database's disk is full)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error(ErrorCode::kCorruption, msg);
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      return Error(ErrorCode::kPermissionDenied, msg);
  }
  return Error(ErrorCode::kInternal, msg);
}

Error DbError(sqlite3* db, std::string_view what) {
  return SqliteError(sqlite3_extended_errcode(db), what, sqlite3_errmsg(db));
}

class SqliteConn final : public SqlConn {
 public:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  ~SqliteConn() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  sqlite3* raw() const { return db_; }

  Result<SqlResult> Exec(std::string_view sql, std::initializer_list<SqlParam> params) override {
    COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    // The bindings point into `params`; they are cleared before returning so
    // the cached statement never holds a dangling pointer.
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    if (sqlite3_bind_parameter_count(stmt) != int(params.size())) {
      return Internal("sqlite: statement takes " +
                      std::to_string(sqlite3_bind_parameter_count(stmt)) + " parameters, given " +
                      std::to_string(params.size()) + ": " + std::string(sql));
    }
    int n = 0;
    for (const SqlParam& p : params) {
      ++n;
      // "$N" is a named parameter to SQLite: bind by name, so the same
      // number may appear several times and in any order, as in PostgreSQL.
      std::string name = "$" + std::to_string(n);
      int idx = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (idx == 0) return Internal("sqlite: statement has no " + name + ": " + std::string(sql));
      int rc = SQLITE_OK;
      if (const auto* i = std::get_if<int64_t>(&p)) {
        rc = sqlite3_bind_int64(stmt, idx, *i);
      } else if (const auto* s = std::get_if<std::string_view>(&p)) {
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) return std::unexpected(DbError(db_, "binding " + name));
    }
    SqlResult out;
    const int columns = sqlite3_column_count(stmt);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return std::unexpected(DbError(db_, "executing statement"));
      SqlRow row(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) continue;
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row[size_t(c)] = std::string(text, size_t(sqlite3_column_bytes(stmt, c)));
      }
      out.rows.push_back(std::move(row));
    }
    out.affected = sqlite3_changes64(db_);
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return {};
    std::string detail = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return std::unexpected(SqliteError(sqlite3_extended_errcode(db_), "executing script", detail));
  }

 private:
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, key.data(), int(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) return std::unexpected(DbError(db_, "preparing " + key));
    if (stmt == nullptr) return Internal("sqlite: empty statement");
    cache_.emplace(std::move(key), stmt);
    return stmt;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// One holder of "<database>-leader" at a time, across processes and within
// one (flock locks belong to the open file description).
class SqliteLeaderLock final : public LeaderLock {
 public:
  explicit SqliteLeaderLock(std::string path) : path_(std::move(path)) {}
  ~SqliteLeaderLock() override { Release(); }

  Result<bool> TryAcquire() override {
    if (fd_ >= 0) return true;
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return std::unexpected(ErrnoError(errno, path_));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return false;
      return std::unexpected(ErrnoError(err, path_));
    }
    fd_ = fd;
    return true;
  }
  Result<bool> StillHeld() override { return fd_ >= 0; }
  void Release() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

class SqliteDb final : public SqlDb {
 public:
  SqliteDb(std::string path, sqlite3* db) : path_(std::move(path)), conn_(db) {}

  std::string_view backend() const override { return "sqlite"; }

  Status Transact(TxKind kind, const std::function<Status(SqlConn&)>& fn) override {
    std::lock_guard lock(mu_);
    COFFER_RETURN_IF_ERROR(conn_.ExecScript(kind == TxKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
    Status st = fn(conn_);
    if (st) st = conn_.ExecScript("COMMIT");
    if (!st && sqlite3_get_autocommit(conn_.raw()) == 0) (void)conn_.ExecScript("ROLLBACK");
    return st;
  }

  Result<std::unique_ptr<LeaderLock>> NewLeaderLock() override {
    return std::make_unique<SqliteLeaderLock>(path_ + "-leader");
  }

 private:
  std::string path_;
  std::mutex mu_;
  SqliteConn conn_;
};

}  // namespace

Result<std::unique_ptr<SqlDb>> OpenSqliteDb(const std::filesystem::path& path,
                                            std::chrono::milliseconds busy_timeout) {
  const std::string p = path.string();
  // Create the file private before SQLite does (it would follow the umask);
  // the -wal and -shm files take its permissions.
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "metadata database " + p));
  ::close(fd);

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      p.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(rc, "opening " + p, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return std::unexpected(e);
  }
  auto sdb = std::make_unique<SqliteDb>(p, db);  // owns db from here on
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, int(busy_timeout.count()));
  // Foreign keys are off by default in SQLite. FULL: a committed transaction
  // survives a power cut (in WAL mode NORMAL only survives a crash). These
  // cannot run inside a transaction, so they go to the bare connection.
  for (const char* pragma : {"PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL"}) {
    if (sqlite3_exec(db, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return std::unexpected(DbError(db, std::string(pragma) + " on " + p));
    }
  }
  // WAL: readers do not block the writer, and other processes can read
  // while the manager writes. Two connections switching a new database at
  // once can get SQLITE_BUSY at once, without the busy handler (SQLite
  // refuses to wait where both would wait for each other), so a busy
  // switch is tried again until the busy timeout has passed.
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (;;) {
    sqlite3_stmt* stmt = nullptr;
    std::string mode;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    if (mode == "wal") break;
    const bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
    if (!busy || std::chrono::steady_clock::now() >= deadline) {
      return std::unexpected(DbError(db, "switching " + p + " to WAL mode"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::unique_ptr<SqlDb>(std::move(sdb));
}

}  // namespace coffer::meta::sql
