#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/log.h"

namespace ectrain::config {
namespace {

// A key that means something only for some values of a choice key (model.type, optimizer.type,
// optimizer.schedule), e.g. model.cross_layers only for model.type dcn.
struct Applicability {
  std::string choice;               // the choosing key's path
  std::vector<std::string> values;  // the choices the key applies to
};

// One configuration key: how to read it from YAML, how to print it, what it means, and for which
// choices it applies. Parsing, printing and the applicability check all come from this one list,
// so they cannot drift apart.
struct Key {
  std::string section;
  std::string name;
  std::string help;
  std::function<Status(const YAML::Node&, const std::string& where)> parse;
  std::function<void(YAML::Emitter&)> emit;
  std::function<std::string()> text{};     // the value as text: text keys, which can be choices
  std::vector<std::string> choices{};      // a text key's allowed values (empty: any text)
  std::optional<Applicability> applies{};  // none: the key applies always
  std::string path() const { return section + "." + name; }
  // Marks the key as one that applies only when `choice` is one of `values`.
  Key AppliesTo(std::string choice, std::vector<std::string> values) && {
    applies = Applicability{std::move(choice), std::move(values)};
    return std::move(*this);
  }
};

std::string ShortestDouble(double v) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, result.ptr);
}

std::string Scalar(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

Status TypeError(const std::string& where, const std::string& expected, const YAML::Node& node) {
  return InvalidArgument(where + ": expected " + expected + ", got " + Scalar(node));
}

StatusOr<int64_t> ReadInt(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) return TypeError(where, "an integer", node);
  const std::string& s = node.Scalar();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return TypeError(where, "an integer", node);
  return v;
}

StatusOr<double> ReadDouble(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) return TypeError(where, "a number", node);
  const std::string& s = node.Scalar();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return TypeError(where, "a number", node);
  return v;
}

Key IntKey(std::string section, std::string name, int64_t* field, int64_t lo, int64_t hi, std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field, lo, hi](const YAML::Node& node, const std::string& where) -> Status {
    ASSIGN_OR_RETURN(int64_t v, ReadInt(node, where));
    if (v < lo || v > hi) {
      return InvalidArgument(where + ": " + std::to_string(v) + " is out of range; allowed: " + std::to_string(lo) +
                             " to " + std::to_string(hi));
    }
    *field = v;
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) { out << *field; };
  return k;
}

// A real number in (lo, hi] when lo_open, else [lo, hi].
Key RealKey(std::string section, std::string name, double* field, double lo, bool lo_open, double hi,
            std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field, lo, lo_open, hi](const YAML::Node& node, const std::string& where) -> Status {
    ASSIGN_OR_RETURN(double v, ReadDouble(node, where));
    if ((lo_open ? v <= lo : v < lo) || v > hi) {
      return InvalidArgument(where + ": " + ShortestDouble(v) +
                             " is out of range; allowed: " + (lo_open ? "greater than " : "at least ") +
                             ShortestDouble(lo) + " and at most " + ShortestDouble(hi));
    }
    *field = v;
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) { out << ShortestDouble(*field); };
  return k;
}

Key BoolKey(std::string section, std::string name, bool* field, std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field](const YAML::Node& node, const std::string& where) -> Status {
    bool v = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) return TypeError(where, "true or false", node);
    *field = v;
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) { out << *field; };
  return k;
}

// `allowed` empty: any text.
Key StringKey(std::string section, std::string name, std::string* field, std::vector<std::string> allowed,
              std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field, allowed](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsScalar()) return TypeError(where, "a text value", node);
    const std::string& v = node.Scalar();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return InvalidArgument(where + ": '" + v + "' is not allowed; allowed: " + list);
    }
    *field = v;
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) { out << YAML::DoubleQuoted << *field; };
  k.text = [field] { return *field; };
  k.choices = allowed;
  return k;
}

Key StringListKey(std::string section, std::string name, std::vector<std::string>* field, std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsSequence()) return TypeError(where, "a list of names", node);
    std::vector<std::string> values;
    std::set<std::string> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_where = where + "[" + std::to_string(i) + "]";
      if (!node[i].IsScalar()) return TypeError(item_where, "a name", node[i]);
      if (!seen.insert(node[i].Scalar()).second) {
        return InvalidArgument(item_where + ": '" + node[i].Scalar() + "' is listed twice");
      }
      values.push_back(node[i].Scalar());
    }
    *field = std::move(values);
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : *field) out << YAML::DoubleQuoted << v;
    out << YAML::EndSeq;
  };
  return k;
}

Key IntListKey(std::string section, std::string name, std::vector<int64_t>* field, int64_t lo, int64_t hi,
               std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field, lo, hi](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsSequence()) return TypeError(where, "a list of integers", node);
    std::vector<int64_t> values;
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_where = where + "[" + std::to_string(i) + "]";
      ASSIGN_OR_RETURN(int64_t v, ReadInt(node[i], item_where));
      if (v < lo || v > hi) {
        return InvalidArgument(item_where + ": " + std::to_string(v) +
                               " is out of range; allowed: " + std::to_string(lo) + " to " + std::to_string(hi));
      }
      values.push_back(v);
    }
    *field = std::move(values);
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginSeq;
    for (auto v : *field) out << v;
    out << YAML::EndSeq;
  };
  return k;
}

// A list of numbers, each greater than 0.
Key PositiveRealListKey(std::string section, std::string name, std::vector<double>* field, std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsSequence()) return TypeError(where, "a list of numbers", node);
    std::vector<double> values;
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_where = where + "[" + std::to_string(i) + "]";
      ASSIGN_OR_RETURN(double v, ReadDouble(node[i], item_where));
      if (v <= 0) return InvalidArgument(item_where + ": " + ShortestDouble(v) + " must be greater than 0");
      values.push_back(v);
    }
    *field = std::move(values);
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginSeq;
    for (double v : *field) out << ShortestDouble(v);
    out << YAML::EndSeq;
  };
  return k;
}

Key IntMapKey(std::string section, std::string name, std::map<std::string, int64_t>* field, int64_t lo,
              std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field, lo](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsMap()) return TypeError(where, "a mapping of column name to integer", node);
    std::map<std::string, int64_t> values;
    for (const auto& item : node) {
      std::string key = item.first.Scalar();
      std::string item_where = where + "." + key;
      ASSIGN_OR_RETURN(int64_t v, ReadInt(item.second, item_where));
      if (v < lo) return InvalidArgument(item_where + ": must be at least " + std::to_string(lo));
      values[key] = v;
    }
    *field = std::move(values);
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [name, v] : *field) out << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << v;
    out << YAML::EndMap;
  };
  return k;
}

// A mapping of column name to a number in [lo, hi].
Key RealMapKey(std::string section, std::string name, std::map<std::string, double>* field, double lo, double hi,
               std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field, lo, hi](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsMap()) return TypeError(where, "a mapping of column name to number", node);
    std::map<std::string, double> values;
    for (const auto& item : node) {
      const std::string item_where = where + "." + item.first.Scalar();
      ASSIGN_OR_RETURN(double v, ReadDouble(item.second, item_where));
      if (v < lo || v > hi) {
        return InvalidArgument(item_where + ": " + ShortestDouble(v) +
                               " is out of range; allowed: " + ShortestDouble(lo) + " to " + ShortestDouble(hi));
      }
      values[item.first.Scalar()] = v;
    }
    *field = std::move(values);
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [name, v] : *field)
      out << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << ShortestDouble(v);
    out << YAML::EndMap;
  };
  return k;
}

// Column name -> [first, last], two integers with 0 <= first <= last (libsvm's field_ranges).
Key IndexRangeMapKey(std::string section, std::string name, std::map<std::string, std::pair<int64_t, int64_t>>* field,
                     std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsMap()) return TypeError(where, "a mapping of field name to [first, last] index", node);
    std::map<std::string, std::pair<int64_t, int64_t>> values;
    for (const auto& item : node) {
      const std::string item_where = where + "." + item.first.Scalar();
      if (!item.second.IsSequence() || item.second.size() != 2) {
        return TypeError(item_where, "[first, last] (two indices)", item.second);
      }
      ASSIGN_OR_RETURN(const int64_t first, ReadInt(item.second[0], item_where + "[0]"));
      ASSIGN_OR_RETURN(const int64_t last, ReadInt(item.second[1], item_where + "[1]"));
      if (first < 0 || last < first) {
        return InvalidArgument(item_where + ": [" + std::to_string(first) + ", " + std::to_string(last) +
                               "] is not a range; give [first, last] with 0 <= first <= last");
      }
      values[item.first.Scalar()] = {first, last};
    }
    *field = std::move(values);
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [name, range] : *field) {
      out << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << YAML::Flow << YAML::BeginSeq << range.first
          << range.second << YAML::EndSeq;
    }
    out << YAML::EndMap;
  };
  return k;
}

// A number, or null (~) for none.
Key OptionalRealKey(std::string section, std::string name, std::optional<double>* field, std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field](const YAML::Node& node, const std::string& where) -> Status {
    if (node.IsNull()) {
      field->reset();
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(double v, ReadDouble(node, where));
    *field = v;
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    if (*field) {
      out << ShortestDouble(**field);
    } else {
      out << YAML::Null;
    }
  };
  return k;
}

Key StringMapKey(std::string section, std::string name, std::map<std::string, std::string>* field, std::string help) {
  Key k{section, name, std::move(help), nullptr, nullptr};
  k.parse = [field](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsMap()) return TypeError(where, "a mapping of column name to text", node);
    std::map<std::string, std::string> values;
    for (const auto& item : node) {
      if (!item.second.IsScalar()) return TypeError(where + "." + item.first.Scalar(), "a text value", item.second);
      values[item.first.Scalar()] = item.second.Scalar();
    }
    *field = std::move(values);
    return Status::Ok();
  };
  k.emit = [field](YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [name, v] : *field)
      out << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << YAML::DoubleQuoted << v;
    out << YAML::EndMap;
  };
  return k;
}

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

std::vector<Key> Keys(RunConfig& c) {
  // The model types a model key applies to (README "Models"): those with embeddings, those with a
  // deep part of hidden_units, and those with hidden layers (the deep part or the towers).
  const std::vector<std::string> embedded = {"mlp", "wide_deep", "deepfm", "dcn", "two_tower", "mf", "classifier"};
  const std::vector<std::string> deep = {"mlp", "wide_deep", "deepfm", "dcn", "classifier"};
  const std::vector<std::string> layered = {"mlp", "wide_deep", "deepfm", "dcn", "two_tower", "classifier"};
  // Those whose id vectors can take parents and embedding dropout (model::HasIdVectors).
  const std::vector<std::string> id_vectors = {"mlp", "wide_deep", "deepfm", "dcn", "classifier", "mf"};
  return {
      StringKey("data", "train", &c.data.train, {},
                "training data: a columnar HDF5 file, a directory of them (*.h5) or a glob (shards/part-*.h5)"),
      StringKey("data", "test", &c.data.test, {}, "test data: columnar HDF5 file, evaluated by rank 0"),
      StringKey("data", "validation", &c.data.validation, {},
                "validation data: columnar HDF5 file; checkpoint.keep_best and early stopping choose on it"),
      StringKey("data", "label", &c.data.label, {}, "label column (values in [0, 1])"),
      StringListKey("data", "dense", &c.data.dense, "numeric input columns"),
      StringListKey("data", "categorical", &c.data.categorical, "categorical id columns (one embedding each)"),
      StringListKey("data", "multi_valued", &c.data.multi_valued,
                    "multi-valued categorical columns, e.g. genres or title tokens (one pooled embedding each)"),
      StringKey("data", "user_column", &c.data.user_column, {},
                "the categorical column of users: mf's user, two_tower's default user tower, prepare's "
                "last_per_user split and sampled negatives, recommend and ranking evaluation"),
      StringKey("data", "item_column", &c.data.item_column, {},
                "the categorical column of items (mf's item, the item of sampled negatives, recommend, ranking)"),
      IntMapKey("data", "vocab_sizes", &c.data.vocab_sizes, 1,
                "ids per categorical column, for files not written by `ectrain prepare`"),
      IntKey("data", "block_rows", &c.data.block_rows, 1, 1 << 24,
             "rows per block: the unit each rank reads (match the files' chunk rows or a multiple)"),
      IntKey("data", "shuffle_window_blocks", &c.data.shuffle_window_blocks, 1, 1 << 24,
             "blocks shuffled together (>= the number of ranks; >= all blocks: a full shuffle)"),
      IntKey("data", "prefetch_batches", &c.data.prefetch_batches, 2, 1024,
             "batches each rank's reader prepares ahead of training (smaller batches: enough for 512 rows)"),
      BoolKey("data", "in_memory", &c.data.in_memory,
              "decode the training data once at start and hold it in memory on every rank (for data that fits): "
              "no file reading or decompression while training"),
      StringKey("prepare", "source", &c.prepare.source, {},
                "input of `ectrain prepare`: a CSV/TSV file (MovieLens: the ml-100k folder)"),
      StringKey("prepare", "test_source", &c.prepare.test_source, {},
                "optional: a file of test rows already split off (same format), e.g. MovieLens ml-100k/u1.test"),
      StringKey("prepare", "format", &c.prepare.format, {"csv", "criteo", "movielens", "taobao", "libsvm", "libffm"},
                "input layout; all but csv also give default column roles (libsvm, libffm: from the data)"),
      StringKey("prepare", "delimiter", &c.prepare.delimiter, {},
                "field delimiter: one character or \"tab\" (\"\": the format's; csv ',')"),
      StringKey("prepare", "header", &c.prepare.header, {"auto", "true", "false"},
                "whether the first line names the columns (auto: csv yes, criteo detected, others no)"),
      StringListKey("prepare", "columns", &c.prepare.columns,
                    "column names when there is no header; libffm: field names by number (default f0, f1, ...)"),
      StringListKey("prepare", "leading_columns", &c.prepare.leading_columns,
                    "libsvm, libffm: names of the plain values that start each line ([]: [label]; iPinYou's "
                    "train.yzx.txt: [click, payprice])"),
      StringKey("prepare", "feature_index", &c.prepare.feature_index, {},
                "libsvm: a file naming each index's field and value, lines 'field:value<TAB>index' (iPinYou's "
                "featindex.txt) or 'index<TAB>field:value'"),
      IndexRangeMapKey("prepare", "field_ranges", &c.prepare.field_ranges,
                       "libsvm, instead of feature_index: {field: [first, last]}, the indices of each field"),
      StringKey("prepare", "encoding", &c.prepare.encoding, {"utf-8", "latin-1"}, "text encoding of the input"),
      StringKey("prepare", "bad_rows", &c.prepare.bad_rows, {"fail", "skip"},
                "a malformed row: stop with its file, line and column, or skip it (counted, first few shown)"),
      StringKey("prepare", "split", &c.prepare.split, {"random", "time", "last_per_user"},
                "random (per row, from the seed), time (test = the latest test_fraction of rows by time_column) or "
                "last_per_user (test = each user's latest positive row)"),
      StringKey("prepare", "user_column", &c.prepare.user_column, {},
                "the user of each row, for split: last_per_user and sampled negatives"),
      IntKey("prepare", "negatives_per_positive", &c.prepare.negatives_per_positive, 0, 1000,
             "recommendation: label-0 rows per positive training row, each with an item the user never had"),
      StringListKey("prepare", "item_columns", &c.prepare.item_columns,
                    "with negatives: the item column, then the columns that describe the item (copied with it)"),
      StringKey("prepare", "time_column", &c.prepare.time_column, {},
                "time of each row for split: time (number or ISO date)"),
      StringKey("prepare", "label_type", &c.prepare.label_type, {"binary", "regression", "class"},
                "binary (0/1), regression (a number) or class (names -> ids 0..K-1)"),
      StringListKey("prepare", "positive_values", &c.prepare.positive_values,
                    "binary label by rule: 1 when the label text is one of these (e.g. [buy])"),
      OptionalRealKey("prepare", "label_threshold", &c.prepare.label_threshold,
                      "binary label by rule: 1 when the label value is at least this (e.g. 4 for ratings)"),
      StringMapKey("prepare", "separators", &c.prepare.separators,
                   "separator of each multi-valued column, e.g. {genres: \"|\"} (default \"|\")"),
      StringListKey("prepare", "text", &c.prepare.text,
                    "multi-valued columns that are text (titles): lower-cased alphanumeric tokens"),
      IntKey("prepare", "min_count", &c.prepare.min_count, 1, kMaxInt,
             "vocabulary: values seen fewer times in training get id 0"),
      IntMapKey("prepare", "min_count_by_column", &c.prepare.min_count_by_column, 1, "min_count per column"),
      IntKey("prepare", "hash_buckets", &c.prepare.hash_buckets, 0, 2147483647,
             "0: vocabularies; N >= 2: hash categorical and multi-valued values into N ids"),
      IntMapKey("prepare", "hash_buckets_by_column", &c.prepare.hash_buckets_by_column, 0,
                "hash_buckets per column (0: a vocabulary)"),
      StringKey("prepare", "fill", &c.prepare.fill, {},
                "missing dense values: mean, median or a number (training split)"),
      StringMapKey("prepare", "fill_by_column", &c.prepare.fill_by_column, "fill per column"),
      StringKey("prepare", "scale", &c.prepare.scale, {"standard", "minmax", "none"}, "dense scaling (training split)"),
      StringMapKey("prepare", "scale_by_column", &c.prepare.scale_by_column, "scale per column"),
      StringListKey("prepare", "log", &c.prepare.log, "dense columns transformed by sign(x) log1p(|x|) before scaling"),
      StringListKey("prepare", "missing_indicator", &c.prepare.missing_indicator,
                    "dense columns that get a 0/1 column NAME_missing (list it in data.dense)"),
      RealKey("prepare", "test_fraction", &c.prepare.test_fraction, 0.0, true, 0.9,
              "share of rows held out as the test set"),
      RealKey("prepare", "validation_fraction", &c.prepare.validation_fraction, 0.0, false, 0.9,
              "this fraction of all rows, from the non-test rows, goes to data.validation (random, or by time "
              "with split: time: the period just before the test rows); 0: no validation file"),
      IntKey("prepare", "seed", &c.prepare.seed, 0, kMaxInt, "seed of the train/test split"),
      BoolKey("prepare", "drop_duplicates", &c.prepare.drop_duplicates, "drop exact duplicate rows"),
      StringKey("model", "type", &c.model.type, model::ModelTypes(),
                "architecture: logistic, mlp, wide_deep, deepfm, dcn, two_tower, mf or classifier (README: Models)"),
      IntKey("model", "embedding_dim", &c.model.embedding_dim, 1, 4096, "width of each categorical embedding")
          .AppliesTo("model.type", embedded),
      IntListKey("model", "hidden_units", &c.model.hidden_units, 1, 65536,
                 "hidden layer widths (ReLU) of the deep part")
          .AppliesTo("model.type", deep),
      StringKey("model", "loss", &c.model.loss, {"auto", "bce", "mse", "softmax"},
                "auto: follows the labels (bce for 0/1, mse for ratings, softmax for classifier; README: Models); "
                "softmax only for classifier"),
      StringKey("model", "initial_bias", &c.model.initial_bias, {"prior", "zero"},
                "the output's bias at the start: prior (from the training labels: the base rate's log-odds, the "
                "classes' log shares, the mean) or zero"),
      StringKey("model", "bag_pooling", &c.model.bag_pooling, {"mean", "sum"},
                "how a multi-valued field pools its ids' embeddings"),
      RealKey("model", "dropout", &c.model.dropout, 0.0, false, 0.95,
              "share of hidden units dropped in training (inverted dropout; 0: off)")
          .AppliesTo("model.type", layered),
      RealKey("model", "embedding_dropout", &c.model.embedding_dropout, 0.0, false, 0.95,
              "share of the embedding vectors' values dropped in training (inverted dropout; 0: off)")
          .AppliesTo("model.type", id_vectors),
      StringMapKey("model", "parents", &c.model.parents,
                   "hierarchical ids: child column -> parent column, e.g. {item: category}: the child's vector is its "
                   "own plus its parent's, so rare children borrow from the parent")
          .AppliesTo("model.type", id_vectors),
      BoolKey("model", "layer_norm", &c.model.layer_norm, "layer normalisation after each hidden dense layer")
          .AppliesTo("model.type", layered),
      IntKey("model", "cross_layers", &c.model.cross_layers, 1, 64, "cross layers under the deep part")
          .AppliesTo("model.type", {"dcn"}),
      StringKey("model", "interaction", &c.model.interaction, {"concat", "dot"},
                "the deep part's input: concat, or dot (DLRM pairwise dots)")
          .AppliesTo("model.type", {"mlp", "wide_deep", "classifier"}),
      StringListKey("model", "user_fields", &c.model.user_fields,
                    "the user tower's categorical and multi-valued fields")
          .AppliesTo("model.type", {"two_tower"}),
      StringListKey("model", "item_fields", &c.model.item_fields,
                    "the item tower's fields ([]: every field not in user_fields)")
          .AppliesTo("model.type", {"two_tower"}),
      IntListKey("model", "tower_units", &c.model.tower_units, 1, 65536,
                 "each tower's hidden widths, then its output width (the dot product's)")
          .AppliesTo("model.type", {"two_tower"}),
      StringKey("model", "dense_tower", &c.model.dense_tower, {"user", "item"}, "the tower the dense columns feed")
          .AppliesTo("model.type", {"two_tower"}),
      StringKey("model", "user_field", &c.model.user_field, {}, "the user id column (categorical)")
          .AppliesTo("model.type", {"mf"}),
      StringKey("model", "item_field", &c.model.item_field, {}, "the item id column (categorical)")
          .AppliesTo("model.type", {"mf"}),
      IntKey("model", "num_classes", &c.model.num_classes, 2, 1 << 24, "classes; labels are class ids 0..num_classes-1")
          .AppliesTo("model.type", {"classifier"}),
      PositiveRealListKey("model", "class_weights", &c.model.class_weights, "a loss weight per class ([]: all 1)")
          .AppliesTo("model.type", {"classifier"}),
      StringKey("optimizer", "type", &c.optimizer.type, {"sgd", "rmsprop", "adagrad", "adam", "adamw", "ftrl"},
                "optimizer (ftrl: FTRL-Proximal for every tensor, for logistic; see optimizer.wide)"),
      RealKey("optimizer", "learning_rate", &c.optimizer.learning_rate, 0.0, true, 100.0,
              "step size (the peak, after warm-up)"),
      RealKey("optimizer", "beta1", &c.optimizer.beta1, 0.0, false, 0.999999, "first-moment decay")
          .AppliesTo("optimizer.type", {"adam", "adamw"}),
      RealKey("optimizer", "beta2", &c.optimizer.beta2, 0.0, false, 0.999999999, "second-moment decay")
          .AppliesTo("optimizer.type", {"adam", "adamw"}),
      RealKey("optimizer", "epsilon", &c.optimizer.epsilon, 0.0, true, 1.0, "denominator guard")
          .AppliesTo("optimizer.type", {"rmsprop", "adagrad", "adam", "adamw"}),
      RealKey("optimizer", "momentum", &c.optimizer.momentum, 0.0, false, 0.999999, "momentum (0: none)")
          .AppliesTo("optimizer.type", {"sgd"}),
      BoolKey("optimizer", "nesterov", &c.optimizer.nesterov, "Nesterov momentum (needs momentum > 0)")
          .AppliesTo("optimizer.type", {"sgd"}),
      RealKey("optimizer", "rho", &c.optimizer.rho, 0.0, false, 0.999999, "decay of the mean square")
          .AppliesTo("optimizer.type", {"rmsprop"}),
      RealKey("optimizer", "weight_decay", &c.optimizer.weight_decay, 0.0, false, 1.0,
              "decay of dense weights: L2 (decoupled for adamw); biases never decay"),
      RealKey("optimizer", "embedding_weight_decay", &c.optimizer.embedding_weight_decay, 0.0, false, 1.0,
              "decay of embedding tables; a row-sparse row also decays for the steps it was not looked up"),
      RealMapKey("optimizer", "embedding_weight_decay_by_field", &c.optimizer.embedding_weight_decay_by_field, 0.0, 1.0,
                 "embedding_weight_decay per field (column), e.g. {user: 1e-4, item: 1e-5}"),
      StringKey("optimizer", "wide", &c.optimizer.wide, {"same", "ftrl"},
                "the wide part's rule (logistic, wide_deep, deepfm, mf): same (optimizer.type) or ftrl")
          .AppliesTo("optimizer.type", {"sgd", "rmsprop", "adagrad", "adam", "adamw"}),
      RealKey("optimizer", "ftrl_alpha", &c.optimizer.ftrl_alpha, 0.0, true, 100.0,
              "FTRL: alpha of the per-coordinate rate alpha / (beta + sqrt(sum of squared gradients))"),
      RealKey("optimizer", "ftrl_beta", &c.optimizer.ftrl_beta, 0.0, false, 1e6,
              "FTRL: beta (small: the gradients are batch means)"),
      RealKey("optimizer", "ftrl_l1", &c.optimizer.ftrl_l1, 0.0, false, 1e6, "FTRL: L1 strength (weights at 0)"),
      RealKey("optimizer", "ftrl_l2", &c.optimizer.ftrl_l2, 0.0, false, 1e6, "FTRL: L2 strength"),
      RealKey("optimizer", "clip_norm", &c.optimizer.clip_norm, 0.0, false, 1e9,
              "clip the global gradient norm (over all ranks) to this; 0: off"),
      StringKey("optimizer", "schedule", &c.optimizer.schedule, {"constant", "step", "cosine", "plateau"},
                "learning-rate schedule after the warm-up (plateau: multiplied by decay_factor when "
                "checkpoint.keep_best's metric stops improving on the validation rows)"),
      IntKey("optimizer", "warmup_steps", &c.optimizer.warmup_steps, 0, kMaxInt,
             "linear warm-up from 0 over this many steps"),
      IntKey("optimizer", "decay_every_steps", &c.optimizer.decay_every_steps, 1, kMaxInt,
             "multiply the rate by decay_factor every this many steps")
          .AppliesTo("optimizer.schedule", {"step"}),
      RealKey("optimizer", "decay_factor", &c.optimizer.decay_factor, 0.0, false, 1.0,
              "the factor of the step schedule, and of each plateau")
          .AppliesTo("optimizer.schedule", {"step", "plateau"}),
      IntKey("optimizer", "plateau_patience", &c.optimizer.plateau_patience, 1, 1000000,
             "evaluations without improvement of checkpoint.keep_best's metric that make a plateau")
          .AppliesTo("optimizer.schedule", {"plateau"}),
      RealKey("optimizer", "min_learning_rate", &c.optimizer.min_learning_rate, 0.0, false, 100.0,
              "the rate at the last step (cosine), the floor (plateau)")
          .AppliesTo("optimizer.schedule", {"cosine", "plateau"}),
      IntKey("optimizer", "scale_with_batch", &c.optimizer.scale_with_batch, 0, 1 << 24,
             "if > 0: learning_rate is for this global batch and scales linearly with train.global_batch_size"),
      IntKey("train", "epochs", &c.train.epochs, 1, 1000000, "passes over the training data"),
      IntKey("train", "global_batch_size", &c.train.global_batch_size, 1, 1 << 24,
             "rows per step summed over all ranks"),
      IntKey("train", "seed", &c.train.seed, 0, kMaxInt, "seed of initialisation and data order"),
      StringKey("train", "output_dir", &c.train.output_dir, {}, "where the config, metrics and checkpoints go"),
      IntKey("train", "log_every_steps", &c.train.log_every_steps, 1, kMaxInt,
             "a `step` line in metrics.jsonl every N steps, and a log line where train.progress is lines"),
      StringKey("train", "progress", &c.train.progress, {"auto", "live", "lines"},
                "live: a progress bar (percent, steps, loss, ETA, samples/s) redrawn in place on the terminal; "
                "lines: a log line every log_every_steps (for files and pipes); auto: live where rank 0's log "
                "reaches a terminal (also through mpirun on its host)"),
      IntKey("train", "max_steps", &c.train.max_steps, 0, kMaxInt, "stop after this many steps (0: no limit)"),
      IntKey("train", "accumulation_steps", &c.train.accumulation_steps, 1, 65536,
             "micro-batches per optimizer step: the rank's share of the global batch is split this many ways"),
      StringKey("train", "on_nan", &c.train.on_nan, {"stop", "skip"},
                "a non-finite loss on any rank: stop the job, or skip that step on all ranks"),
      IntKey("train", "verify_every_steps", &c.train.verify_every_steps, 0, kMaxInt,
             "every N steps check that all ranks hold bitwise the same parameters (0: off)"),
      StringKey("train", "device", &c.train.device, {"auto", "cpu", "cuda", "simulated"},
                "where each rank computes: auto (a GPU where the build has CUDA and one is visible), cpu, cuda "
                "(one GPU per rank), or simulated (CPU kernels on memory only they touch: checks the GPU path)"),
      BoolKey("train", "tensorboard", &c.train.tensorboard,
              "also write metrics.jsonl's values (losses, learning rate, throughput, evaluations) and the "
              "configuration as TensorBoard event files in <train.output_dir>/tensorboard (tensorboard --logdir "
              "<train.output_dir>)"),
      IntKey("eval", "every_epochs", &c.eval.every_epochs, 0, 1000000, "evaluate every N epochs (0: at the end)"),
      IntKey("eval", "batch_size", &c.eval.batch_size, 1, 1 << 24, "rows per evaluation forward pass"),
      IntKey("eval", "early_stopping_patience", &c.eval.early_stopping_patience, 0, 1000000,
             "stop when checkpoint.keep_best's metric has not improved for N evaluations (0: never)"),
      StringKey("eval", "metrics", &c.eval.metrics, {"auto", "per_row", "ranking"},
                "per_row (auc, log_loss, ..., rmse), ranking (hr@K, ndcg@K, recall@K of held-out items, needs "
                "data.user_column and data.item_column) or auto (ranking when those are named, the labels are 0/1 "
                "and every evaluated row is positive)"),
      IntKey("eval", "ranking_k", &c.eval.ranking_k, 1, 100000, "K of the ranking metrics (hr@K, ndcg@K, recall@K)"),
      StringKey("checkpoint", "dir", &c.checkpoint.dir, {},
                "checkpoint folder (default <train.output_dir>/checkpoints)"),
      IntKey("checkpoint", "every_steps", &c.checkpoint.every_steps, 0, kMaxInt,
             "also checkpoint every N steps (0: only at the end)"),
      RealKey("checkpoint", "every_minutes", &c.checkpoint.every_minutes, 0.0, false, 1e6,
              "also checkpoint when this many minutes have passed (0: off)"),
      IntKey("checkpoint", "keep_last", &c.checkpoint.keep_last, 1, 1000000, "newest checkpoints kept on disk"),
      StringKey("checkpoint", "keep_best", &c.checkpoint.keep_best, {},
                "also keep the checkpoint best by this validation metric: auc, log_loss, accuracy, precision, "
                "recall, f1, macro_f1, rmse, mae, or with ranking hr@K, ndcg@K, recall@K (K: eval.ranking_k) "
                "(\"\": off)"),
      StringKey("comm", "backend", &c.comm.backend, {"auto", "local", "mpi"},
                "auto: MPI when started by mpirun/srun, else a single local rank"),
      BoolKey("comm", "sparse_embeddings", &c.comm.sparse_embeddings,
              "exchange and update large embedding tables by the rows a step touched"),
      BoolKey("comm", "host_shared_memory", &c.comm.host_shared_memory,
              "when every rank runs on one host, collectives go through memory the ranks share instead of MPI "
              "messages (where /dev/shm has room; else a warning and messages)"),
      BoolKey("comm", "host_shared_model", &c.comm.host_shared_model,
              "when every rank runs on one host, the ranks hold one copy of the parameters and optimizer state in "
              "memory they share, and each updates its own part of it (where /dev/shm has room; else a warning and "
              "a copy per rank)"),
      RealKey("comm", "bucket_mb", &c.comm.bucket_mb, 0.0, false, 4096.0,
              "size of the gradient all-reduce buckets started during backward (0: one all-reduce after it)"),
      RealKey("comm", "timeout_seconds", &c.comm.timeout_seconds, 0.0, true, 1e7,
              "a collective waiting longer than this ends the job with a message (stall watchdog)"),
  };
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<std::string> SectionNames(const std::vector<Key>& keys) {
  std::vector<std::string> sections;
  for (const auto& k : keys) {
    if (std::find(sections.begin(), sections.end(), k.section) == sections.end()) sections.push_back(k.section);
  }
  return sections;
}

std::vector<std::string> KeyNames(const std::vector<Key>& keys, const std::string& section) {
  std::vector<std::string> names;
  for (const auto& k : keys) {
    if (k.section == section) names.push_back(k.name);
  }
  return names;
}

const Key* FindKey(const std::vector<Key>& keys, const std::string& section, const std::string& name) {
  for (const auto& k : keys) {
    if (k.section == section && k.name == name) return &k;
  }
  return nullptr;
}

const Key* FindPath(const std::vector<Key>& keys, const std::string& path) {
  for (const auto& k : keys) {
    if (k.path() == path) return &k;
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Whether `key` applies to the choices the config bound to `keys` has made.
bool Applies(const std::vector<Key>& keys, const Key& key) {
  if (!key.applies) return true;
  const Applicability& a = *key.applies;
  const Key* choice = FindPath(keys, a.choice);
  // The table's own consistency: a wrong entry fails every run and test at once.
  CHECK(choice != nullptr && choice->text && !choice->choices.empty())
      << key.path() << " applies to choices of '" << a.choice << "', which is not a key with a list of choices";
  for (const auto& value : a.values) {
    CHECK(Contains(choice->choices, value)) << key.path() << ": '" << value << "' is not a choice of " << a.choice;
  }
  return Contains(a.values, choice->text());
}

// The keys the user wrote (`given`: paths) that do not apply to the config's choices, all in one
// error, each with the choice it depends on.
Status CheckApplicable(const std::vector<Key>& keys, const std::set<std::string>& given, const std::string& source) {
  std::vector<std::string> items, choices;
  for (const auto& k : keys) {
    if (!given.count(k.path()) || Applies(keys, k)) continue;
    const Applicability& a = *k.applies;
    const Key* choice = FindPath(keys, a.choice);
    items.push_back(k.path() + " (only for " + a.choice + " " + JoinNames(a.values) + "; here " + a.choice + " is " +
                    choice->text() + ")");
    if (!Contains(choices, a.choice)) choices.push_back(a.choice);
  }
  if (items.empty()) return Status::Ok();
  std::string change;
  for (size_t i = 0; i < choices.size(); ++i) change += (i == 0 ? "" : " or ") + choices[i];
  return InvalidArgument(source + ": " + (items.size() == 1 ? "a key that does not" : "keys that do not") +
                         " apply to this configuration: " + JoinNames(items) + ". Remove " +
                         (items.size() == 1 ? "it" : "them") + ", or change " + change);
}

Status CheckSection(const std::vector<Key>& keys, const std::string& section, const std::string& where) {
  auto sections = SectionNames(keys);
  if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
    return InvalidArgument(where + "unknown section '" + section + "'; sections are: " + JoinNames(sections));
  }
  return Status::Ok();
}

Status CheckKeyPath(const std::vector<Key>& keys, const std::string& section, const std::string& name,
                    const std::string& where) {
  RETURN_IF_ERROR(CheckSection(keys, section, where));
  if (FindKey(keys, section, name) == nullptr) {
    return InvalidArgument(where + "unknown key '" + section + "." + name + "'; keys of '" + section +
                           "' are: " + JoinNames(KeyNames(keys, section)));
  }
  return Status::Ok();
}

// Sets the key an override names in `root`; returns its path.
StatusOr<std::string> ApplyOverride(YAML::Node& root, const std::vector<Key>& keys, const std::string& override_text) {
  const std::string where = "--set " + override_text + ": ";
  size_t eq = override_text.find('=');
  size_t dot = override_text.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    return InvalidArgument(where + "expected section.key=value, for example train.epochs=5");
  }
  std::string section = override_text.substr(0, dot);
  std::string name = override_text.substr(dot + 1, eq - dot - 1);
  RETURN_IF_ERROR(CheckKeyPath(keys, section, name, where));
  YAML::Node value;
  try {
    value = YAML::Load(override_text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(where + "the value is not valid YAML: " + e.msg);
  }
  if (!root[section] || !root[section].IsMap()) root[section] = YAML::Node(YAML::NodeType::Map);
  root[section][name] = value;
  return section + "." + name;
}

// data.user_column and data.item_column stand in for the model's and prepare's own keys where
// those are not given; a key naming another column is an error.
Status TakeDataRoles(RunConfig& c, const std::string& source) {
  // Columns of data.categorical where the config names its columns (else a format's defaults,
  // which prepare checks).
  if (!c.data.dense.empty() || !c.data.categorical.empty() || !c.data.multi_valued.empty()) {
    if (Status roles = data::CheckDataRoles(c.data); !roles.ok())
      return InvalidArgument(source + ": " + roles.message());
  }
  Status roles = model::TakeDataRoles(c.model, c.data.user_column, c.data.item_column);
  if (roles.ok()) roles = prep::TakeDataRoles(c.prepare, c.data.user_column, c.data.item_column);
  if (!roles.ok()) return InvalidArgument(source + ": " + roles.message());
  return Status::Ok();
}

// checkpoint.keep_best names a metric the evaluations report: a per-row one, or a ranking one at
// eval.ranking_k (the name as the log and metrics.jsonl write it, e.g. ndcg@10).
Status CheckKeepBest(const RunConfig& c, const std::string& source) {
  const std::string& name = c.checkpoint.keep_best;
  if (name.empty()) return Status::Ok();
  static const std::vector<std::string> per_row = {"auc", "log_loss", "accuracy", "precision", "recall",
                                                   "f1",  "macro_f1", "rmse",     "mae"};
  const std::string k = std::to_string(c.eval.ranking_k);
  const std::string where = source + ": checkpoint.keep_best: '" + name + "'";
  if (std::find(per_row.begin(), per_row.end(), name) != per_row.end()) {
    if (c.eval.metrics != "ranking") return Status::Ok();
    return InvalidArgument(where + " is not a ranking metric, and eval.metrics is ranking; use hr@" + k + ", ndcg@" +
                           k + " or recall@" + k);
  }
  const size_t at = name.find('@');
  const std::string metric = name.substr(0, at);
  if (metric != "hr" && metric != "ndcg" && (metric != "recall" || at == std::string::npos)) {
    return InvalidArgument(where + " is not allowed; allowed: auc, log_loss, accuracy, precision, recall, f1, " +
                           "macro_f1, rmse, mae, or with ranking hr@" + k + ", ndcg@" + k + ", recall@" + k);
  }
  if (name != metric + "@" + k) {
    return InvalidArgument(where + ": the ranking metrics are reported at eval.ranking_k " + k + ", as " + metric +
                           "@" + k + "; name that (or set eval.ranking_k)");
  }
  if (c.eval.metrics == "per_row") {
    return InvalidArgument(where +
                           " is a ranking metric, and eval.metrics is per_row; set eval.metrics to ranking "
                           "or auto, or choose a per-row metric");
  }
  if (c.data.user_column.empty() || c.data.item_column.empty()) {
    return InvalidArgument(where +
                           " is a ranking metric, which needs data.user_column and data.item_column (the "
                           "users whose held-out items are ranked, and the items)");
  }
  return Status::Ok();
}

// What a ranking evaluation needs.
Status CheckRanking(const RunConfig& c, const std::string& source) {
  if (c.eval.metrics == "ranking" && (c.data.user_column.empty() || c.data.item_column.empty())) {
    return InvalidArgument(source + ": eval.metrics: ranking needs data.user_column and data.item_column (the " +
                           "users whose held-out items are ranked, and the items)");
  }
  if (c.eval.metrics == "ranking" && c.model.type == "classifier") {
    return InvalidArgument(source +
                           ": eval.metrics: ranking ranks items by one score; a classifier has one per "
                           "class (use per_row or auto)");
  }
  return CheckKeepBest(c, source);
}

Status CrossCheck(const RunConfig& c, const std::string& source) {
  if (c.eval.early_stopping_patience > 0 && c.checkpoint.keep_best.empty()) {
    return InvalidArgument(source +
                           ": eval.early_stopping_patience needs checkpoint.keep_best: the validation metric to "
                           "watch (e.g. auc, log_loss, rmse, accuracy, ndcg@10)");
  }
  if (c.optimizer.schedule == "plateau" && c.checkpoint.keep_best.empty()) {
    return InvalidArgument(source +
                           ": optimizer.schedule: plateau needs checkpoint.keep_best: the metric to watch on the "
                           "validation rows (e.g. log_loss, auc, rmse)");
  }
  if (c.optimizer.nesterov && (c.optimizer.type != "sgd" || c.optimizer.momentum <= 0)) {
    return InvalidArgument(source + ": optimizer.nesterov needs optimizer.type: sgd and optimizer.momentum > 0");
  }
  if (c.optimizer.schedule == "cosine" && c.optimizer.min_learning_rate > c.optimizer.learning_rate) {
    return InvalidArgument(source + ": optimizer.min_learning_rate is above optimizer.learning_rate; lower it");
  }
  if (c.prepare.delimiter.size() > 1 && c.prepare.delimiter != "tab" && c.prepare.delimiter != "\\t") {
    return InvalidArgument(source + ": prepare.delimiter: must be one character or \"tab\", got '" +
                           c.prepare.delimiter + "'");
  }
  std::set<std::string> used;
  if (!c.data.label.empty()) used.insert(c.data.label);
  for (const auto* list : {&c.data.dense, &c.data.categorical, &c.data.multi_valued}) {
    for (const auto& name : *list) {
      if (!used.insert(name).second) {
        return InvalidArgument(source + ": data: column '" + name +
                               "' is given more than one role (label, dense, categorical, multi_valued); give it one");
      }
    }
  }
  for (const auto& [name, size] : c.data.vocab_sizes) {
    if (std::find(c.data.categorical.begin(), c.data.categorical.end(), name) == c.data.categorical.end() &&
        std::find(c.data.multi_valued.begin(), c.data.multi_valued.end(), name) == c.data.multi_valued.end()) {
      return InvalidArgument(source + ": data.vocab_sizes." + name + ": '" + name +
                             "' is not one of data.categorical or data.multi_valued");
    }
  }
  const bool fields_named = !c.data.categorical.empty() || !c.data.multi_valued.empty();
  for (const auto& [name, decay] : c.optimizer.embedding_weight_decay_by_field) {
    if (fields_named &&
        std::find(c.data.categorical.begin(), c.data.categorical.end(), name) == c.data.categorical.end() &&
        std::find(c.data.multi_valued.begin(), c.data.multi_valued.end(), name) == c.data.multi_valued.end()) {
      return InvalidArgument(source + ": optimizer.embedding_weight_decay_by_field." + name + ": '" + name +
                             "' is not one of data.categorical or data.multi_valued");
    }
  }
  RETURN_IF_ERROR(CheckRanking(c, source));
  if (Status options = model::CheckModelOptions(c.model); !options.ok()) {
    return InvalidArgument(source + ": " + options.message());
  }
  // Fields are checked here only when the config names them; otherwise (a format's default
  // columns) CreateModel checks them against the data's schema.
  if (!c.data.categorical.empty() || !c.data.multi_valued.empty()) {
    if (Status fields = model::CheckModelFields(c.model, c.data.categorical, c.data.multi_valued); !fields.ok()) {
      return InvalidArgument(source + ": " + fields.message());
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<RunConfig> ParseConfig(const std::string& yaml_text, const std::vector<std::string>& overrides,
                                const std::string& source_name, ConfigOrigin origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source_name + ": not valid YAML (line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + "): " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return InvalidArgument(source_name + ": the top level must be a mapping of sections");

  RunConfig config;
  std::vector<Key> keys = Keys(config);
  std::set<std::string> given;  // the keys the user wrote: only these must apply to the config's choices
  for (const auto& o : overrides) {
    ASSIGN_OR_RETURN(std::string path, ApplyOverride(root, keys, o));
    given.insert(path);
  }

  for (const auto& section_item : root) {
    std::string section = section_item.first.Scalar();
    RETURN_IF_ERROR(CheckSection(keys, section, source_name + ": "));
    if (section_item.second.IsNull()) continue;
    if (!section_item.second.IsMap()) {
      return InvalidArgument(source_name + ": " + section + ": expected a mapping of keys");
    }
    for (const auto& item : section_item.second) {
      std::string name = item.first.Scalar();
      RETURN_IF_ERROR(CheckKeyPath(keys, section, name, source_name + ": "));
      const Key* key = FindKey(keys, section, name);
      if (origin == ConfigOrigin::kUser) given.insert(key->path());
      try {
        RETURN_IF_ERROR(key->parse(item.second, source_name + ": " + key->path()));
      } catch (const YAML::Exception& e) {
        return InvalidArgument(source_name + ": " + key->path() + ": " + e.msg);
      }
    }
  }
  RETURN_IF_ERROR(TakeDataRoles(config, source_name));
  RETURN_IF_ERROR(CheckApplicable(keys, given, source_name));
  RETURN_IF_ERROR(CrossCheck(config, source_name));
  // The model's loss decides what the reader accepts as labels; auto (but the classifier's) follows
  // what the data holds, and the type's default where the data does not say (data::ResolveSchema).
  const std::string loss = model::ResolvedLoss(config.model);
  const std::string label_type = loss == "softmax" ? "class" : loss == "mse" ? "regression" : "binary";
  const bool follow_data = config.model.loss == "auto" && loss != "softmax";
  config.data.label_type = follow_data ? "auto" : label_type;
  config.data.label_type_otherwise = label_type;
  config.data.num_classes = loss == "softmax" ? config.model.num_classes : 0;
  return config;
}

StatusOr<RunConfig> LoadConfig(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("config file '" + path + "' cannot be read: check the path");
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), overrides, path);
}

namespace {
Status RequireText(const std::string& value, const std::string& key, const std::string& source,
                   const std::string& purpose) {
  if (value.empty()) return InvalidArgument(source + ": " + key + " is required (" + purpose + ")");
  return Status::Ok();
}

Status RequireInputColumns(const RunConfig& c, const std::string& source) {
  if (c.data.dense.empty() && c.data.categorical.empty() && c.data.multi_valued.empty()) {
    return InvalidArgument(source +
                           ": data.dense, data.categorical and data.multi_valued are all empty; name the "
                           "input columns");
  }
  return Status::Ok();
}
}  // namespace

Status CheckTrainingInputs(const RunConfig& c, const std::string& source) {
  RETURN_IF_ERROR(RequireText(c.data.train, "data.train", source, "the training HDF5 file"));
  RETURN_IF_ERROR(RequireText(c.data.test, "data.test", source, "the test HDF5 file rank 0 evaluates"));
  RETURN_IF_ERROR(RequireText(c.data.label, "data.label", source, "the label column"));
  // Choosing on the test rows would make the test figures optimistic.
  if (c.data.validation.empty() && (!c.checkpoint.keep_best.empty() || c.eval.early_stopping_patience > 0)) {
    return InvalidArgument(
        source + ": " + (c.checkpoint.keep_best.empty() ? "eval.early_stopping_patience" : "checkpoint.keep_best") +
        " chooses on the validation rows, and data.validation is empty: set prepare.validation_fraction and "
        "data.validation and run prepare again (or name a validation file), so that the test rows stay unseen");
  }
  return RequireInputColumns(c, source);
}

Status CheckPrepareInputs(const RunConfig& c, const std::string& source) {
  RETURN_IF_ERROR(RequireText(c.prepare.source, "prepare.source", source, "the file to convert"));
  RETURN_IF_ERROR(RequireText(c.data.train, "data.train", source, "the training HDF5 file to write"));
  RETURN_IF_ERROR(RequireText(c.data.test, "data.test", source, "the test HDF5 file to write"));
  // criteo, movielens, taobao, libsvm and libffm give default roles; a generic CSV needs them named.
  if (c.prepare.format != "csv") return Status::Ok();
  RETURN_IF_ERROR(RequireText(c.data.label, "data.label", source, "the label column"));
  return RequireInputColumns(c, source);
}

std::string ToYaml(const RunConfig& config) {
  RunConfig copy = config;  // Keys() binds mutable pointers; printing does not change them
  std::vector<Key> keys = Keys(copy);
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& section : SectionNames(keys)) {
    out << YAML::Key << section << YAML::Value << YAML::BeginMap;
    for (const auto& k : keys) {
      if (k.section != section || !Applies(keys, k)) continue;
      out << YAML::Key << k.name << YAML::Value;
      k.emit(out);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string DescribeKeys() {
  RunConfig defaults;
  std::vector<Key> keys = Keys(defaults);
  std::string out;
  for (const auto& k : keys) {
    YAML::Emitter value;
    k.emit(value);
    std::string line = "  " + k.path();
    line.resize(std::max<size_t>(line.size() + 1, 30), ' ');
    std::string shown = value.c_str();
    line += shown;
    line.resize(std::max<size_t>(line.size() + 1, 46), ' ');
    std::string only;
    if (k.applies) only = " (only for " + k.applies->choice + " " + JoinNames(k.applies->values) + ")";
    out += line + k.help + only + "\n";
  }
  return out;
}

}  // namespace ectrain::config
