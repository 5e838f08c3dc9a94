#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/version.h"
#include "report/svg_chart.h"

namespace ectrain::report {
namespace {

// One colour per run (Tableau 10); from the eleventh run on the colours repeat, dashed.
constexpr const char* kRunColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kNumRunColors = sizeof(kRunColors) / sizeof(kRunColors[0]);
constexpr size_t kMaxCurvePoints = 2000;
// The evaluated sets, in the order the report shows them.
constexpr const char* kSets[] = {"validation", "test"};

constexpr char kStyle[] = R"(body{font:14px/1.45 "DejaVu Sans",Arial,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.charts{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure.chart{margin:0;padding:8px 8px 4px;border:1px solid #ddd;border-radius:4px;background:#fff;width:540px}
figure.chart h3{font-size:14px;margin:0 0 2px}figcaption{font-size:12px;color:#555;margin:2px 0 4px}
svg.plot{display:block;font:12px "DejaVu Sans",Arial,sans-serif}svg .grid{stroke:#e6e6e6}
svg .frame{fill:none;stroke:#999}svg .axis{stroke:#999}svg .tick{fill:#555}svg .label{fill:#333}
svg .group{font-weight:bold;fill:#333}svg .value{fill:#333}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px}td{text-align:right}
td:first-child{text-align:left}th{background:#f4f4f4}
.swatch{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.note{color:#8a5300}pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:420px;font-size:12px}
)";

std::string RunColor(size_t run) { return kRunColors[run % kNumRunColors]; }
std::string RunDash(size_t run) { return run < kNumRunColors ? "" : "7 4"; }

// The last step a run logged: a step, epoch or eval line (a run may log no step lines at all, as
// when train.log_every_steps exceeds its steps).
int64_t LastLoggedStep(const RunHistory& run) {
  int64_t last = 0;
  for (const std::vector<TrainPoint>* lines : {&run.steps, &run.epochs}) {
    if (!lines->empty()) last = std::max(last, lines->back().step);
  }
  return run.evals.empty() ? last : std::max(last, run.evals.back().step);
}

double DoneValue(const RunHistory& run, const std::string& key) {
  const auto it = run.done.find(key);
  return it == run.done.end() ? 0.0 : it->second;
}

// The curves of one figure of the training lines; a run that logged no step lines draws its epoch lines.
using TrainValue = std::function<double(const TrainPoint&)>;

std::vector<Point> TrainCurve(const RunHistory& run, const TrainValue& value, bool* from_epochs) {
  std::vector<Point> points;
  for (const std::vector<TrainPoint>* lines : {&run.steps, &run.epochs}) {
    for (const TrainPoint& p : *lines) {
      if (std::isfinite(value(p))) points.push_back({static_cast<double>(p.step), value(p)});
    }
    if (!points.empty()) {
      *from_epochs = lines == &run.epochs;
      break;
    }
  }
  return Thin(points, kMaxCurvePoints);
}

// The final figures of one set: the done line's, else the last evaluation's.
MetricValues FinalMetrics(const RunHistory& run, const std::string& set) {
  if (run.finished) {
    const auto it = run.final_sets.find(set);
    return it == run.final_sets.end() ? MetricValues{} : it->second;
  }
  for (auto it = run.evals.rbegin(); it != run.evals.rend(); ++it) {
    const auto found = it->sets.find(set);
    if (found != it->sets.end()) return found->second;
  }
  return {};
}

// Metric names of `set` that some run evaluated: every figure but the row count.
std::vector<std::string> MetricNames(const std::vector<RunHistory>& runs, const std::string& set, bool charted) {
  std::set<std::string> names;
  for (const RunHistory& run : runs) {
    for (const EvalPoint& e : run.evals) {
      const auto it = e.sets.find(set);
      if (it == e.sets.end()) continue;
      for (const auto& [name, value] : it->second) names.insert(name);
    }
    if (!charted) {
      for (const auto& [name, value] : FinalMetrics(run, set)) names.insert(name);
    }
  }
  names.erase("count");
  if (charted) names.erase("positive_rate");  // a property of the rows, not of the model
  return {names.begin(), names.end()};
}

class Page {
 public:
  explicit Page(const std::vector<RunHistory>& runs) : runs_(runs) {}
  Report Render();

 private:
  void Header();
  void Summary();
  void TrainingCharts();
  void EvaluationCharts(const std::string& set);
  void StepTimeChart();
  void MemoryChart();
  void Configs();
  // Adds the chart when a run has a point to draw; returns whether it did.
  bool Add(const LineChart& chart);
  void Add(const BarChart& chart);

  const std::vector<RunHistory>& runs_;
  std::ostringstream html_;
  int charts_ = 0;
};

bool Page::Add(const LineChart& chart) {
  for (const Series& series : chart.series) {
    if (!series.points.empty()) {
      html_ << RenderLineChart(chart);
      ++charts_;
      return true;
    }
  }
  return false;
}

void Page::Add(const BarChart& chart) {
  html_ << RenderBarChart(chart);
  ++charts_;
}

void Page::Header() {
  std::string names;
  for (const RunHistory& run : runs_) names += (names.empty() ? "" : ", ") + run.name;
  html_ << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ectrain report: "
        << EscapeHtml(names) << "</title><style>" << kStyle << "</style></head><body>\n<h1>ectrain report</h1><p>"
        << runs_.size() << (runs_.size() == 1 ? " run" : " runs")
        << ", from each folder's metrics.jsonl and config.yaml ("
        << "ectrain " ECTRAIN_VERSION "):</p><ul class=\"runs\">";
  for (size_t i = 0; i < runs_.size(); ++i) {
    html_ << "<li><span class=\"swatch\" style=\"background:" << RunColor(i) << "\"></span><b>"
          << EscapeHtml(runs_[i].name) << "</b> " << EscapeHtml(runs_[i].dir) << "</li>";
  }
  html_ << "</ul>\n";
  for (const RunHistory& run : runs_) {
    if (run.finished) continue;
    html_ << "<p class=\"note\"><b>" << EscapeHtml(run.name) << "</b>: no <code>done</code> line in metrics.jsonl yet "
          << "(last logged step " << LastLoggedStep(run)
          << "): the run is still training, or it stopped before the end "
          << "(ectrain train on the same config resumes it). Its curves end there; the step-time and memory charts "
          << "leave it out.</p>\n";
  }
}

// One column per run, one row per figure: runs are few, figures many.
void Page::Summary() {
  html_ << "<h2>Final metrics</h2><table class=\"summary\"><tr><th></th>";
  for (size_t i = 0; i < runs_.size(); ++i) {
    html_ << "<th><span class=\"swatch\" style=\"background:" << RunColor(i) << "\"></span>"
          << EscapeHtml(runs_[i].name) << "</th>";
  }
  html_ << "</tr>";
  const auto row = [this](const std::string& label, const std::function<std::string(const RunHistory&)>& cell) {
    html_ << "<tr><th>" << EscapeHtml(label) << "</th>";
    for (const RunHistory& run : runs_) html_ << "<td>" << EscapeHtml(cell(run)) << "</td>";
    html_ << "</tr>";
  };
  row("status", [](const RunHistory& run) {
    std::string status = run.finished ? "finished" : "no done line";
    if (DoneValue(run, "stopped_early") > 0) status += ", stopped early";
    if (run.done.count("best_step")) status += ", kept step " + FormatValue(DoneValue(run, "best_step"));
    if (run.starts > 1) status += ", resumed " + std::to_string(run.starts - 1) + "x";
    return status;
  });
  row("steps", [](const RunHistory& run) {
    if (run.finished) return FormatValue(DoneValue(run, "steps"));
    return std::to_string(LastLoggedStep(run)) + " so far";
  });
  row("epochs", [](const RunHistory& run) {
    if (run.finished) return FormatValue(DoneValue(run, "epochs"));
    return std::to_string(run.epochs.empty() ? 0 : run.epochs.back().epoch) + " so far";
  });
  const std::pair<const char*, const char*> done_rows[] = {{"train_seconds", "train seconds"},
                                                           {"samples_per_second", "samples/s"},
                                                           {"seconds_to_first_step", "seconds to first step"},
                                                           {"peak_rss_mb", "peak resident MB"}};
  for (const auto& [key, label] : done_rows) {
    row(label, [key = key](const RunHistory& run) {
      return run.done.count(key) ? FormatValue(DoneValue(run, key)) : std::string("-");
    });
  }
  for (const char* set : kSets) {
    for (const std::string& name : MetricNames(runs_, set, /*charted=*/false)) {
      row(std::string(set) + " " + name, [set = std::string(set), &name](const RunHistory& run) {
        const MetricValues values = FinalMetrics(run, set);
        const auto it = values.find(name);
        return it == values.end() ? std::string("-") : FormatValue(it->second);
      });
    }
  }
  html_ << "</table>\n";
}

void Page::TrainingCharts() {
  struct Curve {
    const char* id;
    const char* title;
    const char* y_label;
    TrainValue value;
  };
  const Curve curves[] = {
      {"train_loss", "Training loss", "train loss", [](const TrainPoint& p) { return p.train_loss; }},
      {"learning_rate", "Learning rate", "learning rate", [](const TrainPoint& p) { return p.learning_rate; }},
      {"throughput", "Throughput", "samples/s", [](const TrainPoint& p) { return p.samples_per_second; }},
  };
  html_ << "<h2>Training</h2><div class=\"charts\">";
  for (const Curve& curve : curves) {
    LineChart chart{curve.id, curve.title, "step", curve.y_label, "", {}};
    std::string epoch_runs;
    for (size_t i = 0; i < runs_.size(); ++i) {
      bool from_epochs = false;
      std::vector<Point> points = TrainCurve(runs_[i], curve.value, &from_epochs);
      if (points.empty()) continue;
      if (from_epochs) epoch_runs += (epoch_runs.empty() ? "" : ", ") + runs_[i].name;
      chart.series.push_back({runs_[i].name, RunColor(i), RunDash(i), std::move(points)});
    }
    chart.caption = "metrics.jsonl's step lines (each the mean since the line before: train.log_every_steps)";
    if (!epoch_runs.empty()) chart.caption += "; " + epoch_runs + " logged no step lines: epoch means";
    Add(chart);
  }
  html_ << "</div>\n";
}

void Page::EvaluationCharts(const std::string& set) {
  const std::vector<std::string> names = MetricNames(runs_, set, /*charted=*/true);
  if (names.empty()) return;
  html_ << "<h2>" << (set == "test" ? "Test" : "Validation") << " metrics</h2>";
  for (const RunHistory& run : runs_) {
    bool curve = false;
    for (const EvalPoint& e : run.evals) curve |= e.sets.count(set) > 0;
    if (curve) continue;
    html_ << "<p><b>" << EscapeHtml(run.name) << "</b>: "
          << (FinalMetrics(run, set).empty()
                  ? "not evaluated on " + set + " rows."
                  : "no curve: its " + set + " rows were scored once, on the checkpoint kept (see Final metrics).")
          << "</p>";
  }
  html_ << "<div class=\"charts\">";
  for (const std::string& name : names) {
    LineChart chart{set + "." + name, set + " " + name, "step", name, "", {}};
    for (size_t i = 0; i < runs_.size(); ++i) {
      Series series{runs_[i].name, RunColor(i), RunDash(i), {}};
      for (const EvalPoint& e : runs_[i].evals) {
        const auto it = e.sets.find(set);
        if (it == e.sets.end()) continue;
        const auto value = it->second.find(name);
        if (value != it->second.end()) series.points.push_back({static_cast<double>(e.step), value->second});
      }
      if (!series.points.empty()) chart.series.push_back(std::move(series));
    }
    Add(chart);
  }
  html_ << "</div>\n";
}

void Page::StepTimeChart() {
  struct Phase {
    const char* label;
    const char* color;
    std::function<double(const RunHistory&)> seconds;
  };
  const auto key = [](const char* name) { return [name](const RunHistory& r) { return DoneValue(r, name); }; };
  const Phase phases[] = {
      {"forward+backward", "#4c78a8", key("forward_backward_seconds")},
      {"gradient sync", "#f58518",
       [](const RunHistory& r) {
         return DoneValue(r, "sync_exposed_seconds") - DoneValue(r, "sync_row_sparse_seconds");
       }},
      {"row-sparse tables sync", "#e45756", key("sync_row_sparse_seconds")},
      {"step agreement", "#72b7b2", key("agreement_seconds")},
      {"optimizer", "#54a24b", key("optimizer_seconds")},
      {"waiting for data", "#eeca3b", key("data_wait_seconds")},
      {"other", "#bab0ac",
       [](const RunHistory& r) {
         return DoneValue(r, "train_seconds") - DoneValue(r, "forward_backward_seconds") -
                DoneValue(r, "sync_exposed_seconds") - DoneValue(r, "agreement_seconds") -
                DoneValue(r, "optimizer_seconds") - DoneValue(r, "data_wait_seconds");
       }},
  };
  BarChart chart{"step_time",
                 "Where the step time went",
                 "seconds of rank 0's step loop",
                 "s",
                 "From each finished run's done line. Collectives count waiting for the slowest rank: a large sync "
                 "share on N ranks means imbalance or a slow link, a large data share a reader that falls behind; "
                 "hover a segment for its share.",
                 {BarGroup{}},
                 {}};
  for (const Phase& phase : phases) chart.legend.push_back({phase.label, phase.color});
  for (const RunHistory& run : runs_) {
    if (!run.finished || !(DoneValue(run, "train_seconds") > 0)) continue;
    Bar bar{run.name, {}};
    for (const Phase& phase : phases) bar.segments.push_back({phase.label, phase.color, phase.seconds(run)});
    chart.groups[0].bars.push_back(std::move(bar));
  }
  if (!chart.groups[0].bars.empty()) Add(chart);
}

void Page::MemoryChart() {
  const std::pair<const char*, const char*> kinds[] = {
      {"peak_rss_mb", "peak resident set (rank 0)"},     {"state_mb", "parameters, gradients, optimizer state"},
      {"workspace_mb", "model workspace (activations)"}, {"reader_bound_mb", "reader buffers (bound)"},
      {"data_in_memory_mb", "training data in memory"},  {"checkpoint_snapshot_mb", "checkpoint snapshot"},
  };
  BarChart chart{
      "memory", "Memory", "MB", "MB", "From each finished run's done line: the peak beside what training must hold.",
      {},       {}};
  for (const auto& [key, label] : kinds) {
    BarGroup group{label, {}};
    bool any = false;
    for (size_t i = 0; i < runs_.size(); ++i) {
      if (!runs_[i].finished || !runs_[i].done.count(key)) continue;
      group.bars.push_back({runs_[i].name, {{label, RunColor(i), DoneValue(runs_[i], key)}}});
      any |= DoneValue(runs_[i], key) > 0;
    }
    if (any) chart.groups.push_back(std::move(group));
  }
  for (size_t i = 0; i < runs_.size(); ++i) {
    if (runs_[i].finished) chart.legend.push_back({runs_[i].name, RunColor(i)});
  }
  if (!chart.groups.empty()) Add(chart);
}

void Page::Configs() {
  html_ << "<h2>Configuration</h2>";
  for (const RunHistory& run : runs_) {
    html_ << "<details open><summary><b>" << EscapeHtml(run.name) << "</b> " << EscapeHtml(run.dir)
          << "/config.yaml</summary>";
    if (run.config_yaml.empty()) {
      html_ << "<p class=\"note\">no config.yaml in " << EscapeHtml(run.dir) << "</p>";
    } else {
      html_ << "<pre class=\"config\">" << EscapeHtml(run.config_yaml) << "</pre>";
    }
    html_ << "</details>\n";
  }
}

Report Page::Render() {
  Header();
  Summary();
  TrainingCharts();
  for (const char* set : kSets) EvaluationCharts(set);
  html_ << "<h2>Step time and memory</h2><div class=\"charts\">";
  StepTimeChart();
  MemoryChart();
  html_ << "</div>\n";
  Configs();
  html_ << "</body></html>\n";
  return {html_.str(), charts_};
}

}  // namespace

Report RenderReport(const std::vector<RunHistory>& runs) { return Page(runs).Render(); }

StatusOr<Report> WriteReport(const std::vector<std::string>& dirs, const std::string& out) {
  std::vector<RunHistory> runs;
  const std::vector<std::string> names = RunNames(dirs);
  for (size_t i = 0; i < dirs.size(); ++i) {
    ASSIGN_OR_RETURN(RunHistory run, ReadRun(dirs[i]));
    run.name = names[i];
    runs.push_back(std::move(run));
  }
  Report report = RenderReport(runs);
  const Status written = WriteFileAtomically(out, report.html);
  if (!written.ok()) return Internal(written.message() + "; choose another --out");
  return report;
}

}  // namespace ectrain::report
