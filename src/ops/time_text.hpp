#pragma once

// Timestamps and durations as the ops commands read and print them. Every
// function that needs the current time takes it as a parameter, so tests can
// pass a fixed time.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace sanctum::ops {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// Formats `time` as RFC 3339 in UTC with whole seconds: "2026-04-22T10:00:00Z".
std::string format_utc(TimePoint time);

// Formats `time` for people, in UTC to the minute: "2026-04-22 10:00 UTC".
std::string format_utc_minute(TimePoint time);

// Formats the local calendar date of `time` as "YYYYMMDD".
std::string local_date_compact(TimePoint time);

// Parses an RFC 3339 timestamp: "YYYY-MM-DDTHH:MM:SS", an optional fraction,
// then "Z" or "+HH:MM"/"-HH:MM". A space may stand for the "T". Returns
// nothing for anything else.
std::optional<TimePoint> parse_timestamp(std::string_view text);

// Returns the start (00:00 local time) of the local date YYYY-MM-DD, or
// nothing when the date is not a valid calendar date.
std::optional<TimePoint> local_midnight(int year, int month, int day);

// Parses a `--now` value for tests and what-if runs: "YYYY-MM-DD" (noon,
// local time, so a test is not sensitive to the hour it runs at) or an
// RFC 3339 timestamp. The error names the value and the accepted forms.
Result<TimePoint> parse_now(std::string_view text);

// Parses a duration of whole seconds, minutes, hours or days: "90s", "15m",
// "24h", "7d". The error names the value and the accepted units.
Result<std::chrono::seconds> parse_age(std::string_view text);

// Formats a duration for people with its largest unit: "3d 4h", "15m", "42s".
std::string format_age(std::chrono::seconds age);

}  // namespace sanctum::ops
