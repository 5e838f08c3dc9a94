#include "data/training_files.h"

#include <glob.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/format.h"
#include "data/encoding.h"
#include "data/label_prior.h"

namespace ectrain::data {
namespace {

// Columns in `a` and not in `b` (both sorted).
std::vector<std::string> Missing(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The label type of data.label_type "auto" (model.loss auto): the type `ectrain prepare` stored for
// the label column, else binary when the first rows' labels are all 0 or 1, else the model type's
// default. Class labels stored for a model that is not a classifier come back as that default,
// which ResolveSchema refuses naming model.type.
StatusOr<std::string> AutoLabelType(const DataOptions& options, const ColumnFile& file,
                                    const std::optional<FeatureSchema>& stored) {
  if (stored && stored->label == options.label && stored->label_type != "class") return stored->label_type;
  if (stored && stored->label == options.label) return options.label_type_otherwise;
  constexpr int64_t kRowsLookedAt = int64_t{1} << 20;
  ASSIGN_OR_RETURN(const bool zero_or_one, LabelsAreZeroOrOne(file.path(), options.label, kRowsLookedAt));
  return zero_or_one ? std::string("binary") : options.label_type_otherwise;
}

}  // namespace

StatusOr<FeatureSchema> ResolveSchema(const DataOptions& options, const ColumnFile& file,
                                      std::optional<FeatureSchema> stored) {
  std::vector<std::string> columns = options.dense;
  columns.insert(columns.end(), options.categorical.begin(), options.categorical.end());
  columns.push_back(options.label);
  columns.insert(columns.end(), options.multi_valued.begin(), options.multi_valued.end());
  RETURN_IF_ERROR(file.CheckColumns(columns).status());

  FeatureSchema schema;
  schema.label = options.label;
  schema.dense = options.dense;
  schema.categorical = options.categorical;
  schema.multi_valued = options.multi_valued;
  // Labels: the model's loss says what they must be (auto: what the data says); a prepared file says what they are.
  schema.label_type = options.label_type;
  if (options.label_type == "auto") {
    ASSIGN_OR_RETURN(schema.label_type, AutoLabelType(options, file, stored));
  }
  if (stored && stored->label_type == "class" && schema.label_type != "class") {
    return InvalidArgument("data.label: column '" + options.label + "' of " + file.path() + " holds " +
                           std::to_string(stored->label_classes.size()) +
                           " classes (prepare.label_type: class); train it with model.type: classifier");
  }
  if (stored && stored->label_type == "regression" && schema.label_type == "binary") {
    return InvalidArgument("data.label: column '" + options.label + "' of " + file.path() +
                           " holds numbers to predict (prepare.label_type: regression); train with model.loss: mse "
                           "(or model.type: mf), or prepare a 0/1 label with prepare.label_threshold");
  }
  if (schema.label_type == "class") {
    if (stored && stored->label_type == "class") {
      if (static_cast<int64_t>(stored->label_classes.size()) != options.num_classes) {
        return InvalidArgument("model.num_classes is " + std::to_string(options.num_classes) + " but column '" +
                               options.label + "' of " + file.path() + " has " +
                               std::to_string(stored->label_classes.size()) +
                               " classes; set model.num_classes: " + std::to_string(stored->label_classes.size()));
      }
      schema.label_classes = stored->label_classes;
    } else {
      for (int64_t k = 0; k < options.num_classes; ++k) schema.label_classes.push_back(std::to_string(k));
    }
  }
  for (const auto& name : options.dense) {
    if (!stored || stored->dense_stats.empty()) break;
    auto it = std::find(stored->dense.begin(), stored->dense.end(), name);
    if (it == stored->dense.end()) {
      return InvalidArgument("data.dense: column '" + name + "' of " + file.path() +
                             " was not prepared as a dense column by `ectrain prepare`; list only prepared columns");
    }
    schema.dense_stats.push_back(stored->dense_stats[it - stored->dense.begin()]);
  }
  // The size of a categorical or multi-valued column: data.vocab_sizes, else the stored schema's.
  auto size_of = [&](const std::string& name, const std::string& key, const std::vector<std::string>& stored_names,
                     const std::vector<int64_t>& stored_sizes, size_t* index) -> StatusOr<int64_t> {
    auto configured = options.vocab_sizes.find(name);
    if (configured != options.vocab_sizes.end()) return configured->second;
    auto it = std::find(stored_names.begin(), stored_names.end(), name);
    if (!stored || it == stored_names.end()) {
      return InvalidArgument(key + ": the size of column '" + name + "' in " + file.path() +
                             " is unknown; set data.vocab_sizes." + name +
                             " to (largest id + 1), or make the file with `ectrain prepare`");
    }
    *index = static_cast<size_t>(it - stored_names.begin());
    return stored_sizes[*index];
  };
  const std::vector<std::string> none;
  const std::vector<int64_t> no_sizes;
  std::vector<size_t> vocabulary_at;  // the stored vocabulary of each categorical column, where there is one
  for (const auto& name : options.categorical) {
    size_t index = SIZE_MAX;
    ASSIGN_OR_RETURN(const int64_t size, size_of(name, "data.categorical", stored ? stored->categorical : none,
                                                 stored ? stored->vocab_sizes : no_sizes, &index));
    schema.vocab_sizes.push_back(size);
    if (index != SIZE_MAX && index < stored->vocabularies.size()) vocabulary_at.push_back(index);
  }
  for (const auto& name : options.multi_valued) {
    size_t index = SIZE_MAX;
    ASSIGN_OR_RETURN(const int64_t size, size_of(name, "data.multi_valued", stored ? stored->multi_valued : none,
                                                 stored ? stored->multi_vocab_sizes : no_sizes, &index));
    schema.multi_vocab_sizes.push_back(size);
  }
  // A prepared file's encodings (vocabularies, hashing, tokenizers, label rules) travel with its
  // columns, so checkpoints let `predict` encode raw rows exactly as `prepare` did. They are
  // moved, not copied: real vocabularies hold millions of values.
  if (stored && stored->has_preprocessing()) {
    StatusOr<FeatureSchema> selected =
        std::move(*stored).Select(options.dense, options.categorical, options.multi_valued);
    if (selected.ok()) {
      selected->label = schema.label;
      selected->label_type = schema.label_type;
      selected->label_classes = schema.label_classes;
      selected->vocab_sizes = schema.vocab_sizes;
      selected->multi_vocab_sizes = schema.multi_vocab_sizes;
      return std::move(*selected);
    }
  }
  // Vocabularies encode raw values at predict time; keep them only when they cover every column.
  if (vocabulary_at.size() == schema.categorical.size()) {
    for (const size_t index : vocabulary_at) schema.vocabularies.push_back(std::move(stored->vocabularies[index]));
  }
  return schema;
}

StatusOr<std::vector<std::string>> ExpandTrainFiles(const std::string& train) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (train.find_first_of("*?[") != std::string::npos) {
    glob_t matches{};
    const int result = glob(train.c_str(), 0, nullptr, &matches);
    for (size_t i = 0; result == 0 && i < matches.gl_pathc; ++i) files.emplace_back(matches.gl_pathv[i]);
    globfree(&matches);
    if (files.empty()) {
      return NotFound("data.train: no files match '" + train + "'; check the pattern (e.g. shards/part-*.h5)");
    }
  } else if (fs::is_directory(train, ec)) {
    for (const auto& entry : fs::directory_iterator(train, ec)) {
      if (entry.path().extension() == ".h5" && !fs::is_directory(entry.path(), ec))
        files.push_back(entry.path().string());
    }
    if (files.empty()) return NotFound("data.train: directory '" + train + "' holds no .h5 files");
  } else {
    files.push_back(train);
  }
  std::sort(files.begin(), files.end());
  return files;
}

StatusOr<TrainingFiles> OpenTrainingFiles(const DataOptions& options) {
  TrainingFiles set;
  ASSIGN_OR_RETURN(set.paths, ExpandTrainFiles(options.train));
  const std::vector<std::string>& paths = set.paths;
  std::vector<std::string> columns;
  uint64_t first_stored_hash = 0;
  for (size_t f = 0; f < paths.size(); ++f) {
    ASSIGN_OR_RETURN(ColumnFile file, ColumnFile::Open(paths[f]));
    // Files are compared by a hash of the stored schema's text: `prepare` writes the same text
    // into every file of one data set, and the text can be tens of MB.
    ASSIGN_OR_RETURN(const std::optional<std::string> stored_text, file.StoredSchemaText());
    const uint64_t stored_hash = stored_text ? StableHash(*stored_text) : 0;
    if (f == 0) {
      std::optional<FeatureSchema> stored;
      if (stored_text) {
        ASSIGN_OR_RETURN(stored, ParseStoredSchema(*stored_text, paths[f]));
      }
      ASSIGN_OR_RETURN(set.schema, ResolveSchema(options, file, std::move(stored)));
      columns = file.ColumnNames();
      first_stored_hash = stored_hash;
    } else {
      const std::vector<std::string> here = file.ColumnNames();
      if (here != columns) {
        return DataError("data.train: file '" + paths[f] + "' does not have the columns of '" + paths[0] +
                         "' (missing: " + JoinColumnNames(Missing(columns, here)) +
                         "; extra: " + JoinColumnNames(Missing(here, columns)) +
                         "); the files of one data set must have the same columns");
      }
      if (stored_hash != first_stored_hash) {
        return DataError("data.train: file '" + paths[f] +
                         "' stores a different feature schema (/ectrain/schema) "
                         "than '" +
                         paths[0] + "'; write all files of one data set with the same `ectrain prepare` run");
      }
    }
    StreamFile checked;
    checked.path = paths[f];
    ASSIGN_OR_RETURN(checked.rows, file.Bind(set.schema, /*with_labels=*/true));
    checked.bag_values = file.BoundBagValueCounts();
    if (file.BoundChunkRows() > set.chunk_rows) {
      set.chunk_rows = file.BoundChunkRows();
      set.chunked_file = paths[f];
    }
    // Keep the first files open for the reader; it opens the others when it needs them.
    if (static_cast<int>(f) < StreamOptions().max_open_files) checked.file = std::move(file);
    set.files.push_back(std::move(checked));
  }
  return set;
}

int64_t DecodedBytes(const std::vector<StreamFile>& files, const FeatureSchema& schema) {
  const int64_t row_bytes = 4 * static_cast<int64_t>(schema.dense.size() + schema.categorical.size() + 1) +
                            8 * static_cast<int64_t>(schema.multi_valued.size());
  int64_t bytes = 0;
  for (const StreamFile& file : files) {
    bytes += file.rows * row_bytes;
    for (const int64_t values : file.bag_values) bytes += 4 * values;
  }
  return bytes;
}

Status CheckFitsInMemory(int64_t needed, int ranks_on_host, int64_t available) {
  if (available < 0 || needed * ranks_on_host <= available) return Status::Ok();
  return InvalidArgument("data.in_memory: every rank would hold the whole training set decoded, " +
                         FormatMegabytes(needed) +
                         (ranks_on_host > 1 ? " (" + FormatMegabytes(needed * ranks_on_host) + " for the " +
                                                  std::to_string(ranks_on_host) + " ranks on this machine)"
                                            : std::string()) +
                         ", but this machine has " + FormatMegabytes(available) +
                         " available; set data.in_memory: false "
                         "to stream it from the files (or run fewer ranks per machine)");
}

}  // namespace ectrain::data
