// Line handling shared by the managers: splitting output into lines for
// Stdio::Lines, and taking a line or bytes from a read buffer for
// Process::ReadLine/Read.
#ifndef PROCSANDBOX_SRC_COMMON_LINE_BUFFER_H_
#define PROCSANDBOX_SRC_COMMON_LINE_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace procsandbox::internal {

// Moves every complete line of `partial` (without its '\n') to `lines`,
// leaving the unterminated tail in `partial`.
inline void TakeCompleteLines(std::string& partial,
                              std::vector<std::string>& lines) {
  std::size_t start = 0;
  for (std::size_t nl = partial.find('\n'); nl != std::string::npos;
       nl = partial.find('\n', start)) {
    lines.emplace_back(partial, start, nl - start);
    start = nl + 1;
  }
  partial.erase(0, start);
}

// Takes from the front of `buffer` its first line without the '\n' (or all
// of it when there is no '\n': a last line at end of file), or, when `line`
// is false, up to `max_bytes` bytes.
inline std::string TakeFront(std::string& buffer, bool line,
                             std::size_t max_bytes) {
  std::string taken;
  if (line) {
    const std::size_t nl = buffer.find('\n');
    const std::size_t end = nl == std::string::npos ? buffer.size() : nl;
    taken = buffer.substr(0, end);
    buffer.erase(0, nl == std::string::npos ? end : nl + 1);
  } else {
    const std::size_t n = std::min(max_bytes, buffer.size());
    taken = buffer.substr(0, n);
    buffer.erase(0, n);
  }
  return taken;
}

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_LINE_BUFFER_H_
