// The SQLite driver for the metadata store: one database file, one
// connection, opened in WAL mode with foreign keys on and a busy timeout, so
// other processes on the same file wait rather than fail. The only code that
// sees libsqlite3.
//
// Thread safety: calls are serialised on the one connection by a mutex
// (SQLite writes are serialised anyway; the manager's metadata traffic is
// small). Several processes may open the same file.
#pragma once

#include <filesystem>
#include <memory>

#include "meta/sql/sql_db.h"

namespace coffer::meta::sql {

Result<std::unique_ptr<SqlDb>> OpenSqliteDb(const std::filesystem::path& path,
                                            std::chrono::milliseconds busy_timeout);

}  // namespace coffer::meta::sql
