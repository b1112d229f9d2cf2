// A program outside procsandbox, built against an installed (or
// add_subdirectory'd) procsandbox by tests/packaging. It needs the public
// headers, the library, and fmt and Abseil through procsandbox's usage
// requirements; it succeeds only if the library computes the expected value.
#include <cstdint>
#include <cstdio>

#include "fmt/format.h"
#include "procsandbox/procsandbox.h"

int main() {
  const absl::StatusOr<int64_t> bytes = procsandbox::ParseByteSize("64M");
  if (!bytes.ok()) {
    std::fprintf(stderr, "ParseByteSize(\"64M\"): %s\n",
                 bytes.status().ToString().c_str());
    return 1;
  }
  procsandbox::Limits limits;
  limits.memory_bytes = *bytes;
  limits.wall_time = absl::Seconds(10);
  const std::string text = fmt::format("{}", limits);
  std::printf("limits: %s\n", text.c_str());
  constexpr int64_t kExpected = int64_t{64} * 1024 * 1024;
  if (*bytes != kExpected) {
    std::fprintf(stderr, "ParseByteSize(\"64M\") = %lld, want %lld\n",
                 static_cast<long long>(*bytes),
                 static_cast<long long>(kExpected));
    return 1;
  }
  return 0;
}
