#include "svg.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace procsandbox::cli {
namespace {

std::string Escaped(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return out;
}

std::string StrokeAttributes(const SvgStroke& stroke) {
  std::string attributes =
      absl::StrCat(" stroke=\"", Escaped(stroke.color), "\" stroke-width=\"",
                   SvgNumber(stroke.width), "\"");
  if (!stroke.dash.empty()) {
    absl::StrAppend(&attributes, " stroke-dasharray=\"", Escaped(stroke.dash),
                    "\"");
  }
  if (stroke.crisp)
    absl::StrAppend(&attributes, " shape-rendering=\"crispEdges\"");
  return attributes;
}

}  // namespace

std::string SvgNumber(double value) {
  if (!std::isfinite(value)) return "0";
  std::string text = absl::StrFormat("%.2f", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

SvgWriter::SvgWriter(double width, double height)
    : width_(width), height_(height) {}

void SvgWriter::Rect(SvgPoint corner, double width, double height,
                     const std::string& fill, const SvgStroke& stroke) {
  absl::StrAppend(&body_, "<rect x=\"", SvgNumber(corner.x), "\" y=\"",
                  SvgNumber(corner.y), "\" width=\"", SvgNumber(width),
                  "\" height=\"", SvgNumber(height), "\" fill=\"",
                  Escaped(fill), "\"", StrokeAttributes(stroke), "/>\n");
}

void SvgWriter::Line(SvgPoint from, SvgPoint to, const SvgStroke& stroke) {
  absl::StrAppend(&body_, "<line x1=\"", SvgNumber(from.x), "\" y1=\"",
                  SvgNumber(from.y), "\" x2=\"", SvgNumber(to.x), "\" y2=\"",
                  SvgNumber(to.y), "\"", StrokeAttributes(stroke), "/>\n");
}

void SvgWriter::Polyline(const std::vector<SvgPoint>& points,
                         const SvgStroke& stroke) {
  if (points.size() < 2) return;
  std::string list;
  for (const SvgPoint& p : points) {
    absl::StrAppend(&list, list.empty() ? "" : " ", SvgNumber(p.x), ",",
                    SvgNumber(p.y));
  }
  absl::StrAppend(&body_, "<polyline points=\"", list,
                  "\" fill=\"none\" stroke-linejoin=\"round\"",
                  StrokeAttributes(stroke), "/>\n");
}

void SvgWriter::Circle(SvgPoint center, double radius,
                       const std::string& fill) {
  absl::StrAppend(&body_, "<circle cx=\"", SvgNumber(center.x), "\" cy=\"",
                  SvgNumber(center.y), "\" r=\"", SvgNumber(radius),
                  "\" fill=\"", Escaped(fill), "\"/>\n");
}

void SvgWriter::Text(SvgPoint at, absl::string_view text,
                     const SvgText& style) {
  const char* anchor = style.anchor == SvgText::Anchor::kMiddle ? "middle"
                       : style.anchor == SvgText::Anchor::kEnd  ? "end"
                                                                : "start";
  std::string transform;
  if (style.rotate != 0) {
    transform = absl::StrCat(" transform=\"rotate(", SvgNumber(style.rotate),
                             " ", SvgNumber(at.x), " ", SvgNumber(at.y), ")\"");
  }
  absl::StrAppend(&body_, "<text x=\"", SvgNumber(at.x), "\" y=\"",
                  SvgNumber(at.y), "\" font-size=\"", SvgNumber(style.size),
                  "\" fill=\"", Escaped(style.color), "\" text-anchor=\"",
                  anchor, "\"", transform, ">", Escaped(text), "</text>\n");
}

std::string SvgWriter::Finish() const {
  return absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"",
      SvgNumber(width_), "\" height=\"", SvgNumber(height_),
      "\" viewBox=\"0 0 ", SvgNumber(width_), " ", SvgNumber(height_),
      "\" font-family=\"sans-serif\">\n", body_, "</svg>\n");
}

}  // namespace procsandbox::cli
