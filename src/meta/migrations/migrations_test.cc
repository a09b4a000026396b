// The migrations agree with the registries they must follow.
#include "meta/migrations/migrations.h"

#include <gtest/gtest.h>

#include <regex>

#include "volume/backends.h"

namespace coffer::meta {
namespace {

// The volume table's CHECK names exactly the registered backends: a backend
// added to volume/backends.cc without a migration that widens the CHECK
// would be refused by the database at the first volume that uses it.
TEST(MigrationsTest, TheVolumeBackendCheckNamesEveryRegisteredBackend) {
  std::vector<std::string> checked;
  static const std::regex kCheck(R"(CHECK \(backend IN \(([^)]*)\)\))");
  static const std::regex kName(R"('([a-z0-9_]+)')");
  for (const Migration& m : Migrations()) {
    std::string sql(m.sql);
    for (std::sregex_iterator it(sql.begin(), sql.end(), kCheck), end; it != end; ++it) {
      checked.clear();  // the newest migration's list stands
      std::string list = (*it)[1].str();
      for (std::sregex_iterator n(list.begin(), list.end(), kName); n != end; ++n) {
        checked.push_back((*n)[1].str());
      }
    }
  }
  EXPECT_EQ(checked, BackendNames())
      << "volume/backends.cc registers a backend the database's CHECK does not allow: add a "
         "migration that widens volume.backend's CHECK";
}

}  // namespace
}  // namespace coffer::meta
