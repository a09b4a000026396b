#include "meta/secret_box.h"

#include <gtest/gtest.h>

namespace coffer::meta {
namespace {

const std::string kRow = "0b6f4a52-3c1e-4d7a-9f1a-2b3c4d5e6f70";

TEST(SecretBoxTest, RoundTrip) {
  SecretBox box(SecretKey::Random());
  for (std::string plain : {std::string(), std::string("s3cr3t"), std::string(1000, 'x')}) {
    std::string sealed = box.Seal(AsBytes(plain), kRow, "agent.token");
    EXPECT_TRUE(sealed.starts_with("1:"));
    if (!plain.empty()) {
      EXPECT_EQ(sealed.find(plain), std::string::npos);
    }
    auto opened = box.Open(sealed, kRow, "agent.token");
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    EXPECT_EQ(opened->Reveal(), plain);
  }
}

TEST(SecretBoxTest, SealingTwiceGivesDifferentCiphertexts) {
  SecretBox box(SecretKey::Random());
  EXPECT_NE(box.Seal(AsBytes("same"), kRow, "f"), box.Seal(AsBytes("same"), kRow, "f"));
}

TEST(SecretBoxTest, WrongKeyFails) {
  SecretBox box(SecretKey::Random()), other(SecretKey::Random());
  std::string sealed = box.Seal(AsBytes("secret"), kRow, "agent.token");
  auto r = other.Open(sealed, kRow, "agent.token");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kAuthFailed);
}

TEST(SecretBoxTest, AnotherRowOrFieldFails) {
  SecretBox box(SecretKey::Random());
  std::string sealed = box.Seal(AsBytes("secret"), kRow, "backup_target.target_key");
  auto row = box.Open(sealed, "0b6f4a52-3c1e-4d7a-9f1a-2b3c4d5e6f71", "backup_target.target_key");
  ASSERT_FALSE(row.has_value());
  EXPECT_EQ(row.error().code(), ErrorCode::kAuthFailed);
  auto field = box.Open(sealed, kRow, "backup_target.s3_secret_access_key");
  ASSERT_FALSE(field.has_value());
  EXPECT_EQ(field.error().code(), ErrorCode::kAuthFailed);
  // The separator keeps "row" + "field" boundaries unambiguous.
  SecretBox b2(SecretKey::Random());
  std::string s2 = b2.Seal(AsBytes("x"), "ab", "c");
  EXPECT_FALSE(b2.Open(s2, "a", "bc").has_value());
}

TEST(SecretBoxTest, TamperedOrMalformedValuesFail) {
  SecretBox box(SecretKey::Random());
  std::string sealed = box.Seal(AsBytes("secret"), kRow, "agent.token");
  for (size_t i = 2; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = bad[i] == '0' ? '1' : '0';
    auto r = box.Open(bad, kRow, "agent.token");
    ASSERT_FALSE(r.has_value()) << "hex digit " << i;
    EXPECT_EQ(r.error().code(), ErrorCode::kAuthFailed);
  }
  for (std::string bad : {std::string(""), std::string("2:00"), std::string("1:zz"),
                          std::string("1:0011"), sealed.substr(0, sealed.size() - 1)}) {
    auto r = box.Open(bad, kRow, "agent.token");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace coffer::meta
