// Row sources for `ectrain prepare`: every input layout (a generic CSV/TSV, Criteo, MovieLens
// 100K and 1M, Taobao UserBehavior, libSVM and libFFM) is read as a stream of raw rows of named
// text fields, so one preprocessing pipeline serves them all. Sources stream their main file (MovieLens keeps its
// small user and item tables in memory). One source per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace ectrain::prep {

// One raw row; the views are valid until the next call to Next().
struct RawRow {
  std::vector<std::string_view> fields;  // parallel to RowSource::columns()
  int64_t line = 0;                      // where the row starts in RowSource::file()
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual const std::vector<std::string>& columns() const = 0;
  // The file that row lines refer to (for errors).
  virtual const std::string& file() const = 0;
  // The next row; false at the end. A malformed row is a DataError naming file:line and column;
  // reading can go on after it (prepare's `bad_rows: skip`), and every pass sees the same rows
  // and the same errors in the same order.
  virtual StatusOr<bool> Next(RawRow& row) = 0;
  virtual Status Rewind() = 0;
  virtual int64_t bytes_read() const = 0;
  virtual int64_t total_bytes() const = 0;
  // True while the rows come from a given test file (prepare.test_source; see ConcatRowSource).
  virtual bool in_test_part() const { return false; }
};

// libsvm and libffm (sparse_source.h): what starts each line, how feature indices map to named
// fields, and each field's role, which decides the text of its column.
struct SparseOptions {
  std::vector<std::string> leading_columns = {"label"};  // plain values before the features
  std::string feature_index;                             // libsvm: "field:value<TAB>index" lines
  struct Range {
    std::string field;
    int64_t first = 0, last = 0;  // indices, both included
  };
  std::vector<Range> field_ranges;  // libsvm, instead of feature_index
  // Roles: a dense field's column is its feature's value; a categorical one's the name of its
  // one feature (value 1); a multi-valued one's the names joined by its separator ("|" unless
  // given). Any other field's column carries its tokens as they are (for duplicate detection).
  std::vector<std::string> dense, categorical, multi_valued;
  std::map<std::string, std::string> separators;
  std::string binary_label;  // this leading column is a 0/1 label: its -1 becomes 0
};

struct SourceOptions {
  std::string format = "csv";        // csv, criteo, movielens, taobao, libsvm, libffm
  std::string path;                  // the file (MovieLens: the ml-100k or ml-1m folder, or its ratings file)
  char delimiter = 0;                // 0: the format's (csv ',', criteo detected, taobao ',')
  int header = -1;                   // -1: the format's (csv yes, criteo detected, others no); 0 no; 1 yes
  std::vector<std::string> columns;  // names when there is no header (csv, taobao); libffm: field names by number
  bool latin1 = false;               // csv: the file is Latin-1 (MovieLens always is)
  SparseOptions sparse;              // libsvm, libffm
};

StatusOr<std::unique_ptr<RowSource>> OpenRowSource(const SourceOptions& options);

// The rows of `train` then those of `test` (the same format and columns), for data that comes
// already split (MovieLens' u1.base/u1.test): in_test_part() tells which part a row is from.
StatusOr<std::unique_ptr<RowSource>> ConcatRowSource(std::unique_ptr<RowSource> train, std::unique_ptr<RowSource> test);

// The roles a format gives its columns when none are named.
struct FormatRoles {
  std::string label;
  std::vector<std::string> dense, categorical, multi_valued;
  std::map<std::string, std::string> separators;
  std::vector<std::string> positive_values;
};
// Empty for "csv" (a generic CSV has no default roles); libsvm's and libffm's depend on the data
// (SurveySparseFiles).
FormatRoles DefaultRoles(const std::string& format);

// The formats OpenRowSource accepts, for messages.
inline constexpr char kFormats[] = "csv, criteo, movielens, taobao, libsvm, libffm";

}  // namespace ectrain::prep
