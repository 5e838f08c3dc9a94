#include "prep/importers.h"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <unordered_map>

#include "data/csv.h"
#include "prep/sparse_source.h"

namespace ectrain::prep {
namespace {

namespace fs = std::filesystem;

// A CSV file as rows: the generic format, and Criteo and Taobao with their column names.
class CsvSource : public RowSource {
 public:
  explicit CsvSource(data::CsvReader reader) : reader_(std::move(reader)) {}
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
  data::CsvReader reader_;
  data::CsvRecord record_;
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
  data::CsvOptions csv;
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
  ASSIGN_OR_RETURN(data::CsvReader reader, data::CsvReader::Open(options.path, csv));
  return std::unique_ptr<RowSource>(new CsvSource(std::move(reader)));
}

// Both MovieLens layouts give these columns (1M has no release date: its year is the title's).
const std::vector<std::string> kMovieLensColumns = {"user_id", "item_id",      "rating",       "timestamp",
                                                    "age",     "gender",       "occupation",   "zip",
                                                    "title",   "release_date", "release_year", "genres"};

// Every record of a small MovieLens 100K table ('|'-separated, no header; `columns` named when
// given), handed to `use` in file order; the first error stops the reading.
Status ReadPipeTable(const std::string& path, std::vector<std::string> columns, bool latin1,
                     const std::function<Status(const data::CsvRecord&)>& use) {
  data::CsvOptions options;
  options.delimiter = '|';
  options.header = false;
  options.latin1 = latin1;
  options.columns = std::move(columns);
  ASSIGN_OR_RETURN(data::CsvReader reader, data::CsvReader::Open(path, options));
  data::CsvRecord record;
  while (true) {
    ASSIGN_OR_RETURN(const bool found, reader.Next(record));
    if (!found) return Status::Ok();
    RETURN_IF_ERROR(use(record));
  }
}

// The lines of a small MovieLens 1M table ('::'-separated, Latin-1), each split into its fields;
// `fields` of them, or an error naming the line. Movies' titles may hold "::"-free colons, so the
// title is what lies between the first and the last separator.
StatusOr<std::vector<std::vector<std::string>>> ReadDoubleColonTable(const std::string& path, size_t fields) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("MovieLens file '" + path + "' not found");
  std::vector<std::vector<std::string>> rows;
  int64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    line = data::Latin1ToUtf8(line);
    std::vector<std::string> row;
    const size_t first = line.find("::"), last = line.rfind("::");
    if (fields == 3 && first != std::string::npos && last != first) {
      row = {line.substr(0, first), line.substr(first + 2, last - first - 2), line.substr(last + 2)};
    } else {
      for (size_t begin = 0;;) {
        const size_t end = line.find("::", begin);
        row.push_back(line.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
        if (end == std::string::npos) break;
        begin = end + 2;
      }
    }
    if (row.size() != fields) {
      return DataError(path + ":" + std::to_string(line_number) + ": expected " + std::to_string(fields) +
                       " fields separated by '::', found " + std::to_string(row.size()));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// MovieLens ratings joined with their users and movies, from either release:
//  - 100K (a folder with u.data, or a ratings file such as u1.base beside u.user, u.item and
//    u.genre): tab-separated ratings, '|'-separated Latin-1 tables; the 19 genre flags of u.item
//    become one multi-valued field "genres" ("Action|Comedy"), named by u.genre;
//  - 1M (a folder with ratings.dat, or that file, beside users.dat and movies.dat): '::'-separated;
//    movies.dat already lists the genres as "Action|Comedy".
class MovieLensSource : public RowSource {
 public:
  static StatusOr<std::unique_ptr<RowSource>> Open(const std::string& path) {
    const bool is_folder = fs::is_directory(path);
    const fs::path folder = is_folder ? fs::path(path) : fs::path(path).parent_path();
    const bool one_million = is_folder ? !fs::exists(folder / "u.data") && fs::exists(folder / "ratings.dat")
                                       : fs::path(path).filename() == "ratings.dat";
    const std::string ratings = is_folder ? (folder / (one_million ? "ratings.dat" : "u.data")).string() : path;
    if (is_folder && !fs::exists(ratings)) {
      return NotFound("prepare.source: the MovieLens folder '" + path +
                      "' holds neither u.data (MovieLens 100K) nor ratings.dat (MovieLens 1M)");
    }
    auto source = std::unique_ptr<MovieLensSource>(new MovieLensSource());
    source->one_million_ = one_million;
    data::CsvOptions options;
    options.header = false;
    if (one_million) {
      RETURN_IF_ERROR(source->LoadUsers1M((folder / "users.dat").string()));
      RETURN_IF_ERROR(source->LoadMovies1M((folder / "movies.dat").string()));
      options.delimiter = ':';  // "1::1193::5::978300760": the odd fields are empty
    } else {
      RETURN_IF_ERROR(source->LoadGenres((folder / "u.genre").string()));
      RETURN_IF_ERROR(source->LoadUsers((folder / "u.user").string()));
      RETURN_IF_ERROR(source->LoadItems((folder / "u.item").string()));
      options.delimiter = '\t';
      options.columns = {"user_id", "item_id", "rating", "timestamp"};
    }
    ASSIGN_OR_RETURN(data::CsvReader reader, data::CsvReader::Open(ratings, options));
    source->ratings_ = std::make_unique<data::CsvReader>(std::move(reader));
    return std::unique_ptr<RowSource>(std::move(source));
  }

  const std::vector<std::string>& columns() const override { return kMovieLensColumns; }
  const std::string& file() const override { return ratings_->path(); }
  int64_t bytes_read() const override { return ratings_->bytes_read(); }
  int64_t total_bytes() const override { return ratings_->file_bytes(); }
  Status Rewind() override { return ratings_->Rewind(); }

  StatusOr<bool> Next(RawRow& row) override {
    ASSIGN_OR_RETURN(const bool found, ratings_->Next(record_));
    if (!found) return false;
    row.line = record_.line;
    const std::string where = file() + ":" + std::to_string(record_.line);
    row.fields.clear();
    if (one_million_) {
      if (record_.size() != 7 || !record_[1].empty() || !record_[3].empty() || !record_[5].empty()) {
        return DataError(where + ": expected 'user::movie::rating::timestamp'");
      }
      for (size_t i = 0; i < 7; i += 2) row.fields.push_back(record_[i]);
    } else {
      for (size_t i = 0; i < 4; ++i) row.fields.push_back(record_[i]);
    }
    auto user = users_.find(std::string(row.fields[0]));
    if (user == users_.end()) {
      return DataError(where + " column 'user_id': user '" + std::string(row.fields[0]) + "' is not in " +
                       (one_million_ ? "users.dat" : "u.user"));
    }
    auto item = items_.find(std::string(row.fields[1]));
    if (item == items_.end()) {
      return DataError(where + " column 'item_id': item '" + std::string(row.fields[1]) + "' is not in " +
                       (one_million_ ? "movies.dat" : "u.item"));
    }
    for (const std::string& f : user->second) row.fields.push_back(f);
    for (const std::string& f : item->second) row.fields.push_back(f);
    return true;
  }

 private:
  MovieLensSource() = default;

  Status LoadGenres(const std::string& path) {
    return ReadPipeTable(path, {}, /*latin1=*/false, [&](const data::CsvRecord& record) -> Status {
      if (record.size() != 2) {
        return DataError(path + ":" + std::to_string(record.line) + ": expected 'name|index'");
      }
      genres_.emplace_back(record[0]);
      return Status::Ok();
    });
  }

  Status LoadUsers(const std::string& path) {
    const std::vector<std::string> columns = {"user_id", "age", "gender", "occupation", "zip"};
    return ReadPipeTable(path, columns, /*latin1=*/true, [&](const data::CsvRecord& record) -> Status {
      users_[std::string(record[0])] = {std::string(record[1]), std::string(record[2]), std::string(record[3]),
                                        std::string(record[4])};
      return Status::Ok();
    });
  }

  Status LoadItems(const std::string& path) {
    std::vector<std::string> columns = {"item_id", "title", "release_date", "video_release_date", "imdb_url"};
    for (const std::string& genre : genres_) columns.push_back(genre);
    return ReadPipeTable(path, columns, /*latin1=*/true, [&](const data::CsvRecord& record) -> Status {
      std::string genres;
      for (size_t g = 0; g < genres_.size(); ++g) {
        const std::string_view flag = record[5 + g];
        if (flag != "0" && flag != "1") {
          return DataError(path + ":" + std::to_string(record.line) + " column '" + genres_[g] + "': genre flag '" +
                           std::string(flag) + "' is not 0 or 1");
        }
        if (flag == "1") genres += (genres.empty() ? "" : "|") + genres_[g];
      }
      const std::string date(record[2]);  // "01-Jan-1995"
      const std::string year = date.size() >= 4 ? date.substr(date.size() - 4) : "";
      items_[std::string(record[0])] = {std::string(record[1]), date, IsNumber(year) ? year : "", genres};
      return Status::Ok();
    });
  }

  // users.dat: UserID::Gender::Age::Occupation::Zip-code (age a bucket code, occupation 0..20).
  Status LoadUsers1M(const std::string& path) {
    ASSIGN_OR_RETURN(const auto rows, ReadDoubleColonTable(path, 5));
    for (const auto& f : rows) users_[f[0]] = {f[2], f[1], f[3], f[4]};
    return Status::Ok();
  }

  // movies.dat: MovieID::Title (Year)::Genre|Genre.
  Status LoadMovies1M(const std::string& path) {
    ASSIGN_OR_RETURN(const auto rows, ReadDoubleColonTable(path, 3));
    for (const auto& f : rows) {
      const std::string& title = f[1];
      const size_t open = title.rfind('(');
      std::string year = open == std::string::npos ? "" : title.substr(open + 1, 4);
      if (!IsNumber(year) || !title.ends_with(')')) year.clear();
      items_[f[0]] = {title, "", year, f[2]};
    }
    return Status::Ok();
  }

  bool one_million_ = false;
  std::vector<std::string> genres_;
  std::unordered_map<std::string, std::vector<std::string>> users_;  // age, gender, occupation, zip
  std::unordered_map<std::string, std::vector<std::string>> items_;  // title, date, year, genres
  std::unique_ptr<data::CsvReader> ratings_;
  data::CsvRecord record_;
};

}  // namespace

StatusOr<std::unique_ptr<RowSource>> OpenRowSource(const SourceOptions& options) {
  if (options.format == "movielens") return MovieLensSource::Open(options.path);
  if (options.format == "libsvm" || options.format == "libffm") return OpenSparseSource(options);
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

}  // namespace ectrain::prep
