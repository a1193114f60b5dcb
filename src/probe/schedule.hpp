#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace sanctum::probe {

// Calls `run_once` and returns its exit code when `every` is unset.
// Otherwise calls it at a fixed rate, every `every` measured from the start
// of the first run, until SIGTERM or SIGINT arrives, and then returns 0. A
// run that takes longer than `every` makes the next one start at once, and
// the schedule continues from there. SIGTERM and SIGINT stay blocked in the
// calling thread while the loop runs. A signal that arrives during a run
// ends the loop when that run finishes, which its request timeouts bound.
int run_on_schedule(std::optional<std::chrono::milliseconds> every,
                    const std::function<int()>& run_once);

}  // namespace sanctum::probe
