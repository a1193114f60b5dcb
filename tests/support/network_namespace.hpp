#pragma once

#include <string>
#include <vector>

namespace sanctum::test {

// A network namespace of the test's own whose loopback interface also
// carries 192.0.2.1 (TEST-NET-1), a non-loopback address that exists only
// inside it. Removed with its addresses when the object goes away. Creating
// it needs root and iproute2; ok() is false when that failed.
class PrivateNamespace {
 public:
  static constexpr const char* kOuterAddress = "192.0.2.1";

  PrivateNamespace();
  ~PrivateNamespace();
  PrivateNamespace(const PrivateNamespace&) = delete;
  PrivateNamespace& operator=(const PrivateNamespace&) = delete;

  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }

  // Prefixes `argv` with `ip netns exec NAME` so it runs inside.
  std::vector<std::string> wrap(const std::vector<std::string>& argv) const;

 private:
  std::string name_;
  bool ok_ = false;
};

}  // namespace sanctum::test
