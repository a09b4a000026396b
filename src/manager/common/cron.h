// CronSchedule: a standard 5-field cron expression, evaluated in UTC.
//
//   minute hour day-of-month month day-of-week
//   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
//
// Each field is "*" or a comma-separated list of items; an item is a value,
// a range "a-b", or either of those (or "*") followed by a step "/n".
// Months accept jan..dec and weekdays sun..sat (any case), also inside
// ranges ("mon-fri"). A range must not run backwards ("5-1" is an error).
// The usual (Vixie cron) day rule: when both day-of-month and day-of-week
// are restricted (neither field starts with "*"), a day matches if *either*
// matches ("0 0 1 * mon": the 1st and every Monday); when one of them starts
// with "*" (also "*/2"), a day must match both.
// No seconds field, no "@daily" macros, no "L", "W", "#" or "?".
//
// Times are microseconds since the Unix epoch and every field is read in
// UTC: the manager has no per-volume time zone, so "0 3 * * *" is 03:00 UTC
// all year round (no daylight-saving jumps, no skipped or doubled runs).
//
// Thread safety: an immutable value once parsed.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace coffer::manager {

class CronSchedule {
 public:
  // Parses an expression. kInvalidArgument with the reason, naming the
  // field: "cron: day-of-month: '32' is out of range 1-31", "cron: expected
  // 5 fields (...), got 4", "cron: '0 0 31 4 *' never runs: ...".
  static Result<CronSchedule> Parse(std::string_view expression);

  // The first minute strictly after `after_us` (microseconds since the
  // epoch, UTC) that the schedule matches, as microseconds since the epoch
  // (always a whole minute). Parse refuses schedules that never run (a date
  // that does not exist, e.g. "0 0 30 2 *"), and the search covers the
  // calendar's 400-year cycle, so a parsed schedule always has a next run
  // (the times of 64-bit microseconds permitting).
  std::optional<int64_t> NextAfter(int64_t after_us) const;

  // The next `n` run times after `after_us`, in order (fewer if the schedule
  // runs out): what the UI's schedule editor shows.
  std::vector<int64_t> NextRuns(int64_t after_us, int n) const;

  // The expression as given.
  const std::string& expression() const { return expression_; }

 private:
  CronSchedule() = default;
  bool DayMatches(int year, int month, int day) const;

  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool dom_star_ = false;    // day-of-month field starts with "*"
  bool dow_star_ = false;    // day-of-week field starts with "*"
};

// Shorthand: Parse(expression) and discard the value (for validating a
// PATCH /v1/volumes/{id}/backup_schedule body). An empty expression is
// "no schedule" and valid.
Status ValidateCron(std::string_view expression);
// The expression as it is stored: validated, its fields joined by single
// spaces ("  0 3  * * * " → "0 3 * * *"), "" for a blank one (no schedule).
Result<std::string> CanonicalCron(std::string_view expression);

}  // namespace coffer::manager
