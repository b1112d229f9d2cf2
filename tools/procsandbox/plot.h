// `procsandbox plot`: an SVG chart of a timeline (`run --timeline FILE`):
// CPU and memory over time, the limits as horizontal lines, the end marked
// with the outcome.
//
//   absl::StatusOr<Timeline> timeline = ReadTimeline("run.jsonl");
//   if (timeline.ok()) std::string svg = PlotSvg(*timeline);
//
// Geometry (SVG user units, one pixel each when rendered at its size): two
// panels of kPanelWidth x kPanelHeight, CPU above (kCpuPanelTop), memory
// below (kMemoryPanelTop), both from x = kPanelLeft. Time runs from 0 at the
// left edge to kAxisHeadroom x the end (the end record's wall time, else the
// last sample) at the right edge; each value axis from 0 at the bottom to
// kAxisHeadroom x the largest of its samples and its reference line (the
// memory limit; 100% of one core) at the top. So a memory limit above every
// sample is drawn at kPanelHeight / kAxisHeadroom above the memory panel's
// bottom. Colours: kCpuColor, kMemoryColor, kLimitColor (the memory limit),
// kReferenceColor (100% of one core, dashed), kEndColor (the end).
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_PLOT_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_PLOT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace procsandbox::cli {

inline constexpr double kChartWidth = 800;
inline constexpr double kChartHeight = 540;
inline constexpr double kPanelLeft = 80;
inline constexpr double kPanelWidth = 680;
inline constexpr double kPanelHeight = 180;
inline constexpr double kCpuPanelTop = 60;
inline constexpr double kMemoryPanelTop = 310;
inline constexpr double kAxisHeadroom = 1.25;
inline constexpr char kCpuColor[] = "#1f77b4";
inline constexpr char kMemoryColor[] = "#2ca02c";
inline constexpr char kLimitColor[] = "#d62728";
inline constexpr char kReferenceColor[] = "#7f7f7f";
inline constexpr char kEndColor[] = "#9467bd";

// What a chart needs of a timeline file.
struct Timeline {
  struct Sample {
    double elapsed_s = 0;
    double cpu_percent = 0;
    int64_t memory_bytes = 0;
  };
  struct End {
    std::string status;  // "exited", "timed_out", ...
    std::optional<int64_t> exit_code;
    std::string signal_name;  // empty when no signal ended it
    double wall_time_s = 0;
  };
  std::string program;
  std::optional<int64_t> memory_limit_bytes;
  std::vector<Sample> samples;
  std::optional<End> end;  // none while the run goes on (or was cut short)
};

// Reads a timeline of JSON lines: a start record, samples, at most one end
// record, last. InvalidArgument `"<path>" line N: <why>` for a line that is
// not JSON, an unknown record type, a record out of order or a field missing
// or of the wrong type; `"<path>": no samples` when there are none; the
// errno's code (NotFound, PermissionDenied) when the file cannot be read.
absl::StatusOr<Timeline> ReadTimeline(const std::string& path);

// The chart as an SVG document (at least one sample: ReadTimeline's).
std::string PlotSvg(const Timeline& timeline);

// `procsandbox plot TIMELINE [-o OUT]`: the chart to `output` (stdout when
// empty). ReadTimeline's errors, or the errno's when the chart cannot be
// written (`write "<output>": ...`).
absl::Status PlotCommand(const std::string& input, const std::string& output);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_PLOT_H_
