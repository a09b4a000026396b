#include "meta/master_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>
#include <vector>

namespace coffer::meta {
namespace {

namespace fs = std::filesystem;

class MasterKeyTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "coffer-mk-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(MasterKeyTest, CreatedOnceWithMode0600ThenLoaded) {
  const fs::path path = dir_ / "master.key";
  auto missing = LoadMasterKey(path);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  auto created = LoadOrCreateMasterKey(path);
  ASSERT_TRUE(created.has_value()) << created.error().message();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, off_t(kMasterKeyLen));
  EXPECT_FALSE(*created == SecretKey());

  auto again = LoadOrCreateMasterKey(path);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_TRUE(*again == *created);
  EXPECT_TRUE(*LoadMasterKey(path) == *created);
  // No temporary files left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(MasterKeyTest, RacingFirstStartsAgreeOnOneKey) {
  const fs::path path = dir_ / "master.key";
  std::vector<SecretKey> keys(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] {
      auto k = LoadOrCreateMasterKey(path);
      ASSERT_TRUE(k.has_value()) << k.error().message();
      keys[i] = *k;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& k : keys) EXPECT_TRUE(k == keys[0]);
}

TEST_F(MasterKeyTest, RefusesAKeyOthersCanRead) {
  const fs::path path = dir_ / "master.key";
  ASSERT_TRUE(LoadOrCreateMasterKey(path).has_value());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto r = LoadOrCreateMasterKey(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message().find("chmod 600"), std::string::npos) << r.error().message();
}

TEST_F(MasterKeyTest, RefusesAFileOfTheWrongSize) {
  const fs::path path = dir_ / "master.key";
  { std::ofstream(path) << "too short"; }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto r = LoadOrCreateMasterKey(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
  // It was not replaced by a new key: that would orphan every sealed secret.
  EXPECT_EQ(fs::file_size(path), 9u);
}

TEST_F(MasterKeyTest, MissingDirectoryIsAnError) {
  auto r = LoadOrCreateMasterKey(dir_ / "nope" / "master.key");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace coffer::meta
