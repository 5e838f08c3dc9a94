// `ectrain report`'s pure parts: reading metrics.jsonl lines into a run (resumes, merged
// evaluations, malformed lines named by file and line), axis scaling and tick labels, escaping, and
// the page: one chart per figure with data, runs overlaid, notes for what is missing, nothing fetched.
#include "report/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <sstream>

#include "report/run_history.h"
#include "report/svg_chart.h"
#include "unit/data/test_files.h"

namespace ectrain::report {
namespace {

using data::testing::ScratchDir;
using data::testing::WriteTextFile;

RunHistory Parse(const std::string& text, const std::string& name = "run") {
  RunHistory run;
  run.name = name;
  std::istringstream in(text);
  const Status status = ParseMetrics(in, name + "/metrics.jsonl", run);
  EXPECT_TRUE(status.ok()) << status.message();
  return run;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(NiceAxis, TicksAtOneTwoFiveCoverTheRange) {
  const Axis a = NiceAxis(0.0, 0.87, 6);
  EXPECT_DOUBLE_EQ(a.lo, 0.0);
  EXPECT_DOUBLE_EQ(a.hi, 1.0);
  EXPECT_DOUBLE_EQ(a.tick_step, 0.2);
  ASSERT_EQ(a.ticks.size(), 6u);
  EXPECT_NEAR(a.ticks[3], 0.6, 1e-12);

  const Axis b = NiceAxis(0.2013, 0.4482, 6);
  EXPECT_DOUBLE_EQ(b.tick_step, 0.05);
  EXPECT_NEAR(b.lo, 0.2, 1e-12);
  EXPECT_NEAR(b.hi, 0.45, 1e-12);

  const Axis c = NiceAxis(-3.0, 1234.0, 7);  // across zero: 0 is a tick, exactly
  EXPECT_DOUBLE_EQ(c.tick_step, 500.0);
  EXPECT_LE(c.lo, -3.0);
  EXPECT_GE(c.hi, 1234.0);
  EXPECT_NE(std::find(c.ticks.begin(), c.ticks.end(), 0.0), c.ticks.end());
  EXPECT_LE(c.ticks.size(), 7u);
}

TEST(NiceAxis, OneValueOrBadBoundsStillGiveAnAxis) {
  const Axis one = NiceAxis(0.001, 0.001, 6);
  EXPECT_LT(one.lo, 0.001);
  EXPECT_GT(one.hi, 0.001);
  const Axis zero = NiceAxis(0, 0, 6);
  EXPECT_LT(zero.lo, 0);
  EXPECT_GT(zero.hi, 0);
  const Axis swapped = NiceAxis(10, 2, 6);
  EXPECT_LE(swapped.lo, 2);
  EXPECT_GE(swapped.hi, 10);
  const Axis nan = NiceAxis(NAN, 3, 6);
  EXPECT_TRUE(std::isfinite(nan.lo) && std::isfinite(nan.hi) && nan.hi > nan.lo);
}

TEST(FormatTick, DecimalsFromTheStepAndThousandsShortened) {
  EXPECT_EQ(FormatTick(0.25, 0.05), "0.25");
  EXPECT_EQ(FormatTick(0.4, 0.2), "0.4");
  EXPECT_EQ(FormatTick(1500, 500), "1500");
  EXPECT_EQ(FormatTick(20000, 10000), "20k");
  EXPECT_EQ(FormatTick(2.5e6, 5e5), "2.5M");
  EXPECT_EQ(FormatTick(-1e-17, 0.1), "0.0");  // no "-0.0" from rounding
  EXPECT_EQ(FormatValue(0.123456), "0.1235");
  EXPECT_EQ(FormatValue(580544.3), "580544");
  EXPECT_EQ(FormatValue(NAN), "-");
}

TEST(EscapeHtml, EveryMarkupCharacter) {
  EXPECT_EQ(EscapeHtml("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(EscapeHtml("plain: 1.5 % ok"), "plain: 1.5 % ok");
}

TEST(Thin, AveragesConsecutiveGroupsOnlyWhenTooMany) {
  std::vector<Point> points;
  for (int i = 0; i < 10; ++i) points.push_back({static_cast<double>(i), static_cast<double>(2 * i)});
  EXPECT_EQ(Thin(points, 20).size(), 10u);
  const std::vector<Point> thinned = Thin(points, 3);  // groups of 4, 4, 2
  ASSERT_EQ(thinned.size(), 3u);
  EXPECT_DOUBLE_EQ(thinned[0].x, 1.5);
  EXPECT_DOUBLE_EQ(thinned[0].y, 3.0);
  EXPECT_DOUBLE_EQ(thinned[2].x, 8.5);
}

constexpr char kRun[] = R"({"event":"start","world_size":2}
{"event":"step","time":1,"epoch":1,"step":100,"train_loss":0.6,"learning_rate":0.001,"samples_per_second":5000,"data_wait_seconds":0}
{"event":"step","time":2,"epoch":1,"step":200,"train_loss":0.5,"learning_rate":0.001,"samples_per_second":6000,"data_wait_seconds":0}
{"event":"epoch","time":2,"epoch":1,"step":250,"train_loss":0.55,"samples_per_second":5500,"data_wait_seconds":0}
{"event":"eval","epoch":1,"step":250,"train_loss":0.55,"validation":{"count":10,"auc":0.7,"log_loss":null,"confusion":[[1,2],[3,4]]}}
{"event":"start","world_size":1}
{"event":"step","time":3,"epoch":1,"step":200,"train_loss":0.45,"learning_rate":0.001,"samples_per_second":7000,"data_wait_seconds":0}
{"event":"eval","epoch":2,"step":500,"validation":{"auc":0.8},"test":{"auc":0.75}}
{"event":"best","step":250,"test":{"auc":0.74}}
{"event":"done","steps":500,"train_seconds":2.5,"forward_backward_seconds":1.5,"peak_rss_mb":60.5,"stopped_early":true,"best_step":250,"checkpoint":"c","test":{"auc":0.74,"count":3}}
)";

TEST(ParseMetrics, StepsEvaluationsAndTheDoneLine) {
  const RunHistory run = Parse(kRun);
  EXPECT_EQ(run.starts, 2);
  ASSERT_EQ(run.steps.size(), 2u);  // step 200 logged again after the resume: its last line counts
  EXPECT_EQ(run.steps[1].step, 200);
  EXPECT_DOUBLE_EQ(run.steps[1].train_loss, 0.45);
  EXPECT_DOUBLE_EQ(run.steps[1].samples_per_second, 7000);
  ASSERT_EQ(run.epochs.size(), 1u);
  EXPECT_TRUE(std::isnan(run.epochs[0].learning_rate));
  ASSERT_EQ(run.evals.size(), 2u);
  const MetricValues& first = run.evals[0].sets.at("validation");
  EXPECT_DOUBLE_EQ(first.at("auc"), 0.7);
  EXPECT_EQ(first.count("log_loss"), 0u);   // null: not finite
  EXPECT_EQ(first.count("confusion"), 0u);  // not a number
  EXPECT_DOUBLE_EQ(run.evals[1].sets.at("test").at("auc"), 0.75);
  EXPECT_TRUE(run.finished);
  EXPECT_DOUBLE_EQ(run.done.at("train_seconds"), 2.5);
  EXPECT_DOUBLE_EQ(run.done.at("stopped_early"), 1.0);
  EXPECT_EQ(run.done.count("checkpoint"), 0u);
  EXPECT_DOUBLE_EQ(run.final_sets.at("test").at("auc"), 0.74);
}

TEST(ParseMetrics, AFinishedRunRunAgainKeepsItsStepLoopFigures) {
  const RunHistory run = Parse(std::string(kRun) +
                               R"({"event":"eval","epoch":2,"step":500,"test":{"auc":0.76}}
{"event":"done","steps":500,"train_seconds":0,"forward_backward_seconds":0,"peak_rss_mb":20,"test":{"auc":0.76}}
)");
  EXPECT_DOUBLE_EQ(run.done.at("forward_backward_seconds"), 1.5);
  EXPECT_DOUBLE_EQ(run.final_sets.at("test").at("auc"), 0.76);
  ASSERT_EQ(run.evals.size(), 2u);  // the same step: merged, the later test figures kept
  EXPECT_DOUBLE_EQ(run.evals[1].sets.at("test").at("auc"), 0.76);
  EXPECT_DOUBLE_EQ(run.evals[1].sets.at("validation").at("auc"), 0.8);
}

Status ParseError(const std::string& text) {
  RunHistory run;
  std::istringstream in(text);
  return ParseMetrics(in, "runs/x/metrics.jsonl", run);
}

TEST(ParseMetrics, AMalformedLineIsNamedByFileAndLine) {
  const std::string good = "{\"event\":\"start\"}\n";
  Status s = ParseError(good + "\n" + "{\"event\":\"step\",\"step\":1,\"epoch\n" + good);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("runs/x/metrics.jsonl line 3 is not JSON"), std::string::npos) << s.message();
  s = ParseError(good + "[1, 2]\n");
  EXPECT_NE(s.message().find("line 2: not a JSON object with an \"event\""), std::string::npos) << s.message();
  s = ParseError(good + "{\"event\":\"step\",\"step\":\"ten\",\"epoch\":1}\n");
  EXPECT_NE(s.message().find("line 2: a 'step' line needs a number 'step'"), std::string::npos) << s.message();
  s = ParseError(good + "{\"event\":\"eval\",\"step\":5,\"epoch\":1,\"test\":{\"auc\":\"high\"}}\n");
  EXPECT_NE(s.message().find("line 2: metric 'test.auc' is \"high\", not a number"), std::string::npos) << s.message();
  s = ParseError(good + "{\"event\":\"step\",\"step\":5,\"epoch\":1,\"train_loss\":true}\n");
  EXPECT_NE(s.message().find("line 2: 'train_loss' is true, not a number"), std::string::npos) << s.message();
}

TEST(ParseMetrics, AnUnfinishedLastLineIsLeftOutWhileTheRunWritesIt) {
  const std::string lines = "{\"event\":\"step\",\"step\":100,\"epoch\":1,\"train_loss\":0.5}\n{\"event\":\"st";
  RunHistory run;
  std::istringstream in(lines);
  EXPECT_TRUE(ParseMetrics(in, "m", run).ok());
  EXPECT_EQ(run.steps.size(), 1u);
  EXPECT_FALSE(ParseError(lines + "\n").ok());  // a whole line that is broken is an error
}

TEST(ReadRun, FoldersWithoutMetricsAreNamedWithWhatToDo) {
  ScratchDir dir;
  StatusOr<RunHistory> missing = ReadRun(dir.File("nothing"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir.File("nothing") + "' does not exist"), std::string::npos);
  std::filesystem::create_directories(dir.File("empty"));
  StatusOr<RunHistory> empty = ReadRun(dir.File("empty"));
  EXPECT_EQ(empty.status().code(), StatusCode::kNotFound);
  EXPECT_NE(empty.status().message().find(dir.File("empty") + " has no metrics.jsonl"), std::string::npos)
      << empty.status().message();
  EXPECT_NE(empty.status().message().find("train.output_dir"), std::string::npos);

  std::filesystem::create_directories(dir.File("run"));
  WriteTextFile(dir.File("run/metrics.jsonl"), kRun);
  WriteTextFile(dir.File("run/config.yaml"), "train:\n  epochs: 2\n");
  StatusOr<RunHistory> run = ReadRun(dir.File("run") + "/");
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->name, "run");
  EXPECT_EQ(run->config_yaml, "train:\n  epochs: 2\n");
  EXPECT_EQ(run->steps.size(), 2u);
}

TEST(RunNames, FolderNamesOrPathsWhereTheyClash) {
  EXPECT_EQ(RunNames({"runs/a/", "x/b", "y/b", "c"}), (std::vector<std::string>{"a", "x/b", "y/b", "c"}));
  EXPECT_FALSE(RunNames({"."}).front().empty());
}

// Two runs: one with validation curves and a done line, one without validation still training.
std::vector<RunHistory> TwoRuns() {
  RunHistory a = Parse(kRun, "with<validation>");
  RunHistory b = Parse(R"({"event":"start"}
{"event":"step","epoch":1,"step":50,"train_loss":0.7,"learning_rate":0.01,"samples_per_second":100}
{"event":"step","epoch":1,"step":100,"train_loss":0.6,"learning_rate":0.01,"samples_per_second":120}
{"event":"eval","epoch":1,"step":100,"test":{"auc":0.6,"log_loss":0.5,"positive_rate":0.1,"count":9}}
)",
                       "plain");
  b.config_yaml = "model:\n  type: \"<mlp>\"\n";
  return {a, b};
}

TEST(RenderReport, OneChartPerFigureWithData) {
  const Report report = RenderReport(TwoRuns());
  // train loss, learning rate, throughput; validation auc (log_loss was null); test auc, test
  // log_loss (positive_rate is the rows', not the model's); step time and memory from run a's done.
  EXPECT_EQ(report.charts, 8);
  EXPECT_EQ(Count(report.html, "<figure class=\"chart\""), report.charts);
  for (const char* id : {"train_loss", "learning_rate", "throughput", "validation.auc", "test.auc", "test.log_loss",
                         "step_time", "memory"}) {
    EXPECT_NE(report.html.find(std::string("data-chart=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_EQ(report.html.find("data-chart=\"validation.log_loss\""), std::string::npos);
  EXPECT_EQ(report.html.find("data-chart=\"test.positive_rate\""), std::string::npos);
  // Both runs' train losses overlaid, each in its colour with its points.
  const size_t loss = report.html.find("data-chart=\"train_loss\"");
  const std::string loss_chart = report.html.substr(loss, report.html.find("</figure>", loss) - loss);
  EXPECT_EQ(Count(loss_chart, "<polyline"), 2);
  EXPECT_NE(loss_chart.find("stroke=\"#1f77b4\""), std::string::npos);
  EXPECT_NE(loss_chart.find("stroke=\"#ff7f0e\""), std::string::npos);
  const std::regex points("points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(loss_chart.begin(), loss_chart.end(), points); it != std::sregex_iterator();
       ++it) {
    EXPECT_EQ(Count((*it)[1].str(), ","), 2);  // two step lines each
  }
  for (const char* tick : {">0.45<", ">0.70<", ">step<", ">train loss<"}) {
    EXPECT_NE(loss_chart.find(tick), std::string::npos) << tick;  // ticks and axis labels
  }
}

TEST(RenderReport, SaysWhatIsMissingAndEscapesEverything) {
  const Report report = RenderReport(TwoRuns());
  EXPECT_NE(report.html.find("<b>plain</b>: no <code>done</code> line in metrics.jsonl yet (last logged step 100)"),
            std::string::npos);
  EXPECT_NE(report.html.find("<b>plain</b>: not evaluated on validation rows."), std::string::npos);
  EXPECT_NE(report.html.find("with&lt;validation&gt;"), std::string::npos);
  EXPECT_EQ(report.html.find("with<validation>"), std::string::npos);
  EXPECT_NE(report.html.find("type: &quot;&lt;mlp&gt;&quot;"), std::string::npos);  // the config, escaped
  EXPECT_NE(report.html.find("no config.yaml in"), std::string::npos);
  // Final metrics: the done line's for a finished run, the last evaluation's otherwise.
  EXPECT_NE(report.html.find("<tr><th>test auc</th><td>0.74</td><td>0.6</td></tr>"), std::string::npos);
  EXPECT_NE(report.html.find("<tr><th>status</th><td>finished, stopped early, kept step 250, resumed 1x</td>"),
            std::string::npos);
  // Self-contained: nothing to fetch, nothing to run.
  EXPECT_EQ(report.html.find("http"), std::string::npos);
  EXPECT_EQ(report.html.find("<script"), std::string::npos);
  EXPECT_EQ(report.html.find("<link"), std::string::npos);
}

TEST(RenderReport, ARunWithoutDataHasNoCharts) {
  const Report report = RenderReport({Parse("{\"event\":\"start\"}\n", "new")});
  EXPECT_EQ(report.charts, 0);
  EXPECT_NE(report.html.find("no <code>done</code> line"), std::string::npos);
}

TEST(RenderReport, ARunWithoutStepLinesCountsItsEpochAndEvalSteps) {
  // train.log_every_steps above the run's steps: epoch and eval lines only, and no done line yet.
  const Report report =
      RenderReport({Parse("{\"event\":\"start\"}\n"
                          "{\"event\":\"epoch\",\"epoch\":1,\"step\":40,\"train_loss\":0.5}\n"
                          "{\"event\":\"epoch\",\"epoch\":2,\"step\":80,\"train_loss\":0.4}\n",
                          "epochs")});
  EXPECT_NE(report.html.find("(last logged step 80)"), std::string::npos);
  EXPECT_NE(report.html.find("<tr><th>steps</th><td>80 so far</td></tr>"), std::string::npos);
  EXPECT_NE(report.html.find("<tr><th>epochs</th><td>2 so far</td></tr>"), std::string::npos);
  EXPECT_NE(report.html.find("logged no step lines: epoch means"), std::string::npos);
}

TEST(WriteReport, AnUnwritableOutNamesThePathAndTheReason) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.File("run"));
  WriteTextFile(dir.File("run/metrics.jsonl"), kRun);
  StatusOr<Report> written = WriteReport({dir.File("run")}, dir.File("report.html"));
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_TRUE(std::filesystem::exists(dir.File("report.html")));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.File("")), {}), 2);  // no temporary left
  StatusOr<Report> failed = WriteReport({dir.File("run")}, dir.File("missing/report.html"));
  EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
  EXPECT_NE(
      failed.status().message().find("cannot write " + dir.File("missing/report.html") + ": No such file or directory"),
      std::string::npos)
      << failed.status().message();
  StatusOr<Report> bad_run = WriteReport({dir.File("run"), dir.File("nope")}, dir.File("r2.html"));
  EXPECT_EQ(bad_run.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.File("r2.html")));
}

}  // namespace
}  // namespace ectrain::report
