// `procsandbox plot`: the chart is rendered to PNG (rsvg-convert) and its
// pixels are checked where plot.h's documented geometry puts the limit
// line, the curves and the end marker; and bad timelines are refused with
// the file and the line named.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plot.h"
#if PROCSANDBOX_TEST_HAVE_PNG
#include <png.h>
#endif

namespace procsandbox_cli_test {
namespace {

using ::procsandbox::cli::kAxisHeadroom;
using ::procsandbox::cli::kCpuPanelTop;
using ::procsandbox::cli::kMemoryPanelTop;
using ::procsandbox::cli::kPanelHeight;
using ::procsandbox::cli::kPanelLeft;
using ::procsandbox::cli::kPanelWidth;
using ::testing::HasSubstr;

// A run with a 256 MiB memory limit that timed out at 9 s; CPU peaks at
// 150% at 3 s, memory at 200 MiB at 4 s, the last sample is at 8 s.
constexpr char kTimeline[] =
    R"({"type":"start","version":1,"program":"/usr/bin/stress","pid":42,)"
    R"("interval_ms":1000,"limits":{"wall_time_s":9.0,"memory_bytes":268435456}})"
    "\n"
    R"({"type":"sample","elapsed_ms":1000,"cpu_percent":50,"memory_bytes":52428800})"
    "\n"
    R"({"type":"sample","elapsed_ms":2000,"cpu_percent":100,"memory_bytes":104857600})"
    "\n"
    R"({"type":"sample","elapsed_ms":3000,"cpu_percent":150,"memory_bytes":157286400})"
    "\n"
    R"({"type":"sample","elapsed_ms":4000,"cpu_percent":100,"memory_bytes":209715200})"
    "\n"
    R"({"type":"sample","elapsed_ms":6000,"cpu_percent":80,"memory_bytes":157286400})"
    "\n"
    R"({"type":"sample","elapsed_ms":8000,"cpu_percent":90,"memory_bytes":104857600})"
    "\n"
    R"({"type":"end","status":"timed_out","exit_code":null,"signal":15,)"
    R"("signal_name":"SIGTERM","wall_time_s":9.0})"
    "\n";
constexpr double kEndS = 9;
constexpr double kCpuTop = 150 * kAxisHeadroom;     // percent
constexpr double kMemoryTop = 256 * kAxisHeadroom;  // MiB: the limit's
constexpr double kLastSampleS = 8;

// Where plot.h's geometry puts time `t` and the values of each panel.
double X(double t) {
  return kPanelLeft + kPanelWidth * t / (kEndS * kAxisHeadroom);
}
double CpuY(double percent) {
  return kCpuPanelTop + kPanelHeight - kPanelHeight * percent / kCpuTop;
}
double MemoryY(double mib) {
  return kMemoryPanelTop + kPanelHeight - kPanelHeight * mib / kMemoryTop;
}

struct Rgb {
  int r, g, b;
};

Rgb Hex(const char* color) {
  const long v = std::strtol(color + 1, nullptr, 16);
  return {static_cast<int>(v >> 16 & 0xff), static_cast<int>(v >> 8 & 0xff),
          static_cast<int>(v & 0xff)};
}

// The rendered chart, RGB, row by row.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> pixels;

  Rgb At(int x, int y) const {
    const std::size_t i = (static_cast<std::size_t>(y) * width + x) * 3;
    return {pixels[i], pixels[i + 1], pixels[i + 2]};
  }
  static bool Near(Rgb a, Rgb b) {
    return std::abs(a.r - b.r) <= 40 && std::abs(a.g - b.g) <= 40 &&
           std::abs(a.b - b.b) <= 40;
  }
  // `color` within `radius` pixels of (x, y).
  bool Has(double x, double y, const char* color, int radius = 1) const {
    const int cx = static_cast<int>(std::lround(x));
    const int cy = static_cast<int>(std::lround(y));
    for (int dy = -radius; dy <= radius; ++dy) {
      for (int dx = -radius; dx <= radius; ++dx) {
        const int px = cx + dx, py = cy + dy;
        if (px < 0 || py < 0 || px >= width || py >= height) continue;
        if (Near(At(px, py), Hex(color))) return true;
      }
    }
    return false;
  }
  // `color` anywhere in the rectangle [x0, x1) x [y0, y1).
  bool AnyIn(int x0, int x1, int y0, int y1, const char* color) const {
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) {
        if (Near(At(x, y), Hex(color))) return true;
      }
    }
    return false;
  }
};

// The first executable `name` on PATH, or empty.
std::string OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (const absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

class PlotTest : public CliTest {
 protected:
  // Plots `timeline` and renders it; the test is skipped where the
  // renderer or the PNG reader is missing.
  Image Render(const std::string& timeline) {
    Image image;
#if PROCSANDBOX_TEST_HAVE_PNG
    const std::string rsvg = OnPath("rsvg-convert");
    if (rsvg.empty()) return image;
    WriteFile(Path("run.jsonl"), timeline);
    ToolRun plot = Run({"plot", Path("run.jsonl"), "-o", Path("chart.svg")});
    EXPECT_EQ(plot.status, 0) << plot.err;
    const std::string convert = absl::StrCat(
        "'", rsvg, "' -o '", Path("chart.png"), "' '", Path("chart.svg"), "'");
    EXPECT_EQ(std::system(convert.c_str()), 0) << convert;
    png_image png = {};
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, Path("chart.png").c_str())) {
      ADD_FAILURE() << "read the PNG: " << png.message;
      return image;
    }
    png.format = PNG_FORMAT_RGB;
    image.pixels.resize(PNG_IMAGE_SIZE(png));
    // Transparent parts (none: the chart paints its background) on white.
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&png, &white, image.pixels.data(), 0, nullptr)) {
      ADD_FAILURE() << "decode the PNG: " << png.message;
      return image;
    }
    image.width = static_cast<int>(png.width);
    image.height = static_cast<int>(png.height);
#else
    (void)timeline;
#endif
    return image;
  }

  void SetUp() override {
    CliTest::SetUp();
#if !PROCSANDBOX_TEST_HAVE_PNG
    GTEST_SKIP() << "built without libpng (libpng-dev): cannot read the "
                    "rendered chart";
#else
    if (OnPath("rsvg-convert").empty()) {
      GTEST_SKIP() << "rsvg-convert (Debian: librsvg2-bin) is not on PATH: "
                      "cannot render the chart";
    }
#endif
  }
};

TEST_F(PlotTest, RendersAtTheDocumentedSize) {
  const Image image = Render(kTimeline);
  EXPECT_EQ(image.width, ::procsandbox::cli::kChartWidth);
  EXPECT_EQ(image.height, ::procsandbox::cli::kChartHeight);
}

TEST_F(PlotTest, DrawsTheMemoryLimitAcrossThePanelAtItsHeight) {
  const Image image = Render(kTimeline);
  ASSERT_GT(image.width, 0);
  const double y = MemoryY(256);
  const double end_x = X(kEndS);
  for (int x = static_cast<int>(kPanelLeft) + 2;
       x < kPanelLeft + kPanelWidth - 2; x += 4) {
    if (std::abs(x - end_x) < 4) continue;  // the end marker crosses it
    EXPECT_TRUE(image.Has(x, y, ::procsandbox::cli::kLimitColor))
        << "no limit line at x " << x << ", y " << y;
  }
  // Nowhere else in the memory panel (the curve stays below it).
  EXPECT_FALSE(image.AnyIn(static_cast<int>(kPanelLeft) + 2,
                           static_cast<int>(end_x) - 4, static_cast<int>(y) + 4,
                           static_cast<int>(kMemoryPanelTop + kPanelHeight) - 2,
                           ::procsandbox::cli::kLimitColor));
}

TEST_F(PlotTest, DrawsCpuAndMemoryWhereTheSamplesAre) {
  const Image image = Render(kTimeline);
  ASSERT_GT(image.width, 0);
  const struct {
    double t, cpu, mib;
  } samples[] = {{1, 50, 50},   {2, 100, 100}, {3, 150, 150},
                 {4, 100, 200}, {6, 80, 150},  {8, 90, 100}};
  for (const auto& s : samples) {
    EXPECT_TRUE(
        image.Has(X(s.t), CpuY(s.cpu), ::procsandbox::cli::kCpuColor, 2))
        << "no CPU point at " << s.t << " s";
    EXPECT_TRUE(
        image.Has(X(s.t), MemoryY(s.mib), ::procsandbox::cli::kMemoryColor, 2))
        << "no memory point at " << s.t << " s";
  }
  // Past the last sample, neither curve goes on.
  const int after = static_cast<int>(X(kLastSampleS)) + 6;
  const int before_end = static_cast<int>(X(kEndS)) - 4;
  EXPECT_FALSE(image.AnyIn(after, before_end, static_cast<int>(kCpuPanelTop),
                           static_cast<int>(kCpuPanelTop + kPanelHeight),
                           ::procsandbox::cli::kCpuColor));
  EXPECT_FALSE(image.AnyIn(after, before_end, static_cast<int>(kMemoryPanelTop),
                           static_cast<int>(kMemoryPanelTop + kPanelHeight),
                           ::procsandbox::cli::kMemoryColor));
}

TEST_F(PlotTest, MarksTheEndAtItsTimeInBothPanels) {
  const Image image = Render(kTimeline);
  ASSERT_GT(image.width, 0);
  const double x = X(kEndS);
  for (const double y : {kCpuPanelTop + 10, kCpuPanelTop + kPanelHeight / 2,
                         kMemoryPanelTop + kPanelHeight / 3,
                         kMemoryPanelTop + kPanelHeight - 10}) {
    EXPECT_TRUE(image.Has(x, y, ::procsandbox::cli::kEndColor))
        << "no end marker at x " << x << ", y " << y;
  }
  // Only there: not at the last sample, not at the right edge.
  EXPECT_FALSE(image.Has(X(kLastSampleS), kMemoryPanelTop + kPanelHeight / 2,
                         ::procsandbox::cli::kEndColor, 3));
  EXPECT_FALSE(image.Has(kPanelLeft + kPanelWidth - 3,
                         kMemoryPanelTop + kPanelHeight / 2,
                         ::procsandbox::cli::kEndColor, 2));
}

TEST_F(PlotTest, DrawsNoLimitLineWithoutAMemoryLimit) {
  std::string timeline = kTimeline;
  const std::string limit = R"(,"memory_bytes":268435456)";
  timeline.erase(timeline.find(limit), limit.size());
  const Image image = Render(timeline);
  ASSERT_GT(image.width, 0);
  EXPECT_FALSE(image.AnyIn(0, image.width, static_cast<int>(kMemoryPanelTop),
                           static_cast<int>(kMemoryPanelTop + kPanelHeight),
                           ::procsandbox::cli::kLimitColor));
}

// Errors need no renderer.
class PlotInputTest : public CliTest {};

TEST_F(PlotInputTest, WritesTheSvgToStdoutWithoutOutputFile) {
  WriteFile(Path("run.jsonl"), kTimeline);
  ToolRun plot = Run({"plot", Path("run.jsonl")});
  EXPECT_EQ(plot.status, 0) << plot.err;
  EXPECT_THAT(plot.out, HasSubstr("<svg "));
  EXPECT_THAT(plot.out, HasSubstr("timed_out (SIGTERM)"));
  EXPECT_THAT(plot.out, HasSubstr("limit 256 MiB"));
  EXPECT_EQ(plot.err, "");
}

TEST_F(PlotInputTest, RefusesAMissingFileNamingIt) {
  ToolRun plot = Run({"plot", Path("none.jsonl")});
  EXPECT_EQ(plot.status, 125);
  EXPECT_THAT(plot.err, HasSubstr(absl::StrCat("procsandbox: plot: read \"",
                                               Path("none.jsonl"), "\"")));
  EXPECT_THAT(plot.err, HasSubstr("ENOENT"));
  EXPECT_EQ(plot.out, "");
}

TEST_F(PlotInputTest, RefusesALineThatIsNotJsonNamingTheLine) {
  std::string timeline = kTimeline;
  timeline.insert(timeline.find("\n") + 1, "elapsed 3s cpu 40%\n");
  WriteFile(Path("run.jsonl"), timeline);
  ToolRun plot = Run({"plot", Path("run.jsonl"), "-o", Path("chart.svg")});
  EXPECT_EQ(plot.status, 125);
  EXPECT_THAT(plot.err,
              HasSubstr(absl::StrCat("\"", Path("run.jsonl"),
                                     "\" line 2: not a JSON object")));
  EXPECT_NE(access(Path("chart.svg").c_str(), F_OK), 0) << "no chart written";
}

TEST_F(PlotInputTest, RefusesAnUnknownRecordTypeNamingTheLine) {
  std::string timeline = kTimeline;
  timeline.insert(timeline.find("\n") + 1, R"({"type":"event"})"
                                           "\n");
  WriteFile(Path("run.jsonl"), timeline);
  ToolRun plot = Run({"plot", Path("run.jsonl")});
  EXPECT_EQ(plot.status, 125);
  EXPECT_THAT(plot.err,
              HasSubstr("line 2: unknown record type \"event\" (want start, "
                        "sample or end)"));
}

TEST_F(PlotInputTest, RefusesASampleWithoutItsFigures) {
  WriteFile(Path("run.jsonl"),
            R"({"type":"start","program":"p"})"
            "\n"
            R"({"type":"sample","elapsed_ms":1000,"memory_bytes":1})"
            "\n");
  ToolRun plot = Run({"plot", Path("run.jsonl")});
  EXPECT_EQ(plot.status, 125);
  EXPECT_THAT(plot.err, HasSubstr("line 2: sample record: field "
                                  "\"cpu_percent\" missing or not a number"));
}

TEST_F(PlotInputTest, RefusesATimelineWithoutSamples) {
  WriteFile(
      Path("run.jsonl"),
      R"({"type":"start","program":"p"})"
      "\n"
      R"({"type":"end","status":"exited","exit_code":0,"wall_time_s":0.1})"
      "\n");
  ToolRun plot = Run({"plot", Path("run.jsonl")});
  EXPECT_EQ(plot.status, 125);
  EXPECT_THAT(plot.err, HasSubstr(absl::StrCat("\"", Path("run.jsonl"),
                                               "\": no samples to plot")));
}

TEST_F(PlotInputTest, RefusesRecordsOutOfOrder) {
  WriteFile(
      Path("run.jsonl"),
      R"({"type":"sample","elapsed_ms":1,"cpu_percent":1,"memory_bytes":1})"
      "\n");
  ToolRun plot = Run({"plot", Path("run.jsonl")});
  EXPECT_EQ(plot.status, 125);
  EXPECT_THAT(plot.err,
              HasSubstr("line 1: a sample record before the start record"));
}

}  // namespace
}  // namespace procsandbox_cli_test
