#include "plan/run_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ckpt/restore.h"
#include "core/format.h"
#include "core/param_arena.h"
#include "core/row_selection.h"
#include "data/stream_reader.h"
#include "model/model.h"
#include "optim/optimizer.h"
#include "train/grad_sync.h"

namespace ectrain::plan {
namespace {

// MemTotal and MemAvailable of /proc/meminfo, in bytes; -1 where unknown.
std::pair<int64_t, int64_t> MachineMemory() {
  std::FILE* meminfo = std::fopen("/proc/meminfo", "r");
  if (meminfo == nullptr) return {-1, -1};
  char line[256];
  long long total = -1, available = -1, kilobytes = 0;
  while (std::fgets(line, sizeof(line), meminfo) != nullptr) {
    if (std::sscanf(line, "MemTotal: %lld kB", &kilobytes) == 1) total = kilobytes;
    if (std::sscanf(line, "MemAvailable: %lld kB", &kilobytes) == 1) available = kilobytes;
  }
  std::fclose(meminfo);
  return {total < 0 ? -1 : total * 1024, available < 0 ? -1 : available * 1024};
}

// The field an embedding table looks up: ".../embedding/<field>" or ".../embedding_bag/<field>".
std::string FieldOfTable(const std::string& name) {
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

// The same tensors, names and kinds, one row each: what Optimizer::Create needs to decide its state
// arrays, without their memory.
ParamLayout OneRowLayout(const ParamLayout& layout) {
  ParamLayout small;
  for (const ParamSpec& spec : layout.specs()) small.Add(spec.name, 1, 1, spec.kind);
  return small;
}

// The model's workspace (activations, their gradients, the row-sparse slots) after a training step
// on `train_rows` rows and, for rank 0, an evaluation batch of `eval_rows`: measured on a copy of the
// model whose tables have at most 2 rows (the workspace grows with the batch, not the tables), on
// rows of id 0 with `mean_ids` ids per multi-valued field.
std::pair<int64_t, int64_t> MeasureWorkspace(const RunConfig& resolved, const data::FeatureSchema& schema,
                                             const std::vector<bool>& row_sparse, int64_t train_rows, int64_t eval_rows,
                                             const std::vector<double>& mean_ids) {
  model::FeatureShape shape = ckpt::ModelInputs(schema);
  for (int64_t& v : shape.vocab_sizes) v = std::min<int64_t>(v, 2);
  for (int64_t& v : shape.bag_vocab_sizes) v = std::min<int64_t>(v, 2);
  StatusOr<std::unique_ptr<model::Model>> built = model::CreateModel(resolved.model, shape);
  if (!built.ok()) return {0, 0};
  model::Model& m = **built;
  ParamArena params(m.layout()), grads(m.layout());
  m.Initialize(params, 1);
  RowSelection touched;
  touched.Reset(static_cast<int>(m.layout().specs().size()));
  for (size_t i = 0; i < row_sparse.size() && i < m.layout().specs().size(); ++i) {
    const ParamSpec& spec = m.layout().spec(static_cast<int>(i));
    if (row_sparse[i]) touched.SetSparse(static_cast<int>(i), spec.rows, spec.cols);
  }
  const int64_t rows = std::max<int64_t>({train_rows, eval_rows, 1});
  std::vector<float> dense(static_cast<size_t>(rows * shape.num_dense), 0.0f), labels(static_cast<size_t>(rows), 0);
  std::vector<int32_t> categorical(static_cast<size_t>(rows * static_cast<int64_t>(shape.vocab_sizes.size())), 0);
  std::vector<std::vector<int64_t>> offsets(mean_ids.size());
  std::vector<std::vector<int32_t>> values(mean_ids.size());
  std::vector<BagColumnView> bags(mean_ids.size());
  for (size_t b = 0; b < mean_ids.size(); ++b) {
    for (int64_t r = 0; r <= rows; ++r) offsets[b].push_back(std::llround(mean_ids[b] * static_cast<double>(r)));
    values[b].assign(static_cast<size_t>(offsets[b].back()), 0);
    bags[b] = {offsets[b].data(), values[b].data()};
  }
  BatchView batch{rows,
                  dense.data(),
                  shape.num_dense,
                  categorical.data(),
                  static_cast<int>(shape.vocab_sizes.size()),
                  labels.data(),
                  bags.data(),
                  static_cast<int>(bags.size())};
  m.ForwardBackward(SliceRows(batch, 0, std::max<int64_t>(train_rows, 1)), params, grads, 1.0f, &touched);
  const int64_t training = m.workspace_bytes();
  std::vector<float> outputs(static_cast<size_t>(rows * m.num_outputs()));
  if (eval_rows > 0) m.Forward(SliceRows(batch, 0, eval_rows), params, outputs.data());
  return {training, m.workspace_bytes()};
}

// "0, 2, 5-9" of the ranks for which `pick` holds: three or more in a row as a range, so that a
// thousand ranks without rows make a short line.
template <typename Pick>
std::string RanksWhere(const std::vector<RankRows>& ranks, Pick pick) {
  std::string out;
  for (size_t first = 0; first < ranks.size(); ++first) {
    if (!pick(ranks[first])) continue;
    size_t last = first;
    while (last + 1 < ranks.size() && pick(ranks[last + 1])) ++last;
    const std::string separator = last == first + 1 ? ", " : "-";
    out += (out.empty() ? "" : ", ") + std::to_string(first) + (last > first ? separator + std::to_string(last) : "");
    first = last;
  }
  return out;
}

}  // namespace

std::vector<RankRows> RowsPerRank(const data::BlockTable& table, int64_t window_blocks, uint64_t seed,
                                  const train::RunPlan& run, int64_t global_batch_size, int ranks) {
  std::vector<RankRows> out(static_cast<size_t>(ranks));
  for (RankRows& r : out) r.min_epoch_rows = std::numeric_limits<int64_t>::max();
  data::EpochPlan plan(table, window_blocks);
  for (int64_t epoch = 0; epoch < run.num_epochs; ++epoch) {
    const int64_t steps = std::min(run.steps_per_epoch, run.total_steps - epoch * run.steps_per_epoch);
    const int64_t end = std::min(table.num_rows(), steps * global_batch_size);
    plan.Reset(seed, epoch);
    const data::RankLoad load = data::RankLoadInEpoch(table, plan, ranks, end);
    for (size_t r = 0; r < out.size(); ++r) {
      RankRows& rank = out[r];
      rank.run_rows += load.rows[r];
      if (epoch == 0) {
        rank.epoch1_rows = load.rows[r];
        rank.epoch1_blocks = load.blocks[r];
      }
      if (end == table.num_rows()) rank.min_epoch_rows = std::min(rank.min_epoch_rows, load.rows[r]);
      if (load.rows[r] == 0 && rank.empty_epoch < 0) rank.empty_epoch = epoch;
    }
  }
  for (RankRows& r : out) {
    if (r.min_epoch_rows == std::numeric_limits<int64_t>::max()) r.min_epoch_rows = r.epoch1_rows;
  }
  return out;
}

int64_t BusiestRankBatchRows(int64_t global_batch_size, int64_t window_blocks, int64_t num_blocks, int ranks) {
  const int64_t m = std::max<int64_t>(std::min(window_blocks, num_blocks), 1);
  const int64_t own = (m + ranks - 1) / ranks;
  return std::min(global_batch_size, (global_batch_size * own + m - 1) / m);
}

int64_t MemoryEstimate::Private(bool rank0) const {
  return gradients + (rank0 ? workspace_rank0 + snapshot : workspace) + reader + data_in_memory;
}

int64_t MemoryEstimate::Rank(bool rank0) const { return parameters + optimizer_state + Private(rank0); }

int64_t MemoryEstimate::Machine(int ranks) const {
  const int64_t state = parameters + optimizer_state;
  return (shared_model ? state : state * ranks) + Private(true) + Private(false) * (ranks - 1);
}

namespace {

// How the run reads the training rows of `table`: steps, each rank's rows and batch share.
Status EstimateRows(const RunConfig& resolved, const data::BlockTable& table, int64_t held_out_rows, RunEstimate& e) {
  e.rows = table.num_rows();
  e.blocks = table.num_blocks();
  if (e.rows == 0) return DataError("data.train: the training data (" + resolved.data.train + ") has no rows");
  e.run = train::RunPlan::Of(resolved.train, data::StepsPerEpoch(e.rows, e.global_batch_size));
  e.per_rank = RowsPerRank(table, resolved.data.shuffle_window_blocks, static_cast<uint64_t>(resolved.train.seed),
                           e.run, e.global_batch_size, e.ranks);
  e.rank_batch_rows = BusiestRankBatchRows(e.global_batch_size, resolved.data.shuffle_window_blocks, e.blocks, e.ranks);
  e.micro_batch_rows = (e.rank_batch_rows + resolved.train.accumulation_steps - 1) / resolved.train.accumulation_steps;
  e.eval_batch_rows = std::min(resolved.eval.batch_size, held_out_rows);
  return Status::Ok();
}

// Gradients: whole tensors in the arena; a row-sparse table's rows a global batch looks up (each row
// listed once, with its id) and its slot index (4 bytes a table row). Also lists the embedding
// tables, largest first. Returns which tensors are row-sparse.
std::vector<bool> EstimateGradients(const ParamLayout& layout, const data::FeatureSchema& schema,
                                    const std::vector<double>& mean_ids, bool sparse_embeddings, RunEstimate& e) {
  MemoryEstimate& m = e.memory;
  std::vector<bool> row_sparse(layout.specs().size(), false);
  for (size_t i = 0; i < layout.specs().size(); ++i) {
    const ParamSpec& spec = layout.spec(static_cast<int>(i));
    row_sparse[i] = train::GradSync::IsRowSparse(spec, e.global_batch_size, sparse_embeddings);
    if (!row_sparse[i]) {
      m.gradients += spec.size() * static_cast<int64_t>(sizeof(float));
    } else {
      const std::string field = FieldOfTable(spec.name);
      const auto bag = std::find(schema.multi_valued.begin(), schema.multi_valued.end(), field);
      const double ids_per_row = bag == schema.multi_valued.end() ? 1.0 : mean_ids[bag - schema.multi_valued.begin()];
      const auto lookups = static_cast<int64_t>(std::ceil(ids_per_row * static_cast<double>(e.global_batch_size)));
      const int64_t rows_bound = std::min(spec.rows, lookups) * (spec.cols * 4 + 8);
      m.gradient_rows_bound += rows_bound;
      m.gradients += rows_bound + spec.rows * 4;
    }
    if (spec.kind == ParamKind::kEmbedding) {
      e.tables.push_back({spec.name, spec.rows, spec.cols, row_sparse[i],
                          (1 + e.state_arrays) * spec.size() * static_cast<int64_t>(sizeof(float))});
    }
  }
  std::stable_sort(e.tables.begin(), e.tables.end(),
                   [](const TableMemory& a, const TableMemory& b) { return a.bytes > b.bytes; });
  return row_sparse;
}

// StreamReader's bound on one rank's buffers.
int64_t ReaderBound(const RunConfig& resolved, const data::BlockTable& table, const data::TrainingFiles& training,
                    const std::vector<int64_t>& bag_values, int ranks) {
  data::StreamOptions stream;
  stream.global_batch_size = resolved.train.global_batch_size;
  stream.world_size = ranks;
  stream.block_rows = resolved.data.block_rows;
  stream.window_blocks = resolved.data.shuffle_window_blocks;
  stream.prefetch_batches = resolved.data.prefetch_batches;
  stream.in_memory = resolved.data.in_memory;
  return data::ReaderBufferBytes(stream, table, static_cast<int>(training.schema.dense.size()),
                                 static_cast<int>(training.schema.categorical.size()), bag_values,
                                 static_cast<int>(training.files.size()));
}

}  // namespace

StatusOr<RunEstimate> EstimateRun(const DataCheck& check, int ranks, const std::string& config_path) {
  if (!check.training) return InvalidArgument(config_path + ": the data did not pass its checks");
  const RunConfig& resolved = check.resolved;
  const data::TrainingFiles& training = *check.training;
  const data::FeatureSchema& schema = training.schema;
  RunEstimate e;
  e.config_path = config_path;
  e.ranks = ranks;
  e.files = training.paths;
  e.data = resolved.data;
  e.global_batch_size = resolved.train.global_batch_size;
  std::vector<int64_t> file_rows, bag_values(schema.multi_valued.size(), 0);  // bag_values: ids over all files
  for (const data::StreamFile& file : training.files) {
    file_rows.push_back(file.rows);
    for (size_t b = 0; b < file.bag_values.size() && b < bag_values.size(); ++b) bag_values[b] += file.bag_values[b];
  }
  const data::BlockTable table(file_rows, resolved.data.block_rows);
  RETURN_IF_ERROR(EstimateRows(resolved, table, check.held_out_rows, e));

  // The model as training builds it: its layout is the parameters' true shapes.
  ASSIGN_OR_RETURN(const std::unique_ptr<model::Model> built,
                   model::CreateModel(resolved.model, ckpt::ModelInputs(schema)));
  const ParamLayout& layout = built->layout();
  e.model_type = resolved.model.type;
  e.loss = resolved.model.loss;
  e.parameters = layout.num_parameters();
  e.tensors = static_cast<int64_t>(layout.specs().size());
  const ParamLayout one_row = OneRowLayout(layout);
  const auto optimizer =
      optim::Optimizer::Create(resolved.optimizer, one_row, {e.run.total_steps, e.global_batch_size});
  e.optimizer = optimizer->type();
  e.state_arrays = static_cast<int64_t>(optimizer->state().size());

  MemoryEstimate& m = e.memory;
  const int64_t arena_bytes = layout.total_size() * static_cast<int64_t>(sizeof(float));
  m.parameters = arena_bytes;
  m.optimizer_state = e.state_arrays * arena_bytes;
  // The snapshot a checkpoint is written from in the background: made at the first checkpoint
  // before the run's last (the last is written in place).
  const ckpt::CheckpointOptions& k = resolved.checkpoint;
  const bool early_checkpoints =
      (k.every_steps > 0 && k.every_steps < e.run.total_steps) || k.every_minutes > 0 || !k.keep_best.empty();
  m.snapshot = early_checkpoints ? (1 + e.state_arrays) * arena_bytes : 0;
  m.shared_model = resolved.comm.host_shared_model && ranks > 1;
  std::vector<double> mean_ids(bag_values.size());
  for (size_t b = 0; b < bag_values.size(); ++b) mean_ids[b] = static_cast<double>(bag_values[b]) / e.rows;
  const std::vector<bool> row_sparse = EstimateGradients(layout, schema, mean_ids, resolved.comm.sparse_embeddings, e);
  std::tie(m.workspace, m.workspace_rank0) =
      MeasureWorkspace(resolved, schema, row_sparse, e.micro_batch_rows, e.eval_batch_rows, mean_ids);
  m.reader = ReaderBound(resolved, table, training, bag_values, ranks);
  if (resolved.data.in_memory) m.data_in_memory = data::DecodedBytes(training.files, schema);
  std::tie(e.machine_total_bytes, e.machine_available_bytes) = MachineMemory();
  e.warnings = Warnings(e);
  return e;
}

std::vector<std::string> Warnings(const RunEstimate& e) {
  std::vector<std::string> out;
  const int n = e.ranks;
  const int64_t share = (e.global_batch_size + n - 1) / n;
  if (e.rows < n) {
    out.push_back("the training data has " + std::to_string(e.rows) + " rows for " + std::to_string(n) +
                  " ranks: some ranks can never get a row; run at most " + std::to_string(e.rows) + " ranks");
  }
  if (e.rows < e.global_batch_size) {
    out.push_back("the training data (" + std::to_string(e.rows) + " rows) is smaller than train.global_batch_size (" +
                  std::to_string(e.global_batch_size) + "): each epoch is one short step; lower the batch size");
  }
  const std::string empty = RanksWhere(e.per_rank, [](const RankRows& r) { return r.empty_epoch >= 0; });
  if (!empty.empty()) {
    int64_t first = std::numeric_limits<int64_t>::max();
    for (const RankRows& r : e.per_rank) first = r.empty_epoch >= 0 ? std::min(first, r.empty_epoch) : first;
    out.push_back("rank(s) " + empty + " of " + std::to_string(n) + " read no rows in some epoch (first: epoch " +
                  std::to_string(first + 1) + "): the data has " + std::to_string(e.blocks) +
                  " block(s) of data.block_rows (" + std::to_string(e.data.block_rows) + ") rows for " +
                  std::to_string(n) + " ranks, so those ranks only wait; lower data.block_rows (to at most " +
                  std::to_string(std::max<int64_t>(e.rows / n, 1)) + ") or run fewer ranks");
  }
  const std::string thin = e.rows < e.global_batch_size ? "" : RanksWhere(e.per_rank, [share](const RankRows& r) {
    return r.empty_epoch < 0 && r.min_epoch_rows < share;
  });
  if (!thin.empty()) {
    out.push_back("rank(s) " + thin + " read fewer rows in an epoch than their share of one global batch (" +
                  std::to_string(share) + " rows): lower data.block_rows or run fewer ranks");
  }
  if (e.data.shuffle_window_blocks < n) {
    out.push_back("data.shuffle_window_blocks " + std::to_string(e.data.shuffle_window_blocks) + " is below the " +
                  std::to_string(n) + " ranks: training refuses to start; set it to a multiple of the ranks");
  } else if (e.data.shuffle_window_blocks % n != 0) {
    out.push_back("data.shuffle_window_blocks " + std::to_string(e.data.shuffle_window_blocks) +
                  " is not a multiple of the " + std::to_string(n) +
                  " ranks: some ranks own more blocks of a window and get more rows per step (up to " +
                  std::to_string(e.rank_batch_rows) + " of a batch); make it a multiple");
  }
  if (e.machine_total_bytes > 0) {
    for (const TableMemory& t : e.tables) {
      if (t.bytes <= e.machine_total_bytes) break;  // largest first
      out.push_back("embedding table " + t.name + " (" + std::to_string(t.rows) + " x " + std::to_string(t.cols) +
                    ") takes " + FormatMegabytes(t.bytes) +
                    " with its optimizer state, more than this machine's memory (" +
                    FormatMegabytes(e.machine_total_bytes) +
                    "); hash the column into fewer ids (prepare.hash_buckets_by_column) "
                    "or lower model.embedding_dim");
    }
  }
  const int64_t machine = e.memory.Machine(n);
  if (e.machine_available_bytes > 0 && machine > e.machine_available_bytes) {
    out.push_back(std::to_string(n) + " rank(s) on this machine would hold about " + FormatMegabytes(machine) +
                  ", more than the " + FormatMegabytes(e.machine_available_bytes) +
                  " available; spread the ranks over machines" +
                  (e.memory.data_in_memory > 0 ? ", set data.in_memory: false" : "") +
                  (e.memory.shared_model ? "" : ", or set comm.host_shared_model: true"));
  }
  return out;
}

namespace {

std::string FormatRowsPerRank(const RunEstimate& e) {
  std::string out = "rows per rank (the done line of metrics.jsonl reports rows_per_rank for the run):\n";
  out += "  rank  rows, epoch 1  blocks, epoch 1  rows, run\n";
  char line[128];
  for (size_t r = 0; r < e.per_rank.size(); ++r) {
    const RankRows& k = e.per_rank[r];
    std::snprintf(line, sizeof(line), "  %4zu  %13lld  %15lld  %9lld\n", r, static_cast<long long>(k.epoch1_rows),
                  static_cast<long long>(k.epoch1_blocks), static_cast<long long>(k.run_rows));
    out += line;
  }
  return out;
}

std::string FormatMemory(const RunEstimate& e) {
  const MemoryEstimate& m = e.memory;
  std::string out = "memory per rank:\n";
  const auto row = [&out](const char* what, int64_t bytes, const std::string& note) {
    char line[64];
    std::snprintf(line, sizeof(line), "  %-34s %10.1f MB", what, Megabytes(bytes));
    out += line + (note.empty() ? "" : "  " + note) + "\n";
  };
  const std::string shared = m.shared_model ? "one copy for the machine's ranks (comm.host_shared_model)" : "";
  row("parameters", m.parameters, shared);
  row("optimizer state", m.optimizer_state, shared);
  row("gradients", m.gradients,
      m.gradient_rows_bound > 0 ? "row-sparse tables' looked-up rows <= " + FormatMegabytes(m.gradient_rows_bound) +
                                      ", their slot index and the whole tensors"
                                : "");
  row("model workspace", m.workspace,
      std::to_string(e.micro_batch_rows) + " rows a micro-batch on the busiest rank; rank 0 " +
          FormatMegabytes(m.workspace_rank0) + " (evaluates " + std::to_string(e.eval_batch_rows) + " rows a batch)");
  row("reader buffers (bound)", m.reader, "");
  row("training data in memory", m.data_in_memory, e.data.in_memory ? "data.in_memory" : "data.in_memory is off");
  row("checkpoint snapshot", m.snapshot,
      m.snapshot > 0 ? "rank 0 only" : "none: only the last checkpoint is written, in place");
  out += "  total: rank 0 " + FormatMegabytes(m.Rank(true)) + ", other ranks " + FormatMegabytes(m.Rank(false)) +
         " each; " + std::to_string(e.ranks) + " rank(s) on one machine " + FormatMegabytes(m.Machine(e.ranks));
  if (e.machine_total_bytes > 0) {
    out += " (this machine: " + FormatMegabytes(e.machine_total_bytes) + ", " +
           FormatMegabytes(e.machine_available_bytes) + " available)";
  }
  return out + "\n";
}

// The embedding tables, the ten largest by name.
std::string FormatTables(const RunEstimate& e) {
  if (e.tables.empty()) return "";
  int64_t table_bytes = 0;
  for (const TableMemory& t : e.tables) table_bytes += t.bytes;
  const int64_t state = e.memory.parameters + e.memory.optimizer_state;
  char line[512];
  std::snprintf(line, sizeof(line),
                "embedding tables: %zu, %s with their optimizer state (%.0f%% of parameters and optimizer state)\n",
                e.tables.size(), FormatMegabytes(table_bytes).c_str(),
                100.0 * Megabytes(table_bytes) / std::max(Megabytes(state), 1e-12));
  std::string out = line;
  for (size_t i = 0; i < e.tables.size() && i < 10; ++i) {
    const TableMemory& t = e.tables[i];
    std::snprintf(line, sizeof(line), "%10lld x %-4lld %10.1f MB%s\n", static_cast<long long>(t.rows),
                  static_cast<long long>(t.cols), Megabytes(t.bytes), t.row_sparse ? "  row-sparse" : "");
    out += "  " + t.name + std::string(std::max<size_t>(40, t.name.size()) - t.name.size(), ' ') + " " + line;
  }
  if (e.tables.size() > 10)
    out += "  ... and " + std::to_string(e.tables.size() - 10) + " smaller (--json lists all)\n";
  return out;
}

}  // namespace

std::string FormatEstimate(const RunEstimate& e) {
  std::string out = "plan for " + e.config_path + " on " + std::to_string(e.ranks) + " rank(s)\n";
  char line[512];
  std::snprintf(line, sizeof(line),
                "data: %zu file(s), %lld rows in %lld blocks of %lld rows, shuffle windows of %lld blocks; global "
                "batch %lld: %lld steps/epoch, %lld epoch(s), %lld steps\n",
                e.files.size(), static_cast<long long>(e.rows), static_cast<long long>(e.blocks),
                static_cast<long long>(e.data.block_rows), static_cast<long long>(e.data.shuffle_window_blocks),
                static_cast<long long>(e.global_batch_size), static_cast<long long>(e.run.steps_per_epoch),
                static_cast<long long>(e.run.num_epochs), static_cast<long long>(e.run.total_steps));
  out += line;
  out += "model: " + e.model_type + " (loss " + e.loss + "), " + std::to_string(e.parameters) + " parameters in " +
         std::to_string(e.tensors) + " tensors; optimizer " + e.optimizer + ": " + std::to_string(e.state_arrays) +
         " state array(s) the size of the parameters\n";
  out += FormatRowsPerRank(e) + FormatMemory(e) + FormatTables(e);
  for (const std::string& w : e.warnings) out += "warning: " + w + "\n";
  return out;
}

nlohmann::json EstimateJson(const RunEstimate& e) {
  nlohmann::json ranks = nlohmann::json::array();
  for (size_t r = 0; r < e.per_rank.size(); ++r) {
    const RankRows& k = e.per_rank[r];
    ranks.push_back({{"rank", r},
                     {"rows_epoch1", k.epoch1_rows},
                     {"blocks_epoch1", k.epoch1_blocks},
                     {"rows_run", k.run_rows},
                     {"min_epoch_rows", k.min_epoch_rows}});
  }
  nlohmann::json tables = nlohmann::json::array();
  for (const TableMemory& t : e.tables) {
    tables.push_back({{"name", t.name},
                      {"rows", t.rows},
                      {"cols", t.cols},
                      {"row_sparse", t.row_sparse},
                      {"mb", Megabytes(t.bytes)}});
  }
  const MemoryEstimate& m = e.memory;
  return {{"config", e.config_path},
          {"ranks", e.ranks},
          {"data",
           {{"files", e.files},
            {"rows", e.rows},
            {"blocks", e.blocks},
            {"block_rows", e.data.block_rows},
            {"shuffle_window_blocks", e.data.shuffle_window_blocks},
            {"in_memory", e.data.in_memory}}},
          {"training",
           {{"global_batch_size", e.global_batch_size},
            {"steps_per_epoch", e.run.steps_per_epoch},
            {"epochs", e.run.num_epochs},
            {"total_steps", e.run.total_steps},
            {"busiest_rank_batch_rows", e.rank_batch_rows},
            {"micro_batch_rows", e.micro_batch_rows}}},
          {"model",
           {{"type", e.model_type},
            {"loss", e.loss},
            {"parameters", e.parameters},
            {"tensors", e.tensors},
            {"optimizer", e.optimizer},
            {"optimizer_state_arrays", e.state_arrays}}},
          {"per_rank", ranks},
          {"memory_mb",
           {{"parameters", Megabytes(m.parameters)},
            {"optimizer_state", Megabytes(m.optimizer_state)},
            {"gradients", Megabytes(m.gradients)},
            {"workspace", Megabytes(m.workspace)},
            {"workspace_rank0", Megabytes(m.workspace_rank0)},
            {"reader_bound", Megabytes(m.reader)},
            {"data_in_memory", Megabytes(m.data_in_memory)},
            {"checkpoint_snapshot", Megabytes(m.snapshot)},
            {"shared_model", m.shared_model},
            {"rank0", Megabytes(m.Rank(true))},
            {"other_ranks", Megabytes(m.Rank(false))},
            {"machine", Megabytes(m.Machine(e.ranks))}}},
          {"machine_mb",
           {{"total", e.machine_total_bytes < 0 ? -1.0 : Megabytes(e.machine_total_bytes)},
            {"available", e.machine_available_bytes < 0 ? -1.0 : Megabytes(e.machine_available_bytes)}}},
          {"embedding_tables", tables},
          {"warnings", e.warnings}};
}

}  // namespace ectrain::plan
