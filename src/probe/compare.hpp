#pragma once

// How the parity probe decides that two answers to the same prompt agree.
// Greedy decoding is not byte-reproducible across runtimes, hardware or
// builds, so the modes range from byte equality to a similarity threshold.

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace sanctum::probe {

struct CompareMode {
  enum class Kind { exact, normalized, similarity };
  Kind kind = Kind::exact;
  double threshold = 1.0;  // similarity only: the minimum token_similarity(), in (0, 1]
};

// Parses "exact", "normalized" or "similarity:R" with 0 < R <= 1.
Result<CompareMode> parse_compare_mode(const std::string& text);
std::string to_string(const CompareMode& mode);

// Folds case (ASCII letters only) and whitespace: every run of spaces, tabs
// and line breaks becomes one space, and leading and trailing whitespace goes.
std::string normalize_text(std::string_view text);

// Token-level similarity of two texts in [0, 1]. Both are normalized and
// split on spaces into words. The result is 2 * M / (A + B), where M is the
// length of the longest common subsequence of the two word lists and A and B
// are their lengths. Identical texts give 1, and so do two empty texts.
// Texts without a common word give 0. Texts longer than 4096 words are cut
// to their first 4096 words, which bounds the O(A * B) work.
double token_similarity(std::string_view a, std::string_view b);

// A short description of where `a` and `b` first differ, with up to 30
// bytes of context from each side, e.g.
// `first difference at byte 6: "echo: hello" vs "echo: help!"`.
std::string short_diff(std::string_view a, std::string_view b);

struct Comparison {
  bool match = false;
  double similarity = 0;  // token_similarity() of the two answers
  std::string diff;       // short_diff() of the compared forms; "" on a match
};

// Compares two answers under `mode`. exact compares the bytes, normalized
// compares normalize_text() of both, and similarity requires
// token_similarity() >= the mode's threshold.
Comparison compare_answers(std::string_view a, std::string_view b, const CompareMode& mode);

}  // namespace sanctum::probe
