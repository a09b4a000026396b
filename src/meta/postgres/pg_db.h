// The PostgreSQL driver for the metadata store, on libpq (the only code
// that sees it): a pool of connections opened on demand up to a limit, each
// statement sent with PQexecParams (parameters travel apart from the SQL
// text), transactions at READ COMMITTED. The leader lock is a session
// advisory lock on a connection of its own.
//
// `url` is a libpq connection URI ("postgresql://user:pw@host:port/db?…").
// Unless the URI sets them: connect_timeout=10, TCP keepalives (30 s idle,
// 10 s interval, 3 probes) and tcp_user_timeout=60000.
//
// Thread safety: Transact may be called from any number of threads; each
// transaction holds one pooled connection, and waits for one when all
// `max_connections` are busy.
#pragma once

#include <memory>
#include <string_view>

#include "meta/sql/sql_db.h"

namespace coffer::meta::sql {

// Connects once to check the URL and the server, then returns the pool.
Result<std::unique_ptr<SqlDb>> OpenPostgresDb(std::string_view url, int max_connections);

}  // namespace coffer::meta::sql
