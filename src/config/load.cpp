#include "config/config.hpp"

namespace sanctum::config {

Result<Config> load(const std::filesystem::path& path, std::vector<Problem>& problems) {
  return make_error("config loading is not built yet");
}

std::vector<Problem> validate(const Config& config) { return {}; }

}  // namespace sanctum::config
