#include "core/crypto/aes_gcm.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

Bytes Hex(std::string_view h) { return *HexDecode(h); }

// McGrew and Viega, "The Galois/Counter Mode of Operation", test case 16
// (AES-256, 60-byte plaintext, 20 bytes of associated data).
TEST(AesGcmTest, MatchesTheGcmSpecificationTestCase16) {
  Bytes k = Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  SecretKey key(k.data());
  Bytes iv = Hex("cafebabefacedbaddecaf888");
  Bytes plain =
      Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  Bytes ad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  Bytes out(plain.size() + kAesGcmTagLen);
  AesGcmSeal(key, iv.data(), ad, plain, out.data());
  EXPECT_EQ(HexEncode(out),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
            "76fc6ece0f4e1768cddf8853bb2d551b");
  Bytes back(plain.size());
  ASSERT_TRUE(AesGcmOpen(key, iv.data(), ad, out, back.data()));
  EXPECT_EQ(back, plain);
}

TEST(AesGcmTest, RejectsAnyChangeAndWipesTheOutput) {
  SecretKey key = SecretKey::Random();
  uint8_t nonce[kAesGcmNonceLen] = {1, 2, 3};
  Bytes plain = Hex("00112233445566778899aabbccddeeff0011");
  Bytes ad = Hex("abcdef");
  Bytes sealed(plain.size() + kAesGcmTagLen);
  AesGcmSeal(key, nonce, ad, plain, sealed.data());
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    Bytes out(plain.size(), 0xee);
    EXPECT_FALSE(AesGcmOpen(key, nonce, ad, bad, out.data())) << "byte " << i;
    EXPECT_EQ(out, Bytes(plain.size(), 0)) << "byte " << i;
  }
  Bytes out(plain.size());
  EXPECT_FALSE(AesGcmOpen(key, nonce, Hex("abcdee"), sealed, out.data()));
  EXPECT_FALSE(AesGcmOpen(SecretKey::Random(), nonce, ad, sealed, out.data()));
  uint8_t other_nonce[kAesGcmNonceLen] = {1, 2, 4};
  EXPECT_FALSE(AesGcmOpen(key, other_nonce, ad, sealed, out.data()));
  EXPECT_FALSE(AesGcmOpen(key, nonce, ad, ByteView(sealed).first(kAesGcmTagLen - 1), out.data()));
}

TEST(AesGcmTest, EmptyPlaintextAndEmptyAdRoundTrip) {
  SecretKey key = SecretKey::Random();
  uint8_t nonce[kAesGcmNonceLen] = {};
  uint8_t sealed[kAesGcmTagLen];
  AesGcmSeal(key, nonce, {}, {}, sealed);
  EXPECT_TRUE(AesGcmOpen(key, nonce, {}, ByteView(sealed, kAesGcmTagLen), nullptr));
}

}  // namespace
}  // namespace coffer
