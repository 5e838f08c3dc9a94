#include "data/importers.h"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "data/csv.h"

namespace ectrain::data {
namespace {

namespace fs = std::filesystem;

// A CSV file as rows: the generic format, and Criteo and Taobao with their column names.
class CsvSource : public RowSource {
 public:
  explicit CsvSource(CsvReader reader) : reader_(std::move(reader)) {}
  const std::vector<std::string>& columns() const override { return reader_.header(); }
  const std::string& file() const override { return reader_.path(); }
  StatusOr<bool> Next(RawRow& row) override {
    ASSIGN_OR_RETURN(const bool found, reader_.Next(record_));
    if (!found) return false;
    row.line = record_.line;
    row.fields.resize(record_.size());
    for (size_t i = 0; i < record_.size(); ++i) row.fields[i] = record_[i];
    return true;
  }
  Status Rewind() override { return reader_.Rewind(); }
  int64_t bytes_read() const override { return reader_.bytes_read(); }
  int64_t total_bytes() const override { return reader_.file_bytes(); }

 private:
  CsvReader reader_;
  CsvRecord record_;
};

std::vector<std::string> CriteoColumns() {
  std::vector<std::string> names = {"label"};
  for (int i = 1; i <= 13; ++i) names.push_back("I" + std::to_string(i));
  for (int i = 1; i <= 26; ++i) names.push_back("C" + std::to_string(i));
  return names;
}

bool IsNumber(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

// The released Criteo files are tab-separated without a header; copies such as DeepCTR's are
// comma-separated with one. The first line tells which: a tab, and a first field that is a number.
Status DetectCriteoLayout(const std::string& path, char& delimiter, bool& header) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("Criteo file '" + path + "' not found");
  std::string line;
  std::getline(in, line);
  if (line.empty()) return DataError("Criteo file '" + path + "' is empty");
  if (delimiter == 0) delimiter = line.find('\t') != std::string::npos ? '\t' : ',';
  const std::string first = line.substr(0, line.find(delimiter));
  header = !IsNumber(first);
  return Status::Ok();
}

StatusOr<std::unique_ptr<RowSource>> OpenCsvLike(const SourceOptions& options) {
  CsvOptions csv;
  csv.latin1 = options.latin1;
  if (options.format == "criteo") {
    char delimiter = options.delimiter;
    bool header = options.header == 1;
    if (options.delimiter == 0 || options.header < 0) {
      bool detected_header = false;
      RETURN_IF_ERROR(DetectCriteoLayout(options.path, delimiter, detected_header));
      if (options.header < 0) header = detected_header;
    }
    csv.delimiter = delimiter;
    csv.header = header;
    if (!header) csv.columns = options.columns.empty() ? CriteoColumns() : options.columns;
  } else if (options.format == "taobao") {
    csv.delimiter = options.delimiter == 0 ? ',' : options.delimiter;
    csv.header = options.header == 1;
    if (!csv.header) {
      csv.columns = options.columns.empty()
                        ? std::vector<std::string>{"user_id", "item_id", "category_id", "behavior_type", "timestamp"}
                        : options.columns;
    }
  } else {
    csv.delimiter = options.delimiter == 0 ? ',' : options.delimiter;
    csv.header = options.header != 0;
    if (!csv.header && options.columns.empty()) {
      return InvalidArgument("'" + options.path +
                             "' has no header (prepare.header: false), so name its columns in prepare.columns");
    }
    csv.columns = options.columns;
  }
  ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(options.path, csv));
  return std::unique_ptr<RowSource>(new CsvSource(std::move(reader)));
}

// MovieLens 100K: the ratings of u.data (user, item, rating, time; tab-separated) joined with
// the users of u.user and the movies of u.item ('|'-separated, Latin-1). The 19 genre flags of
// u.item become one multi-valued field "genres" ("Action|Comedy"), named by u.genre.
class MovieLensSource : public RowSource {
 public:
  static StatusOr<std::unique_ptr<RowSource>> Open(const std::string& path) {
    const fs::path folder = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
    const std::string ratings = fs::is_directory(path) ? (folder / "u.data").string() : path;
    auto source = std::unique_ptr<MovieLensSource>(new MovieLensSource());
    RETURN_IF_ERROR(source->LoadGenres((folder / "u.genre").string()));
    RETURN_IF_ERROR(source->LoadUsers((folder / "u.user").string()));
    RETURN_IF_ERROR(source->LoadItems((folder / "u.item").string()));
    CsvOptions options;
    options.delimiter = '\t';
    options.header = false;
    options.columns = {"user_id", "item_id", "rating", "timestamp"};
    ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(ratings, options));
    source->ratings_ = std::make_unique<CsvReader>(std::move(reader));
    return std::unique_ptr<RowSource>(std::move(source));
  }

  const std::vector<std::string>& columns() const override { return columns_; }
  const std::string& file() const override { return ratings_->path(); }
  int64_t bytes_read() const override { return ratings_->bytes_read(); }
  int64_t total_bytes() const override { return ratings_->file_bytes(); }
  Status Rewind() override { return ratings_->Rewind(); }

  StatusOr<bool> Next(RawRow& row) override {
    ASSIGN_OR_RETURN(const bool found, ratings_->Next(record_));
    if (!found) return false;
    row.line = record_.line;
    auto user = users_.find(std::string(record_[0]));
    if (user == users_.end()) {
      return DataError(file() + ":" + std::to_string(record_.line) + " column 'user_id': user '" +
                       std::string(record_[0]) + "' is not in u.user");
    }
    auto item = items_.find(std::string(record_[1]));
    if (item == items_.end()) {
      return DataError(file() + ":" + std::to_string(record_.line) + " column 'item_id': item '" +
                       std::string(record_[1]) + "' is not in u.item");
    }
    row.fields.clear();
    for (size_t i = 0; i < 4; ++i) row.fields.push_back(record_[i]);
    for (const std::string& f : user->second) row.fields.push_back(f);
    for (const std::string& f : item->second) row.fields.push_back(f);
    return true;
  }

 private:
  MovieLensSource() {
    columns_ = {"user_id", "item_id", "rating", "timestamp", "age", "gender", "occupation", "zip",
                "title", "release_date", "release_year", "genres"};
  }

  Status LoadGenres(const std::string& path) {
    CsvOptions options;
    options.delimiter = '|';
    options.header = false;
    ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(path, options));
    CsvRecord record;
    while (true) {
      ASSIGN_OR_RETURN(const bool found, reader.Next(record));
      if (!found) break;
      if (record.size() != 2) {
        return DataError(path + ":" + std::to_string(record.line) + ": expected 'name|index'");
      }
      genres_.emplace_back(record[0]);
    }
    return Status::Ok();
  }

  Status LoadUsers(const std::string& path) {
    CsvOptions options;
    options.delimiter = '|';
    options.header = false;
    options.latin1 = true;
    options.columns = {"user_id", "age", "gender", "occupation", "zip"};
    ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(path, options));
    CsvRecord record;
    while (true) {
      ASSIGN_OR_RETURN(const bool found, reader.Next(record));
      if (!found) break;
      users_[std::string(record[0])] = {std::string(record[1]), std::string(record[2]), std::string(record[3]),
                                        std::string(record[4])};
    }
    return Status::Ok();
  }

  Status LoadItems(const std::string& path) {
    CsvOptions options;
    options.delimiter = '|';
    options.header = false;
    options.latin1 = true;
    options.columns = {"item_id", "title", "release_date", "video_release_date", "imdb_url"};
    for (const std::string& genre : genres_) options.columns.push_back(genre);
    ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(path, options));
    CsvRecord record;
    while (true) {
      ASSIGN_OR_RETURN(const bool found, reader.Next(record));
      if (!found) break;
      std::string genres;
      for (size_t g = 0; g < genres_.size(); ++g) {
        const std::string_view flag = record[5 + g];
        if (flag != "0" && flag != "1") {
          return DataError(path + ":" + std::to_string(record.line) + " column '" + genres_[g] +
                           "': genre flag '" + std::string(flag) + "' is not 0 or 1");
        }
        if (flag == "1") genres += (genres.empty() ? "" : "|") + genres_[g];
      }
      const std::string date(record[2]);  // "01-Jan-1995"
      const std::string year = date.size() >= 4 ? date.substr(date.size() - 4) : "";
      items_[std::string(record[0])] = {std::string(record[1]), date, IsNumber(year) ? year : "", genres};
    }
    return Status::Ok();
  }

  std::vector<std::string> columns_;
  std::vector<std::string> genres_;
  std::unordered_map<std::string, std::vector<std::string>> users_;  // age, gender, occupation, zip
  std::unordered_map<std::string, std::vector<std::string>> items_;  // title, date, year, genres
  std::unique_ptr<CsvReader> ratings_;
  CsvRecord record_;
};

}  // namespace

StatusOr<std::unique_ptr<RowSource>> OpenRowSource(const SourceOptions& options) {
  if (options.format == "movielens") return MovieLensSource::Open(options.path);
  if (options.format == "csv" || options.format == "criteo" || options.format == "taobao") {
    return OpenCsvLike(options);
  }
  return InvalidArgument("prepare.format: '" + options.format + "' is not a format; formats are: " + kFormats);
}

namespace {
class ConcatSource : public RowSource {
 public:
  ConcatSource(std::unique_ptr<RowSource> train, std::unique_ptr<RowSource> test)
      : train_(std::move(train)), test_(std::move(test)) {}
  const std::vector<std::string>& columns() const override { return train_->columns(); }
  const std::string& file() const override { return in_test_ ? test_->file() : train_->file(); }
  StatusOr<bool> Next(RawRow& row) override {
    if (!in_test_) {
      StatusOr<bool> next = train_->Next(row);
      if (!next.ok() || *next) return next;
      in_test_ = true;
    }
    return test_->Next(row);
  }
  Status Rewind() override {
    in_test_ = false;
    RETURN_IF_ERROR(train_->Rewind());
    return test_->Rewind();
  }
  int64_t bytes_read() const override { return train_->bytes_read() + test_->bytes_read(); }
  int64_t total_bytes() const override { return train_->total_bytes() + test_->total_bytes(); }
  bool in_test_part() const override { return in_test_; }

 private:
  std::unique_ptr<RowSource> train_, test_;
  bool in_test_ = false;
};
}  // namespace

StatusOr<std::unique_ptr<RowSource>> ConcatRowSource(std::unique_ptr<RowSource> train,
                                                     std::unique_ptr<RowSource> test) {
  if (train->columns() != test->columns()) {
    return DataError("prepare.test_source: '" + test->file() + "' does not have the columns of '" + train->file() +
                     "'; the test file must have the same layout");
  }
  return std::unique_ptr<RowSource>(std::make_unique<ConcatSource>(std::move(train), std::move(test)));
}

FormatRoles DefaultRoles(const std::string& format) {
  FormatRoles roles;
  if (format == "criteo") {
    roles.label = "label";
    for (int i = 1; i <= 13; ++i) roles.dense.push_back("I" + std::to_string(i));
    for (int i = 1; i <= 26; ++i) roles.categorical.push_back("C" + std::to_string(i));
  } else if (format == "movielens") {
    roles.label = "rating";
    roles.dense = {"age", "release_year"};
    roles.categorical = {"user_id", "item_id", "gender", "occupation"};
    roles.multi_valued = {"genres"};
    roles.separators = {{"genres", "|"}};
  } else if (format == "taobao") {
    roles.label = "behavior_type";
    roles.categorical = {"user_id", "item_id", "category_id"};
    roles.positive_values = {"buy"};
  }
  return roles;
}

}  // namespace ectrain::data
