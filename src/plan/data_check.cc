#include "plan/data_check.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ckpt/restore.h"
#include "config/config.h"
#include "data/column_file.h"
#include "model/model.h"

namespace ectrain::plan {
namespace {

// What to do about a data file that is not there.
std::string MissingFileHint(const RunConfig& c, const std::string& source) {
  if (!c.prepare.source.empty()) {
    return "run `ectrain prepare " + source + "` to write it from prepare.source '" + c.prepare.source + "'";
  }
  return "check the path (relative paths are relative to the working directory, " +
         std::filesystem::current_path().string() + ")";
}

// Whether data file `path` of `key` can be opened: there, a file, readable, HDF5.
StatusOr<data::ColumnFile> OpenDataFile(const std::string& key, const std::string& path, const RunConfig& c,
                                        const std::string& source) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound(key + ": '" + path + "' does not exist; " + MissingFileHint(c, source));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(key + ": '" + path + "' is a folder; name an HDF5 file" +
                           (key == "data.train" ? "" : " (only data.train may be a folder or a glob)"));
  }
  if (access(path.c_str(), R_OK) != 0) {
    return InvalidArgument(key + ": '" + path + "' is not readable (" + std::strerror(errno) +
                           "); give this user read access, e.g. chmod a+r");
  }
  StatusOr<data::ColumnFile> file = data::ColumnFile::Open(path);
  if (!file.ok()) return Status(file.status().code(), key + ": " + file.status().message());
  return file;
}

// Column `name` of `file` in the role of `key` (data.dense, data.categorical, data.multi_valued,
// data.label): there, numeric, a plain dataset or a multi-valued group as the role needs.
Status CheckColumn(data::ColumnFile& file, const std::string& key, const std::string& name) {
  data::FeatureSchema one;
  if (key == "data.dense") {
    one.dense = {name};
  } else if (key == "data.categorical") {
    one.categorical = {name};
    one.vocab_sizes = {1};
  } else if (key == "data.multi_valued") {
    one.multi_valued = {name};
    one.multi_vocab_sizes = {1};
  } else {
    one.label = name;
  }
  return file.Bind(one, /*with_labels=*/key == "data.label").status();
}

// Every column the config names, each in its role; one problem per column, "KEY: message", or for
// a held-out file (`file_key` data.test or data.validation) "data.test: message (ROLE)".
void CheckColumns(data::ColumnFile& file, const data::DataOptions& d, const std::string& file_key,
                  std::vector<std::string>& problems) {
  const std::pair<const char*, std::vector<std::string>> roles[] = {
      {"data.dense", d.dense},
      {"data.categorical", d.categorical},
      {"data.multi_valued", d.multi_valued},
      {"data.label", d.label.empty() ? std::vector<std::string>{} : std::vector<std::string>{d.label}}};
  for (const auto& [role, names] : roles) {
    for (const std::string& name : names) {
      const Status s = CheckColumn(file, role, name);
      if (s.ok()) continue;
      problems.push_back(file_key == "data.train" ? std::string(role) + ": " + s.message()
                                                  : file_key + ": " + s.message() + " (" + role + ")");
    }
  }
}

// data.train: its files there and readable, the columns in the first, then the whole set opened
// as training opens it.
std::optional<data::TrainingFiles> CheckTraining(const RunConfig& c, const std::string& source,
                                                 std::vector<std::string>& problems) {
  if (c.data.train.empty()) {
    problems.push_back("data.train is empty; name the training data (an HDF5 file, a folder of *.h5 or a glob)" +
                       (c.prepare.source.empty() ? std::string() : ", then " + MissingFileHint(c, source)));
    return std::nullopt;
  }
  StatusOr<std::vector<std::string>> paths = data::ExpandTrainFiles(c.data.train);
  if (!paths.ok()) {
    problems.push_back(paths.status().message() +
                       (c.prepare.source.empty() ? std::string() : "; or " + MissingFileHint(c, source)));
    return std::nullopt;
  }
  const size_t before = problems.size();
  std::optional<data::ColumnFile> first;
  for (const std::string& path : *paths) {
    StatusOr<data::ColumnFile> file = OpenDataFile("data.train", path, c, source);
    if (!file.ok()) {
      problems.push_back(file.status().message());
    } else if (!first) {
      first.emplace(std::move(*file));
    }
  }
  if (first) CheckColumns(*first, c.data, "data.train", problems);
  if (problems.size() > before || c.data.label.empty()) return std::nullopt;
  first.reset();
  StatusOr<data::TrainingFiles> training = data::OpenTrainingFiles(c.data);
  if (!training.ok()) {
    problems.push_back(training.status().message());
    return std::nullopt;
  }
  return std::move(*training);
}

// data.test or data.validation: there, readable, with the training set's columns in their roles
// and, where both store one, a schema that encodes them as the training set's does.
void CheckHeldOut(const std::string& key, const std::string& path, const RunConfig& c, const std::string& source,
                  const data::FeatureSchema* training, std::vector<std::string>& problems, int64_t& rows) {
  StatusOr<data::ColumnFile> file = OpenDataFile(key, path, c, source);
  if (!file.ok()) {
    problems.push_back(file.status().message());
    return;
  }
  const size_t before = problems.size();
  CheckColumns(*file, c.data, key, problems);
  if (training == nullptr || problems.size() > before) return;
  StatusOr<int64_t> length = file->CheckColumns(data::SchemaColumns(*training, /*with_labels=*/true));
  if (!length.ok()) {
    problems.push_back(key + ": " + length.status().message());
    return;
  }
  rows = std::max(rows, *length);
  StatusOr<std::optional<data::FeatureSchema>> stored = file->StoredSchema();
  if (!stored.ok()) {
    problems.push_back(key + ": " + stored.status().message());
  } else if (*stored) {
    const Status alike = data::CheckEncodedAlike(**stored, *training, /*with_labels=*/true, path);
    if (!alike.ok()) problems.push_back(key + ": " + alike.message());
  }
}

}  // namespace

DataCheck CheckConfigData(const RunConfig& config, const std::string& source) {
  DataCheck check;
  check.resolved = config;
  std::vector<std::string>& problems = check.problems;
  const data::DataOptions& d = config.data;
  if (d.label.empty()) problems.push_back("data.label is empty; name the label column");
  if (d.dense.empty() && d.categorical.empty() && d.multi_valued.empty()) {
    problems.push_back(
        "data.dense, data.categorical and data.multi_valued are all empty; name the input columns the model reads");
  }
  if (d.test.empty()) problems.push_back("data.test is empty; name the test HDF5 file rank 0 evaluates");
  if (problems.empty()) {
    // What is left of train's start-up checks of the keys (keep_best and early stopping need data.validation).
    const Status inputs = config::CheckTrainingInputs(config, source);
    if (!inputs.ok()) problems.push_back(inputs.message());
  }
  check.training = CheckTraining(config, source, problems);
  const data::FeatureSchema* schema = check.training ? &check.training->schema : nullptr;
  if (schema != nullptr) {
    // As `ectrain train` builds it: model.loss auto from the labels, then the model on the columns.
    RunConfig& resolved = check.resolved;
    if (resolved.model.loss == "auto") resolved.model.loss = model::LossForLabelType(schema->label_type);
    resolved.data.label_type = schema->label_type;
    const auto built = model::CreateModel(resolved.model, ckpt::ModelInputs(*schema));
    if (!built.ok()) problems.push_back(built.status().message());
  }
  if (!d.test.empty()) CheckHeldOut("data.test", d.test, config, source, schema, problems, check.held_out_rows);
  if (!d.validation.empty()) {
    CheckHeldOut("data.validation", d.validation, config, source, schema, problems, check.held_out_rows);
  }
  if (!problems.empty()) check.training.reset();
  return check;
}

}  // namespace ectrain::plan
