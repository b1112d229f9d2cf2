// CapturedHandover: a Process that can hand over what Stdio::Capture kept
// instead of copying it.
//
// RunCommand() owns the process it runs and drops it once it has ended, so
// it takes the output rather than copy it: a copy of a GiB captured touches
// a GiB of fresh memory again. A Process without it is copied from
// (Captured()).
//
// Example:
//   auto* handover = dynamic_cast<internal::CapturedHandover*>(process);
//   CapturedOutput out = handover != nullptr ? handover->TakeCaptured()
//                                            : process->Captured();
#ifndef PROCSANDBOX_SRC_COMMON_CAPTURED_HANDOVER_H_
#define PROCSANDBOX_SRC_COMMON_CAPTURED_HANDOVER_H_

#include "procsandbox/process.h"

namespace procsandbox::internal {

class CapturedHandover {
 public:
  // What Captured() returns now; the process keeps none of the text
  // (Captured() returns it empty afterwards). Thread-safe.
  virtual CapturedOutput TakeCaptured() = 0;

 protected:
  ~CapturedHandover() = default;
};

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_CAPTURED_HANDOVER_H_
