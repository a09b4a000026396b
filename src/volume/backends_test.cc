// The backend registry: what a file locator may name, the forms of the
// iSCSI and NBD ones, and that every backend has one entry.
#include "volume/backends.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace coffer {
namespace {

Result<std::string> ValidateSource(Backend b, const std::string& locator,
                                   const std::vector<std::string>& roots) {
  return BackendOf(b).validate_source(locator, BackendContext{roots, ""});
}
Result<std::string> ValidateDestination(Backend b, const std::string& locator,
                                        const std::vector<std::string>& roots) {
  return BackendOf(b).validate_destination(locator, BackendContext{roots, ""});
}

namespace fs = std::filesystem;

class LocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("coffer-locator-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "root" / "sub");
    fs::create_directories(base_ / "outside");
    fs::create_directories(base_ / "rootx");
    std::ofstream(base_ / "root" / "vm.img") << "x";
    std::ofstream(base_ / "root" / "sub" / "disk.img") << "x";
    std::ofstream(base_ / "outside" / "secret.img") << "x";
    std::ofstream(base_ / "rootx" / "vm.img") << "x";
    fs::create_symlink(base_ / "outside" / "secret.img", base_ / "root" / "link.img");
    fs::create_symlink(base_ / "outside", base_ / "root" / "linkdir");
    fs::create_symlink(base_ / "root" / "vm.img", base_ / "root" / "inner-link.img");
    roots_ = {fs::canonical(base_ / "root").string()};
  }
  void TearDown() override { fs::remove_all(base_); }
  std::string P(const std::string& rel) { return (base_ / rel).string(); }

  fs::path base_;
  std::vector<std::string> roots_;
};

TEST_F(LocatorTest, FilesInsideARootAreAcceptedAndResolved) {
  auto r = ValidateSource(Backend::kFile, P("root/sub/disk.img"), roots_);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, fs::canonical(P("root/sub/disk.img")).string());
  auto link = ValidateSource(Backend::kFile, P("root/inner-link.img"), roots_);
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(*link, fs::canonical(P("root/vm.img")).string());
}

TEST_F(LocatorTest, DotDotSymlinkEscapesAndLookalikeRootsAreRefused) {
  for (const std::string& bad :
       {P("root/../outside/secret.img"), P("root/sub/../vm.img"), P("root/link.img"),
        P("root/linkdir/secret.img"), P("rootx/vm.img"), P("root"), std::string("vm.img"),
        std::string("")}) {
    auto r = ValidateSource(Backend::kFile, bad, roots_);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad << ": " << r.error().message();
  }
  auto missing = ValidateSource(Backend::kFile, P("root/none.img"), roots_);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(LocatorTest, RestoreDestinationsMustBeNewAndInsideARoot) {
  auto ok = ValidateDestination(Backend::kFile, P("root/sub/new.img"), roots_);
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(*ok, fs::canonical(P("root/sub")).string() + "/new.img");
  auto top = ValidateDestination(Backend::kFile, P("root/new.img"), roots_);
  ASSERT_TRUE(top.has_value()) << top.error().message();

  auto exists = ValidateDestination(Backend::kFile, P("root/vm.img"), roots_);
  ASSERT_FALSE(exists.has_value());
  EXPECT_EQ(exists.error().code(), ErrorCode::kAlreadyExists);
  // A dangling symlink counts as existing: restoring through it would escape.
  fs::create_symlink(base_ / "outside" / "new.img", base_ / "root" / "dangling.img");
  auto dangling = ValidateDestination(Backend::kFile, P("root/dangling.img"), roots_);
  ASSERT_FALSE(dangling.has_value());

  for (const std::string& bad : {P("root/linkdir/new.img"), P("outside/new.img"),
                                 P("root/../outside/new.img"), P("root/")}) {
    auto r = ValidateDestination(Backend::kFile, bad, roots_);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad << ": " << r.error().message();
  }
}

TEST(LocatorFormTest, IscsiAndNbdLocatorsAreCheckedForForm) {
  std::vector<std::string> roots = {"/nonexistent"};
  for (const char* ok :
       {"iscsi://127.0.0.1:3260/iqn.2026-11.dev.coffer:vol/1", "iscsi://user%pw@host/iqn.x:y/0"}) {
    EXPECT_TRUE(ValidateSource(Backend::kIscsi, ok, roots).has_value()) << ok;
  }
  for (const char* bad :
       {"iscsi://host/iqn.x:y", "iscsi://host/iqn/lun", "nbd://h/e", "iscsi://host/iqn x/1"}) {
    EXPECT_FALSE(ValidateSource(Backend::kIscsi, bad, roots).has_value()) << bad;
  }
  for (const char* ok :
       {"nbd://127.0.0.1:10809/export", "nbd+unix:///?socket=/run/x.sock", "nbds://host/e"}) {
    EXPECT_TRUE(ValidateDestination(Backend::kNbd, ok, roots).has_value()) << ok;
  }
  for (const char* bad : {"/dev/nbd0", "http://x/", "nbd:// space"}) {
    EXPECT_FALSE(ValidateSource(Backend::kNbd, bad, roots).has_value()) << bad;
  }
  EXPECT_EQ(BackendOf(Backend::kIscsi).redact("iscsi://u%pw@h/iqn.x:y/1"),
            "iscsi://u%***@h/iqn.x:y/1");
}

TEST(BackendRegistryTest, EveryBackendIsRegisteredOnceByName) {
  for (Backend b : {Backend::kFile, Backend::kIscsi, Backend::kNbd}) {
    EXPECT_EQ(BackendOf(b).backend, b);
    auto parsed = ParseBackend(BackendName(b));
    ASSERT_TRUE(parsed) << BackendName(b);
    EXPECT_EQ(*parsed, b);
  }
  EXPECT_EQ(BackendNames(), (std::vector<std::string>{"file", "iscsi", "nbd"}));
  EXPECT_EQ(BackendList(), "file, iscsi or nbd");
  auto unknown = ParseBackend("ceph");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "unknown backend 'ceph' (file, iscsi or nbd)");
}

}  // namespace
}  // namespace coffer
