#include "meta/postgres/pg_db.h"

#include <libpq-fe.h>

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "base/shared_library.h"

namespace coffer::meta::sql {
namespace {

// The libpq functions this file calls, bound on first use: the library
// is loaded then, not at start-up (base/shared_library.h says why), by the
// soname of the one these headers came with (cmake/LoadedLibrary.cmake).
// clang-format off
#define COFFER_PQ_FUNCTIONS(X) \
  X(PQclear)                   \
  X(PQcmdTuples)               \
  X(PQconnectdbParams)         \
  X(PQerrorMessage)            \
  X(PQexec)                    \
  X(PQexecParams)              \
  X(PQfinish)                  \
  X(PQgetisnull)               \
  X(PQgetlength)               \
  X(PQgetvalue)                \
  X(PQnfields)                 \
  X(PQntuples)                 \
  X(PQresultErrorField)        \
  X(PQresultStatus)            \
  X(PQsetNoticeProcessor)      \
  X(PQstatus)                  \
  X(PQtransactionStatus)
// clang-format on

COFFER_LIBRARY_FUNCTIONS(Pq, COFFER_PQ_FUNCTIONS);

LibraryTable<Pq> libpq(COFFER_LIBPQ_SONAME, COFFER_LIBPQ_PACKAGE, "PostgreSQL metadata databases");

// The advisory lock key of manager leadership: 0x436f666665720001, "Coffer"
// followed by 0001. Advisory locks are per database, so managers sharing a
// database elect one leader and managers of different databases do not meet.
constexpr std::string_view kLeaderLockKey = "4859215112930721793";

// Maps a failed result (or a failed connection, res == nullptr) to an Error.
Error PgError(PGconn* conn, const PGresult* res, std::string_view what) {
  std::string msg = "postgresql: ";
  msg += what;
  msg += ": ";
  const char* state = res ? libpq->PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res ? libpq->PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string detail = primary ? primary : libpq->PQerrorMessage(conn);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  msg += detail;
  if (state) {
    msg += " (SQLSTATE ";
    msg += state;
    msg += ")";
  }
  std::string_view s = state ? state : "";
  ErrorCode code = ErrorCode::kInternal;
  if (libpq->PQstatus(conn) != CONNECTION_OK || s.starts_with("08") || s == "57P01" ||
      s == "57P02" || s == "57P03") {
    code = ErrorCode::kUnavailable;  // connection lost, server shutting down or starting
  } else if (s == "23505") {
    code = ErrorCode::kAlreadyExists;
  } else if (s == "23503") {
    code = ErrorCode::kConflict;
  } else if (s == "23514" || s == "23502" || s == "22P02" || s == "22003") {
    code = ErrorCode::kInvalidArgument;
  } else if (s == "40001" || s == "40P01" || s == "55P03" || s == "57014") {
    code = ErrorCode::kUnavailable;  // serialisation, deadlock, lock or statement timeout
  } else if (s.starts_with("53")) {
    // Disk full, out of memory, too many connections: the database cannot
    // now, and may once an operator acts — unavailable (503), not the
    // caller's quota.
    code = ErrorCode::kUnavailable;
  } else if (s == "28P01" || s == "28000") {
    code = ErrorCode::kAuthFailed;
  } else if (s == "42501") {
    code = ErrorCode::kPermissionDenied;
  }
  return Error(code, msg);
}

struct ResultDeleter {
  void operator()(PGresult* r) const { libpq->PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

void IgnoreNotice(void*, const char*) {}  // "relation already exists, skipping" and the like

Result<PGconn*> Connect(const std::string& url) {
  COFFER_RETURN_IF_ERROR(libpq.Load());
  // Defaults the URI may override (later keywords win): a bounded connect,
  // and TCP keepalives plus a user timeout, so a dead server or network is
  // noticed in about a minute instead of hanging a transaction (or a
  // leader's StillHeld) for the kernel's default of many minutes.
  const char* keys[] = {"connect_timeout",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "dbname",
                        nullptr};
  const char* values[] = {"10", "30", "10", "3", "60000", url.c_str(), nullptr};
  PGconn* conn = libpq->PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return ResourceExhausted("postgresql: out of memory connecting");
  if (libpq->PQstatus(conn) != CONNECTION_OK) {
    Error e = PgError(conn, nullptr, "connecting");
    libpq->PQfinish(conn);
    return std::unexpected(e);
  }
  libpq->PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return conn;
}

class PgConn final : public SqlConn {
 public:
  explicit PgConn(PGconn* conn) : conn_(conn) {}

  Result<SqlResult> Exec(std::string_view sql, std::initializer_list<SqlParam> params) override {
    std::vector<std::string> storage;
    storage.reserve(params.size());
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const SqlParam& p : params) {
      if (const auto* i = std::get_if<int64_t>(&p)) {
        storage.push_back(std::to_string(*i));
        values.push_back(storage.back().c_str());
      } else if (const auto* s = std::get_if<std::string_view>(&p)) {
        storage.emplace_back(*s);
        values.push_back(storage.back().c_str());
      } else {
        values.push_back(nullptr);  // NULL
      }
    }
    std::string text(sql);
    ResultPtr res(libpq->PQexecParams(conn_, text.c_str(), int(values.size()), nullptr,
                                      values.data(), nullptr, nullptr, /*resultFormat=text*/ 0));
    ExecStatusType status = res ? libpq->PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return std::unexpected(PgError(conn_, res.get(), "executing statement"));
    }
    SqlResult out;
    const int rows = libpq->PQntuples(res.get()), cols = libpq->PQnfields(res.get());
    out.rows.reserve(size_t(rows));
    for (int r = 0; r < rows; ++r) {
      SqlRow row(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (libpq->PQgetisnull(res.get(), r, c)) continue;
        row[size_t(c)] = std::string(libpq->PQgetvalue(res.get(), r, c),
                                     size_t(libpq->PQgetlength(res.get(), r, c)));
      }
      out.rows.push_back(std::move(row));
    }
    const char* affected = libpq->PQcmdTuples(res.get());
    if (affected != nullptr && *affected != '\0') {
      std::string_view a(affected);
      std::from_chars(a.data(), a.data() + a.size(), out.affected);
    }
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    ResultPtr res(libpq->PQexec(conn_, text.c_str()));
    ExecStatusType status = res ? libpq->PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return std::unexpected(PgError(conn_, res.get(), "executing script"));
    }
    return {};
  }

 private:
  PGconn* conn_;
};

// Connections opened on demand, at most `max` at once; a connection that
// failed or was left mid-transaction is closed rather than reused.
class PgPool {
 public:
  PgPool(std::string url, int max) : url_(std::move(url)), max_(max < 1 ? 1 : max) {}
  ~PgPool() {
    for (PGconn* c : idle_) libpq->PQfinish(c);
  }

  Result<PGconn*> Get() {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
      if (!idle_.empty()) {
        PGconn* c = idle_.back();
        idle_.pop_back();
        return c;
      }
      ++open_;
    }
    auto conn = Connect(url_);
    if (!conn) Put(nullptr);
    return conn;
  }

  // Returns a connection (nullptr: a slot whose connection is gone). When a
  // connection was lost, the idle ones most likely were too (a server
  // restart, a failover): they are closed rather than tried one by one.
  void Put(PGconn* c) {
    const bool lost = c == nullptr || libpq->PQstatus(c) != CONNECTION_OK;
    const bool reusable = !lost && libpq->PQtransactionStatus(c) == PQTRANS_IDLE;
    if (c != nullptr && !reusable) libpq->PQfinish(c);
    std::vector<PGconn*> stale;
    {
      std::lock_guard lock(mu_);
      if (reusable) {
        idle_.push_back(c);
      } else {
        --open_;
      }
      if (lost) {
        stale.swap(idle_);
        open_ -= int(stale.size());
      }
    }
    for (PGconn* s : stale) libpq->PQfinish(s);
    cv_.notify_all();
  }

  const std::string& url() const { return url_; }

 private:
  const std::string url_;
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PGconn*> idle_;
  int open_ = 0;  // idle + in use
};

class PgLeaderLock final : public LeaderLock {
 public:
  explicit PgLeaderLock(std::string url) : url_(std::move(url)) {}
  ~PgLeaderLock() override { Release(); }

  Result<bool> TryAcquire() override {
    if (held_) return true;
    // A session kept from an earlier try may have died since; then try
    // once more on a new one.
    for (int attempt = 0;; ++attempt) {
      if (conn_ == nullptr) {
        COFFER_ASSIGN_OR_RETURN(conn_, Connect(url_));
      }
      PgConn c(conn_);
      auto res = c.Exec("SELECT pg_try_advisory_lock($1::bigint)", {kLeaderLockKey});
      if (res) {
        held_ = res->rows.size() == 1 && res->rows[0][0] == "t";
        return held_;
      }
      Drop();
      if (attempt > 0 || res.error().code() != ErrorCode::kUnavailable) {
        return std::unexpected(res.error().WithContext("trying the leader lock"));
      }
    }
  }

  // The lock lives as long as its session: a session that still answers
  // still holds it.
  Result<bool> StillHeld() override {
    if (!held_) return false;
    PgConn c(conn_);
    if (!c.Exec("SELECT 1", {})) Drop();
    return held_;
  }

  void Release() override {
    if (conn_ != nullptr && held_) {
      PgConn c(conn_);
      (void)c.Exec("SELECT pg_advisory_unlock($1::bigint)", {kLeaderLockKey});
    }
    Drop();
  }

 private:
  void Drop() {
    if (conn_ != nullptr) libpq->PQfinish(conn_);
    conn_ = nullptr;
    held_ = false;
  }

  std::string url_;
  PGconn* conn_ = nullptr;
  bool held_ = false;
};

class PgDb final : public SqlDb {
 public:
  PgDb(std::string url, int max) : pool_(std::move(url), max) {}

  std::string_view backend() const override { return "postgresql"; }

  Status Transact(TxKind kind, const std::function<Status(SqlConn&)>& fn) override {
    (void)kind;  // READ COMMITTED for both; writers lock the rows they need
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
      bool committing = false;
      Status st = TransactOnce(fn, &committing);
      // A transient failure before COMMIT left nothing behind: run it
      // again. One during COMMIT may have committed: report it.
      if (st || committing || attempt == kAttempts ||
          st.error().code() != ErrorCode::kUnavailable) {
        return st;
      }
    }
  }

  Result<std::unique_ptr<LeaderLock>> NewLeaderLock() override {
    return std::make_unique<PgLeaderLock>(pool_.url());
  }

  PgPool& pool() { return pool_; }

 private:
  Status TransactOnce(const std::function<Status(SqlConn&)>& fn, bool* committing) {
    COFFER_ASSIGN_OR_RETURN(PGconn * raw, pool_.Get());
    PgConn conn(raw);
    Status st = conn.ExecScript("BEGIN");
    if (st) st = fn(conn);
    if (st && libpq->PQtransactionStatus(raw) == PQTRANS_INERROR) {
      st = Internal("postgresql: a statement failed inside the transaction");
    }
    if (st) {
      *committing = true;
      st = conn.ExecScript("COMMIT");
    }
    PGTransactionStatusType ts = libpq->PQtransactionStatus(raw);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) (void)conn.ExecScript("ROLLBACK");
    pool_.Put(raw);
    return st;
  }

  PgPool pool_;
};

}  // namespace

Result<std::unique_ptr<SqlDb>> OpenPostgresDb(std::string_view url, int max_connections) {
  auto db = std::make_unique<PgDb>(std::string(url), max_connections);
  // Connect now, so a wrong URL or a server that is down shows at start.
  COFFER_ASSIGN_OR_RETURN(PGconn * conn, db->pool().Get());
  db->pool().Put(conn);
  return std::unique_ptr<SqlDb>(std::move(db));
}

}  // namespace coffer::meta::sql
