#include "manager/common/cron.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace coffer::manager {
namespace {

using namespace std::chrono;

// Microseconds since the epoch of a UTC civil time.
int64_t At(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  const sys_days day{year(y) / month(unsigned(mo)) / std::chrono::day(unsigned(d))};
  return duration_cast<microseconds>(day.time_since_epoch() + hours(h) + minutes(mi) + seconds(s))
      .count();
}

std::string Show(int64_t us) {
  const sys_seconds t{seconds(us / 1'000'000)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), long(hms.hours().count()),
                long(hms.minutes().count()));
  return buf;
}

CronSchedule Cron(std::string_view expr) {
  auto c = CronSchedule::Parse(expr);
  EXPECT_TRUE(c.has_value()) << expr << ": " << c.error().message();
  return *c;
}

std::string Next(std::string_view expr, int64_t after) {
  auto n = Cron(expr).NextAfter(after);
  return n ? Show(*n) : "none";
}

std::vector<std::string> Runs(std::string_view expr, int64_t after, int n) {
  std::vector<std::string> out;
  for (int64_t t : Cron(expr).NextRuns(after, n)) out.push_back(Show(t));
  return out;
}

using V = std::vector<std::string>;

TEST(CronTest, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(Next("* * * * *", At(2026, 3, 1, 10, 0)), "2026-03-01 10:01");
  EXPECT_EQ(Next("* * * * *", At(2026, 3, 1, 10, 0, 59)), "2026-03-01 10:01");
  EXPECT_EQ(Next("* * * * *", At(2026, 3, 1, 10, 0) - 1), "2026-03-01 10:00");
  EXPECT_EQ(*Cron("* * * * *").NextAfter(At(2026, 3, 1, 10, 0, 30)) % 60'000'000, 0);
}

TEST(CronTest, FixedTimeDaily) {
  EXPECT_EQ(Next("30 3 * * *", At(2026, 3, 1, 3, 29)), "2026-03-01 03:30");
  EXPECT_EQ(Next("30 3 * * *", At(2026, 3, 1, 3, 30)), "2026-03-02 03:30");
  EXPECT_EQ(Next("0 0 * * *", At(2026, 12, 31, 23, 59)), "2027-01-01 00:00");
}

TEST(CronTest, ListsRangesAndSteps) {
  EXPECT_EQ(Runs("0,15,45 9 * * *", At(2026, 1, 1), 4),
            (V{"2026-01-01 09:00", "2026-01-01 09:15", "2026-01-01 09:45", "2026-01-02 09:00"}));
  EXPECT_EQ(Runs("*/20 * * * *", At(2026, 1, 1, 5, 0), 4),
            (V{"2026-01-01 05:20", "2026-01-01 05:40", "2026-01-01 06:00", "2026-01-01 06:20"}));
  EXPECT_EQ(Runs("10-30/10 8-9 * * *", At(2026, 1, 1), 4),
            (V{"2026-01-01 08:10", "2026-01-01 08:20", "2026-01-01 08:30", "2026-01-01 09:10"}));
  // "a/n": from a to the end of the range.
  EXPECT_EQ(Runs("50/5 * * * *", At(2026, 1, 1, 0, 0), 3),
            (V{"2026-01-01 00:50", "2026-01-01 00:55", "2026-01-01 01:50"}));
  EXPECT_EQ(Runs("0 */6 * * *", At(2026, 1, 1, 1), 3),
            (V{"2026-01-01 06:00", "2026-01-01 12:00", "2026-01-01 18:00"}));
  // Ranges and values mixed in one list.
  EXPECT_EQ(Runs("0 1-2,22 * * *", At(2026, 1, 1), 4),
            (V{"2026-01-01 01:00", "2026-01-01 02:00", "2026-01-01 22:00", "2026-01-02 01:00"}));
}

TEST(CronTest, MonthAndWeekdayNames) {
  EXPECT_EQ(Next("0 0 1 JUL *", At(2026, 7, 2)), "2027-07-01 00:00");
  EXPECT_EQ(Runs("0 12 * feb-Mar *", At(2026, 3, 31, 13), 2),
            (V{"2027-02-01 12:00", "2027-02-02 12:00"}));
  // 2026-03-06 is a Friday.
  EXPECT_EQ(Runs("0 8 * * mon-fri", At(2026, 3, 6, 9), 2),
            (V{"2026-03-09 08:00", "2026-03-10 08:00"}));
  EXPECT_EQ(Runs("0 8 * * sat,SUN", At(2026, 3, 6, 9), 3),
            (V{"2026-03-07 08:00", "2026-03-08 08:00", "2026-03-14 08:00"}));
}

TEST(CronTest, SundayIsZeroAndSeven) {
  // 2026-03-08 is a Sunday.
  EXPECT_EQ(Next("0 0 * * 0", At(2026, 3, 6)), "2026-03-08 00:00");
  EXPECT_EQ(Next("0 0 * * 7", At(2026, 3, 6)), "2026-03-08 00:00");
  EXPECT_EQ(Runs("0 0 * * 5-7", At(2026, 3, 5, 1), 4),
            (V{"2026-03-06 00:00", "2026-03-07 00:00", "2026-03-08 00:00", "2026-03-13 00:00"}));
}

TEST(CronTest, MonthEndsSkipShortMonths) {
  EXPECT_EQ(Runs("0 0 31 * *", At(2026, 1, 31, 1), 3),
            (V{"2026-03-31 00:00", "2026-05-31 00:00", "2026-07-31 00:00"}));
  EXPECT_EQ(Runs("0 0 30 * *", At(2026, 1, 30, 1), 2), (V{"2026-03-30 00:00", "2026-04-30 00:00"}));
  EXPECT_EQ(Next("59 23 28-31 2 *", At(2026, 2, 28, 23, 59)), "2027-02-28 23:59");
}

TEST(CronTest, LeapYears) {
  EXPECT_EQ(Next("0 0 29 2 *", At(2025, 1, 1)), "2028-02-29 00:00");
  EXPECT_EQ(Next("0 0 29 2 *", At(2028, 2, 29)), "2032-02-29 00:00");
  // 2000 is a leap year (divisible by 400); 2100 is not (by 100).
  EXPECT_EQ(Next("0 0 29 2 *", At(1999, 6, 1)), "2000-02-29 00:00");
  EXPECT_EQ(Next("0 0 29 2 *", At(2096, 3, 1)), "2104-02-29 00:00");
  EXPECT_EQ(Runs("0 0 * 2 *", At(2024, 2, 27, 12), 3),
            (V{"2024-02-28 00:00", "2024-02-29 00:00", "2025-02-01 00:00"}));
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 1st and the 15th, and every Monday (2026-03-02 is a Monday).
  EXPECT_EQ(Runs("0 0 1,15 * mon", At(2026, 2, 28), 5),
            (V{"2026-03-01 00:00", "2026-03-02 00:00", "2026-03-09 00:00", "2026-03-15 00:00",
               "2026-03-16 00:00"}));
}

TEST(CronTest, OnlyTheRestrictedDayFieldCountsWhenTheOtherIsStar) {
  EXPECT_EQ(Runs("0 0 * * mon", At(2026, 2, 28), 2), (V{"2026-03-02 00:00", "2026-03-09 00:00"}));
  EXPECT_EQ(Runs("0 0 13 * *", At(2026, 2, 28), 2), (V{"2026-03-13 00:00", "2026-04-13 00:00"}));
  // A day-of-month field starting with "*" joins with AND (Vixie cron):
  // odd days that are also Fridays.
  EXPECT_EQ(Runs("0 0 */2 * fri", At(2026, 3, 1), 3),
            (V{"2026-03-13 00:00", "2026-03-27 00:00", "2026-04-03 00:00"}));
}

// Found by fuzz/cron_fuzz: the search stopped after 8 years, enough for
// any date but not for a restricted day of the month that must also fall on
// a restricted weekday; Parse accepted the schedule (it ran in 1970) and
// NextAfter then answered "none", so the scheduler would never run it.
TEST(CronTest, ADayThatFallsOnAWeekdayOnlyEveryElevenYearsStillHasItsNextRun) {
  // The 1st, 8th, 15th, 22nd or 29th of November on a Sunday: 2037-11-01.
  EXPECT_EQ(Next(" 0 0 */7\t11 0", At(2026, 12, 7)), "2037-11-01 00:00");
  EXPECT_EQ(Next("0 0 29 2 mon", At(2026, 1, 1)), "2026-02-02 00:00");    // OR: any Monday
  EXPECT_EQ(Next("0 0 */28 2 sun", At(2026, 3, 1)), "2032-02-01 00:00");  // the 1st or 29th
}

TEST(CronTest, NextRunsForTheScheduleEditor) {
  auto runs = Cron("0 3 * * *").NextRuns(At(2026, 3, 1, 12), 5);
  ASSERT_EQ(runs.size(), 5u);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i], At(2026, 3, 2 + int(i), 3)) << i;
  }
  EXPECT_TRUE(Cron("0 3 * * *").NextRuns(0, 0).empty());
}

TEST(CronTest, BeforeTheEpoch) {
  EXPECT_EQ(Next("0 12 * * *", At(1969, 12, 31, 11, 59, 30)), "1969-12-31 12:00");
}

TEST(CronTest, WhitespaceAndExpressionKept) {
  auto c = Cron("  0\t3  * * *  ");
  EXPECT_EQ(c.expression(), "  0\t3  * * *  ");
  EXPECT_EQ(Show(*c.NextAfter(At(2026, 1, 1))), "2026-01-01 03:00");
}

struct BadCase {
  const char* expr;
  const char* reason;  // a part of the message
};

TEST(CronTest, InvalidExpressionsNameTheReason) {
  const BadCase cases[] = {
      {"", "expected 5 fields"},
      {"* * * *", "got 4"},
      {"* * * * * *", "got 6"},
      {"60 * * * *", "minute: '60' is out of range 0-59"},
      {"* 24 * * *", "hour: '24' is out of range 0-23"},
      {"* * 0 * *", "day-of-month: '0' is out of range 1-31"},
      {"* * 32 * *", "day-of-month: '32' is out of range"},
      {"* * * 13 *", "month: '13' is out of range 1-12"},
      {"* * * 0 *", "month: '0' is out of range"},
      {"* * * * 8", "day-of-week: '8' is out of range 0-7"},
      {"5-1 * * * *", "runs backwards"},
      {"*/0 * * * *", "invalid step"},
      {"*/ * * * *", "invalid step"},
      {"*/x * * * *", "invalid step"},
      {"1,,2 * * * *", "empty list item"},
      {"1, * * * *", "empty list item"},
      {"a * * * *", "not a number"},
      {"-1 * * * *", "empty value"},
      {"jan * * * *", "not a number"},
      {"* * * foo *", "unknown name 'foo'"},
      {"* * * * fri-", "empty value"},
      {"* * * * monday", "unknown name"},
      {"1.5 * * * *", "not a number"},
      {"0 0 30 2 *", "never runs"},
      {"0 0 31 4,6,9,11 *", "never runs"},
  };
  for (const auto& c : cases) {
    auto r = CronSchedule::Parse(c.expr);
    ASSERT_FALSE(r.has_value()) << "'" << c.expr << "' parsed";
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << c.expr;
    EXPECT_NE(r.error().message().find(c.reason), std::string::npos)
        << "'" << c.expr << "': " << r.error().message();
    EXPECT_TRUE(r.error().message().starts_with("cron: ")) << r.error().message();
  }
}

// The probe stored " 0 3 * * * " as given; it is stored canonical now.
TEST(CronTest, CanonicalCronJoinsFieldsWithSingleSpaces) {
  EXPECT_EQ(CanonicalCron("  0 3  *\t* *  ").value(), "0 3 * * *");
  EXPECT_EQ(CanonicalCron("   ").value(), "");
  EXPECT_EQ(CanonicalCron("").value(), "");
  EXPECT_FALSE(CanonicalCron(" 0 3 * * ").has_value());
}

TEST(CronTest, ValidateCronAcceptsEmptyAsNoSchedule) {
  EXPECT_TRUE(ValidateCron("").has_value());
  EXPECT_TRUE(ValidateCron("   ").has_value());
  EXPECT_TRUE(ValidateCron("*/5 * * * *").has_value());
  EXPECT_FALSE(ValidateCron("* * *").has_value());
  // Feb 30 is refused, Feb 29 is fine (it recurs).
  EXPECT_FALSE(ValidateCron("0 0 30 2 *").has_value());
  EXPECT_TRUE(ValidateCron("0 0 29 2 *").has_value());
  // Restricted weekdays rescue an impossible day-of-month (OR rule).
  EXPECT_TRUE(ValidateCron("0 0 30 2 mon").has_value());
}

}  // namespace
}  // namespace coffer::manager
