// `ectrain prepare`, `generate`, `inspect` and `config`: the commands that need no model.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "config/config.h"
#include "core/format.h"
#include "core/log.h"
#include "plan/data_check.h"
#include "prep/prepare.h"
#include "tools/inspect.h"

namespace ectrain::cli {
namespace {

// argv joined for the provenance record, each word quoted when the shell would need it.
std::string ShellLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& word : argv) {
    const bool plain = !word.empty() && word.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                            "-_./=,:+@%") == std::string::npos;
    std::string quoted = word;
    if (!plain) {
      quoted = "'";
      for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      quoted += "'";
    }
    line += (line.empty() ? "" : " ") + quoted;
  }
  return line;
}

std::string Count(double n) {
  char text[32];
  if (n >= 1e6) {
    std::snprintf(text, sizeof(text), "%.2fM", n / 1e6);
  } else if (n >= 1e3) {
    std::snprintf(text, sizeof(text), "%.1fk", n / 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%.0f", n);
  }
  return text;
}

// A progress line on a terminal, redrawn at most twice a second; nothing when stderr is a file.
class ProgressLine {
 public:
  ProgressLine() : enabled_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  void Update(int64_t done, int64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
    std::fprintf(stderr, "\rgenerate: %s / %s rows (%.0f%%), %s rows/s, ETA %.0f s   ", Count(done).c_str(),
                 Count(total).c_str(), 100.0 * done / total, Count(rate).c_str(), eta);
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace

Status RunGenerate(const GenerateArgs& args) {
  tools::GenerateOptions options = args.options;
  options.command_line = ShellLine(args.argv);
  ProgressLine progress;
  options.progress = [&progress](int64_t done, int64_t total) { progress.Update(done, total); };
  ASSIGN_OR_RETURN(tools::GenerateReport report, tools::GenerateDataSet(options));

  const size_t train_files =
      report.files.size() - (report.test_file.empty() ? 0 : 1) - (report.validation_file.empty() ? 0 : 1);
  const double rows = static_cast<double>(report.train_rows + report.test_rows + report.validation_rows);
  std::printf(
      "generated %lld rows in %zu file%s (%s) in %.2f s: %s rows/s, %.1f MB/s; positive rate %.4f "
      "(target %.4f)\n",
      static_cast<long long>(report.train_rows), train_files, train_files == 1 ? "" : "s",
      FormatMegabytes(report.bytes).c_str(), report.seconds, Count(rows / report.seconds).c_str(),
      static_cast<double>(report.bytes + report.test_bytes + report.validation_bytes) / 1e6 / report.seconds,
      report.positive_rate, options.positive_rate);
  const std::string train_path = train_files == 1 ? report.files[0] : options.out;
  if (train_files == 1) {
    std::printf("  train: %s\n", train_path.c_str());
  } else {
    std::printf("  train: %s (part-00000.h5 .. part-%05zu.h5)\n", train_path.c_str(), train_files - 1);
  }
  // The hidden model's own figures on the rows: what no learner can beat (in expectation).
  auto print_evaluation_file = [](const char* role, const std::string& path, int64_t rows, int64_t bytes, double rate,
                                  const tools::BayesFigures& bayes) {
    if (path.empty()) return;
    std::printf("  %-6s %s (%lld rows, %s, positive rate %.4f; hidden model: AUC %.4f, log-loss %.4f)\n", role,
                path.c_str(), static_cast<long long>(rows), FormatMegabytes(bytes).c_str(), rate, bayes.auc,
                bayes.log_loss);
  };
  print_evaluation_file("validation:", report.validation_file, report.validation_rows, report.validation_bytes,
                        report.validation_positive_rate, report.validation_bayes);
  print_evaluation_file("test:", report.test_file, report.test_rows, report.test_bytes, report.test_positive_rate,
                        report.test_bayes);
  std::string dense;
  for (int j = 0; j < options.num_dense; ++j) dense += (j ? "," : "") + std::string("d") + std::to_string(j);
  std::string files = "--set data.train=" + train_path;
  if (!report.validation_file.empty()) files += " --set data.validation=" + report.validation_file;
  if (!report.test_file.empty()) files += " --set data.test=" + report.test_file;
  std::printf(
      "  train on it with: %s --set data.label=clicked --set data.dense=[%s] "
      "--set data.categorical=[user,item,category]%s\n",
      files.c_str(), dense.c_str(), options.max_recent_items > 0 ? " --set data.multi_valued=[recent_items]" : "");
  return Status::Ok();
}

Status RunInspect(const InspectArgs& args) {
  tools::InspectOptions options;
  for (const std::string& path : args.paths) {
    if (IsCheckpointPath(path)) {
      RETURN_IF_ERROR(InspectCheckpoint(path, args.json));
    } else {
      options.paths.push_back(path);
    }
  }
  if (options.paths.empty()) return Status::Ok();
  options.label = args.label;
  ASSIGN_OR_RETURN(tools::InspectReport report, tools::Inspect(options));
  const std::string text = args.json ? report.ToJson() + "\n" : report.ToText();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

Status RunPrepare(const PrepareArgs& args) {
  const std::string source = args.config_path.empty() ? "the command line" : args.config_path;
  StatusOr<RunConfig> loaded = args.config_path.empty() ? config::ParseConfig("", args.overrides, source)
                                                        : config::LoadConfig(args.config_path, args.overrides);
  RETURN_IF_ERROR(loaded.status());
  const RunConfig& config = *loaded;
  RETURN_IF_ERROR(config::CheckPrepareInputs(config, source));
  StatusOr<prep::PrepareReport> prepared =
      prep::PrepareDataSet(config.prepare, config.data, /*show_progress=*/isatty(STDERR_FILENO) != 0);
  if (!prepared.ok()) {
    const Status& s = prepared.status();
    // Errors about the settings name the keys; say where they came from.
    return s.code() == StatusCode::kInvalidArgument ? Status(s.code(), source + ": " + s.message()) : s;
  }
  const prep::PrepareReport& report = *prepared;
  const data::FeatureSchema& schema = report.schema;
  for (const std::string& example : report.bad_row_examples) LOG_WARNING << "skipped: " << example;
  const std::string label_summary = schema.label_type == "binary"  ? "positive rate"
                                    : schema.label_type == "class" ? "mean class id"
                                                                   : "mean label";
  std::printf("prepared %s: %lld rows read, %lld exact duplicates dropped", config.prepare.source.c_str(),
              static_cast<long long>(report.rows_read), static_cast<long long>(report.duplicates_dropped));
  if (report.negatives_sampled > 0) {
    std::printf(", %lld sampled negative rows added to train", static_cast<long long>(report.negatives_sampled));
  }
  if (report.bad_rows_skipped > 0) {
    std::printf(", %lld bad rows skipped", static_cast<long long>(report.bad_rows_skipped));
  }
  if (report.test_duplicates_kept > 0) {
    std::printf(", %lld rows of the test file that repeat earlier rows kept",
                static_cast<long long>(report.test_duplicates_kept));
  }
  std::printf("\n  train: %s (%lld rows, %s %.4f)\n", config.data.train.c_str(),
              static_cast<long long>(report.train_rows), label_summary.c_str(), report.train_positive_rate);
  if (config.prepare.validation_fraction > 0) {
    std::printf("  validation: %s (%lld rows)\n", config.data.validation.c_str(),
                static_cast<long long>(report.validation_rows));
  }
  std::printf("  test:  %s (%lld rows)\n", config.data.test.c_str(), static_cast<long long>(report.test_rows));
  if (report.validation_time_threshold) {
    std::printf("  split by %s: train <= %.17g < validation <= %.17g < test\n", config.prepare.time_column.c_str(),
                *report.validation_time_threshold, *report.time_threshold);
  } else if (report.time_threshold) {
    std::printf("  split by %s: train <= %.17g < test\n", config.prepare.time_column.c_str(), *report.time_threshold);
  }
  std::string multi;
  for (const std::string& name : schema.multi_valued) multi += (multi.empty() ? "" : ", ") + name;
  std::printf(
      "  label '%s' (%s%s), %zu dense, %zu categorical, %zu multi-valued%s%s%s\n", schema.label.c_str(),
      schema.label_type.c_str(),
      schema.label_type == "class" ? (", " + std::to_string(schema.label_classes.size()) + " classes").c_str() : "",
      schema.dense.size(), schema.categorical.size(), schema.multi_valued.size(), multi.empty() ? "" : " (",
      multi.c_str(), multi.empty() ? "" : ")");
  const double seconds = std::max(report.seconds, 1e-9);
  std::printf("  %.2f s: %.0f rows/s, %.1f MB/s\n", report.seconds, static_cast<double>(report.rows_read) / seconds,
              static_cast<double>(report.bytes_read) / 1e6 / seconds);
  return Status::Ok();
}

Status RunShowConfig(const std::string& config_path, const std::vector<std::string>& overrides, bool list_keys,
                     bool no_data) {
  if (list_keys) {
    std::printf("key                           default         meaning\n%s", config::DescribeKeys().c_str());
    return Status::Ok();
  }
  if (config_path.empty()) return InvalidArgument("ectrain config: give a CONFIG file, or --keys");
  ASSIGN_OR_RETURN(RunConfig config, config::LoadConfig(config_path, overrides));
  if (!no_data) RETURN_IF_ERROR(ReportDataProblems(plan::CheckConfigData(config, config_path), config_path));
  std::printf("%s", config::ToYaml(config).c_str());
  return Status::Ok();
}

Status ReportDataProblems(const plan::DataCheck& check, const std::string& config_path) {
  if (check.problems.empty()) return Status::Ok();
  for (const std::string& problem : check.problems)
    std::fprintf(stderr, "%s: %s\n", config_path.c_str(), problem.c_str());
  return InvalidArgument(config_path + ": " + std::to_string(check.problems.size()) +
                         " problem(s) with the data this config names (above); `ectrain config --no-data` checks "
                         "the keys alone");
}

}  // namespace ectrain::cli
