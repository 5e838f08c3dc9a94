// The importers: Criteo in both layouts and Avazu (bundled samples), PriceRunner titles -> tokens +
// classes (bundled), MovieLens 100K and 1M joined and Taobao UserBehavior with its cut last line,
// each on a small fixture in the same layout (tests/fixtures/) and, where the real set has been
// fetched, on the real set with its known counts (skipped otherwise).
#include "prep/importers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "data/csv.h"
#include "data/encoding.h"
#include "datasets.h"
#include "prep/prepare.h"
#include "unit/data/test_files.h"
#include "unit/prep/prepared_files.h"

namespace ectrain::prep {
namespace {

using data::testing::ScratchDir;
using data::testing::WriteTextFile;
using testing::PreparedFile;
using testing::ReadPrepared;
using testing::Request;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<PrepareReport> Prepare(Request request, const ScratchDir& dir, const std::string& name) {
  request.data.train = dir.File(name + "/train.h5");
  request.data.test = dir.File(name + "/test.h5");
  return PrepareDataSet(request.prepare, request.data);
}

// Every row of `file` is what predict's encoder (RowEncoder, which FeatureSchema::EncodeRow
// wraps) gives for its raw row `raw(i)`, fields in `columns` order.
void ExpectEncoderReproduces(const PreparedFile& file, const std::vector<std::string>& columns,
                             const std::function<std::vector<std::string>(int64_t)>& raw) {
  const data::FeatureSchema& schema = file.schema;
  StatusOr<data::RowEncoder> encoder = data::RowEncoder::Create(schema, columns);
  ASSERT_TRUE(encoder.ok()) << encoder.status().message();
  std::vector<float> dense(schema.dense.size());
  std::vector<int32_t> ids(schema.categorical.size());
  std::vector<std::vector<int32_t>> bags;
  for (int64_t i = 0; i < file.rows; ++i) {
    const std::vector<std::string> row = raw(i);
    const std::vector<std::string_view> fields(row.begin(), row.end());
    const Status status = encoder->Encode(fields, dense.data(), ids.data(), &bags);
    ASSERT_TRUE(status.ok()) << status.message();
    for (size_t d = 0; d < schema.dense.size(); ++d) ASSERT_EQ(float(file.At(schema.dense[d], i)), dense[d]) << i;
    for (size_t c = 0; c < schema.categorical.size(); ++c) ASSERT_EQ(file.At(schema.categorical[c], i), ids[c]) << i;
    for (size_t b = 0; b < schema.multi_valued.size(); ++b)
      ASSERT_EQ(file.Bag(schema.multi_valued[b], i), bags[b]) << i;
  }
}

// The DeepCTR copy is comma-separated with a header; the released files are tab-separated
// without one. Both give the same prepared files.
TEST(ImportersTest, CriteoBothLayouts) {
  ScratchDir dir;
  const std::string sample = ectrain::testing::BundledData("criteo-deepctr-sample/criteo_sample.txt");
  std::string text = ReadText(sample);
  text.erase(0, text.find('\n') + 1);
  std::replace(text.begin(), text.end(), ',', '\t');
  const std::string released = WriteTextFile(dir.File("day_0"), text);

  Request request;
  request.prepare.format = "criteo";
  request.prepare.source = sample;
  request.prepare.log = {"I1", "I2", "I5"};
  request.prepare.hash_buckets_by_column = {{"C3", 1000}};
  StatusOr<PrepareReport> with_header = Prepare(request, dir, "header");
  ASSERT_TRUE(with_header.ok()) << with_header.status().message();
  request.prepare.source = released;
  StatusOr<PrepareReport> tab = Prepare(request, dir, "tab");
  ASSERT_TRUE(tab.ok()) << tab.status().message();
  request.prepare.delimiter = "tab";  // said instead of detected
  request.prepare.header = "false";
  ASSERT_TRUE(Prepare(request, dir, "said").ok());

  EXPECT_EQ(with_header->rows_read, 200);
  EXPECT_EQ(tab->rows_read, 200);
  EXPECT_EQ(with_header->train_rows, tab->train_rows);
  for (const std::string split : {"train.h5", "test.h5"}) {
    const PreparedFile a = ReadPrepared(dir.File("header/" + split));
    const PreparedFile b = ReadPrepared(dir.File("tab/" + split));
    const PreparedFile c = ReadPrepared(dir.File("said/" + split));
    EXPECT_EQ(a.schema.ToJson(), b.schema.ToJson());
    EXPECT_EQ(a.columns, b.columns) << split;
    EXPECT_EQ(a.columns, c.columns) << split;
    EXPECT_EQ(a.schema.label, "label");
    EXPECT_EQ(a.schema.dense.size(), 13u);
    EXPECT_EQ(a.schema.categorical.size(), 26u);
    EXPECT_EQ(a.schema.vocab_sizes[2], 1000);
    EXPECT_TRUE(a.schema.dense_stats[1].log);  // I2 holds -1: sign(x) log1p(|x|)
  }
  // Raw rows of the sample encode at predict time exactly as prepared (hashed C3 included),
  // matched through the unique (I5, C4) pair.
  StatusOr<data::CsvTable> raw = data::ReadCsv(sample);
  ASSERT_TRUE(raw.ok());
  for (const std::string split : {"train.h5", "test.h5"}) {
    const PreparedFile file = ReadPrepared(dir.File("header/" + split));
    StatusOr<data::RowEncoder> encoder = data::RowEncoder::Create(file.schema, raw->header);
    ASSERT_TRUE(encoder.ok()) << encoder.status().message();
    // Each prepared row equals the encoding of some raw row; rows differ, so count the matches.
    int64_t matched = 0;
    std::vector<float> dense(13);
    std::vector<int32_t> ids(26);
    for (int64_t i = 0; i < file.rows; ++i) {
      for (const auto& row : raw->rows) {
        const std::vector<std::string_view> fields(row.begin(), row.end());
        ASSERT_TRUE(encoder->Encode(fields, dense.data(), ids.data(), nullptr).ok());
        bool same = true;
        for (size_t d = 0; d < 13 && same; ++d) same = float(file.At(file.schema.dense[d], i)) == dense[d];
        for (size_t c = 0; c < 26 && same; ++c) same = file.At(file.schema.categorical[c], i) == ids[c];
        if (same) {
          ++matched;
          break;
        }
      }
    }
    EXPECT_EQ(matched, file.rows) << split;
  }
}

// A data set in one of the importers' layouts: a fixture that is always there, or the real set,
// which may not be redistributed and is skipped where it has not been fetched.
struct Source {
  std::string name;     // the test's suffix
  std::string dataset;  // datasets/<dataset> for the real set; empty for a fixture
  std::string fixture;  // tests/fixtures/<fixture>
  std::string file;     // a file the set holds, relative to its folder (the real set's sign of presence)
};

class ImportersOnSource : public ::testing::TestWithParam<Source> {
 protected:
  // The folder of the set, or skips the test when it is a real set that is absent.
  void SetUp() override {
    const Source& source = GetParam();
    if (source.dataset.empty()) {
      folder_ = ectrain::testing::Fixture(source.fixture);
      return;
    }
    const auto file = ectrain::testing::FetchedData(source.dataset, source.file);
    if (!file) GTEST_SKIP() << ectrain::testing::SkipMessage(source.dataset);
    folder_ = std::filesystem::path(*file).parent_path().string();
  }
  bool real() const { return !GetParam().dataset.empty(); }
  std::string folder_;
};

std::string SourceName(const ::testing::TestParamInfo<Source>& info) { return info.param.name; }
void PrintTo(const Source& source, std::ostream* out) { *out << source.name; }

int64_t CountLines(const std::string& path) {
  const std::string text = ReadText(path);
  return std::count(text.begin(), text.end(), '\n') + (!text.empty() && text.back() != '\n');
}

class MovieLens100K : public ImportersOnSource {};
INSTANTIATE_TEST_SUITE_P(Importers, MovieLens100K,
                         ::testing::Values(Source{"fixture", "", "movielens-100k", ""},
                                           Source{"ml_100k", "ml-100k", "", "u.data"}),
                         SourceName);

// The standard folds come already split: u1.base is all training data, u1.test all test data,
// and the test file is encoded with the training file's vocabularies (an item seen only in
// u1.test gets the out-of-vocabulary id 0).
TEST_P(MovieLens100K, GivenTestFileKeepsTheStandardFold) {
  ScratchDir dir;
  Request request;
  request.prepare.format = "movielens";
  request.prepare.source = folder_ + "/u1.base";
  request.prepare.test_source = folder_ + "/u1.test";
  request.data.label = "rating";
  request.prepare.label_type = "regression";
  request.data.categorical = {"user_id", "item_id"};
  request.prepare.drop_duplicates = false;
  StatusOr<PrepareReport> report = Prepare(request, dir, "fold");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->train_rows, CountLines(folder_ + "/u1.base"));
  EXPECT_EQ(report->test_rows, CountLines(folder_ + "/u1.test"));
  if (real()) {
    EXPECT_EQ(report->train_rows, 80000);
    EXPECT_EQ(report->test_rows, 20000);
  }
  const PreparedFile train = ReadPrepared(dir.File("fold/train.h5"));
  const PreparedFile test = ReadPrepared(dir.File("fold/test.h5"));
  // Row order is kept: the first test row is u1.test's first line (in ml-100k "1 6 5 887431973").
  std::istringstream first_test(ReadText(folder_ + "/u1.test"));
  std::string user, item, rating, time;
  first_test >> user >> item >> rating;
  const std::vector<std::string>& items = train.schema.vocabularies[1];
  const auto found = std::find(items.begin(), items.end(), item);
  ASSERT_NE(found, items.end());
  EXPECT_EQ(test.At("item_id", 0), static_cast<double>(found - items.begin() + 1));
  EXPECT_EQ(test.At("rating", 0), std::stod(rating));
  std::set<std::string> train_items;
  {
    std::istringstream base(ReadText(folder_ + "/u1.base"));
    while (base >> user >> item >> rating >> time) train_items.insert(item);
  }
  EXPECT_EQ(items.size(), train_items.size()) << "the vocabulary comes from u1.base only";
  int64_t unseen = 0;
  for (int64_t r = 0; r < test.rows; ++r) unseen += test.At("item_id", r) == 0;
  EXPECT_GT(unseen, 0) << "u1.test has items u1.base never rates";

  request.prepare.split = "time";
  request.prepare.time_column = "timestamp";
  StatusOr<PrepareReport> refused = Prepare(request, dir, "fold_time");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("prepare.test_source"), std::string::npos) << refused.status().message();
}

// Recommendation data: each user's latest liked rating is the test row; every liked training row
// is followed by 2 sampled rows of the same user with movies that user never rated (label 0,
// marked in /ectrain/sampled).
TEST_P(MovieLens100K, LeaveLatestPositiveOutAndSampledNegatives) {
  ScratchDir dir;
  Request request;
  request.prepare.format = "movielens";
  request.prepare.source = folder_;
  request.data.label = "rating";
  request.prepare.label_threshold = 4;
  request.data.categorical = {"user_id", "item_id"};
  request.prepare.split = "last_per_user";
  request.prepare.user_column = "user_id";
  request.prepare.time_column = "timestamp";
  request.prepare.negatives_per_positive = 2;
  request.prepare.item_columns = {"item_id"};
  StatusOr<PrepareReport> report = Prepare(request, dir, "rank");
  ASSERT_TRUE(report.ok()) << report.status().message();
  // The expectation, straight from u.data: per user, the latest rating >= 4 (last in the file on ties).
  std::map<std::string, std::pair<long, std::string>> latest;
  std::map<std::string, std::set<std::string>> rated;
  int64_t liked = 0;
  {
    std::istringstream data(ReadText(folder_ + "/u.data"));
    std::string user, item, rating, time;
    while (data >> user >> item >> rating >> time) {
      rated[user].insert(item);
      if (std::stoi(rating) < 4) continue;
      ++liked;
      auto it = latest.find(user);
      if (it == latest.end() || std::stol(time) >= it->second.first) latest[user] = {std::stol(time), item};
    }
  }
  EXPECT_EQ(report->test_rows, static_cast<int64_t>(latest.size()));
  EXPECT_EQ(report->negatives_sampled, 2 * (liked - static_cast<int64_t>(latest.size())));
  const PreparedFile train = ReadPrepared(dir.File("rank/train.h5"));
  const PreparedFile test = ReadPrepared(dir.File("rank/test.h5"));
  const auto& users = train.schema.vocabularies[0];
  const auto& items = train.schema.vocabularies[1];
  auto name = [](const std::vector<std::string>& vocab, double id) { return id >= 1 ? vocab[size_t(id) - 1] : "?"; };
  for (int64_t r = 0; r < test.rows; ++r) {
    const std::string user = name(users, test.At("user_id", r));
    EXPECT_EQ(test.At("rating", r), 1.0);
    ASSERT_TRUE(latest.count(user)) << user;
    if (test.At("item_id", r) != 0) {
      EXPECT_EQ(name(items, test.At("item_id", r)), latest[user].second) << user;
    }
  }
  // Sampled rows: marked, label 0, a movie the user never rated; every other row is not marked.
  hid_t file = H5Fopen(dir.File("rank/train.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const std::vector<int32_t> marks = testing::ReadDataset<int32_t>(file, data::kSampledDataset, H5T_NATIVE_INT32);
  H5Fclose(file);
  ASSERT_EQ(static_cast<int64_t>(marks.size()), train.rows);
  int64_t sampled = 0;
  for (int64_t r = 0; r < train.rows; ++r) {
    if (!marks[r]) continue;
    ++sampled;
    EXPECT_EQ(train.At("rating", r), 0.0);
    const std::string user = name(users, train.At("user_id", r));
    EXPECT_FALSE(rated[user].count(name(items, train.At("item_id", r)))) << "row " << r;
  }
  EXPECT_EQ(sampled, report->negatives_sampled);
}

// The same split and sampled negatives from the user and item named once, in data.user_column and
// data.item_column, with no prepare.user_column or prepare.item_columns; a prepare key naming
// another column is refused, naming both keys.
TEST_P(MovieLens100K, LastPerUserTakesTheDataRoles) {
  ScratchDir dir;
  Request by_prepare;
  by_prepare.prepare.format = "movielens";
  by_prepare.prepare.source = folder_;
  by_prepare.data.label = "rating";
  by_prepare.prepare.label_threshold = 4;
  by_prepare.data.categorical = {"user_id", "item_id"};
  by_prepare.prepare.split = "last_per_user";
  by_prepare.prepare.time_column = "timestamp";
  by_prepare.prepare.negatives_per_positive = 2;
  Request by_data = by_prepare;
  by_prepare.prepare.user_column = "user_id";
  by_prepare.prepare.item_columns = {"item_id"};
  by_data.data.user_column = "user_id";
  by_data.data.item_column = "item_id";
  StatusOr<PrepareReport> expected = Prepare(by_prepare, dir, "by_prepare");
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  StatusOr<PrepareReport> report = Prepare(by_data, dir, "by_data");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_GT(report->test_rows, 0);
  EXPECT_GT(report->negatives_sampled, 0);
  EXPECT_EQ(report->test_rows, expected->test_rows);
  EXPECT_EQ(report->negatives_sampled, expected->negatives_sampled);
  for (const std::string part : {"train", "test"}) {
    const PreparedFile a = ReadPrepared(dir.File("by_prepare/" + part + ".h5"));
    const PreparedFile b = ReadPrepared(dir.File("by_data/" + part + ".h5"));
    EXPECT_EQ(a.columns, b.columns) << part;
  }

  Request conflict = by_data;
  conflict.prepare.user_column = "item_id";
  StatusOr<PrepareReport> refused = Prepare(conflict, dir, "conflict");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("prepare.user_column is 'item_id' but data.user_column is 'user_id'"),
            std::string::npos)
      << refused.status().message();
  Request not_categorical = by_data;
  not_categorical.data.item_column = "timestamp";
  refused = Prepare(not_categorical, dir, "not_categorical");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("data.item_column: column 'timestamp' is not among data.categorical"),
            std::string::npos)
      << refused.status().message();
  // Without any user column the split says where to name it.
  Request none = by_data;
  none.data.user_column.clear();
  refused = Prepare(none, dir, "none");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("data.user_column"), std::string::npos) << refused.status().message();
}

// u.data joined with u.user and u.item ('|', Latin-1): a rating >= 4 is a click, the genre
// flags are one multi-valued field, the title tokens another.
TEST_P(MovieLens100K, JoinsUsersAndMovies) {
  ScratchDir dir;
  Request request;
  request.prepare.format = "movielens";
  request.prepare.source = folder_;
  request.data.label = "rating";
  request.prepare.label_threshold = 4;
  request.data.dense = {"age", "release_year"};
  request.data.categorical = {"user_id", "item_id", "gender", "occupation"};
  request.data.multi_valued = {"genres", "title"};
  request.prepare.text = {"title"};
  StatusOr<PrepareReport> report = Prepare(request, dir, "ml");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, CountLines(folder_ + "/u.data"));
  EXPECT_EQ(report->duplicates_dropped, 0);
  if (real()) {
    EXPECT_EQ(report->rows_read, 100000);
    EXPECT_NEAR(report->train_positive_rate, 0.55, 0.02);  // 55,375 of the ratings are 4 or 5
  }

  // The expected join, straight from the files.
  std::map<std::string, std::vector<std::string>> item_genres;
  std::vector<std::string> genre_names;
  {
    std::istringstream genres(ReadText(folder_ + "/u.genre"));
    for (std::string line; std::getline(genres, line);) {
      if (!line.empty()) genre_names.push_back(line.substr(0, line.find('|')));
    }
    std::istringstream items(ReadText(folder_ + "/u.item"));
    for (std::string line; std::getline(items, line);) {
      std::vector<std::string> fields;
      std::stringstream split(line);
      for (std::string f; std::getline(split, f, '|');) fields.push_back(f);
      for (size_t g = 0; g < genre_names.size(); ++g) {
        if (fields[5 + g] == "1") item_genres[fields[0]].push_back(genre_names[g]);
      }
    }
  }
  std::map<std::pair<std::string, std::string>, int> ratings;
  {
    std::istringstream data(ReadText(folder_ + "/u.data"));
    std::string user, item, rating, time;
    while (data >> user >> item >> rating >> time) ratings[{user, item}] = std::stoi(rating);
  }

  const PreparedFile train = ReadPrepared(dir.File("ml/train.h5"));
  const PreparedFile test = ReadPrepared(dir.File("ml/test.h5"));
  EXPECT_EQ(train.rows + test.rows, report->rows_read);
  const data::FeatureSchema& schema = train.schema;
  ASSERT_EQ(schema.multi_valued, (std::vector<std::string>{"genres", "title"}));
  const std::vector<std::string>& genre_vocabulary = schema.bag_encodings[0].vocabulary;
  if (real()) {
    EXPECT_GE(genre_vocabulary.size(), 18u);
  }
  // Latin-1 titles arrive as UTF-8: "Misérables" is a token.
  const std::vector<std::string>& words = schema.bag_encodings[1].vocabulary;
  EXPECT_NE(std::find(words.begin(), words.end(), "mis\xC3\xA9rables"), words.end());
  // Each training row's genre bag, decoded, is its movie's genres in u.genre order, and its
  // label is its rating thresholded.
  for (int64_t i = 0; i < train.rows; ++i) {
    const std::string user = schema.vocabularies[0][static_cast<int>(train.At("user_id", i)) - 1];
    const std::string item = schema.vocabularies[1][static_cast<int>(train.At("item_id", i)) - 1];
    std::vector<std::string> genres;
    for (const int32_t id : train.Bag("genres", i)) genres.push_back(genre_vocabulary[id - 1]);
    ASSERT_EQ(genres, item_genres[item]) << "item " << item;
    ASSERT_EQ(train.At("rating", i), ratings.at({user, item}) >= 4 ? 1.0 : 0.0);
  }
  int64_t empty_genres = 0;
  for (int64_t i = 0; i < test.rows; ++i) empty_genres += test.Bag("genres", i).empty();
  EXPECT_EQ(empty_genres, 0);
}

// MovieLens 1M's '::'-separated ratings.dat, users.dat and movies.dat give the columns of 100K:
// the age bucket and occupation code of users.dat, the year from the title (none when the title
// has none), the genres as listed, titles with colons kept whole.
TEST(ImportersTest, MovieLens1MJoin) {
  ScratchDir dir;
  const std::string folder = ectrain::testing::Fixture("movielens-1m");
  Request request;
  request.prepare.format = "movielens";
  request.prepare.source = folder;
  request.data.label = "rating";
  request.prepare.label_type = "regression";
  request.data.dense = {"age", "release_year"};
  request.prepare.scale = "none";
  request.prepare.fill = "0";
  request.data.categorical = {"user_id", "item_id", "gender"};
  request.data.multi_valued = {"genres", "title"};
  request.prepare.text = {"title"};
  request.prepare.test_source = folder + "/ratings.dat";  // all rows train (and test): row i is line i
  request.prepare.drop_duplicates = false;
  StatusOr<PrepareReport> report = Prepare(request, dir, "ml1m");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->train_rows, CountLines(folder + "/ratings.dat"));
  const PreparedFile train = ReadPrepared(dir.File("ml1m/train.h5"));
  ASSERT_EQ(train.rows, report->train_rows);
  std::map<std::string, std::vector<std::string>> users, movies;
  for (const std::string table : {"users.dat", "movies.dat"}) {
    std::istringstream lines(ReadText(folder + "/" + table));
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> fields;
      for (size_t begin = 0, end; begin != std::string::npos; begin = end == std::string::npos ? end : end + 2) {
        end = line.find("::", begin);
        fields.push_back(line.substr(begin, end == std::string::npos ? end : end - begin));
      }
      (table == "users.dat" ? users : movies)[fields[0]] = fields;
    }
  }
  const data::FeatureSchema& schema = train.schema;
  std::istringstream ratings(ReadText(folder + "/ratings.dat"));
  for (int64_t i = 0; i < train.rows; ++i) {
    std::string line;
    std::getline(ratings, line);
    const std::string user = line.substr(0, line.find("::"));
    const std::string item = schema.vocabularies[1][static_cast<int>(train.At("item_id", i)) - 1];
    ASSERT_EQ(schema.vocabularies[0][static_cast<int>(train.At("user_id", i)) - 1], user) << "row order is kept";
    EXPECT_EQ(train.At("age", i), std::stod(users.at(user)[2]));
    EXPECT_EQ(schema.vocabularies[2][static_cast<int>(train.At("gender", i)) - 1], users.at(user)[1]);
    const std::string& title = movies.at(item).size() == 3 ? movies.at(item)[1] : "";
    const size_t year_at = title.rfind(" (");
    const double year = title.ends_with(")") && year_at != std::string::npos ? std::stod(title.substr(year_at + 2)) : 0;
    EXPECT_EQ(train.At("release_year", i), year) << title;
    std::string genres;
    for (const int32_t id : train.Bag("genres", i)) {
      genres += (genres.empty() ? "" : "|") + schema.bag_encodings[0].vocabulary[id - 1];
    }
    EXPECT_EQ(genres, movies.at(item).back()) << "item " << item;
  }
  // The title tokens of "Star Trips: Episode I - A Made-up Hope (1977)" and a Latin-1 "Misérables".
  const std::vector<std::string>& words = schema.bag_encodings[1].vocabulary;
  for (const std::string word : {"trips", "episode", "mis\xC3\xA9rables"}) {
    EXPECT_NE(std::find(words.begin(), words.end(), word), words.end()) << word;
  }

  // A ratings line that is not 'user::movie::rating::timestamp' names its line.
  const std::string broken = dir.File("broken");
  std::filesystem::create_directories(broken);
  for (const std::string table : {"users.dat", "movies.dat"}) {
    std::filesystem::copy_file(folder + "/" + table, broken + "/" + table);
  }
  WriteTextFile(broken + "/ratings.dat", "1::1::5::978300760\n1::2:4::978300761\n");
  request.prepare.source = broken;
  report = Prepare(request, dir, "broken");
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("ratings.dat:2: expected 'user::movie::rating::timestamp'"),
            std::string::npos)
      << report.status().message();
}

TEST(ImportersTest, MovieLensFolderWithoutRatingsIsNamed) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.File("empty"));
  Request request;
  request.prepare.format = "movielens";
  request.prepare.source = dir.File("empty");
  StatusOr<PrepareReport> report = Prepare(request, dir, "none");
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("holds neither u.data (MovieLens 100K) nor ratings.dat (MovieLens 1M)"),
            std::string::npos)
      << report.status().message();
}

class Taobao : public ImportersOnSource {};
INSTANTIATE_TEST_SUITE_P(Importers, Taobao,
                         ::testing::Values(Source{"fixture", "", "taobao", ""},
                                           Source{"userbehavior_prefix", "taobao-userbehavior-prefix", "",
                                                  "UserBehavior.csv"}),
                         SourceName);

TEST_P(Taobao, CutLastLine) {
  ScratchDir dir;
  Request request;
  request.prepare.format = "taobao";
  request.prepare.source = folder_ + "/UserBehavior.csv";
  const int64_t lines = CountLines(request.prepare.source);  // the cut one included
  int64_t buys = 0;
  {
    std::istringstream rows(ReadText(request.prepare.source));
    for (std::string line; std::getline(rows, line);) buys += line.find(",buy,") != std::string::npos;
  }
  if (real()) {
    EXPECT_EQ(lines, 84476);
    EXPECT_EQ(buys, 1750);
  }
  // Default roles: user, item and category ids; label = behavior is "buy".
  StatusOr<PrepareReport> report = Prepare(request, dir, "fail");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kDataError);
  EXPECT_EQ(report.status().message(), request.prepare.source + ":" + std::to_string(lines) +
                                           " column 'timestamp': expected 5 fields, found 4; the file's last "
                                           "line has no line end, so it was probably cut");
  EXPECT_FALSE(std::filesystem::exists(dir.File("fail/train.h5")));

  request.prepare.bad_rows = "skip";
  report = Prepare(request, dir, "skip");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, lines);
  EXPECT_EQ(report->bad_rows_skipped, 1);
  ASSERT_EQ(report->bad_row_examples.size(), 1u);
  EXPECT_NE(report->bad_row_examples[0].find(":" + std::to_string(lines) + " column 'timestamp'"), std::string::npos);
  const PreparedFile train = ReadPrepared(dir.File("skip/train.h5"));
  const PreparedFile test = ReadPrepared(dir.File("skip/test.h5"));
  const std::vector<double>& train_labels = train.columns.at("behavior_type");
  const std::vector<double>& test_labels = test.columns.at("behavior_type");
  EXPECT_EQ(std::accumulate(train_labels.begin(), train_labels.end(), 0.0) +
                std::accumulate(test_labels.begin(), test_labels.end(), 0.0),
            static_cast<double>(buys))
      << "a row is positive when its behaviour is 'buy'";
  EXPECT_EQ(train.schema.label_positive_values, (std::vector<std::string>{"buy"}));
  EXPECT_EQ(train.schema.categorical, (std::vector<std::string>{"user_id", "item_id", "category_id"}));

  // Time split: train on the past, test on the future.
  request.data.label = "behavior_type";
  request.data.categorical = {"user_id", "item_id", "category_id"};
  request.data.dense = {"timestamp"};
  request.prepare.scale = "none";
  request.prepare.split = "time";
  request.prepare.time_column = "timestamp";
  report = Prepare(request, dir, "time");
  ASSERT_TRUE(report.ok()) << report.status().message();
  const PreparedFile past = ReadPrepared(dir.File("time/train.h5"));
  const PreparedFile future = ReadPrepared(dir.File("time/test.h5"));
  const std::vector<double>& past_t = past.columns.at("timestamp");
  const std::vector<double>& future_t = future.columns.at("timestamp");
  const auto threshold = static_cast<double>(static_cast<float>(*report->time_threshold));  // stored as float32
  EXPECT_LE(*std::max_element(past_t.begin(), past_t.end()), threshold);
  EXPECT_GE(*std::min_element(future_t.begin(), future_t.end()), threshold);
  EXPECT_NEAR(static_cast<double>(future.rows) / (past.rows + future.rows), 0.2, real() ? 0.02 : 0.1);
}

// Avazu's layout: every feature categorical (hex hashes and small codes), a 0/1 `click`.
TEST(ImportersTest, AvazuAllCategorical) {
  ScratchDir dir;
  const std::string csv = ectrain::testing::BundledData("avazu-deepctr-sample/avazu_sample.txt");
  Request request;
  request.prepare.source = csv;
  request.data.label = "click";
  request.data.categorical = {"site_id", "app_id", "device_model", "banner_pos", "C14"};
  request.prepare.test_source = csv;        // all rows train (and test)
  request.prepare.drop_duplicates = false;  // rows equal in these columns stay, so row i is raw row i
  StatusOr<PrepareReport> report = Prepare(request, dir, "avazu");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->train_rows, 100);
  EXPECT_NEAR(report->train_positive_rate, 0.2, 1e-9);  // 20 clicks in 100 rows
  const PreparedFile train = ReadPrepared(dir.File("avazu/train.h5"));
  StatusOr<data::CsvTable> raw = data::ReadCsv(csv);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  ExpectEncoderReproduces(train, raw->header, [&](int64_t i) { return raw->rows[i]; });
}

// Product titles -> token ids (a vocabulary, or hashing), category names -> class ids 0..9;
// the header's names have leading spaces.
TEST(ImportersTest, PriceRunnerTitlesAndClasses) {
  ScratchDir dir;
  const std::string csv = ectrain::testing::BundledData("pricerunner-product-classification/pricerunner_aggregate.csv");
  StatusOr<data::CsvTable> raw = data::ReadCsv(csv);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  Request request;
  request.prepare.source = csv;
  request.data.label = "Category Label";
  request.prepare.label_type = "class";
  request.data.dense = {"Product ID"};
  request.prepare.scale = "none";
  request.data.categorical = {"Merchant ID"};
  request.data.multi_valued = {"Product Title"};
  request.prepare.text = {"Product Title"};
  for (const int64_t buckets : {int64_t{0}, int64_t{1} << 18}) {
    request.prepare.hash_buckets = buckets;
    const std::string name = "b" + std::to_string(buckets);
    StatusOr<PrepareReport> report = Prepare(request, dir, name);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->rows_read, 35311);
    for (const std::string split : {"train.h5", "test.h5"}) {
      const PreparedFile file = ReadPrepared(dir.File(name + "/" + split));
      EXPECT_EQ(file.schema.label_classes.size(), 10u);
      EXPECT_EQ(file.schema.label_classes[0], "CPUs");
      auto raw_row = [&](int64_t i) {
        const auto id = std::to_string(static_cast<int64_t>(file.At("Product ID", i)));
        // Ids rise with the row, with gaps: search back from the id.
        for (size_t r = std::min<size_t>(std::stoul(id), raw->rows.size()); r-- > 0;) {
          if (raw->rows[r][0] == id) return raw->rows[r];
        }
        ADD_FAILURE() << "no product " << id;
        return std::vector<std::string>(raw->header.size());
      };
      ExpectEncoderReproduces(file, raw->header, raw_row);
      for (int64_t i = 0; i < file.rows; i += 97) {
        const std::vector<std::string> row = raw_row(i);
        EXPECT_EQ(file.schema.label_classes[static_cast<size_t>(file.At("Category Label", i))], row[6]);
        std::vector<std::string> tokens;
        data::Tokenize(row[1], tokens);
        EXPECT_EQ(file.Bag("Product Title", i).size(), tokens.size());
      }
    }
  }
}

TEST(ImportersTest, UnknownFormatAndGenericCsvWithoutHeader) {
  ScratchDir dir;
  SourceOptions options;
  options.format = "parquet";
  EXPECT_EQ(OpenRowSource(options).status().code(), StatusCode::kInvalidArgument);
  options.format = "csv";
  options.path = WriteTextFile(dir.File("x.tsv"), "1\tred\n0\tblue\n");
  options.header = 0;
  EXPECT_EQ(OpenRowSource(options).status().code(), StatusCode::kInvalidArgument);  // no names
  options.columns = {"y", "colour"};
  options.delimiter = '\t';
  StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(options);
  ASSERT_TRUE(source.ok()) << source.status().message();
  RawRow row;
  ASSERT_TRUE((*source)->Next(row).value());
  EXPECT_EQ(row.fields, (std::vector<std::string_view>{"1", "red"}));
  EXPECT_EQ(row.line, 1);
}

}  // namespace
}  // namespace ectrain::prep
