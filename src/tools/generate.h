// Synthetic e-commerce click data of any size, written straight to sharded columnar HDF5 for
// benchmarks and tests. Row i is a pure function of (seed, i): a counter-based stream per row,
// so shards are independent and the values never depend on how the rows are split into files.
// Clicks come from a hidden logistic model (latent factors + biases + dense effects), so a
// trained model can beat a constant predictor. ClickModel is immutable after Create and safe to
// share between threads; GenerateDataSet is single-caller (it runs its own worker threads).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/schema.h"

namespace ectrain::tools {

struct GenerateOptions {
  int64_t rows = 1'000'000;  // training rows (over all shards)
  int64_t users = 100'000;
  int64_t items = 50'000;
  int64_t categories = 500;
  int num_dense = 6;            // dense columns d0..d{n-1}; see ClickModel for their meaning
  int max_recent_items = 5;     // recent_items holds 0..max ids per row
  double item_zipf = 1.05;      // popularity exponent of items (P(rank k) ~ k^-s)
  double user_zipf = 0.8;       // activity exponent of users
  double positive_rate = 0.05;  // target click rate; the hidden bias is calibrated to it
  // Share of an item's latent factor that is its category's: factor = sqrt(F) * category +
  // sqrt(1 - F) * own. The default 0.36 is the 0.6/0.8 mix generate always had.
  double item_category_share = 0.36;
  // Write the dense columns as `prepare` with log + standard scaling would: heavy-tailed ones
  // (price, sessions, hours) log1p'd, then each standardised with moments of the calibration rows.
  // The hidden model reads the raw values either way, so the labels are the same.
  bool scale_dense = false;
  uint64_t seed = 1;

  std::string out;              // a directory (part-00000.h5, ...) or, with one shard, a .h5 file
  int num_shards = 1;           // rows split evenly into this many files...
  int64_t rows_per_shard = 0;   // ...or, when > 0, files of this many rows (the last one shorter)
  int64_t test_rows = 0;        // > 0: also write a test file from an independent row stream
  std::string test_out;         // default: OUT without .h5, "train" -> "test", else + "-test", + ".h5"
  int64_t validation_rows = 0;  // > 0: also write a validation file from its own independent row stream
  std::string validation_out;   // default: as test_out, with "validation" for "test"

  int64_t chunk_rows = 4096;  // HDF5 chunk and generation block size (= data.block_rows)
  int deflate_level = 1;
  int threads = 0;           // generator threads; 0: the number of cores
  std::string command_line;  // stored in each file's provenance
  // Called from the writing thread after every block: rows written so far, of total (all files).
  std::function<void(int64_t rows_done, int64_t rows_total)> progress;
};

// A block of generated rows, column by column.
struct GeneratedRows {
  int64_t first_row = 0;  // index in its stream
  int64_t num_rows = 0;
  std::vector<float> clicked;                 // (num_rows) 0 or 1
  std::vector<std::vector<float>> dense;      // (num_dense, num_rows)
  std::vector<int32_t> user, item, category;  // (num_rows) each
  std::vector<int32_t> recent_values;         // CSR values, ids of items
  std::vector<int64_t> recent_offsets;        // (num_rows + 1), from 0
  std::vector<float> logits;                  // (num_rows) the hidden model's logit; filled on request
};

enum class RowStream : uint64_t { kTrain = 1, kTest = 2, kCalibration = 3, kValidation = 4 };

// How --scale-dense writes a dense column: value = ((log ? log1p(x) : x) - mean) / stddev.
struct DenseScaling {
  bool log = false;
  double mean = 0;
  double stddev = 1;
};

// Power law over ids [0, n): id k has probability ~ (k + 1)^-s (a discretised continuous Zipf;
// s = 0 is uniform), drawn by inverting the continuous CDF: one pow() per draw and no table.
class PowerLaw {
 public:
  PowerLaw() = default;
  PowerLaw(int64_t n, double s);
  int64_t Sample(double uniform) const;  // uniform in [0, 1)

 private:
  int64_t n_ = 1;
  double a_ = 0;    // (n + 1)^(1 - s) - 1
  double inv_ = 1;  // 1 / (1 - s)
  double log_n1_ = 0;
  bool harmonic_ = false;  // s == 1
};

// The hidden click model: per-entity tables drawn from the seed, and the per-row sampler.
// Memory: about 40 bytes per user and 44 per item (latent factors, biases, prices).
class ClickModel {
 public:
  static constexpr int kFactorDim = 8;

  // Validates the sizes, draws the entity tables and calibrates the bias to the target rate.
  static StatusOr<std::shared_ptr<const ClickModel>> Create(const GenerateOptions& options);

  // Rows [first_row, first_row + num_rows) of `stream`; `with_logits` also fills out->logits.
  void Generate(RowStream stream, int64_t first_row, int64_t num_rows, bool with_logits, GeneratedRows* out) const;

  // The columns of the files and their schema: label `clicked`, dense d*, categorical user,
  // item, category, multi-valued recent_items. No preprocessing statistics.
  data::FeatureSchema Schema() const;
  // One line per dense column saying what it means.
  std::string DescribeDense() const;
  double bias() const { return bias_; }
  int64_t table_bytes() const;
  // Per dense column when options.scale_dense (moments of the calibration rows), else empty.
  const std::vector<DenseScaling>& dense_scaling() const { return dense_scaling_; }
  // The latent factors (kFactorDim values) of an item and of a category, and an item's category.
  const float* item_factor(int64_t item) const { return &item_factors_[item * kFactorDim]; }
  const float* category_factor(int64_t category) const { return &category_factors_[category * kFactorDim]; }
  int32_t item_category(int64_t item) const { return item_category_[item]; }

 private:
  explicit ClickModel(const GenerateOptions& options);
  // The logit without the calibrated bias, and the row's columns, into `out` at index `r`.
  double SampleRow(RowStream stream, int64_t row, int r, GeneratedRows* out) const;
  // Calibrates the bias to the target rate and, with scale_dense, measures the dense moments.
  void Calibrate(double target_rate);
  void ScaleDense(GeneratedRows* out) const;

  GenerateOptions options_;
  PowerLaw user_law_, item_law_;
  std::vector<float> user_factors_, item_factors_, category_factors_;  // (n, kFactorDim)
  std::vector<float> user_bias_, user_activity_;                       // (users)
  std::vector<float> item_bias_, item_price_;                          // (items)
  std::vector<int32_t> item_category_;                                 // (items)
  std::vector<float> noise_weights_;                                   // (num_dense) for d5..
  std::vector<DenseScaling> dense_scaling_;                            // (num_dense) or empty
  double bias_ = 0;
};

// The hidden model scored on a file's rows: what no learner can beat, in expectation.
struct BayesFigures {
  double auc = 0;       // of the true logits against the labels (NaN when one class is absent)
  double log_loss = 0;  // mean binary cross-entropy of the true probabilities
};

struct GenerateReport {
  int64_t train_rows = 0;
  int64_t test_rows = 0;
  int64_t validation_rows = 0;
  std::vector<std::string> files;  // training shards, then the validation file, then the test file
  std::string test_file;
  std::string validation_file;
  int64_t bytes = 0;             // on disk, the training shards
  int64_t test_bytes = 0;        // on disk, the test file
  int64_t validation_bytes = 0;  // on disk, the validation file
  double seconds = 0;
  double positive_rate = 0;  // realised, training rows
  double test_positive_rate = 0;
  double validation_positive_rate = 0;
  BayesFigures test_bayes, validation_bayes;  // the hidden model on the test and validation rows
  double bias = 0;                            // the calibrated hidden bias
};

// AUC (rank-sum, ties at their mean rank) and log-loss of logits against 0/1 labels.
BayesFigures ScoreLogits(const std::vector<float>& logits, const std::vector<float>& labels);

// The shard paths for `options` (part-00000.h5 ... in out, or out itself for a .h5 path).
StatusOr<std::vector<std::string>> ShardPaths(const GenerateOptions& options);
// Rows of shard k: [ShardBegin(k), ShardBegin(k + 1)).
int64_t ShardBegin(const GenerateOptions& options, int64_t num_shards, int64_t shard);

// Writes the data set. Errors name the option or file and say what to do.
StatusOr<GenerateReport> GenerateDataSet(const GenerateOptions& options);

}  // namespace ectrain::tools
