#include "store/local/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "store/store_conformance.h"

namespace coffer {
namespace {

std::string FreshDir() {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/coffer-local-store-" +
                    std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

INSTANTIATE_TEST_SUITE_P(Local, StoreConformanceTest,
                         testing::Values(StoreFactory{
                             "local",
                             [] {
                               auto s = LocalStore::Open(FreshDir(), true);
                               return s ? std::unique_ptr<ObjectStore>(std::move(*s)) : nullptr;
                             }}),
                         StoreFactoryName);

TEST(LocalStoreTest, ObjectsAreFilesUnderTheRoot) {
  std::string dir = FreshDir();
  auto store = LocalStore::Open(dir, true);
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->Put("chunks/ab/abcdef", AsBytes("hello")).has_value());
  struct stat st;
  ASSERT_EQ(::stat((dir + "/chunks/ab/abcdef").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 5);
  std::filesystem::remove_all(dir);
}

TEST(LocalStoreTest, TemporariesFromADeadWriterAreInvisibleAndRemovable) {
  std::string dir = FreshDir();
  auto store = LocalStore::Open(dir, true);
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->Put("chunks/ab/real", AsBytes("x")).has_value());
  // What a process killed between write and rename leaves behind.
  int fd = ::open((dir + "/chunks/ab/.tmp-deadbeef").c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "partial", 7), 7);
  ::close(fd);
  int listed = 0;
  ASSERT_TRUE((*store)
                  ->List("chunks/",
                         [&](const ObjectInfo& i) -> Status {
                           EXPECT_EQ(i.key, "chunks/ab/real");
                           ++listed;
                           return {};
                         })
                  .has_value());
  EXPECT_EQ(listed, 1);
  auto removed = (*store)->RemoveStaleTemporaries(0);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/chunks/ab/.tmp-deadbeef"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/chunks/ab/real"));
  std::filesystem::remove_all(dir);
}

TEST(LocalStoreTest, KeysThatEscapeTheRootAreRejected) {
  std::string dir = FreshDir();
  auto store = LocalStore::Open(dir, true);
  ASSERT_TRUE(store.has_value());
  for (std::string_view bad : {"../x", "a/../../x", "/etc/passwd", "a//b", "chunks/.tmp-x", ""}) {
    auto st = (*store)->Put(bad, AsBytes("x"));
    ASSERT_FALSE(st.has_value()) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  std::filesystem::remove_all(dir);
}

TEST(LocalStoreTest, OpeningAMissingDirectoryWithoutCreateFails) {
  auto store = LocalStore::Open(FreshDir(), false);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace coffer
