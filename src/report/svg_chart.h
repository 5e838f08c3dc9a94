// Charts for `ectrain report` as inline SVG text: line charts (several series over one x axis) and
// horizontal bar charts (grouped and stacked), each a <figure class="chart"> with its title, axes,
// ticks, axis labels and legend. Pure functions: nothing is fetched, nothing is scripted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ectrain::report {

// A readable axis over [lo, hi]: ticks at whole multiples of 1, 2 or 5 times a power of ten, at
// most `max_ticks` of them, with lo and hi widened to the outer ticks. An empty range (lo == hi) is
// widened around its value.
struct Axis {
  double lo = 0.0;
  double hi = 1.0;
  double tick_step = 1.0;
  std::vector<double> ticks;
};
Axis NiceAxis(double lo, double hi, int max_ticks = 6);

// A tick label with the decimals the step needs: "0.25" (step 0.05), "1500" (step 500), "20k"
// (step 10000), "2.5M" (step 500000).
std::string FormatTick(double value, double tick_step);
// A figure for tables and tooltips: four significant digits, whole numbers from 1000 up.
std::string FormatValue(double value);
// &, <, >, " and ' as entities, for text and attribute values alike.
std::string EscapeHtml(std::string_view text);

struct Point {
  double x = 0.0;
  double y = 0.0;
};
// At most `max_points` points: consecutive points averaged in groups of equal size (a long run
// logged every step still draws a curve of a few thousand points). Fewer points pass unchanged.
std::vector<Point> Thin(const std::vector<Point>& points, size_t max_points);

struct Series {
  std::string label;
  std::string color;
  std::string dash;  // an SVG stroke-dasharray, "" for a solid line
  std::vector<Point> points;
};

struct LineChart {
  std::string id;  // the figure's data-chart attribute: what the chart shows
  std::string title;
  std::string x_label;
  std::string y_label;
  std::string caption;  // a note under the chart; may be empty
  std::vector<Series> series;
};
// The x axis starts at 0 or below (the charts are over steps); the y axis spans the values.
std::string RenderLineChart(const LineChart& chart);

struct BarSegment {
  std::string label;
  std::string color;
  double value = 0.0;
};
struct Bar {
  std::string label;
  std::vector<BarSegment> segments;  // stacked from the left
};
struct BarGroup {
  std::string label;  // may be empty: the bars alone
  std::vector<Bar> bars;
};
struct LegendEntry {
  std::string label;
  std::string color;
};
struct BarChart {
  std::string id;
  std::string title;
  std::string x_label;
  std::string unit;  // after the value at each bar's end: "s", "MB"
  std::string caption;
  std::vector<BarGroup> groups;
  std::vector<LegendEntry> legend;
};
std::string RenderBarChart(const BarChart& chart);

}  // namespace ectrain::report
