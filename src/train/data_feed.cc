#include "train/data_feed.h"

#include <algorithm>

#include "data/sharding.h"

namespace ectrain::train {

StatusOr<data::FeatureSchema> ResolveSchema(const data::DataOptions& options, const data::ColumnFile& file) {
  std::vector<std::string> columns = options.dense;
  columns.insert(columns.end(), options.categorical.begin(), options.categorical.end());
  columns.push_back(options.label);
  RETURN_IF_ERROR(file.CheckColumns(columns).status());
  ASSIGN_OR_RETURN(std::optional<data::FeatureSchema> stored, file.StoredSchema());

  data::FeatureSchema schema;
  schema.label = options.label;
  schema.dense = options.dense;
  schema.categorical = options.categorical;
  for (const auto& name : options.dense) {
    if (!stored || stored->dense_stats.empty()) break;
    auto it = std::find(stored->dense.begin(), stored->dense.end(), name);
    if (it == stored->dense.end()) {
      return InvalidArgument("data.dense: column '" + name + "' of " + file.path() +
                             " was not prepared as a dense column by `ectrain prepare`; list only prepared columns");
    }
    schema.dense_stats.push_back(stored->dense_stats[it - stored->dense.begin()]);
  }
  for (const auto& name : options.categorical) {
    auto configured = options.vocab_sizes.find(name);
    if (configured != options.vocab_sizes.end()) {
      schema.vocab_sizes.push_back(configured->second);
      continue;
    }
    auto it = stored ? std::find(stored->categorical.begin(), stored->categorical.end(), name)
                     : std::vector<std::string>::const_iterator();
    if (!stored || it == stored->categorical.end()) {
      return InvalidArgument("data.categorical: the size of column '" + name + "' in " + file.path() +
                             " is unknown; set data.vocab_sizes." + name + " to (largest id + 1), or make the file with "
                             "`ectrain prepare`");
    }
    size_t index = static_cast<size_t>(it - stored->categorical.begin());
    schema.vocab_sizes.push_back(stored->vocab_sizes[index]);
    if (!stored->vocabularies.empty()) schema.vocabularies.push_back(stored->vocabularies[index]);
  }
  // Vocabularies encode raw values at predict time; keep them only when they cover every column.
  if (schema.vocabularies.size() != schema.categorical.size()) schema.vocabularies.clear();
  return schema;
}

StatusOr<DataFeed> DataFeed::Open(const data::DataOptions& options, int world_size, int rank,
                                  int64_t global_batch_size, uint64_t seed) {
  ASSIGN_OR_RETURN(data::ColumnFile file, data::ColumnFile::Open(options.train));
  ASSIGN_OR_RETURN(data::FeatureSchema schema, ResolveSchema(options, file));
  std::vector<std::string> columns = schema.dense;
  columns.insert(columns.end(), schema.categorical.begin(), schema.categorical.end());
  columns.push_back(schema.label);
  ASSIGN_OR_RETURN(int64_t num_rows, file.CheckColumns(columns));
  if (num_rows == 0) return DataError("training data " + options.train + " has no rows");
  DataFeed feed(std::move(file), std::move(schema), num_rows);
  feed.world_size_ = world_size;
  feed.rank_ = rank;
  feed.global_batch_size_ = global_batch_size;
  feed.seed_ = seed;
  const int64_t steps = feed.steps_per_epoch();
  feed.step_offsets_.resize(static_cast<size_t>(steps) + 1, 0);
  for (int64_t s = 0; s < steps; ++s) {
    feed.step_offsets_[s + 1] =
        feed.step_offsets_[s] + data::RankSliceOfBatch(num_rows, global_batch_size, world_size, rank, s).size();
  }
  return feed;
}

int64_t DataFeed::steps_per_epoch() const { return data::StepsPerEpoch(num_rows_, global_batch_size_); }

int64_t DataFeed::GlobalRowsInStep(int64_t step) const {
  return data::GlobalBatchRange(num_rows_, global_batch_size_, step).size();
}

Status DataFeed::LoadEpoch(int64_t epoch) {
  std::vector<int64_t> rows =
      data::RankRowsForEpoch(num_rows_, global_batch_size_, world_size_, rank_, seed_, epoch);
  ASSIGN_OR_RETURN(epoch_rows_, file_.Read(schema_, rows, /*with_labels=*/true));
  return Status::Ok();
}

BatchView DataFeed::Batch(int64_t step) const {
  return ViewRows(epoch_rows_, step_offsets_[step], step_offsets_[step + 1]);
}

BatchView ViewRows(const data::Table& table, int64_t begin, int64_t end) {
  BatchView view;
  view.num_rows = end - begin;
  view.num_dense = table.num_dense;
  view.num_categorical = table.num_categorical;
  view.dense = table.dense.data() + begin * table.num_dense;
  view.categorical = table.categorical.data() + begin * table.num_categorical;
  view.labels = table.labels.empty() ? nullptr : table.labels.data() + begin;
  return view;
}

}  // namespace ectrain::train
