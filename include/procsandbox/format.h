// procsandbox/format.h: how the public value types print.
//
// Every public value type has a `ToString()` overload, an `fmt::formatter`
// built on it, and an `operator<<` delegating to it, so the same text shows in
// logs (`fmt::format("{}", outcome)`), in gtest failure messages, and in
// streams.
//
// Example:
//   procsandbox::Outcome outcome = ...;
//   std::string line = fmt::format("tool finished: {}", outcome);
//   // "tool finished: exited 0 in 12ms"
#ifndef PROCSANDBOX_FORMAT_H_
#define PROCSANDBOX_FORMAT_H_

#include <ostream>
#include <string>

#include "fmt/format.h"

// Declares `fmt::formatter<Type>` (which prints `procsandbox::ToString(value)`)
// and `operator<<`. Use at global scope, after the type and its ToString().
#define PROCSANDBOX_FORMATTER(Type)                                      \
  template <>                                                            \
  struct fmt::formatter<Type> : fmt::formatter<fmt::string_view> {       \
    template <typename FormatContext>                                    \
    auto format(const Type& value, FormatContext& ctx) const             \
        -> decltype(ctx.out()) {                                         \
      const std::string text = ::procsandbox::ToString(value);           \
      return fmt::formatter<fmt::string_view>::format(                   \
          fmt::string_view(text.data(), text.size()), ctx);              \
    }                                                                    \
  };                                                                     \
  namespace procsandbox {                                                \
  inline std::ostream& operator<<(std::ostream& os, const Type& value) { \
    return os << ToString(value);                                        \
  }                                                                      \
  }

#endif  // PROCSANDBOX_FORMAT_H_
