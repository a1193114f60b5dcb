#include "obs/counters.hpp"

namespace sanctum::obs {

Counters& counters() {
  static Counters instance;
  return instance;
}

}  // namespace sanctum::obs
