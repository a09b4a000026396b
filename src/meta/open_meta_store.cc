// OpenMetaStore and OpenSqlDb: the one place that picks a driver from the
// database URL.
#include "meta/meta_store.h"
#include "meta/migrations/migrations.h"
#include "meta/postgres/pg_db.h"
#include "meta/sql/sql_db.h"
#include "meta/sql/sql_meta_store.h"
#include "meta/sqlite/sqlite_db.h"

namespace coffer::meta {

namespace sql {

Result<std::unique_ptr<SqlDb>> OpenSqlDb(std::string_view url, const MetaStoreOptions& options) {
  if (url.empty()) return InvalidArgument("the database URL is empty");
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgresDb(url, options.postgres_connections);
  }
  std::string_view path = url;
  if (path.starts_with("sqlite://")) {
    path.remove_prefix(9);
  } else if (path.starts_with("sqlite:")) {
    path.remove_prefix(7);
  } else if (path.find("://") != std::string_view::npos) {
    return InvalidArgument("database URL '" + std::string(url.substr(0, url.find("://"))) +
                           "://…' is neither postgresql:// nor sqlite://");
  }
  if (path.empty()) return InvalidArgument("the SQLite database path is empty");
  return OpenSqliteDb(std::filesystem::path(path), options.busy_timeout);
}

}  // namespace sql

Result<std::unique_ptr<MetaStore>> OpenMetaStore(std::string_view url, MetaStoreOptions options) {
  COFFER_ASSIGN_OR_RETURN(auto db, sql::OpenSqlDb(url, options));
  COFFER_RETURN_IF_ERROR(AddContext(Migrate(*db, Migrations()), "migrating the metadata database"));
  return std::make_unique<sql::SqlMetaStore>(std::move(db), options);
}

}  // namespace coffer::meta
