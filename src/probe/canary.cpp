// The canary: a tiny streamed chat completion, to show that the whole
// generation path works, not only the API process.

#include "probe/checks.hpp"
#include "probe/common.hpp"
#include "probe/probe.hpp"
#include "probe/schedule.hpp"

namespace sanctum::probe {

namespace {

constexpr std::size_t kMaxLoggedAnswer = 200;

int canary_once(const CanaryOptions& options, Prepared& prepared) {
  auto client = load_client(prepared.target);
  Record record = start_record("canary", prepared.target, client ? &client->certificate() : nullptr,
                               options.common.warn_days, true);
  record["model"] = options.model.empty() ? Record() : Record(options.model);
  int exit_code = kExitFailed;
  auto timeouts = timeouts_for(options.common.timeout);
  if (!client) {
    record["error"] = "client-files: " + client.error().message;
    exit_code = kExitSetup;
  } else {
    std::string model = options.model;
    bool have_model = true;
    if (model.empty()) {
      ModelsCheck models = check_models(*client, prepared.target.url, timeouts);
      record_response(record, models.response);
      record["models"] = models.models;
      if (!models.ok()) {
        record["error"] = models.error;
        have_model = false;
      } else if (models.models.empty()) {
        record["error"] = "no-models: /v1/models lists no model and --model is not set";
        have_model = false;
      } else {
        model = models.models.front();
        record["model"] = model;
      }
    }
    if (have_model) {
      CanaryCheck check = check_streamed_chat(*client, prepared.target.url, model,
                                              options.prompt, options.max_tokens, timeouts);
      record_response(record, check.response);
      if (check.time_to_first_token) {
        record["ttft_ms"] = to_millis(*check.time_to_first_token);
      }
      record["ok"] = check.ok();
      record["error"] = check.ok() ? Record() : Record(check.error);
      record["stream_complete"] = check.stream_complete;
      record["answer"] = check.answer.substr(0, kMaxLoggedAnswer);
      exit_code = check.ok() ? kExitOk : kExitFailed;
    }
  }
  prepared.log.write(record);
  log_outcome("canary", record);
  return exit_code;
}

}  // namespace

int run_canary(const CanaryOptions& options) {
  auto prepared = prepare("canary", options.common);
  if (!prepared) {
    return kExitSetup;
  }
  return run_on_schedule(options.common.every, [&] { return canary_once(options, *prepared); });
}

}  // namespace sanctum::probe
