// Helpers shared by the fuzz targets of tests/fuzz: a reader that turns the
// fuzzer's bytes into values, and FUZZ_CHECK, which aborts (a finding for
// libFuzzer, a failure for the corpus replay) when a property does not hold.
#ifndef PROCSANDBOX_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define PROCSANDBOX_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

// Aborts with the property and where it failed.
#define FUZZ_CHECK(condition)                                                  \
  do {                                                                         \
    if (!(condition)) {                                                        \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                                \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

namespace procsandbox::fuzz {

// Reads the fuzzer's bytes front to back; past the end every value is 0 or
// empty (never an error: every input is a valid test).
class Input {
 public:
  Input(const uint8_t* data, std::size_t size)
      : data_(reinterpret_cast<const char*>(data)), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() {
    return pos_ < size_ ? static_cast<uint8_t>(data_[pos_++]) : 0;
  }
  bool Bool() { return (Byte() & 1) != 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | Byte();
    return v;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  // Text up to the next '\n' (not included), or to the end.
  std::string Line() {
    const std::size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    std::string line(data_ + start, pos_ - start);
    if (pos_ < size_) ++pos_;
    return line;
  }
  // Everything not read yet.
  absl::string_view Rest() {
    absl::string_view rest(data_ + pos_, size_ - std::min(pos_, size_));
    pos_ = size_;
    return rest;
  }

 private:
  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace procsandbox::fuzz

#endif  // PROCSANDBOX_TESTS_FUZZ_FUZZ_SUPPORT_H_
