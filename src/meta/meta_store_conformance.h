// The MetaStore conformance suite: SQLite and PostgreSQL must both pass it.
// A test binary instantiates it with a factory that returns the URL of a new,
// empty database each time it is called:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, MetaStoreConformanceTest,
//       testing::Values(MetaStoreFactory{"sqlite", [] { return ...url...; }}),
//       MetaStoreFactoryName);
//
// Each test gets its own database, a fixed master key and a fake clock that
// starts at a fixed time and moves 1 ms at every reading (so rows created in
// sequence have distinct times); tests move it further to expire leases.
// Open() opens another store on the same database (a second manager
// replica); Raw() opens the bare driver to look at stored bytes.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/uuid.h"
#include "meta/meta_store.h"
#include "meta/sql/sql_db.h"

// Assertions on Result values that print the error when they fail.
#define META_ASSERT_OK(expr)                                                        \
  do {                                                                              \
    auto&& meta_r_ = (expr);                                                        \
    ASSERT_TRUE(meta_r_.has_value()) << #expr << ": " << meta_r_.error().message(); \
  } while (0)
#define META_EXPECT_ERROR(expr, expected_code)                                           \
  do {                                                                                   \
    auto&& meta_r_ = (expr);                                                             \
    if (meta_r_.has_value()) {                                                           \
      ADD_FAILURE() << #expr << " succeeded, expected " << ErrorCodeName(expected_code); \
    } else {                                                                             \
      EXPECT_EQ(meta_r_.error().code(), expected_code) << meta_r_.error().message();     \
    }                                                                                    \
  } while (0)

namespace coffer::meta {

// "true", "false" or "error: …", for EXPECT_EQ on a Result<bool>.
inline std::string BoolOrError(const Result<bool>& r) {
  if (!r) return "error: " + r.error().message();
  return *r ? "true" : "false";
}

// A NewBackup of volume v to target t with a fresh id.
inline NewBackup Start(const Volume& v, const BackupTarget& t) {
  return {.id = Uuid::Random().ToString(), .volume_id = v.id, .target_id = t.id};
}

inline std::vector<std::string> Ids(const std::vector<Backup>& bs) {
  std::vector<std::string> ids;
  for (const auto& b : bs) ids.push_back(b.id);
  return ids;
}

struct MetaStoreFactory {
  std::string name;
  std::function<Result<std::string>()> new_database;  // URL of a new, empty database
};

inline void PrintTo(const MetaStoreFactory& f, std::ostream* os) { *os << f.name; }

inline std::string MetaStoreFactoryName(const testing::TestParamInfo<MetaStoreFactory>& info) {
  return info.param.name;
}

class MetaStoreConformanceTest : public testing::TestWithParam<MetaStoreFactory> {
 protected:
  static constexpr int64_t kStartUs = 1'790'000'000'000'000;  // 2026-09-21

  void SetUp() override;

  MetaStoreOptions Options() const;
  std::unique_ptr<MetaStore> Open();  // another store on url_; fails the test on error
  std::unique_ptr<sql::SqlDb> Raw();  // the bare driver on url_
  void Advance(std::chrono::milliseconds d) { clock_->fetch_add(int64_t(d.count()) * 1000); }

  // Fixtures for the tests: each returns the created record or fails the test.
  Agent MakeAgent(std::string_view name, std::string_view token = "agent-token");
  BackupTarget MakeTarget(std::string_view name);
  Volume MakeVolume(std::string_view name, const Agent& agent);
  Backup MakeCompletedBackup(const Volume& v, const BackupTarget& t, int64_t logical_bytes = 100);

  std::string url_;
  SecretKey master_key_;
  std::shared_ptr<std::atomic<int64_t>> clock_;
  std::unique_ptr<MetaStore> store_;
};

}  // namespace coffer::meta
