#include "config/config.hpp"

namespace sanctum::config {

std::vector<Problem> validate(const Config& config) { return {}; }

}  // namespace sanctum::config
