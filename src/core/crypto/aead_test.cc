#include "core/crypto/aead.h"

#include <gtest/gtest.h>

#include <random>

#include "core/crypto/password.h"

namespace coffer {
namespace {

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

TEST(AeadTest, FastPathEqualsLibsodiumOnManyInputs) {
  std::mt19937_64 rng(42);
  std::vector<size_t> sizes = {0,  1,   15,  16,   17,   63,        64,
                               65, 255, 256, 1000, 4096, 65536 + 3, 1 << 20};
  for (int i = 0; i < 200; ++i) sizes.push_back(rng() % 20000);
  for (size_t n : sizes) {
    SecretKey key = SecretKey::Random();
    Bytes nonce = RandomBytes(rng, kAeadNonceLen);
    Bytes ad = RandomBytes(rng, rng() % 80);
    Bytes plain = RandomBytes(rng, n);
    Bytes fast(n + kAeadTagLen), ref(n + kAeadTagLen);
    AeadSeal(key, nonce.data(), ad, plain, fast.data());
    AeadSealReference(key, nonce.data(), ad, plain, ref.data());
    ASSERT_EQ(fast, ref) << "size " << n;

    Bytes back(n);
    ASSERT_TRUE(AeadOpen(key, nonce.data(), ad, ref, back.data()));
    EXPECT_EQ(back, plain);
    ASSERT_TRUE(AeadOpenReference(key, nonce.data(), ad, fast, back.data()));
    EXPECT_EQ(back, plain);
  }
}

TEST(AeadTest, SealsInPlace) {
  std::mt19937_64 rng(1);
  SecretKey key = SecretKey::Random();
  Bytes nonce = RandomBytes(rng, kAeadNonceLen);
  Bytes plain = RandomBytes(rng, 5000);
  Bytes buf = plain;
  buf.resize(plain.size() + kAeadTagLen);
  AeadSeal(key, nonce.data(), {}, ByteView(buf.data(), plain.size()), buf.data());
  Bytes ref(buf.size());
  AeadSealReference(key, nonce.data(), {}, plain, ref.data());
  EXPECT_EQ(buf, ref);
  ASSERT_TRUE(AeadOpen(key, nonce.data(), {}, buf, buf.data()));
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buf.begin()));
}

TEST(AeadTest, AnyFlippedBitFailsAuthenticationAndWipesOutput) {
  std::mt19937_64 rng(2);
  SecretKey key = SecretKey::Random();
  Bytes nonce = RandomBytes(rng, kAeadNonceLen);
  Bytes ad = RandomBytes(rng, 40);
  Bytes plain = RandomBytes(rng, 300);
  Bytes sealed(plain.size() + kAeadTagLen);
  AeadSeal(key, nonce.data(), ad, plain, sealed.data());
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    Bytes bad = sealed;
    bad[bit / 8] ^= uint8_t(1 << (bit % 8));
    Bytes out(plain.size(), 0xee);
    ASSERT_FALSE(AeadOpen(key, nonce.data(), ad, bad, out.data())) << "bit " << bit;
    EXPECT_EQ(out, Bytes(plain.size(), 0)) << "bit " << bit;
  }
  for (size_t bit = 0; bit < ad.size() * 8; ++bit) {
    Bytes bad_ad = ad;
    bad_ad[bit / 8] ^= uint8_t(1 << (bit % 8));
    Bytes out(plain.size());
    ASSERT_FALSE(AeadOpen(key, nonce.data(), bad_ad, sealed, out.data())) << "ad bit " << bit;
  }
  Bytes other_nonce = nonce;
  other_nonce[23] ^= 1;
  Bytes out(plain.size());
  EXPECT_FALSE(AeadOpen(key, other_nonce.data(), ad, sealed, out.data()));
  EXPECT_FALSE(AeadOpen(SecretKey::Random(), nonce.data(), ad, sealed, out.data()));
  EXPECT_FALSE(AeadOpen(key, nonce.data(), ad, ByteView(sealed.data(), 10), out.data()));
}

TEST(PasswordTest, SamePassphraseAndSaltGiveTheSameKey) {
  uint8_t salt[kPasswordSaltLen] = {1, 2, 3};
  auto a = DeriveFromPassphrase("correct horse", salt, DefaultArgon2Params());
  auto b = DeriveFromPassphrase("correct horse", salt, DefaultArgon2Params());
  auto c = DeriveFromPassphrase("correct horsf", salt, DefaultArgon2Params());
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(*a == *c);
}

TEST(PasswordTest, WeakOrHugeParametersAreRefused) {
  uint8_t salt[kPasswordSaltLen] = {};
  auto weak = DeriveFromPassphrase("x", salt, {1, 8 << 20});
  ASSERT_FALSE(weak.has_value());
  EXPECT_EQ(weak.error().code(), ErrorCode::kCorruption);
  auto huge = DeriveFromPassphrase("x", salt, {3, uint64_t(64) << 30});
  ASSERT_FALSE(huge.has_value());
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

TEST(SecretsEqualTest, ComparesWholeValuesOfAnyLength) {
  EXPECT_TRUE(SecretsEqual("token-1234", "token-1234"));
  EXPECT_FALSE(SecretsEqual("token-1234", "token-1235"));
  EXPECT_FALSE(SecretsEqual("token-1234", "token-123"));
  EXPECT_FALSE(SecretsEqual("", "x"));
  EXPECT_TRUE(SecretsEqual("", ""));
}

}  // namespace
}  // namespace coffer
