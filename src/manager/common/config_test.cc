#include "manager/common/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "manager/testing/ops_testing.h"

namespace coffer::manager {
namespace {

using testing_support::TempDir;

TEST(ManagerConfigTest, TomlSetsKeysAndFinishFillsTheDataDirDefaults) {
  TempDir dir;
  const std::string file = dir / "manager.toml";
  std::ofstream(file) << "data_dir = \"" << (dir / "data") << "\"\n"
                      << "listen = \"0.0.0.0:9090\"\n"
                      << "job_poll_interval_ms = 250\n"
                      << "backup_silence_timeout_seconds = 60\n"
                      << "log_requests = false\n";
  ManagerConfig c;
  ASSERT_TRUE(LoadConfigFile(file, &c).has_value());
  EXPECT_EQ(c.listen.host, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 9090);
  EXPECT_EQ(c.job_poll_interval.count(), 250);
  EXPECT_EQ(c.backup_silence_timeout.count(), 60);
  EXPECT_FALSE(c.log_requests);
  ASSERT_TRUE(FinishConfig(&c).has_value());
  EXPECT_EQ(c.database_url, "sqlite://" + (dir / "data") + "/coffer.db");
  EXPECT_EQ(c.master_key_file, (dir / "data") + "/master.key");
  struct stat st;
  ASSERT_EQ(::stat((dir / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(ManagerConfigTest, BadFilesNameTheKey) {
  TempDir dir;
  const std::string file = dir / "bad.toml";
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"colour = \"red\"\n", "colour"},
           {"job_poll_interval_ms = -5\n", "job_poll_interval_ms"},
           {"listen = \"nowhere\"\n", "listen"},
           {"log_requests = 1\n", "log_requests"},
           {"data_dir = 3\n", "data_dir"}}) {
    std::ofstream(file, std::ios::trunc) << text;
    ManagerConfig c;
    auto st = LoadConfigFile(file, &c);
    ASSERT_FALSE(st.has_value()) << text;
    EXPECT_NE(st.error().message().find(key), std::string::npos) << st.error().message();
  }
  std::ofstream(file, std::ios::trunc) << "listen = \n";
  ManagerConfig c;
  auto st = LoadConfigFile(file, &c);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message().find("line 1"), std::string::npos) << st.error().message();
}

TEST(ManagerConfigTest, DataDirIsRequired) {
  ManagerConfig c;
  auto st = FinishConfig(&c);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message().find("--data-dir"), std::string::npos);
}

}  // namespace
}  // namespace coffer::manager
