#include "probe/compare.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

namespace sanctum::probe {

namespace {

constexpr std::size_t kMaxWords = 4096;
constexpr std::size_t kDiffContext = 30;

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  while (!text.empty() && words.size() < kMaxWords) {
    auto space = text.find(' ');
    words.push_back(text.substr(0, space));
    if (space == std::string_view::npos) {
      break;
    }
    text.remove_prefix(space + 1);
  }
  return words;
}

std::size_t common_subsequence_length(const std::vector<std::string_view>& a,
                                      const std::vector<std::string_view>& b) {
  std::vector<std::size_t> previous(b.size() + 1, 0);
  std::vector<std::size_t> current(b.size() + 1, 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string excerpt(std::string_view text, std::size_t from) {
  std::string out = from > 0 ? "..." : "";
  out.append(text.substr(from, 2 * kDiffContext));
  if (from + 2 * kDiffContext < text.size()) {
    out += "...";
  }
  return out;
}

}  // namespace

Result<CompareMode> parse_compare_mode(const std::string& text) {
  if (text == "exact") {
    return CompareMode{CompareMode::Kind::exact, 1.0};
  }
  if (text == "normalized") {
    return CompareMode{CompareMode::Kind::normalized, 1.0};
  }
  constexpr std::string_view kPrefix = "similarity:";
  if (text.starts_with(kPrefix)) {
    std::string number = text.substr(kPrefix.size());
    char* end = nullptr;
    double threshold = std::strtod(number.c_str(), &end);
    if (!number.empty() && end == number.c_str() + number.size() && threshold > 0 &&
        threshold <= 1) {
      return CompareMode{CompareMode::Kind::similarity, threshold};
    }
  }
  return make_error(fmt::format(
      "invalid compare mode \"{}\": use exact, normalized or similarity:R with 0 < R <= 1 "
      "(for example similarity:0.9)",
      text));
}

std::string to_string(const CompareMode& mode) {
  switch (mode.kind) {
    case CompareMode::Kind::exact:
      return "exact";
    case CompareMode::Kind::normalized:
      return "normalized";
    case CompareMode::Kind::similarity:
      return fmt::format("similarity:{:g}", mode.threshold);
  }
  return "exact";
}

std::string normalize_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    bool ascii = static_cast<unsigned char>(c) < 0x80;
    out.push_back(ascii ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c);
  }
  return out;
}

double token_similarity(std::string_view a, std::string_view b) {
  std::string left = normalize_text(a);
  std::string right = normalize_text(b);
  auto left_words = left.empty() ? std::vector<std::string_view>{} : split_words(left);
  auto right_words = right.empty() ? std::vector<std::string_view>{} : split_words(right);
  std::size_t total = left_words.size() + right_words.size();
  if (total == 0) {
    return 1.0;
  }
  std::size_t common = common_subsequence_length(left_words, right_words);
  return 2.0 * static_cast<double>(common) / static_cast<double>(total);
}

std::string short_diff(std::string_view a, std::string_view b) {
  auto [left, right] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (left == a.end() && right == b.end()) {
    return "";
  }
  std::size_t at = static_cast<std::size_t>(left - a.begin());
  std::size_t from = at > kDiffContext ? at - kDiffContext : 0;
  return fmt::format("first difference at byte {}: \"{}\" vs \"{}\"", at, excerpt(a, from),
                     excerpt(b, from));
}

Comparison compare_answers(std::string_view a, std::string_view b, const CompareMode& mode) {
  Comparison result;
  result.similarity = token_similarity(a, b);
  switch (mode.kind) {
    case CompareMode::Kind::exact:
      result.match = a == b;
      result.diff = short_diff(a, b);
      break;
    case CompareMode::Kind::normalized: {
      std::string left = normalize_text(a);
      std::string right = normalize_text(b);
      result.match = left == right;
      result.diff = short_diff(left, right);
      break;
    }
    case CompareMode::Kind::similarity:
      result.match = result.similarity >= mode.threshold;
      result.diff = short_diff(normalize_text(a), normalize_text(b));
      break;
  }
  if (result.match) {
    result.diff.clear();
  }
  return result;
}

}  // namespace sanctum::probe
