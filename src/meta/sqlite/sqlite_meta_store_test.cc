// The conformance suite on SQLite (a file per test in a temporary
// directory), and what only SQLite has: the file's mode, WAL, URL forms.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "meta/meta_store_conformance.h"

namespace coffer::meta {
namespace {

namespace fs = std::filesystem;

const fs::path& TempDir() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "coffer-sqlite-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return fs::path(tmpl);
  }();
  return dir;
}

class TempDirCleanup : public testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(TempDir(), ec);
  }
};
testing::Environment* const cleanup = testing::AddGlobalTestEnvironment(new TempDirCleanup);

Result<std::string> NewSqliteDatabase() {
  static std::atomic<int> n{0};
  return "sqlite://" + (TempDir() / ("meta-" + std::to_string(n++) + ".db")).string();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, MetaStoreConformanceTest,
                         testing::Values(MetaStoreFactory{"sqlite", NewSqliteDatabase}),
                         MetaStoreFactoryName);

MetaStoreOptions TestOptions() {
  MetaStoreOptions o;
  o.master_key = SecretKey::Random();
  return o;
}

TEST(SqliteMetaStoreTest, TheFileIsPrivateAndInWalMode) {
  const fs::path path = TempDir() / "private.db";
  auto store = OpenMetaStore(path.string(), TestOptions());
  META_ASSERT_OK(store);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto db = sql::OpenSqlDb(path.string(), TestOptions());
  META_ASSERT_OK(db);
  Status checked = (*db)->Transact(sql::TxKind::kRead, [](sql::SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto mode, c.Exec("PRAGMA journal_mode", {}));
    EXPECT_EQ(mode.rows.at(0).at(0), "wal");
    COFFER_ASSIGN_OR_RETURN(auto fk, c.Exec("PRAGMA foreign_keys", {}));
    EXPECT_EQ(fk.rows.at(0).at(0), "1");
    return {};
  });
  META_ASSERT_OK(checked);
}

TEST(SqliteMetaStoreTest, AcceptsItsUrlFormsAndRefusesOthers) {
  META_ASSERT_OK(OpenMetaStore("sqlite:" + (TempDir() / "a.db").string(), TestOptions()));
  META_ASSERT_OK(OpenMetaStore("sqlite://" + (TempDir() / "b.db").string(), TestOptions()));
  META_ASSERT_OK(OpenMetaStore((TempDir() / "c.db").string(), TestOptions()));
  META_EXPECT_ERROR(OpenMetaStore("mysql://localhost/x", TestOptions()),
                    ErrorCode::kInvalidArgument);
  META_EXPECT_ERROR(OpenMetaStore("", TestOptions()), ErrorCode::kInvalidArgument);
  META_EXPECT_ERROR(OpenMetaStore((TempDir() / "no" / "such" / "dir.db").string(), TestOptions()),
                    ErrorCode::kNotFound);
}

TEST(SqliteMetaStoreTest, AFileThatIsNotADatabaseIsRefused) {
  const fs::path path = TempDir() / "garbage.db";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not an SQLite database, not at all, no header here\n", f);
    std::fclose(f);
  }
  auto store = OpenMetaStore(path.string(), TestOptions());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), ErrorCode::kCorruption) << store.error().message();
}

}  // namespace
}  // namespace coffer::meta
