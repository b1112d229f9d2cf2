#include "plot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "posix/errno_status.h"
#include "procsandbox/limits.h"
#include "result_file.h"
#include "svg.h"

namespace procsandbox::cli {
namespace {

using Json = nlohmann::json;

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return posix_internal::ErrnoStatus(errno,
                                       absl::StrCat("read \"", path, "\""));
  }
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return posix_internal::ErrnoStatus(error,
                                         absl::StrCat("read \"", path, "\""));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return text;
}

// The number `field` of `record`, or why not.
absl::StatusOr<double> Number(const Json& record, const char* field) {
  const auto it = record.find(field);
  if (it == record.end() || !it->is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", field, "\" missing or not a number"));
  }
  return it->get<double>();
}

absl::Status ReadSample(const Json& record, Timeline& timeline) {
  Timeline::Sample sample;
  absl::StatusOr<double> elapsed_ms = Number(record, "elapsed_ms");
  if (!elapsed_ms.ok()) return elapsed_ms.status();
  absl::StatusOr<double> cpu = Number(record, "cpu_percent");
  if (!cpu.ok()) return cpu.status();
  absl::StatusOr<double> memory = Number(record, "memory_bytes");
  if (!memory.ok()) return memory.status();
  sample.elapsed_s = *elapsed_ms / 1000;
  sample.cpu_percent = *cpu;
  sample.memory_bytes = static_cast<int64_t>(*memory);
  timeline.samples.push_back(sample);
  return absl::OkStatus();
}

absl::Status ReadStart(const Json& record, Timeline& timeline) {
  if (const auto program = record.find("program");
      program != record.end() && program->is_string()) {
    timeline.program = program->get<std::string>();
  }
  if (const auto limits = record.find("limits"); limits != record.end()) {
    if (!limits->is_object()) {
      return absl::InvalidArgumentError("field \"limits\" not an object");
    }
    if (limits->contains("memory_bytes")) {
      absl::StatusOr<double> memory = Number(*limits, "memory_bytes");
      if (!memory.ok()) return memory.status();
      timeline.memory_limit_bytes = static_cast<int64_t>(*memory);
    }
  }
  return absl::OkStatus();
}

absl::Status ReadEnd(const Json& record, Timeline& timeline) {
  Timeline::End end;
  const auto status = record.find("status");
  if (status == record.end() || !status->is_string()) {
    return absl::InvalidArgumentError(
        "field \"status\" missing or not a string");
  }
  end.status = status->get<std::string>();
  absl::StatusOr<double> wall = Number(record, "wall_time_s");
  if (!wall.ok()) return wall.status();
  end.wall_time_s = *wall;
  if (const auto code = record.find("exit_code");
      code != record.end() && code->is_number_integer()) {
    end.exit_code = code->get<int64_t>();
  }
  if (const auto signal = record.find("signal_name");
      signal != record.end() && signal->is_string()) {
    end.signal_name = signal->get<std::string>();
  }
  timeline.end = end;
  return absl::OkStatus();
}

// 1, 2 or 5 times a power of ten, the smallest not below `raw`.
double NiceStep(double raw) {
  if (!(raw > 0)) return 1;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * magnitude >= raw * (1 - 1e-9)) return m * magnitude;
  }
  return 10 * magnitude;
}

// A scale from 0 to `top` (in the axis's unit) with a tick every `step`.
struct Axis {
  double top = 1;
  double step = 1;
};

Axis MakeAxis(double largest) {
  Axis axis;
  axis.top = largest > 0 ? largest * kAxisHeadroom : 1;
  axis.step = NiceStep(axis.top / 5);
  return axis;
}

// "0", "2.5", "10".
std::string TickLabel(double value) { return SvgNumber(value); }

struct Panel {
  double top;
  Axis value;
  Axis time;
  double X(double seconds) const {
    return kPanelLeft + kPanelWidth * seconds / time.top;
  }
  double Y(double value_in_unit) const {
    return top + kPanelHeight - kPanelHeight * value_in_unit / value.top;
  }
  double bottom() const { return top + kPanelHeight; }
  double right() const { return kPanelLeft + kPanelWidth; }
};

const SvgStroke kGrid = {"#e5e5e5", 1, "", true};
const SvgStroke kFrame = {"#000000", 1, "", true};

void DrawPanel(SvgWriter& svg, const Panel& panel, const std::string& title) {
  svg.Rect({kPanelLeft, panel.top}, kPanelWidth, kPanelHeight, "#ffffff",
           kFrame);
  svg.Text({kPanelLeft, panel.top - 8}, title, {13});
  const SvgText value_label = {11, "#000000", SvgText::Anchor::kEnd};
  for (int i = 0; i * panel.value.step <= panel.value.top; ++i) {
    const double v = i * panel.value.step;
    const double y = std::round(panel.Y(v));
    if (v > 0) svg.Line({kPanelLeft, y}, {panel.right(), y}, kGrid);
    svg.Text({kPanelLeft - 6, y + 4}, TickLabel(v), value_label);
  }
  const SvgText time_label = {11, "#000000", SvgText::Anchor::kMiddle};
  for (int i = 0; i * panel.time.step <= panel.time.top; ++i) {
    const double t = i * panel.time.step;
    const double x = std::round(panel.X(t));
    if (t > 0) svg.Line({x, panel.top}, {x, panel.bottom()}, kGrid);
    svg.Text({x, panel.bottom() + 15}, TickLabel(t), time_label);
  }
  svg.Rect({kPanelLeft, panel.top}, kPanelWidth, kPanelHeight, "none", kFrame);
}

void DrawCurve(SvgWriter& svg, const std::vector<SvgPoint>& points,
               const std::string& color) {
  svg.Polyline(points, {color, 2, "", false});
  // Points are shown too while they are few enough to tell apart (and one
  // sample alone is a point, not a line).
  if (points.size() > 60) return;
  for (const SvgPoint& p : points) svg.Circle(p, 3, color);
}

// A horizontal reference at `value` with its label at the right end.
void DrawLevel(SvgWriter& svg, const Panel& panel, double value,
               const SvgStroke& stroke, const std::string& label) {
  const double y = std::round(panel.Y(value));
  svg.Line({kPanelLeft, y}, {panel.right(), y}, stroke);
  svg.Text({panel.right() - 4, y - 5}, label,
           {11, stroke.color, SvgText::Anchor::kEnd});
}

struct MemoryUnit {
  double bytes;
  const char* name;
};

MemoryUnit UnitFor(double bytes) {
  for (const MemoryUnit unit :
       {MemoryUnit{1024.0 * 1024 * 1024, "GiB"},
        MemoryUnit{1024.0 * 1024, "MiB"}, MemoryUnit{1024.0, "KiB"}}) {
    if (bytes >= unit.bytes) return unit;
  }
  return {1, "B"};
}

std::string EndLabel(const Timeline::End& end) {
  if (!end.signal_name.empty()) {
    return absl::StrCat(end.status, " (", end.signal_name, ")");
  }
  if (end.status == "exited" && end.exit_code.has_value()) {
    return absl::StrCat("exited ", *end.exit_code);
  }
  return end.status;
}

}  // namespace

absl::StatusOr<Timeline> ReadTimeline(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWhole(path);
  if (!text.ok()) return text.status();
  Timeline timeline;
  bool started = false;
  int number = 0;
  for (const absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++number;
    const auto bad = [&path, number](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\" line ", number, ": ", why));
    };
    if (line.empty()) continue;
    const Json record = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      return bad("not a JSON object (want one record per line)");
    }
    const auto type = record.find("type");
    if (type == record.end() || !type->is_string()) {
      return bad("no record \"type\"");
    }
    const std::string kind = type->get<std::string>();
    if (kind != "start" && kind != "sample" && kind != "end") {
      return bad(absl::StrCat("unknown record type \"", kind,
                              "\" (want start, sample or end)"));
    }
    if (!started && kind != "start") {
      return bad(absl::StrCat("a ", kind, " record before the start record"));
    }
    if (started && kind == "start") return bad("a second start record");
    if (timeline.end.has_value()) return bad("a record after the end record");
    absl::Status read = kind == "start"    ? ReadStart(record, timeline)
                        : kind == "sample" ? ReadSample(record, timeline)
                                           : ReadEnd(record, timeline);
    if (!read.ok()) return bad(absl::StrCat(kind, " record: ", read.message()));
    started = true;
  }
  if (timeline.samples.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\": no samples to plot"));
  }
  return timeline;
}

std::string PlotSvg(const Timeline& timeline) {
  double end_s = timeline.end ? timeline.end->wall_time_s : 0;
  double cpu_top = 100;  // the one-core reference is always shown
  double memory_top =
      static_cast<double>(timeline.memory_limit_bytes.value_or(0));
  for (const Timeline::Sample& s : timeline.samples) {
    end_s = std::max(end_s, s.elapsed_s);
    cpu_top = std::max(cpu_top, s.cpu_percent);
    memory_top = std::max(memory_top, static_cast<double>(s.memory_bytes));
  }
  const MemoryUnit unit = UnitFor(memory_top * kAxisHeadroom);
  const Axis time = MakeAxis(end_s);
  const Panel cpu = {kCpuPanelTop, MakeAxis(cpu_top), time};
  const Panel memory = {kMemoryPanelTop, MakeAxis(memory_top / unit.bytes),
                        time};

  SvgWriter svg(kChartWidth, kChartHeight);
  svg.Rect({0, 0}, kChartWidth, kChartHeight, "#ffffff",
           {"none", 0, "", false});
  svg.Text({kPanelLeft, 26},
           absl::StrCat("procsandbox: ", timeline.program.empty()
                                             ? "(program not recorded)"
                                             : timeline.program),
           {15});
  DrawPanel(svg, cpu, "CPU (% of one core)");
  DrawPanel(svg, memory, absl::StrCat("memory (", unit.name, ")"));
  svg.Text({kPanelLeft + kPanelWidth / 2, memory.bottom() + 34}, "time (s)",
           {12, "#000000", SvgText::Anchor::kMiddle});

  std::vector<SvgPoint> cpu_points, memory_points;
  for (const Timeline::Sample& s : timeline.samples) {
    cpu_points.push_back({cpu.X(s.elapsed_s), cpu.Y(s.cpu_percent)});
    memory_points.push_back(
        {memory.X(s.elapsed_s),
         memory.Y(static_cast<double>(s.memory_bytes) / unit.bytes)});
  }
  DrawCurve(svg, cpu_points, kCpuColor);
  DrawCurve(svg, memory_points, kMemoryColor);

  // Limits above the curves: a run that reached its limit still shows it.
  DrawLevel(svg, cpu, 100, {kReferenceColor, 1, "6 4", true}, "100% = 1 core");
  if (timeline.memory_limit_bytes.has_value()) {
    DrawLevel(
        svg, memory,
        static_cast<double>(*timeline.memory_limit_bytes) / unit.bytes,
        {kLimitColor, 2, "", true},
        absl::StrCat("limit ", FormatByteSize(*timeline.memory_limit_bytes)));
  }
  if (timeline.end.has_value()) {
    const double x = std::round(cpu.X(timeline.end->wall_time_s));
    svg.Line({x, kCpuPanelTop - 4}, {x, memory.bottom()},
             {kEndColor, 2, "", true});
    // Above the CPU panel: inside it the label would cover the curve.
    svg.Text({x, kCpuPanelTop - 8}, EndLabel(*timeline.end),
             {12, kEndColor, SvgText::Anchor::kMiddle});
  }
  return svg.Finish();
}

absl::Status PlotCommand(const std::string& input, const std::string& output) {
  absl::StatusOr<Timeline> timeline = ReadTimeline(input);
  if (!timeline.ok()) return timeline.status();
  const std::string svg = PlotSvg(*timeline);
  const std::string target =
      output.empty() ? std::string("stdout") : absl::StrCat("\"", output, "\"");
  const int fd = output.empty()
                     ? 1
                     : open(output.c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return posix_internal::ErrnoStatus(errno, absl::StrCat("write ", target));
  }
  absl::Status written = WriteAll(fd, svg, target);
  if (fd != 1 && close(fd) != 0 && written.ok()) {
    written =
        posix_internal::ErrnoStatus(errno, absl::StrCat("write ", target));
  }
  return written;
}

}  // namespace procsandbox::cli
