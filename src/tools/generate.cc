#include "tools/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <numeric>
#include <optional>
#include <thread>

#include "core/rng.h"
#include "core/version.h"
#include "data/column_writer.h"

namespace ectrain::tools {
namespace {

namespace fs = std::filesystem;

// Stream ids of the per-entity tables; rows use RowStream values (1..3), so these never collide.
constexpr uint64_t kUserTable = 101;
constexpr uint64_t kItemTable = 102;
constexpr uint64_t kCategoryTable = 103;
constexpr uint64_t kNoiseWeights = 104;

constexpr int64_t kCalibrationRows = 200'000;
constexpr int64_t kMaxIds = 2'147'483'647;  // ids are int32
constexpr int64_t kMaxTableBytes = 8LL << 30;

// Weights of the hidden logit's parts (see DescribeDense and ClickModel::SampleRow).
constexpr double kUserItemWeight = 0.8;
constexpr double kUserCategoryWeight = 0.6;
constexpr double kRecentMatchWeight = 0.8;
constexpr double kRecentSimilarityWeight = 0.5;
constexpr double kPriceWeight = -0.5;
constexpr double kActivityWeight = 0.35;
constexpr double kRecencyWeight = -0.25;
constexpr double kPositionWeight = -0.6;
constexpr double kDiscountWeight = 1.5;
constexpr double kPriceLogMean = 3.0;   // log price level of a category ~ N(3, 0.8)
constexpr double kActivityAlpha = 1.5;  // Pareto tail of user activity
constexpr int kNamedDense = 5;          // d0..d4 have a meaning; d5.. are Gaussian
// --scale-dense log1p's the heavy-tailed named columns (price, sessions, hours), as a user would.
constexpr bool kHeavyTailed[kNamedDense] = {true, true, true, false, false};

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

float Dot(const float* a, const float* b) {
  float sum = 0;
  for (int k = 0; k < ClickModel::kFactorDim; ++k) sum += a[k] * b[k];
  return sum;
}

// Runs fn(begin, end) over [0, n) split into `threads` contiguous ranges.
void ParallelFor(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  threads = static_cast<int>(std::clamp<int64_t>(threads, 1, std::max<int64_t>(1, n / 4096)));
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(fn, n * t / threads, n * (t + 1) / threads);
  fn(0, n / threads);
  for (auto& w : workers) w.join();
}

int DefaultThreads(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

bool IsFilePath(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  return ext == ".h5" || ext == ".hdf5";
}

// For role "test": data/train.h5 -> data/test.h5, data/clicks-train -> data/clicks-test.h5,
// data/clicks -> data/clicks-test.h5 (and so for "validation").
std::string DefaultSiblingPath(const std::string& out, const std::string& role) {
  std::string base = out;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (IsFilePath(base)) base = (fs::path(base).parent_path() / fs::path(base).stem()).string();
  if (base.ends_with("train")) return base.substr(0, base.size() - 5) + role + ".h5";
  return base + "-" + role + ".h5";
}

double Softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))); }

int64_t NumShards(const GenerateOptions& o) {
  if (o.rows_per_shard > 0) return (o.rows + o.rows_per_shard - 1) / o.rows_per_shard;
  return o.num_shards;
}

Status AtLeast(const char* flag, int64_t value, int64_t low) {
  if (value < low) {
    return InvalidArgument(std::string(flag) + " is " + std::to_string(value) + "; it must be at least " +
                           std::to_string(low));
  }
  return Status::Ok();
}

// The sizes and rates of the hidden model.
Status ValidateModel(const GenerateOptions& o) {
  RETURN_IF_ERROR(AtLeast("--users", o.users, 1));
  RETURN_IF_ERROR(AtLeast("--items", o.items, 1));
  RETURN_IF_ERROR(AtLeast("--categories", o.categories, 1));
  RETURN_IF_ERROR(AtLeast("--dense", o.num_dense, 0));
  RETURN_IF_ERROR(AtLeast("--recent-items", o.max_recent_items, 0));
  for (auto [flag, value] : {std::pair{"--users", o.users}, {"--items", o.items}, {"--categories", o.categories}}) {
    if (value > kMaxIds) {
      return InvalidArgument(std::string(flag) + " is " + std::to_string(value) + "; ids are int32, so at most " +
                             std::to_string(kMaxIds));
    }
  }
  if (o.num_dense > 1000 || o.max_recent_items > 1000) {
    return InvalidArgument("--dense and --recent-items are at most 1000");
  }
  if (!(o.positive_rate > 0.0 && o.positive_rate < 1.0)) {
    return InvalidArgument("--positive-rate is " + std::to_string(o.positive_rate) +
                           "; give a click rate strictly between 0 and 1, e.g. 0.05");
  }
  for (auto [flag, value] : {std::pair{"--item-zipf", o.item_zipf}, {"--user-zipf", o.user_zipf}}) {
    if (!(value >= 0.0 && value <= 5.0)) {
      return InvalidArgument(std::string(flag) + " is " + std::to_string(value) +
                             "; give a power-law exponent in [0, 5] (0: uniform, 1: Zipf)");
    }
  }
  if (!(o.item_category_share >= 0.0 && o.item_category_share <= 1.0)) {
    return InvalidArgument("--item-category-share is " + std::to_string(o.item_category_share) +
                           "; give the share of an item's factor that is its category's, in [0, 1]");
  }
  return Status::Ok();
}

// The model and the files.
Status Validate(const GenerateOptions& o) {
  RETURN_IF_ERROR(ValidateModel(o));
  RETURN_IF_ERROR(AtLeast("--rows", o.rows, 1));
  RETURN_IF_ERROR(AtLeast("--shards", o.num_shards, 1));
  RETURN_IF_ERROR(AtLeast("--rows-per-shard", o.rows_per_shard, 0));
  RETURN_IF_ERROR(AtLeast("--test-rows", o.test_rows, 0));
  RETURN_IF_ERROR(AtLeast("--validation-rows", o.validation_rows, 0));
  RETURN_IF_ERROR(AtLeast("chunk rows", o.chunk_rows, 1));
  if (o.deflate_level < 0 || o.deflate_level > 9) return InvalidArgument("deflate level must be in [0, 9]");
  if (o.out.empty()) return InvalidArgument("give --out DIR (or --out FILE.h5 for one shard)");
  const int64_t shards = NumShards(o);
  if (shards > o.rows) {
    return InvalidArgument(std::to_string(shards) + " shards for " + std::to_string(o.rows) +
                           " rows would leave shards empty; ask for fewer --shards");
  }
  if (shards > 99999) return InvalidArgument(std::to_string(shards) + " shards; at most 99999 (part-NNNNN.h5)");
  if (IsFilePath(o.out) && shards > 1) {
    return InvalidArgument("--out " + o.out + " is a file name but " + std::to_string(shards) +
                           " shards were asked; give a directory for several shards");
  }
  return Status::Ok();
}

// The part of a file's provenance that says where its rows come from.
std::string Provenance(const GenerateOptions& o, const ClickModel& model, const std::string& rows_line) {
  std::string text = "ectrain " ECTRAIN_VERSION " generate\n";
  text += "command: " + (o.command_line.empty() ? std::string("(library call)") : o.command_line) + "\n";
  text += "seed: " + std::to_string(o.seed) + "\n" + rows_line + "\n";
  char line[640];
  std::snprintf(line, sizeof(line),
                "hidden model: logit = %.6f + user/item biases + %.1f*<user,item> + %.1f*<user,category> "
                "(factors of dim %d; item factor = sqrt(%.4g)*category's + sqrt(1-%.4g)*own) + recent-item match "
                "and similarity + dense effects; clicked ~ Bernoulli(sigmoid)\n"
                "sizes: users %lld (zipf %.3g), items %lld (zipf %.3g), categories %lld, recent items 0..%d, "
                "target positive rate %.6g\n",
                model.bias(), kUserItemWeight, kUserCategoryWeight, ClickModel::kFactorDim, o.item_category_share,
                o.item_category_share, static_cast<long long>(o.users), o.user_zipf, static_cast<long long>(o.items),
                o.item_zipf, static_cast<long long>(o.categories), o.max_recent_items, o.positive_rate);
  return text + line + model.DescribeDense();
}

}  // namespace

PowerLaw::PowerLaw(int64_t n, double s) : n_(n) {
  harmonic_ = std::abs(1.0 - s) < 1e-9;
  log_n1_ = std::log(static_cast<double>(n) + 1.0);
  if (!harmonic_) {
    a_ = std::pow(static_cast<double>(n) + 1.0, 1.0 - s) - 1.0;
    inv_ = 1.0 / (1.0 - s);
  }
}

int64_t PowerLaw::Sample(double uniform) const {
  const double x = harmonic_ ? std::exp(uniform * log_n1_) : std::pow(1.0 + uniform * a_, inv_);
  return std::clamp<int64_t>(static_cast<int64_t>(x) - 1, 0, n_ - 1);
}

ClickModel::ClickModel(const GenerateOptions& options)
    : options_(options), user_law_(options.users, options.user_zipf), item_law_(options.items, options.item_zipf) {}

StatusOr<std::shared_ptr<const ClickModel>> ClickModel::Create(const GenerateOptions& options) {
  RETURN_IF_ERROR(ValidateModel(options));
  std::shared_ptr<ClickModel> model(new ClickModel(options));
  if (model->table_bytes() > kMaxTableBytes) {
    return InvalidArgument("the hidden model's tables for " + std::to_string(options.users) + " users and " +
                           std::to_string(options.items) + " items would take " +
                           std::to_string(model->table_bytes() >> 20) + " MiB; ask for fewer --users or --items");
  }
  const GenerateOptions& o = model->options_;
  const uint64_t seed = o.seed;
  const int threads = DefaultThreads(o.threads);
  constexpr int K = kFactorDim;

  model->user_factors_.resize(static_cast<size_t>(o.users) * K);
  model->user_bias_.resize(o.users);
  model->user_activity_.resize(o.users);
  ParallelFor(o.users, threads, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      Rng rng = Rng::ForStream(seed, kUserTable, static_cast<uint64_t>(u));
      for (int k = 0; k < K; ++k) model->user_factors_[u * K + k] = static_cast<float>(rng.Normal());
      model->user_bias_[u] = static_cast<float>(0.3 * rng.Normal());
      // Sessions in the last 30 days: Pareto with minimum 1, heavy tail.
      const double v = 1.0 - rng.Uniform();  // (0, 1]
      model->user_activity_[u] = static_cast<float>(std::pow(v, -1.0 / kActivityAlpha));
    }
  });

  model->category_factors_.resize(static_cast<size_t>(o.categories) * K);
  std::vector<double> category_price(o.categories);
  for (int64_t c = 0; c < o.categories; ++c) {
    Rng rng = Rng::ForStream(seed, kCategoryTable, static_cast<uint64_t>(c));
    for (int k = 0; k < K; ++k) model->category_factors_[c * K + k] = static_cast<float>(rng.Normal());
    category_price[c] = kPriceLogMean + 0.8 * rng.Normal();
  }

  const PowerLaw category_law(o.categories, 0.8);  // a few categories hold many items
  // Unit variance whatever the share; the default 0.36 gives exactly 0.6 and 0.8.
  const double category_weight = std::sqrt(o.item_category_share);
  const double own_weight = std::sqrt(1.0 - o.item_category_share);
  model->item_factors_.resize(static_cast<size_t>(o.items) * K);
  model->item_bias_.resize(o.items);
  model->item_price_.resize(o.items);
  model->item_category_.resize(o.items);
  ParallelFor(o.items, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Rng rng = Rng::ForStream(seed, kItemTable, static_cast<uint64_t>(i));
      const int64_t c = category_law.Sample(rng.Uniform());
      model->item_category_[i] = static_cast<int32_t>(c);
      // An item resembles its category, so a rare item is predictable from it.
      for (int k = 0; k < K; ++k) {
        model->item_factors_[i * K + k] =
            static_cast<float>(category_weight * model->category_factors_[c * K + k] + own_weight * rng.Normal());
      }
      model->item_bias_[i] = static_cast<float>(0.5 * rng.Normal());
      model->item_price_[i] = static_cast<float>(std::exp(category_price[c] + 0.5 * rng.Normal()));
    }
  });

  Rng noise = Rng::ForStream(seed, kNoiseWeights);
  for (int j = kNamedDense; j < o.num_dense; ++j) {
    // Every third Gaussian feature is pure noise: a model should learn to ignore it.
    const double w = 0.25 * noise.Normal();
    model->noise_weights_.push_back((j - kNamedDense) % 3 == 2 ? 0.0f : static_cast<float>(w));
  }
  model->Calibrate(o.positive_rate);
  return std::shared_ptr<const ClickModel>(std::move(model));
}

int64_t ClickModel::table_bytes() const {
  const int64_t per_user = (kFactorDim + 2) * 4;
  const int64_t per_item = (kFactorDim + 3) * 4;
  return options_.users * per_user + options_.items * per_item + options_.categories * (kFactorDim * 4 + 8);
}

double ClickModel::SampleRow(RowStream stream, int64_t row, int r, GeneratedRows* out) const {
  constexpr int K = kFactorDim;
  const GenerateOptions& o = options_;
  Rng rng = Rng::ForStream(o.seed, static_cast<uint64_t>(stream), static_cast<uint64_t>(row));
  const int64_t u = user_law_.Sample(rng.Uniform());
  const int64_t i = item_law_.Sample(rng.Uniform());
  const int32_t c = item_category_[i];
  const float* pu = &user_factors_[u * K];
  const float* qi = &item_factors_[i * K];
  const float* rc = &category_factors_[static_cast<int64_t>(c) * K];
  const double inv_sqrt_k = 1.0 / std::sqrt(static_cast<double>(K));
  double logit = user_bias_[u] + item_bias_[i] + kUserItemWeight * Dot(pu, qi) * inv_sqrt_k +
                 kUserCategoryWeight * Dot(pu, rc) * inv_sqrt_k;

  // Recently viewed items: a quarter of them is the item shown now (people come back to what
  // they looked at); a match raises the click odds, and so do similar items.
  if (o.max_recent_items > 0) {
    const int length = static_cast<int>(rng.Below(static_cast<uint64_t>(o.max_recent_items) + 1));
    bool match = false;
    double similarity = 0;
    for (int k = 0; k < length; ++k) {
      int64_t recent = (!match && rng.Uniform() < 0.25) ? i : item_law_.Sample(rng.Uniform());
      match = match || recent == i;
      similarity += Dot(&item_factors_[recent * K], qi) * inv_sqrt_k;
      out->recent_values.push_back(static_cast<int32_t>(recent));
    }
    if (match) logit += kRecentMatchWeight;
    if (length > 0) logit += kRecentSimilarityWeight * similarity / length;
    out->recent_offsets[r + 1] = static_cast<int64_t>(out->recent_values.size());
  }

  // Dense features; see DescribeDense. Only the columns asked for exist and act on the logit.
  const int d = o.num_dense;
  const double activity = user_activity_[u];
  for (int j = 0; j < d; ++j) {
    double value = 0;
    switch (j) {
      case 0:  // price in cents: the item's list price with per-view noise; lognormal, heavy tail
        value = std::max(0.01, std::round(item_price_[i] * std::exp(0.15 * rng.Normal()) * 100.0) / 100.0);
        logit += kPriceWeight * (std::log(value) - kPriceLogMean);
        break;
      case 1:  // sessions of the user in the last 30 days: Pareto, heavy tail
        value = std::floor(activity);
        logit += kActivityWeight * (std::log(value) - 1.0 / kActivityAlpha);
        break;
      case 2:  // hours since the user's last visit: exponential, shorter for active users
        value = std::round(-std::log(1.0 - rng.Uniform()) * 240.0 / activity * 60.0) / 60.0;  // whole minutes
        logit += kRecencyWeight * (std::log1p(value) - 4.0);
        break;
      case 3:  // position on the page, 1..20
        value = static_cast<double>(1 + rng.Below(20));
        logit += kPositionWeight * (std::log(value) - 2.1);
        break;
      case 4:  // discount fraction: 0 for most views
        value = rng.Uniform() < 0.3 ? std::round(rng.Uniform(5, 50)) / 100.0 : 0.0;  // whole percents
        logit += kDiscountWeight * (value - 0.08);
        break;
      default:  // standard normal, to 3 decimals as a measured quantity would be
        value = std::round(rng.Normal() * 1000.0) / 1000.0;
        logit += noise_weights_[j - kNamedDense] * value;
        break;
    }
    out->dense[j][r] = static_cast<float>(value);
  }
  out->user[r] = static_cast<int32_t>(u);
  out->item[r] = static_cast<int32_t>(i);
  out->category[r] = c;
  // The label's uniform is drawn last, after every feature, so it is the same whatever the bias.
  const double p = Sigmoid(logit + bias_);
  out->clicked[r] = rng.Uniform() < p ? 1.0f : 0.0f;
  return logit;
}

void ClickModel::Generate(RowStream stream, int64_t first_row, int64_t num_rows, bool with_logits,
                          GeneratedRows* out) const {
  out->first_row = first_row;
  out->num_rows = num_rows;
  const size_t n = static_cast<size_t>(num_rows);
  out->clicked.resize(n);
  out->dense.resize(options_.num_dense);
  for (auto& column : out->dense) column.resize(n);
  out->user.resize(n);
  out->item.resize(n);
  out->category.resize(n);
  out->recent_values.clear();
  out->recent_offsets.assign(options_.max_recent_items > 0 ? n + 1 : 0, 0);
  out->logits.resize(with_logits ? n : 0);
  for (int64_t r = 0; r < num_rows; ++r) {
    const double logit = SampleRow(stream, first_row + r, static_cast<int>(r), out);
    if (with_logits) out->logits[r] = static_cast<float>(logit + bias_);
  }
  if (!dense_scaling_.empty()) ScaleDense(out);
}

void ClickModel::ScaleDense(GeneratedRows* out) const {
  for (int j = 0; j < options_.num_dense; ++j) {
    const DenseScaling& s = dense_scaling_[j];
    for (float& value : out->dense[j]) {
      const double t = s.log ? std::log1p(static_cast<double>(value)) : static_cast<double>(value);
      value = static_cast<float>((t - s.mean) / s.stddev);
    }
  }
}

void ClickModel::Calibrate(double target_rate) {
  bias_ = 0;
  dense_scaling_.clear();  // the calibration rows are raw
  const int num_dense = options_.scale_dense ? options_.num_dense : 0;
  std::vector<double> logits(kCalibrationRows);
  std::vector<std::vector<float>> dense(num_dense, std::vector<float>(kCalibrationRows));
  const int threads = DefaultThreads(options_.threads);
  ParallelFor(kCalibrationRows, threads, [&](int64_t begin, int64_t end) {
    GeneratedRows rows;
    Generate(RowStream::kCalibration, begin, end - begin, /*with_logits=*/true, &rows);
    for (int64_t r = begin; r < end; ++r) logits[r] = rows.logits[r - begin];
    for (int j = 0; j < num_dense; ++j) std::copy(rows.dense[j].begin(), rows.dense[j].end(), &dense[j][begin]);
  });
  // Moments summed in row order, so they do not depend on the number of threads.
  for (int j = 0; j < num_dense; ++j) {
    DenseScaling s;
    s.log = j < kNamedDense && kHeavyTailed[j];
    std::vector<double> t(kCalibrationRows);
    for (int64_t r = 0; r < kCalibrationRows; ++r) t[r] = s.log ? std::log1p(double{dense[j][r]}) : dense[j][r];
    s.mean = std::accumulate(t.begin(), t.end(), 0.0) / kCalibrationRows;
    double squares = 0;
    for (double value : t) squares += (value - s.mean) * (value - s.mean);
    const double variance = squares / kCalibrationRows;
    s.stddev = variance > 0 ? std::sqrt(variance) : 1.0;  // a constant column is only centred
    dense_scaling_.push_back(s);
  }
  // The mean click probability rises monotonically with the bias: bisect.
  double low = -40, high = 40;
  for (int iteration = 0; iteration < 60; ++iteration) {
    const double mid = 0.5 * (low + high);
    double sum = 0;
    for (double z : logits) sum += Sigmoid(z + mid);
    (sum / kCalibrationRows < target_rate ? low : high) = mid;
  }
  bias_ = 0.5 * (low + high);
}

data::FeatureSchema ClickModel::Schema() const {
  data::FeatureSchema schema;
  schema.label = "clicked";
  for (int j = 0; j < options_.num_dense; ++j) schema.dense.push_back("d" + std::to_string(j));
  schema.categorical = {"user", "item", "category"};
  schema.vocab_sizes = {options_.users, options_.items, options_.categories};
  if (options_.max_recent_items > 0) {
    schema.multi_valued = {"recent_items"};
    schema.multi_vocab_sizes = {options_.items};
  }
  return schema;
}

std::string ClickModel::DescribeDense() const {
  static const char* kMeaning[kNamedDense] = {
      "price (lognormal by category and item, heavy tail; higher lowers clicks)",
      "user sessions in the last 30 days (Pareto, heavy tail; more raises clicks)",
      "hours since the user's last visit (exponential; longer lowers clicks)",
      "position on the page, 1..20 (lower positions get fewer clicks)",
      "discount fraction (0 for 70% of views; raises clicks)"};
  std::string text;
  for (int j = 0; j < options_.num_dense; ++j) {
    text += "d" + std::to_string(j) + ": ";
    if (j < kNamedDense) {
      text += kMeaning[j];
    } else {
      char weight[64];
      std::snprintf(weight, sizeof(weight), "%.4f", noise_weights_[j - kNamedDense]);
      text += std::string("standard normal, logit weight ") + weight;
    }
    if (!dense_scaling_.empty()) {
      const DenseScaling& s = dense_scaling_[j];
      char scaled[160];
      std::snprintf(scaled, sizeof(scaled), "; written scaled: (%s %c %.6g) / %.6g", s.log ? "log1p(x)" : "x",
                    s.mean < 0 ? '+' : '-', std::abs(s.mean), s.stddev);
      text += scaled;
    }
    text += "\n";
  }
  return text;
}

int64_t ShardBegin(const GenerateOptions& options, int64_t num_shards, int64_t shard) {
  if (options.rows_per_shard > 0) return std::min(options.rows, shard * options.rows_per_shard);
  return static_cast<int64_t>(static_cast<__int128>(options.rows) * shard / num_shards);
}

StatusOr<std::vector<std::string>> ShardPaths(const GenerateOptions& options) {
  RETURN_IF_ERROR(Validate(options));
  const int64_t shards = NumShards(options);
  if (shards == 1 && IsFilePath(options.out)) return std::vector<std::string>{options.out};
  std::vector<std::string> paths;
  for (int64_t k = 0; k < shards; ++k) {
    char name[32];
    std::snprintf(name, sizeof(name), "part-%05lld.h5", static_cast<long long>(k));
    paths.push_back((fs::path(options.out) / name).string());
  }
  return paths;
}

namespace {

// One output file: a training shard, the validation or the test file, and its rows of its stream.
struct Part {
  std::string path;
  RowStream stream;
  int64_t begin, end;
  std::string rows_line;  // where its rows come from, for the provenance
  // Validation and test files also get the hidden logits and the Bayes figures.
  bool evaluation() const { return stream != RowStream::kTrain; }
};

// A validation or test file asked for: its stream, option, path and rows.
struct EvaluationFile {
  RowStream stream;
  std::string role, flag, path;
  int64_t rows;
};

// The validation file, then the test file, those asked for.
std::vector<EvaluationFile> EvaluationFiles(const GenerateOptions& o) {
  std::vector<EvaluationFile> files;
  if (o.validation_rows > 0) {
    files.push_back({RowStream::kValidation, "validation", "--validation-out",
                     o.validation_out.empty() ? DefaultSiblingPath(o.out, "validation") : o.validation_out,
                     o.validation_rows});
  }
  if (o.test_rows > 0) {
    files.push_back({RowStream::kTest, "test", "--test-out",
                     o.test_out.empty() ? DefaultSiblingPath(o.out, "test") : o.test_out, o.test_rows});
  }
  return files;
}

// Rows [first, first + count) of a part: generated as one unit, appended in order.
struct Block {
  size_t part;
  int64_t first, count;
};

// Creates the output folders, and refuses one holding shards of an earlier, larger run: a reader
// given the folder would mix them in.
Status CreateOutputFolders(const GenerateOptions& options, const std::vector<std::string>& shard_paths,
                           const std::vector<EvaluationFile>& evaluation_files) {
  if (!IsFilePath(options.out)) {
    std::error_code error;
    fs::create_directories(options.out, error);
    if (error || !fs::is_directory(options.out)) {
      return InvalidArgument("--out " + options.out + ": could not create the directory (" + error.message() + ")");
    }
    std::vector<std::string> stale;
    for (const auto& entry : fs::directory_iterator(options.out, error)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with("part-") && entry.path().extension() == ".h5" &&
          std::find(shard_paths.begin(), shard_paths.end(), entry.path().string()) == shard_paths.end()) {
        stale.push_back(name);
      }
    }
    if (!stale.empty()) {
      std::sort(stale.begin(), stale.end());
      return InvalidArgument("--out " + options.out + " already holds " + std::to_string(stale.size()) +
                             " other shard(s) (" + stale.front() + (stale.size() > 1 ? ", ..." : "") +
                             ") that readers of the folder would mix in; remove them or choose another --out");
    }
  } else if (const fs::path parent = fs::path(options.out).parent_path(); !parent.empty()) {
    std::error_code error;
    fs::create_directories(parent, error);
  }
  for (size_t f = 0; f < evaluation_files.size(); ++f) {
    const EvaluationFile& file = evaluation_files[f];
    if (std::find(shard_paths.begin(), shard_paths.end(), file.path) != shard_paths.end()) {
      return InvalidArgument(file.flag + " " + file.path + " is also a training shard; choose another path");
    }
    if (f > 0 && evaluation_files[0].path == file.path) {
      return InvalidArgument(file.flag + " " + file.path + " is also the " + evaluation_files[0].role +
                             " file; choose another path");
    }
    if (const fs::path parent = fs::path(file.path).parent_path(); !parent.empty()) {
      std::error_code error;
      fs::create_directories(parent, error);
    }
  }
  return Status::Ok();
}

// The training shards, then the validation and test files (those asked for).
std::vector<Part> PlanParts(const GenerateOptions& options, const std::vector<std::string>& shard_paths,
                            const std::vector<EvaluationFile>& evaluation_files) {
  const int64_t num_shards = static_cast<int64_t>(shard_paths.size());
  std::vector<Part> parts;
  for (int64_t k = 0; k < num_shards; ++k) {
    const int64_t begin = ShardBegin(options, num_shards, k), end = ShardBegin(options, num_shards, k + 1);
    parts.push_back({shard_paths[k], RowStream::kTrain, begin, end,
                     "file: training shard " + std::to_string(k) + " of " + std::to_string(num_shards) + ", rows [" +
                         std::to_string(begin) + ", " + std::to_string(end) + ") of the training stream (" +
                         std::to_string(options.rows) + " rows)"});
  }
  for (const EvaluationFile& file : evaluation_files) {
    parts.push_back({file.path, file.stream, 0, file.rows,
                     "file: " + file.role + " set, rows [0, " + std::to_string(file.rows) + ") of the " + file.role +
                         " stream (independent of the other files' rows)"});
  }
  return parts;
}

// Every part cut into blocks of `chunk_rows` rows (a part's last one shorter), in file order.
std::vector<Block> PlanBlocks(const std::vector<Part>& parts, int64_t chunk_rows) {
  std::vector<Block> blocks;
  for (size_t p = 0; p < parts.size(); ++p) {
    for (int64_t first = parts[p].begin; first < parts[p].end; first += chunk_rows) {
      blocks.push_back({p, first, std::min(chunk_rows, parts[p].end - first)});
    }
  }
  return blocks;
}

// The true logit of each row of a validation or test file: a column that is not in the schema,
// so training never reads it.
constexpr char kHiddenLogitColumn[] = "hidden_logit";

// Writes the parts one after another as their blocks arrive, in block order: each file is
// created when its first block comes and committed, with its schema and provenance, after its
// last. Counts what goes into `report`; keeps an evaluation file's logits and labels (8 bytes a
// row) until it is committed, for its Bayes figures. Single-threaded.
class PartWriter {
 public:
  PartWriter(const GenerateOptions& options, const ClickModel& model, const std::vector<Part>& parts,
             GenerateReport& report)
      : options_(options), model_(model), schema_(model.Schema()), parts_(parts), report_(report) {
    specs_ = {{"clicked", data::ColumnType::kFloat32}};
    for (const std::string& name : schema_.dense) specs_.push_back({name, data::ColumnType::kFloat32});
    for (const std::string& name : schema_.categorical) specs_.push_back({name, data::ColumnType::kInt32});
    for (const std::string& name : schema_.multi_valued) specs_.push_back({name, data::ColumnType::kInt32, true});
  }

  // The rows of block `block`, the next one in order.
  Status Append(const Block& block, const GeneratedRows& rows) {
    const Part& part = parts_[block.part];
    if (writer_part_ != block.part) {
      if (writer_) RETURN_IF_ERROR(Commit());
      std::vector<data::ColumnSpec> specs = specs_;
      if (part.evaluation()) specs.push_back({kHiddenLogitColumn, data::ColumnType::kFloat32});
      ASSIGN_OR_RETURN(
          data::ColumnWriter created,
          data::ColumnWriter::Create(part.path, std::move(specs), options_.chunk_rows, options_.deflate_level));
      writer_.emplace(std::move(created));
      writer_part_ = block.part;
    }
    RETURN_IF_ERROR(AppendColumns(rows));
    if (part.evaluation()) {
      RETURN_IF_ERROR(writer_->Append(writer_->ColumnIndex(kHiddenLogitColumn), std::span<const float>(rows.logits)));
      logits_.insert(logits_.end(), rows.logits.begin(), rows.logits.end());
      labels_.insert(labels_.end(), rows.clicked.begin(), rows.clicked.end());
    }
    clicks_[part.stream] += std::accumulate(rows.clicked.begin(), rows.clicked.end(), 0.0);
    return Status::Ok();
  }

  // Commits the last file and fills the report's rows and rates.
  Status Finish() {
    if (writer_) RETURN_IF_ERROR(Commit());
    report_.train_rows = options_.rows;
    report_.test_rows = options_.test_rows;
    report_.validation_rows = options_.validation_rows;
    auto rate = [&](RowStream stream, int64_t rows) {
      return rows > 0 ? clicks_[stream] / static_cast<double>(rows) : 0;
    };
    report_.positive_rate = rate(RowStream::kTrain, options_.rows);
    report_.test_positive_rate = rate(RowStream::kTest, options_.test_rows);
    report_.validation_positive_rate = rate(RowStream::kValidation, options_.validation_rows);
    return Status::Ok();
  }

 private:
  // In the order of specs_: clicked, d0.., user, item, category, recent_items (when there are any).
  Status AppendColumns(const GeneratedRows& rows) {
    const int num_dense = options_.num_dense;
    const int first_categorical = 1 + num_dense;
    RETURN_IF_ERROR(writer_->Append(0, std::span<const float>(rows.clicked)));
    for (int j = 0; j < num_dense; ++j) RETURN_IF_ERROR(writer_->Append(1 + j, std::span<const float>(rows.dense[j])));
    RETURN_IF_ERROR(writer_->Append(first_categorical, std::span<const int32_t>(rows.user)));
    RETURN_IF_ERROR(writer_->Append(first_categorical + 1, std::span<const int32_t>(rows.item)));
    RETURN_IF_ERROR(writer_->Append(first_categorical + 2, std::span<const int32_t>(rows.category)));
    if (options_.max_recent_items == 0) return Status::Ok();
    const int recent_column = first_categorical + 3;
    for (int64_t r = 0; r < rows.num_rows; ++r) {
      const int64_t begin = rows.recent_offsets[r], end = rows.recent_offsets[r + 1];
      RETURN_IF_ERROR(writer_->AppendBagRow(recent_column,
                                            std::span<const int32_t>(rows.recent_values.data() + begin, end - begin)));
    }
    return Status::Ok();
  }

  // An evaluation file's Bayes figures, into the report, and the provenance line saying them.
  std::string ScoreEvaluationFile(RowStream stream) {
    const BayesFigures bayes = ScoreLogits(logits_, labels_);
    (stream == RowStream::kTest ? report_.test_bayes : report_.validation_bayes) = bayes;
    logits_.clear();
    labels_.clear();
    char line[320];
    std::snprintf(line, sizeof(line),
                  "\nhidden model on these rows (the Bayes figure, which no learner beats in expectation): AUC %.6f, "
                  "log-loss %.6f; column %s holds each row's true logit (not in the schema, so training ignores it)",
                  bayes.auc, bayes.log_loss, kHiddenLogitColumn);
    return line;
  }

  Status Commit() {
    const Part& part = parts_[writer_part_];
    const std::string rows_line = part.rows_line + (part.evaluation() ? ScoreEvaluationFile(part.stream) : "");
    RETURN_IF_ERROR(writer_->WriteSchema(schema_));
    RETURN_IF_ERROR(writer_->WriteText("/ectrain/provenance", Provenance(options_, model_, rows_line)));
    RETURN_IF_ERROR(writer_->Commit());
    writer_.reset();
    std::error_code error;
    const auto size = fs::file_size(part.path, error);
    int64_t& bytes = part.stream == RowStream::kTest         ? report_.test_bytes
                     : part.stream == RowStream::kValidation ? report_.validation_bytes
                                                             : report_.bytes;
    bytes += error ? 0 : static_cast<int64_t>(size);
    report_.files.push_back(part.path);
    return Status::Ok();
  }

  const GenerateOptions& options_;
  const ClickModel& model_;
  const data::FeatureSchema schema_;
  const std::vector<Part>& parts_;
  GenerateReport& report_;
  std::vector<data::ColumnSpec> specs_;  // of a training shard
  std::optional<data::ColumnWriter> writer_;
  size_t writer_part_ = SIZE_MAX;  // the part writer_ writes
  std::map<RowStream, double> clicks_;
  std::vector<float> logits_, labels_;  // of the evaluation file being written
};

// Workers generate blocks ahead, in the order of `blocks`; this thread hands them to `writer` in
// that order.
Status GenerateBlocks(const GenerateOptions& options, const ClickModel& model, const std::vector<Part>& parts,
                      const std::vector<Block>& blocks, PartWriter& writer) {
  const int threads = DefaultThreads(options.threads);
  // On an error return `pending` is destroyed first: a std::async future's destructor waits for
  // its generator, which reads `model`, `parts` and `blocks`.
  std::deque<std::future<std::unique_ptr<GeneratedRows>>> pending;
  size_t next_block = 0;
  auto launch = [&] {
    const Block block = blocks[next_block++];
    const Part& part = parts[block.part];
    pending.push_back(
        std::async(std::launch::async, [&model, block, stream = part.stream, with_logits = part.evaluation()] {
          auto rows = std::make_unique<GeneratedRows>();
          model.Generate(stream, block.first, block.count, with_logits, rows.get());
          return rows;
        }));
  };
  const int64_t rows_total = options.rows + options.test_rows + options.validation_rows;
  int64_t rows_done = 0;
  while (next_block < blocks.size() && static_cast<int>(pending.size()) < threads) launch();
  for (size_t b = 0; b < blocks.size(); ++b) {
    std::unique_ptr<GeneratedRows> rows = pending.front().get();
    pending.pop_front();
    if (next_block < blocks.size()) launch();
    RETURN_IF_ERROR(writer.Append(blocks[b], *rows));
    rows_done += rows->num_rows;
    if (options.progress) options.progress(rows_done, rows_total);
  }
  return Status::Ok();
}

}  // namespace

BayesFigures ScoreLogits(const std::vector<float>& logits, const std::vector<float>& labels) {
  const size_t n = logits.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return logits[a] < logits[b]; });
  double positive_rank_sum = 0, positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && logits[order[j]] == logits[order[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1..j
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5f) {
        positive_rank_sum += mean_rank;
        positives += 1;
      }
    }
    i = j;
  }
  const double negatives = static_cast<double>(n) - positives;
  BayesFigures figures;
  figures.auc = positives > 0 && negatives > 0
                    ? (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
                    : std::nan("");
  double loss = 0;  // -log sigmoid(z) for a click, -log(1 - sigmoid(z)) otherwise
  for (size_t r = 0; r < n; ++r) loss += Softplus(logits[r]) - labels[r] * static_cast<double>(logits[r]);
  figures.log_loss = n > 0 ? loss / static_cast<double>(n) : std::nan("");
  return figures;
}

StatusOr<GenerateReport> GenerateDataSet(const GenerateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const std::vector<std::string> shard_paths, ShardPaths(options));
  const std::vector<EvaluationFile> evaluation_files = EvaluationFiles(options);
  RETURN_IF_ERROR(CreateOutputFolders(options, shard_paths, evaluation_files));
  ASSIGN_OR_RETURN(std::shared_ptr<const ClickModel> model, ClickModel::Create(options));
  const std::vector<Part> parts = PlanParts(options, shard_paths, evaluation_files);
  const std::vector<Block> blocks = PlanBlocks(parts, options.chunk_rows);

  GenerateReport report;
  report.bias = model->bias();
  PartWriter writer(options, *model, parts, report);
  RETURN_IF_ERROR(GenerateBlocks(options, *model, parts, blocks, writer));
  RETURN_IF_ERROR(writer.Finish());
  for (const EvaluationFile& file : evaluation_files) {
    (file.stream == RowStream::kTest ? report.test_file : report.validation_file) = file.path;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace ectrain::tools
