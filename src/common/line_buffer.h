// Line handling shared by the managers: splitting output into lines for
// Stdio::Lines, and taking a line or bytes from a read buffer for
// Process::ReadLine/Read.
#ifndef PROCSANDBOX_SRC_COMMON_LINE_BUFFER_H_
#define PROCSANDBOX_SRC_COMMON_LINE_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

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

// Splits a block of output read after `partial` (the unterminated tail of
// earlier blocks) without copying the block: `head` gets the line that
// `partial` began and `data` ends (empty when `partial` was), `body` the
// complete lines that follow it inside `data`, each with its '\n'; what
// follows the last '\n' becomes the new `partial`. A tail grown large (one
// long line) is handed to `head` whole, so its memory goes with the delivery.
inline void SplitLines(std::string& partial, absl::string_view data,
                       std::string& head, absl::string_view& body) {
  head.clear();
  body = absl::string_view();
  const std::size_t first = data.find('\n');
  if (first == absl::string_view::npos) {
    partial.append(data.data(), data.size());
    return;
  }
  const std::size_t last = data.rfind('\n');
  std::size_t body_start = 0;
  if (!partial.empty()) {
    head = std::move(partial);
    head.append(data.data(), first);
    body_start = first + 1;
  }
  body = data.substr(body_start, last + 1 - body_start);
  partial = std::string(data.substr(last + 1));
}

// Calls `callback` with `head` (when not empty) and then with each line of
// `body` (complete lines, each ending in '\n'), without the '\n'.
template <typename Callback>
void DeliverLines(const Callback& callback, const std::string& head,
                  absl::string_view body) {
  if (!head.empty()) callback(absl::string_view(head));
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    callback(body.substr(0, nl));
    body.remove_prefix(nl + 1);
  }
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
