#include "ops/time_text.hpp"

#include <cctype>
#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace sanctum::ops {

namespace {

std::tm utc_fields(TimePoint time) {
  std::time_t t = Clock::to_time_t(time);
  std::tm fields{};
  ::gmtime_r(&t, &fields);
  return fields;
}

// Reads exactly `width` decimal digits from `text` at `pos`.
std::optional<int> read_digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool valid_date(int year, int month, int day) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1) {
    return false;
  }
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= days;
}

}  // namespace

std::string format_utc(TimePoint time) {
  std::tm f = utc_fields(time);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", f.tm_year + 1900, f.tm_mon + 1,
                     f.tm_mday, f.tm_hour, f.tm_min, f.tm_sec);
}

std::string format_utc_minute(TimePoint time) {
  std::tm f = utc_fields(time);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", f.tm_year + 1900, f.tm_mon + 1,
                     f.tm_mday, f.tm_hour, f.tm_min);
}

std::string local_date_compact(TimePoint time) {
  std::time_t t = Clock::to_time_t(time);
  std::tm f{};
  ::localtime_r(&t, &f);
  return fmt::format("{:04}{:02}{:02}", f.tm_year + 1900, f.tm_mon + 1, f.tm_mday);
}

std::optional<TimePoint> parse_timestamp(std::string_view text) {
  auto year = read_digits(text, 0, 4);
  auto month = read_digits(text, 5, 2);
  auto day = read_digits(text, 8, 2);
  auto hour = read_digits(text, 11, 2);
  auto minute = read_digits(text, 14, 2);
  auto second = read_digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' ||
      text[7] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  if (!valid_date(*year, *month, *day) || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }

  std::size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::int64_t scale = 100'000'000;
    std::size_t digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      fraction += std::chrono::nanoseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) {
      return std::nullopt;
    }
  }

  std::chrono::minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    auto offset_hours = read_digits(text, pos + 1, 2);
    auto offset_minutes = read_digits(text, pos + 4, 2);
    if (!offset_hours || !offset_minutes || text[pos + 3] != ':') {
      return std::nullopt;
    }
    offset = std::chrono::hours(*offset_hours) + std::chrono::minutes(*offset_minutes);
    if (text[pos] == '-') {
      offset = -offset;
    }
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) {
    return std::nullopt;
  }

  std::tm fields{};
  fields.tm_year = *year - 1900;
  fields.tm_mon = *month - 1;
  fields.tm_mday = *day;
  fields.tm_hour = *hour;
  fields.tm_min = *minute;
  fields.tm_sec = *second;
  TimePoint time = Clock::from_time_t(::timegm(&fields));
  return time - offset + std::chrono::duration_cast<Clock::duration>(fraction);
}

std::optional<TimePoint> local_midnight(int year, int month, int day) {
  if (!valid_date(year, month, day)) {
    return std::nullopt;
  }
  std::tm fields{};
  fields.tm_year = year - 1900;
  fields.tm_mon = month - 1;
  fields.tm_mday = day;
  fields.tm_isdst = -1;
  std::time_t t = std::mktime(&fields);
  if (t == static_cast<std::time_t>(-1)) {
    return std::nullopt;
  }
  return Clock::from_time_t(t);
}

Result<TimePoint> parse_now(std::string_view text) {
  if (text.size() == 10) {
    auto year = read_digits(text, 0, 4);
    auto month = read_digits(text, 5, 2);
    auto day = read_digits(text, 8, 2);
    if (year && month && day && text[4] == '-' && text[7] == '-') {
      if (auto midnight = local_midnight(*year, *month, *day)) {
        return *midnight + std::chrono::hours(12);
      }
    }
  } else if (auto time = parse_timestamp(text)) {
    return *time;
  }
  return make_error(fmt::format("invalid time \"{}\": expected YYYY-MM-DD or an RFC 3339 "
                                "timestamp such as 2026-04-22T10:00:00Z",
                                text));
}

Result<std::chrono::seconds> parse_age(std::string_view text) {
  std::int64_t count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (ec != std::errc() || end == text.data() || count < 0 || unit.size() != 1) {
    return make_error(fmt::format("invalid duration \"{}\": expected a whole number followed by "
                                  "s, m, h or d, e.g. 15m or 7d",
                                  text));
  }
  constexpr std::int64_t kMaxDays = 100 * 366;
  std::int64_t multiplier = 0;
  switch (unit[0]) {
    case 's': multiplier = 1; break;
    case 'm': multiplier = 60; break;
    case 'h': multiplier = 3600; break;
    case 'd': multiplier = 86400; break;
    default:
      return make_error(fmt::format("invalid duration \"{}\": the unit must be s, m, h or d",
                                    text));
  }
  if (count > kMaxDays * 86400 / multiplier) {
    return make_error(fmt::format("invalid duration \"{}\": longer than 100 years", text));
  }
  return std::chrono::seconds(count * multiplier);
}

std::string format_age(std::chrono::seconds age) {
  auto total = age.count();
  std::string sign = total < 0 ? "-" : "";
  total = total < 0 ? -total : total;
  auto days = total / 86400;
  auto hours = (total % 86400) / 3600;
  auto minutes = (total % 3600) / 60;
  auto seconds = total % 60;
  if (days > 0) {
    return hours > 0 ? fmt::format("{}{}d {}h", sign, days, hours)
                     : fmt::format("{}{}d", sign, days);
  }
  if (hours > 0) {
    return minutes > 0 ? fmt::format("{}{}h {}m", sign, hours, minutes)
                       : fmt::format("{}{}h", sign, hours);
  }
  if (minutes > 0) {
    return fmt::format("{}{}m", sign, minutes);
  }
  return fmt::format("{}{}s", sign, seconds);
}

}  // namespace sanctum::ops
