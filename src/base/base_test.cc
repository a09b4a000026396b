#include <gtest/gtest.h>

#include "base/bytes.h"
#include "base/error.h"
#include "base/text.h"
#include "base/uuid.h"

namespace coffer {
namespace {

TEST(TextTest, ParseSizeAcceptsBinaryUnits) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("256K"), 256u << 10);
  EXPECT_EQ(*ParseSize("1M"), 1u << 20);
  EXPECT_EQ(*ParseSize("4MiB"), 4u << 20);
  EXPECT_EQ(*ParseSize("2G"), 2ull << 30);
}

TEST(TextTest, ParseSizeRejectsGarbage) {
  for (auto bad : {"", "M", "12Q", "-1", "1.5M", "99999999999999999999T"}) {
    auto r = ParseSize(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(TextTest, ParseDurationAcceptsTheDocumentedForms) {
  EXPECT_EQ(ParseDuration("0")->count(), 0);
  EXPECT_EQ(ParseDuration("90s")->count(), 90);
  EXPECT_EQ(ParseDuration("30m")->count(), 1800);
  EXPECT_EQ(ParseDuration("24h")->count(), 86400);
  EXPECT_EQ(ParseDuration("7d")->count(), 7 * 86400);
}

TEST(TextTest, ParseDurationNeedsAUnit) {
  for (auto bad : {"", "10", "5w", "h", "1.5h", "-3d"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(TextTest, FormatsBytesAndTimes) {
  EXPECT_EQ(FormatBytes(100), "100 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(3ull << 30), "3.00 GiB");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1795493058), "2026-11-24T04:04:18Z");
}

TEST(BytesTest, HexRoundTripsAndRejectsOddOrNonHex) {
  Bytes b = {0x00, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "00abff");
  EXPECT_EQ(*HexDecode("00ABff"), b);
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(BytesTest, ReaderFailsCleanlyOnShortInput) {
  Bytes out;
  ByteWriter w(&out);
  w.U32(7);
  w.String("hello");
  ByteReader r(out);
  EXPECT_EQ(r.U32(), 7u);
  EXPECT_EQ(r.String(), "hello");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U64(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(UuidTest, RandomUuidsAreVersion4AndRoundTrip) {
  Uuid a = Uuid::Random(), b = Uuid::Random();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.bytes[6] >> 4, 4);
  auto parsed = Uuid::Parse(a.ToString());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, a);
  EXPECT_FALSE(Uuid::Parse("not-a-uuid").has_value());
}

TEST(ErrorTest, ErrnoMapsToCodes) {
  EXPECT_EQ(ErrnoError(ENOENT, "x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(ErrnoError(ENOSPC, "x").code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(ErrnoError(EACCES, "/etc/shadow").message(), "/etc/shadow: Permission denied");
}

}  // namespace
}  // namespace coffer
