#include "manager/common/cron.h"

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>

namespace coffer::manager {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;
constexpr int64_t kDayMinutes = 24 * 60;
// The Gregorian calendar's whole cycle: 400 years are 146,097 days, a whole
// number of weeks, so any 400 years hold every day a schedule can match —
// dates (Feb 29th) and the days where a restricted day of the month meets a
// restricted weekday too ("*/7 11 sun": the 1st, 8th, … of November on a
// Sunday, eleven years apart from 2026). Months that do not match are
// skipped a month at a time, so the search stays short.
constexpr int kSearchYears = 400;

struct FieldSpec {
  const char* name;
  int min, max;
  const std::array<std::string_view, 12>* names;  // nullptr: numbers only
  int first_name_value;                           // value of names[0]
};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri",
                                                        "sat", "",    "",    "",    "",    ""};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0},        {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},  {"month", 1, 12, &kMonthNames, 1},
    {"day-of-week", 0, 7, &kDayNames, 0},  // 7 is Sunday as well
};

Error FieldError(const FieldSpec& f, std::string_view item, const std::string& why) {
  return Error(ErrorCode::kInvalidArgument,
               std::string("cron: ") + f.name + ": '" + std::string(item) + "' " + why);
}

// A number or (for months and weekdays) a name.
Result<int> ParseValue(const FieldSpec& f, std::string_view text, std::string_view item) {
  if (text.empty()) return std::unexpected(FieldError(f, item, "has an empty value"));
  if (f.names != nullptr && std::isalpha(static_cast<unsigned char>(text[0]))) {
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (size_t i = 0; i < f.names->size(); ++i) {
      if (!(*f.names)[i].empty() && (*f.names)[i] == lower) {
        return f.first_name_value + static_cast<int>(i);
      }
    }
    return std::unexpected(FieldError(f, item, "has an unknown name '" + std::string(text) + "'"));
  }
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::unexpected(FieldError(f, item, "is not a number"));
  }
  if (v < f.min || v > f.max) {
    return std::unexpected(FieldError(
        f, item, "is out of range " + std::to_string(f.min) + "-" + std::to_string(f.max)));
  }
  return v;
}

// Parses one field into `bits` (indexed by value). Returns whether the field
// starts with "*" (the day rule needs it).
Result<bool> ParseField(const FieldSpec& f, std::string_view field, std::bitset<64>* bits) {
  size_t pos = 0;
  while (true) {
    size_t comma = field.find(',', pos);
    std::string_view item =
        field.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) return std::unexpected(FieldError(f, field, "has an empty list item"));
    std::string_view base = item;
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view st = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(st.data(), st.data() + st.size(), step);
      if (st.empty() || ec != std::errc() || end != st.data() + st.size() || step < 1 ||
          step > f.max) {
        return std::unexpected(FieldError(f, item, "has an invalid step"));
      }
    }
    int lo = f.min, hi = f.max;
    if (base == "*") {
      // the whole range
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      COFFER_ASSIGN_OR_RETURN(lo, ParseValue(f, base.substr(0, dash), item));
      COFFER_ASSIGN_OR_RETURN(hi, ParseValue(f, base.substr(dash + 1), item));
      if (lo > hi) return std::unexpected(FieldError(f, item, "is a range that runs backwards"));
    } else {
      COFFER_ASSIGN_OR_RETURN(lo, ParseValue(f, base, item));
      // "5/15" means from 5 to the end in steps of 15; a plain "5" is 5.
      if (base.size() != item.size())
        hi = f.max;
      else
        hi = lo;
    }
    for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(v));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return field.starts_with('*');
}

template <size_t N>
std::bitset<N> Narrow(const std::bitset<64>& wide) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = wide[i];
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < expression.size()) {
    while (i < expression.size() && std::isspace(static_cast<unsigned char>(expression[i]))) ++i;
    size_t start = i;
    while (i < expression.size() && !std::isspace(static_cast<unsigned char>(expression[i]))) ++i;
    if (i > start) fields.push_back(expression.substr(start, i - start));
  }
  if (fields.size() != 5) {
    return InvalidArgument(
        "cron: expected 5 fields (minute hour day-of-month month "
        "day-of-week), got " +
        std::to_string(fields.size()));
  }
  CronSchedule s;
  s.expression_ = std::string(expression);
  std::bitset<64> bits[5];
  bool star[5];
  for (int f = 0; f < 5; ++f) {
    COFFER_ASSIGN_OR_RETURN(star[f], ParseField(kFields[f], fields[f], &bits[f]));
  }
  if (bits[4][7]) bits[4].set(0);  // 7 is Sunday too
  s.minutes_ = Narrow<60>(bits[0]);
  s.hours_ = Narrow<24>(bits[1]);
  s.days_ = Narrow<32>(bits[2]);
  s.months_ = Narrow<13>(bits[3]);
  s.weekdays_ = Narrow<7>(bits[4]);
  s.dom_star_ = star[2];
  s.dow_star_ = star[4];
  // Day of month, month and weekday together may ask for a day that never
  // comes (February 30th); a search of the calendar's whole cycle finds
  // every one that does.
  if (!s.NextAfter(0)) {
    return InvalidArgument("cron: '" + s.expression_ +
                           "' never runs: no month has that day (e.g. February 30th)");
  }
  return s;
}

bool CronSchedule::DayMatches(int year, int month, int day) const {
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year(year), std::chrono::month(unsigned(month)),
                           std::chrono::day(unsigned(day))};
  const unsigned wd = weekday(sys_days(ymd)).c_encoding();  // 0 = Sunday
  const bool dom = days_[static_cast<size_t>(day)];
  const bool dow = weekdays_[wd];
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

std::optional<int64_t> CronSchedule::NextAfter(int64_t after_us) const {
  using namespace std::chrono;
  // Minutes since the epoch of the first candidate: the minute after the one
  // `after_us` falls in.
  int64_t minute = FloorDiv(after_us, kMinuteUs) + 1;
  int64_t day_index = FloorDiv(minute, kDayMinutes);
  int minute_of_day = static_cast<int>(minute - day_index * kDayMinutes);
  const int last_year = int(year_month_day(sys_days(days(day_index))).year()) + kSearchYears;

  while (true) {
    const year_month_day ymd{sys_days(days(day_index))};
    const int y = int(ymd.year());
    if (y > last_year) return std::nullopt;
    const int m = static_cast<int>(unsigned(ymd.month()));
    if (!months_[static_cast<size_t>(m)]) {
      // Jump to the first day of the next month.
      const year_month next = year_month(ymd.year(), ymd.month()) + months(1);
      day_index = sys_days(next / std::chrono::day(1)).time_since_epoch().count();
      minute_of_day = 0;
      continue;
    }
    if (DayMatches(y, m, static_cast<int>(unsigned(ymd.day())))) {
      for (int t = minute_of_day; t < kDayMinutes; ++t) {
        if (hours_[static_cast<size_t>(t / 60)] && minutes_[static_cast<size_t>(t % 60)]) {
          return (day_index * kDayMinutes + t) * kMinuteUs;
        }
      }
    }
    ++day_index;
    minute_of_day = 0;
  }
}

std::vector<int64_t> CronSchedule::NextRuns(int64_t after_us, int n) const {
  std::vector<int64_t> out;
  int64_t t = after_us;
  for (int i = 0; i < n; ++i) {
    auto next = NextAfter(t);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

Result<std::string> CanonicalCron(std::string_view expression) {
  COFFER_RETURN_IF_ERROR(ValidateCron(expression));
  std::string out;
  size_t i = 0;
  while (i < expression.size()) {
    while (i < expression.size() && std::isspace(static_cast<unsigned char>(expression[i]))) ++i;
    size_t start = i;
    while (i < expression.size() && !std::isspace(static_cast<unsigned char>(expression[i]))) ++i;
    if (i > start)
      out += (out.empty() ? "" : " ") + std::string(expression.substr(start, i - start));
  }
  return out;
}

Status ValidateCron(std::string_view expression) {
  bool blank = true;
  for (char c : expression) blank = blank && std::isspace(static_cast<unsigned char>(c));
  if (blank) return {};
  COFFER_RETURN_IF_ERROR(CronSchedule::Parse(expression));
  return {};
}

}  // namespace coffer::manager
