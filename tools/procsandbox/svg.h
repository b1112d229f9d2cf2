// A small SVG writer: lines, polylines, rectangles, circles and text in
// user units, written as one self-contained SVG 1.1 document (no script,
// no external reference). What `procsandbox plot` draws with; it knows
// nothing of charts.
//
//   SvgWriter svg(800, 520);
//   svg.Line({70, 100}, {770, 100}, {"#d62728", 2});
//   svg.Text({70, 20}, "memory (MiB)", {});
//   std::string document = svg.Finish();
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_SVG_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_SVG_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace procsandbox::cli {

struct SvgPoint {
  double x = 0;
  double y = 0;
};

struct SvgStroke {
  std::string color = "#000000";  // any SVG colour: "#rrggbb", "none"
  double width = 1;
  std::string dash;  // stroke-dasharray ("4 3"), empty for a solid line
  // Pixel-exact edges (shape-rendering="crispEdges"): axes, grid and limit
  // lines land on whole pixels instead of being blended across two.
  bool crisp = false;
};

struct SvgText {
  double size = 12;
  std::string color = "#000000";
  enum class Anchor { kStart, kMiddle, kEnd };
  Anchor anchor = Anchor::kStart;
  double rotate = 0;  // degrees, around the text's point (-90: upwards)
};

class SvgWriter {
 public:
  SvgWriter(double width, double height);

  void Rect(SvgPoint corner, double width, double height,
            const std::string& fill, const SvgStroke& stroke);
  void Line(SvgPoint from, SvgPoint to, const SvgStroke& stroke);
  // Nothing for fewer than two points.
  void Polyline(const std::vector<SvgPoint>& points, const SvgStroke& stroke);
  void Circle(SvgPoint center, double radius, const std::string& fill);
  // `text` is escaped: any bytes may come in (a program's name).
  void Text(SvgPoint at, absl::string_view text, const SvgText& style);

  // The document, with its closing tag and a newline.
  std::string Finish() const;

 private:
  std::string body_;
  double width_;
  double height_;
};

// "12", "0.5", "1.25": up to two decimals, no trailing zeros, no "-0".
std::string SvgNumber(double value);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_SVG_H_
