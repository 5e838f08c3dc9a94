#include "report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ectrain::report {
namespace {

constexpr double kWidth = 540;
constexpr double kLineHeight = 300;
constexpr double kCharWidth = 6.6;  // of a 12px sans-serif label, for laying out legends and label columns
constexpr double kLegendRow = 18;
constexpr size_t kMaxMarkers = 60;  // series with more points are drawn as lines alone

std::string Num(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", v);
  return text;
}

double TextWidth(const std::string& text) { return kCharWidth * static_cast<double>(text.size()); }

// The legend in rows across the top; returns its height.
double DrawLegend(std::ostringstream& svg, const std::vector<LegendEntry>& entries, double left) {
  if (entries.empty()) return 0;
  double x = left, y = 14;
  for (const LegendEntry& entry : entries) {
    const double width = 22 + TextWidth(entry.label) + 14;
    if (x > left && x + width > kWidth - 8) {
      x = left;
      y += kLegendRow;
    }
    svg << "<g class=\"legend\"><rect x=\"" << Num(x) << "\" y=\"" << Num(y - 9)
        << "\" width=\"16\" height=\"10\" fill=\"" << entry.color << "\"/><text x=\"" << Num(x + 20) << "\" y=\""
        << Num(y) << "\">" << EscapeHtml(entry.label) << "</text></g>";
    x += width;
  }
  return y + 8;
}

std::string FigureStart(const std::string& kind, const std::string& id, const std::string& title, double height) {
  std::ostringstream out;
  out << "<figure class=\"chart\" data-kind=\"" << kind << "\" data-chart=\"" << EscapeHtml(id) << "\"><h3>"
      << EscapeHtml(title) << "</h3><svg class=\"plot\" viewBox=\"0 0 " << Num(kWidth) << " " << Num(height)
      << "\" width=\"" << Num(kWidth) << "\" height=\"" << Num(height) << "\" role=\"img\" aria-label=\""
      << EscapeHtml(title) << "\">";
  return out.str();
}

std::string FigureEnd(const std::string& caption) {
  return "</svg>" + (caption.empty() ? std::string() : "<figcaption>" + EscapeHtml(caption) + "</figcaption>") +
         "</figure>\n";
}

// A value's position on a screen interval [from, to] for an axis.
double Scale(double v, const Axis& axis, double from, double to) {
  return from + (v - axis.lo) / (axis.hi - axis.lo) * (to - from);
}

}  // namespace

Axis NiceAxis(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= std::max(std::abs(hi), std::abs(lo)) * 1e-12) {  // one value: widen around it
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  max_ticks = std::max(max_ticks, 2);
  double power = std::pow(10.0, std::floor(std::log10((hi - lo) / max_ticks)));
  Axis axis;
  for (;; power *= 10) {
    bool found = false;
    for (double mantissa : {1.0, 2.0, 5.0}) {
      const double step = mantissa * power;
      const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
      if (last - first + 1 <= max_ticks) {
        axis.tick_step = step;
        axis.lo = first * step;
        axis.hi = last * step;
        for (double k = first; k <= last; ++k) axis.ticks.push_back(k == 0 ? 0.0 : k * step);
        found = true;
        break;
      }
    }
    if (found) return axis;
  }
}

std::string FormatTick(double value, double tick_step) {
  double divisor = 1;
  const char* suffix = "";
  if (tick_step >= 1e5) {
    divisor = 1e6, suffix = "M";
  } else if (tick_step >= 1e3) {
    divisor = 1e3, suffix = "k";
  }
  const double step = tick_step / divisor;
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  if (std::abs(value) < tick_step * 1e-9) value = 0;
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f%s", decimals, value / divisor, suffix);
  return text;
}

std::string FormatValue(double value) {
  if (!std::isfinite(value)) return "-";
  char text[48];
  std::snprintf(text, sizeof(text), std::abs(value) >= 1000 && std::abs(value) < 1e15 ? "%.0f" : "%.4g", value);
  return text;
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
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
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<Point> Thin(const std::vector<Point>& points, size_t max_points) {
  if (points.size() <= max_points || max_points == 0) return points;
  const size_t group = (points.size() + max_points - 1) / max_points;
  std::vector<Point> thinned;
  for (size_t start = 0; start < points.size(); start += group) {
    const size_t end = std::min(points.size(), start + group);
    Point mean;
    for (size_t i = start; i < end; ++i) {
      mean.x += points[i].x;
      mean.y += points[i].y;
    }
    mean.x /= static_cast<double>(end - start);
    mean.y /= static_cast<double>(end - start);
    thinned.push_back(mean);
  }
  return thinned;
}

std::string RenderLineChart(const LineChart& chart) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  std::vector<LegendEntry> legend;
  for (const Series& series : chart.series) {
    legend.push_back({series.label, series.color});
    for (const Point& p : series.points) {
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
    }
  }
  const Axis x_axis = NiceAxis(std::min(x_lo, 0.0), x_hi, 7), y_axis = NiceAxis(y_lo, y_hi, 6);
  std::ostringstream svg;
  svg << FigureStart("line", chart.id, chart.title, kLineHeight);
  size_t tick_chars = 0;  // the widest y tick label sets the left margin
  for (double tick : y_axis.ticks) tick_chars = std::max(tick_chars, FormatTick(tick, y_axis.tick_step).size());
  const double left = 30 + kCharWidth * static_cast<double>(tick_chars), right = kWidth - 18;
  const double bottom = kLineHeight - 42;
  const double top = DrawLegend(svg, legend, left) + 10;
  svg << "<g class=\"axes\">";
  for (double tick : y_axis.ticks) {
    const double y = Scale(tick, y_axis, bottom, top);
    svg << "<line class=\"grid\" x1=\"" << Num(left) << "\" x2=\"" << Num(right) << "\" y1=\"" << Num(y) << "\" y2=\""
        << Num(y) << "\"/><text class=\"tick\" x=\"" << Num(left - 6) << "\" y=\"" << Num(y + 4)
        << "\" text-anchor=\"end\">" << FormatTick(tick, y_axis.tick_step) << "</text>";
  }
  for (double tick : x_axis.ticks) {
    const double x = Scale(tick, x_axis, left, right);
    svg << "<line class=\"grid\" x1=\"" << Num(x) << "\" x2=\"" << Num(x) << "\" y1=\"" << Num(top) << "\" y2=\""
        << Num(bottom) << "\"/><text class=\"tick\" x=\"" << Num(x) << "\" y=\"" << Num(bottom + 16)
        << "\" text-anchor=\"middle\">" << FormatTick(tick, x_axis.tick_step) << "</text>";
  }
  svg << "<rect class=\"frame\" x=\"" << Num(left) << "\" y=\"" << Num(top) << "\" width=\"" << Num(right - left)
      << "\" height=\"" << Num(bottom - top) << "\"/>";
  svg << "<text class=\"label\" x=\"" << Num((left + right) / 2) << "\" y=\"" << Num(kLineHeight - 8)
      << "\" text-anchor=\"middle\">" << EscapeHtml(chart.x_label) << "</text><text class=\"label\" x=\"14\" y=\""
      << Num((top + bottom) / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " << Num((top + bottom) / 2)
      << ")\">" << EscapeHtml(chart.y_label) << "</text></g>";
  for (const Series& series : chart.series) {
    const std::string label = EscapeHtml(series.label);
    svg << "<g class=\"series\" data-series=\"" << label << "\">";
    if (series.points.size() > 1) {
      svg << "<polyline fill=\"none\" stroke=\"" << series.color << "\" stroke-width=\"2\"";
      if (!series.dash.empty()) svg << " stroke-dasharray=\"" << series.dash << "\"";
      svg << " points=\"";
      for (const Point& p : series.points) {
        svg << Num(Scale(p.x, x_axis, left, right)) << "," << Num(Scale(p.y, y_axis, bottom, top)) << " ";
      }
      svg << "\"><title>" << label << "</title></polyline>";
    }
    if (series.points.size() <= kMaxMarkers) {
      for (const Point& p : series.points) {
        svg << "<circle cx=\"" << Num(Scale(p.x, x_axis, left, right)) << "\" cy=\""
            << Num(Scale(p.y, y_axis, bottom, top)) << "\" r=\"3.5\" fill=\"" << series.color << "\"><title>" << label
            << ": " << EscapeHtml(chart.y_label) << " " << FormatValue(p.y) << " at " << EscapeHtml(chart.x_label)
            << " " << FormatValue(p.x) << "</title></circle>";
      }
    }
    svg << "</g>";
  }
  svg << FigureEnd(chart.caption);
  return svg.str();
}

std::string RenderBarChart(const BarChart& chart) {
  constexpr double kBar = 16, kGap = 6, kGroupLabel = 18;
  double label_width = 0, max_total = 0, rows_height = 0;
  for (const BarGroup& group : chart.groups) {
    if (!group.label.empty()) rows_height += kGroupLabel;
    for (const Bar& bar : group.bars) {
      label_width = std::max(label_width, TextWidth(bar.label));
      double total = 0;
      for (const BarSegment& segment : bar.segments) total += std::max(segment.value, 0.0);
      max_total = std::max(max_total, total);
      rows_height += kBar + kGap;
    }
    rows_height += kGap;
  }
  const double left = std::clamp(label_width + 14, 70.0, 220.0), right = kWidth - 70;
  std::ostringstream legend_svg;
  const double top = DrawLegend(legend_svg, chart.legend, 10) + 10;
  const double bottom = top + rows_height, height = bottom + 42;
  const Axis axis = NiceAxis(0, max_total > 0 ? max_total : 1, 6);
  std::ostringstream svg;
  svg << FigureStart("bar", chart.id, chart.title, height) << legend_svg.str() << "<g class=\"axes\">";
  for (double tick : axis.ticks) {
    const double x = Scale(tick, axis, left, right);
    svg << "<line class=\"grid\" x1=\"" << Num(x) << "\" x2=\"" << Num(x) << "\" y1=\"" << Num(top) << "\" y2=\""
        << Num(bottom) << "\"/><text class=\"tick\" x=\"" << Num(x) << "\" y=\"" << Num(bottom + 16)
        << "\" text-anchor=\"middle\">" << FormatTick(tick, axis.tick_step) << "</text>";
  }
  svg << "<line class=\"axis\" x1=\"" << Num(left) << "\" x2=\"" << Num(left) << "\" y1=\"" << Num(top) << "\" y2=\""
      << Num(bottom) << "\"/><text class=\"label\" x=\"" << Num((left + right) / 2) << "\" y=\"" << Num(height - 8)
      << "\" text-anchor=\"middle\">" << EscapeHtml(chart.x_label) << "</text></g>";
  double y = top + kGap / 2;
  for (const BarGroup& group : chart.groups) {
    if (!group.label.empty()) {
      svg << "<text class=\"group\" x=\"8\" y=\"" << Num(y + 12) << "\">" << EscapeHtml(group.label) << "</text>";
      y += kGroupLabel;
    }
    for (const Bar& bar : group.bars) {
      svg << "<g class=\"bar\" data-bar=\"" << EscapeHtml(bar.label) << "\"><text x=\"" << Num(left - 6) << "\" y=\""
          << Num(y + 12) << "\" text-anchor=\"end\">" << EscapeHtml(bar.label) << "</text>";
      double total = 0;
      for (const BarSegment& segment : bar.segments) total += std::max(segment.value, 0.0);
      double x = left;
      for (const BarSegment& segment : bar.segments) {
        if (!(segment.value > 0)) continue;
        const double width = Scale(segment.value, axis, 0, right - left);
        svg << "<rect x=\"" << Num(x) << "\" y=\"" << Num(y) << "\" width=\"" << Num(width) << "\" height=\""
            << Num(kBar) << "\" fill=\"" << segment.color << "\"><title>" << EscapeHtml(bar.label) << ": "
            << EscapeHtml(segment.label) << " " << FormatValue(segment.value) << " " << EscapeHtml(chart.unit);
        if (bar.segments.size() > 1) svg << " (" << FormatValue(100 * segment.value / total) << "%)";
        svg << "</title></rect>";
        x += width;
      }
      svg << "<text class=\"value\" x=\"" << Num(x + 4) << "\" y=\"" << Num(y + 12) << "\">" << FormatValue(total)
          << " " << EscapeHtml(chart.unit) << "</text></g>";
      y += kBar + kGap;
    }
    y += kGap;
  }
  svg << FigureEnd(chart.caption);
  return svg.str();
}

}  // namespace ectrain::report
