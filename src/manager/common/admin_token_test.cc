#include "manager/common/admin_token.h"

#include <gtest/gtest.h>

#include "manager/testing/ops_testing.h"

namespace coffer::manager {
namespace {

using testing_support::TempDir;

TEST(AdminTokenTest, GeneratedOnceAndOnlyItsHashIsStored) {
  TempDir dir;
  auto meta = testing_support::OpenTestMeta(dir);
  auto first = EnsureAdminToken(*meta, std::nullopt);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_value());
  const std::string token = **first;
  EXPECT_EQ(token.size(), 64u);
  auto again = EnsureAdminToken(*meta, std::nullopt);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value()) << "a token is printed at the first start only";
  auto stored = meta->ListApiTokens();
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].token_hash, TokenHash(token));
  EXPECT_EQ((*stored)[0].token_hash.find(token), std::string::npos);

  TokenAuthenticator auth(*meta);
  EXPECT_TRUE(auth.Check(token));
  EXPECT_FALSE(auth.Check(token + "x"));
  EXPECT_FALSE(auth.Check(""));
  EXPECT_FALSE(auth.Check(TokenHash(token)));
}

TEST(AdminTokenTest, TheEnvironmentTokenReplacesTheAdminToken) {
  TempDir dir;
  auto meta = testing_support::OpenTestMeta(dir);
  auto generated = EnsureAdminToken(*meta, std::nullopt);
  ASSERT_TRUE(generated.has_value() && generated->has_value());
  const std::string env = "operator-chosen-token-0123456789";
  auto r = EnsureAdminToken(*meta, std::string_view(env));
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
  TokenAuthenticator auth(*meta);
  EXPECT_TRUE(auth.Check(env));
  EXPECT_FALSE(auth.Check(**generated)) << "the old admin token is removed";
  EXPECT_FALSE(EnsureAdminToken(*meta, std::string_view("short")).has_value());
}

}  // namespace
}  // namespace coffer::manager
