// The parity probe: the same prompts at temperature 0 against a target and
// a reference, with model lists and answers compared.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "obs/log.hpp"
#include "probe/checks.hpp"
#include "probe/common.hpp"
#include "probe/probe.hpp"
#include "probe/prompts.hpp"
#include "probe/schedule.hpp"

namespace sanctum::probe {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxLoggedText = 200;

std::string clip(const std::string& text) { return text.substr(0, kMaxLoggedText); }

std::vector<std::string> missing_from(const std::vector<std::string>& from,
                                      const std::vector<std::string>& other) {
  std::set<std::string> present(other.begin(), other.end());
  std::vector<std::string> missing;
  for (const auto& model : from) {
    if (!present.contains(model)) {
      missing.push_back(model);
    }
  }
  return missing;
}

// One end of the comparison: its target, its client once loaded, and the
// model it is asked for.
struct Side {
  const Target& site;
  std::optional<client::MtlsClient> client;
  std::string model;
};

class ParityRun {
 public:
  ParityRun(const ParityOptions& options, const std::vector<Prompt>& prompts, Prepared& prepared,
            const Target& reference)
      : options_(options), prompts_(prompts), prepared_(prepared), reference_(reference),
        timeouts_(timeouts_for(options.common.timeout)) {}

  int run() {
    auto started = Clock::now();
    Side target{prepared_.target, std::nullopt, options_.model};
    Side reference{reference_, std::nullopt, options_.reference_model.empty()
                                                 ? options_.model
                                                 : options_.reference_model};
    Record record = start(target, reference);
    bool ready = target.client && reference.client && compare_models(record, target, reference);
    if (ready) {
      compare_prompts(record, target, reference);
    }
    record["latency_ms"] = to_millis(Clock::now() - started);
    finish(record);
    prepared_.log.write(record);
    log_outcome("parity", record);
    if (!target.client || !reference.client) {
      return kExitSetup;
    }
    return record["ok"].get<bool>() ? kExitOk : kExitFailed;
  }

 private:
  Record start(Side& target, Side& reference) {
    auto target_client = load_client(target.site);
    auto reference_client = load_client(reference.site);
    Record record =
        start_record("parity", target.site, target_client ? &target_client->certificate() : nullptr,
                     options_.common.warn_days, false);
    record["reference"] = reference.site.url.text;
    record["reference_client"] = reference.site.client_name;
    if (reference_client) {
      const auto& certificate = reference_client->certificate();
      std::time_t now = std::time(nullptr);
      record["reference_client_serial"] = certificate.serial_hex;
      record["reference_client_days_left"] = days_left(certificate.not_after, now);
      add_warning(record, expiry_warning(certificate, reference.site.client_name, now,
                                         options_.common.warn_days));
    }
    record["compare"] = to_string(options_.compare);
    record["prompts"] = prompts_.size();
    if (!target_client) {
      errors_.push_back("client-files: " + target_client.error().message);
    } else {
      target.client = std::move(*target_client);
    }
    if (!reference_client) {
      errors_.push_back("client-files: " + reference_client.error().message);
    } else {
      reference.client = std::move(*reference_client);
    }
    return record;
  }

  static void add_warning(Record& record, const std::optional<std::string>& warning) {
    if (!warning) {
      return;
    }
    if (record.contains("warning")) {
      record["warning"] = record["warning"].get<std::string>() + "; " + *warning;
    } else {
      record["warning"] = *warning;
    }
  }

  // Keeps the first non-2xx status seen, else the latest 2xx one.
  void note_status(const client::Response& response) {
    if (response.status == 0 || (status_ != 0 && status_ / 100 != 2)) {
      return;
    }
    status_ = response.status;
  }

  // Fetches both model lists, records a mismatch when they differ, and picks
  // each side's model. Returns false when the prompts cannot run.
  bool compare_models(Record& record, Side& target, Side& reference) {
    ModelsCheck target_models = check_models(*target.client, target.site.url, timeouts_);
    ModelsCheck reference_models = check_models(*reference.client, reference.site.url, timeouts_);
    note_status(target_models.response);
    note_status(reference_models.response);

    record["tls_version"] = target_models.response.tls_version;
    record["server_cert_sha256"] = target_models.response.server_cert_sha256;
    record["models"] = target_models.models;
    record["reference_models"] = reference_models.models;
    if (!target_models.ok()) {
      errors_.push_back("target: " + target_models.error);
    }
    if (!reference_models.ok()) {
      errors_.push_back("reference: " + reference_models.error);
    }
    if (!target_models.ok() || !reference_models.ok()) {
      return false;
    }

    auto only_target = missing_from(target_models.models, reference_models.models);
    auto only_reference = missing_from(reference_models.models, target_models.models);
    if (!only_target.empty() || !only_reference.empty()) {
      mismatches_.push_back({{"kind", "models"},
                             {"only_target", only_target},
                             {"only_reference", only_reference}});
      obs::logger("probe")->warn("parity: model lists differ: only at the target [{}], only at "
                                 "the reference [{}]",
                                 fmt::join(only_target, ", "), fmt::join(only_reference, ", "));
    }

    if (target.model.empty() && !target_models.models.empty()) {
      target.model = target_models.models.front();
    }
    if (reference.model.empty() && !reference_models.models.empty()) {
      reference.model = reference_models.models.front();
    }
    record["model"] = target.model;
    record["reference_model"] = reference.model;
    if (target.model.empty() || reference.model.empty()) {
      errors_.push_back("no-models: a target lists no model and --model is not set");
      return false;
    }
    return true;
  }

  void compare_prompts(Record& record, const Side& target, const Side& reference) {
    int matched = 0;
    for (const Prompt& prompt : prompts_) {
      ChatCheck left = check_chat(*target.client, target.site.url, target.model,
                                  prompt.messages, options_.max_tokens, timeouts_);
      ChatCheck right = check_chat(*reference.client, reference.site.url, reference.model,
                                   prompt.messages, options_.max_tokens, timeouts_);
      note_status(left.response);
      note_status(right.response);
      if (!left.ok() || !right.ok()) {
        ++failed_prompts_;
        mismatches_.push_back({{"kind", "error"},
                               {"id", prompt.id},
                               {"line", prompt.line},
                               {"target_error", left.ok() ? Record() : Record(left.error)},
                               {"reference_error", right.ok() ? Record() : Record(right.error)}});
        continue;
      }
      Comparison comparison = compare_answers(left.answer, right.answer, options_.compare);
      if (comparison.match) {
        ++matched;
        continue;
      }
      ++differing_answers_;
      mismatches_.push_back({{"kind", "answer"},
                             {"id", prompt.id},
                             {"line", prompt.line},
                             {"prompt", clip(prompt.text)},
                             {"target_answer", clip(left.answer)},
                             {"reference_answer", clip(right.answer)},
                             {"similarity", std::round(comparison.similarity * 1000) / 1000},
                             {"diff", comparison.diff}});
      obs::logger("probe")->warn("parity: {} differs: {}", prompt.id, comparison.diff);
    }
    record["matched"] = matched;
  }

  void finish(Record& record) {
    std::vector<std::string> problems = errors_;
    if (differing_answers_ > 0) {
      problems.push_back(
          fmt::format("{} of {} answers differ", differing_answers_, prompts_.size()));
    }
    if (failed_prompts_ > 0) {
      problems.push_back(fmt::format("{} of {} prompts failed", failed_prompts_, prompts_.size()));
    }
    bool models_differ = std::any_of(mismatches_.begin(), mismatches_.end(),
                                     [](const Record& m) { return m["kind"] == "models"; });
    if (models_differ) {
      problems.push_back("model lists differ");
    }
    record["http_status"] = status_ == 0 ? Record() : Record(status_);
    record["ok"] = problems.empty();
    record["error"] = problems.empty() ? Record() : Record(fmt::format("{}", fmt::join(problems, "; ")));
    record["mismatches"] = mismatches_;
  }

  const ParityOptions& options_;
  const std::vector<Prompt>& prompts_;
  Prepared& prepared_;
  const Target& reference_;
  client::Timeouts timeouts_;
  std::vector<std::string> errors_;
  std::vector<Record> mismatches_;
  int differing_answers_ = 0;
  int failed_prompts_ = 0;
  unsigned status_ = 0;
};

}  // namespace

int run_parity(const ParityOptions& options) {
  auto prompts = load_prompts(options.prompts_file);
  if (!prompts) {
    std::cerr << "sanctum probe parity: " << prompts.error().message << "\n";
    return kExitSetup;
  }
  auto reference = resolve_target(options.reference);
  if (!reference) {
    std::cerr << "sanctum probe parity: reference: " << reference.error().message << "\n";
    return kExitSetup;
  }
  if (auto client = load_client(*reference); !client) {
    std::cerr << "sanctum probe parity: reference: " << client.error().message << "\n";
    return kExitSetup;
  }
  auto prepared = prepare("parity", options.common);
  if (!prepared) {
    return kExitSetup;
  }
  return run_on_schedule(options.common.every, [&] {
    return ParityRun(options, *prompts, *prepared, *reference).run();
  });
}

}  // namespace sanctum::probe
