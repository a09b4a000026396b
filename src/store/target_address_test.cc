#include "store/target_address.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace coffer {
namespace {

TEST(TargetAddressTest, TellsDirectoriesFromS3AndRefusesTheRest) {
  auto dir = TargetAddress::Parse("/srv/backup");
  ASSERT_TRUE(dir.has_value());
  EXPECT_FALSE(dir->is_s3());
  EXPECT_EQ(dir->path, "/srv/backup");
  auto file = TargetAddress::Parse("file:///srv/backup");
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->path, "/srv/backup");
  auto s3 = TargetAddress::Parse("s3://bucket/prefix");
  ASSERT_TRUE(s3.has_value());
  EXPECT_TRUE(s3->is_s3());
  EXPECT_TRUE(TargetAddress::Parse("s3://bucket")->is_s3());

  for (const char* bad : {"", "s3://", "s3:///prefix", "ftp://host/x", "file://"}) {
    auto r = TargetAddress::Parse(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(TargetAddress::Parse("ftp://host/x").error().message().find("unknown scheme"),
            std::string::npos);
  EXPECT_NE(TargetAddress::Parse("s3://").error().message().find("names no bucket"),
            std::string::npos);
}

TEST(TargetAddressTest, OneLocationForOneTarget) {
  auto s3 = TargetAddress::Parse("s3://bucket/prefix/");
  EXPECT_EQ(s3->Location("http://127.0.0.1:9000/", false),
            "http://127.0.0.1:9000 s3://bucket/prefix");
  EXPECT_EQ(s3->Location("", false), "aws s3://bucket/prefix");
  EXPECT_EQ(TargetAddress::Parse("/srv//backup/./")->Location("", false), "/srv/backup");
  EXPECT_EQ(TargetAddress::Parse("file:///srv/backup")->Location("", false), "/srv/backup");
  // Relative paths are made absolute; links are resolved only when asked.
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(TargetAddress::Parse("t")->Location("", false), std::string(cwd) + "/t");
  const auto dir = std::filesystem::temp_directory_path() /
                   ("coffer-target-address-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "real");
  std::filesystem::create_symlink(dir / "real", dir / "link");
  auto link = TargetAddress::Parse((dir / "link").string());
  EXPECT_EQ(link->Location("", true), (dir / "real").string());
  EXPECT_EQ(link->Location("", false), (dir / "link").string());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace coffer
