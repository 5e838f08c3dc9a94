// The importers on the real samples in ../shared/data: Criteo in both layouts, MovieLens 100K
// joined, Taobao UserBehavior with its cut last line, PriceRunner titles -> tokens + classes.
#include "data/importers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "data/csv.h"
#include "data/encoding.h"
#include "data/prepare.h"
#include "prepared_files.h"
#include "test_files.h"

namespace ectrain::data {
namespace {

using testing::PreparedFile;
using testing::ReadPrepared;
using testing::ScratchDir;
using testing::SharedData;
using testing::WriteTextFile;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<PrepareReport> Prepare(PrepareRequest request, const ScratchDir& dir, const std::string& name) {
  request.train_path = dir.File(name + "/train.h5");
  request.test_path = dir.File(name + "/test.h5");
  return PrepareCsv(request);
}

// Every row of `file` is what predict's encoder (RowEncoder, which FeatureSchema::EncodeRow
// wraps) gives for its raw row `raw(i)`, fields in `columns` order.
void ExpectEncoderReproduces(const PreparedFile& file, const std::vector<std::string>& columns,
                             const std::function<std::vector<std::string>(int64_t)>& raw) {
  const FeatureSchema& schema = file.schema;
  StatusOr<RowEncoder> encoder = RowEncoder::Create(schema, columns);
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
    for (size_t b = 0; b < schema.multi_valued.size(); ++b) ASSERT_EQ(file.Bag(schema.multi_valued[b], i), bags[b]) << i;
  }
}

// The DeepCTR copy is comma-separated with a header; the released files are tab-separated
// without one. Both give the same prepared files.
TEST(ImportersTest, CriteoBothLayouts) {
  ScratchDir dir;
  const std::string sample = SharedData("criteo-deepctr-sample/criteo_sample.txt");
  std::string text = ReadText(sample);
  text.erase(0, text.find('\n') + 1);
  std::replace(text.begin(), text.end(), ',', '\t');
  const std::string released = WriteTextFile(dir.File("day_0"), text);

  PrepareRequest request;
  request.format = "criteo";
  request.csv_path = sample;
  request.log = {"I1", "I2", "I5"};
  request.hash_buckets_by_column = {{"C3", 1000}};
  StatusOr<PrepareReport> with_header = Prepare(request, dir, "header");
  ASSERT_TRUE(with_header.ok()) << with_header.status().message();
  request.csv_path = released;
  StatusOr<PrepareReport> tab = Prepare(request, dir, "tab");
  ASSERT_TRUE(tab.ok()) << tab.status().message();
  request.delimiter = '\t';  // said instead of detected
  request.header = 0;
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
  StatusOr<CsvTable> raw = ReadCsv(sample);
  ASSERT_TRUE(raw.ok());
  for (const std::string split : {"train.h5", "test.h5"}) {
    const PreparedFile file = ReadPrepared(dir.File("header/" + split));
    StatusOr<RowEncoder> encoder = RowEncoder::Create(file.schema, raw->header);
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

// u.data joined with u.user and u.item ('|', Latin-1): a rating >= 4 is a click, the genre
// flags are one multi-valued field, the title tokens another.
// The standard folds come already split: u1.base is all training data, u1.test all test data,
// and the test file is encoded with the training file's vocabularies (an item seen only in
// u1.test gets the out-of-vocabulary id 0).
TEST(ImportersTest, GivenTestFileKeepsTheStandardFold) {
  ScratchDir dir;
  const std::string folder = SharedData("ml-100k");
  PrepareRequest request;
  request.format = "movielens";
  request.csv_path = folder + "/u1.base";
  request.test_source = folder + "/u1.test";
  request.label = "rating";
  request.label_type = "regression";
  request.categorical = {"user_id", "item_id"};
  request.drop_duplicates = false;
  StatusOr<PrepareReport> report = Prepare(request, dir, "fold");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->train_rows, 80000);
  EXPECT_EQ(report->test_rows, 20000);
  const PreparedFile train = ReadPrepared(dir.File("fold/train.h5"));
  const PreparedFile test = ReadPrepared(dir.File("fold/test.h5"));
  // Row order is kept: the first test row is u1.test's first line, "1 6 5 887431973".
  const std::vector<std::string>& items = train.schema.vocabularies[1];
  const auto six = std::find(items.begin(), items.end(), "6");
  ASSERT_NE(six, items.end());
  EXPECT_EQ(test.At("item_id", 0), static_cast<double>(six - items.begin() + 1));
  EXPECT_EQ(test.At("rating", 0), 5.0);
  std::set<std::string> train_items;
  {
    std::istringstream base(ReadText(folder + "/u1.base"));
    std::string user, item, rating, time;
    while (base >> user >> item >> rating >> time) train_items.insert(item);
  }
  EXPECT_EQ(items.size(), train_items.size()) << "the vocabulary comes from u1.base only";
  int64_t unseen = 0;
  for (int64_t r = 0; r < test.rows; ++r) unseen += test.At("item_id", r) == 0;
  EXPECT_GT(unseen, 0) << "u1.test has items u1.base never rates";

  request.split = "time";
  request.time_column = "timestamp";
  StatusOr<PrepareReport> refused = Prepare(request, dir, "fold_time");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("prepare.test_source"), std::string::npos) << refused.status().message();
}

// Recommendation data: each user's latest liked rating is the test row; every liked training row
// is followed by 2 sampled rows of the same user with movies that user never rated (label 0,
// marked in /ectrain/sampled).
TEST(ImportersTest, LeaveLatestPositiveOutAndSampledNegatives) {
  ScratchDir dir;
  const std::string folder = SharedData("ml-100k");
  PrepareRequest request;
  request.format = "movielens";
  request.csv_path = folder;
  request.label = "rating";
  request.label_threshold = 4;
  request.categorical = {"user_id", "item_id"};
  request.split = "last_per_user";
  request.user_column = "user_id";
  request.time_column = "timestamp";
  request.negatives_per_positive = 2;
  request.item_columns = {"item_id"};
  StatusOr<PrepareReport> report = Prepare(request, dir, "rank");
  ASSERT_TRUE(report.ok()) << report.status().message();
  // The expectation, straight from u.data: per user, the latest rating >= 4 (last in the file on ties).
  std::map<std::string, std::pair<long, std::string>> latest;
  std::map<std::string, std::set<std::string>> rated;
  int64_t liked = 0;
  {
    std::istringstream data(ReadText(folder + "/u.data"));
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
    if (test.At("item_id", r) != 0) EXPECT_EQ(name(items, test.At("item_id", r)), latest[user].second) << user;
  }
  // Sampled rows: marked, label 0, a movie the user never rated; every other row is not marked.
  hid_t file = H5Fopen(dir.File("rank/train.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const std::vector<int32_t> marks = testing::ReadDataset<int32_t>(file, kSampledDataset, H5T_NATIVE_INT32);
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

TEST(ImportersTest, MovieLens100KJoin) {
  ScratchDir dir;
  const std::string folder = SharedData("ml-100k");
  PrepareRequest request;
  request.format = "movielens";
  request.csv_path = folder;
  request.label = "rating";
  request.label_threshold = 4;
  request.dense = {"age", "release_year"};
  request.categorical = {"user_id", "item_id", "gender", "occupation"};
  request.multi_valued = {"genres", "title"};
  request.text = {"title"};
  StatusOr<PrepareReport> report = Prepare(request, dir, "ml");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, 100000);
  EXPECT_EQ(report->duplicates_dropped, 0);
  EXPECT_NEAR(report->train_positive_rate, 0.55, 0.02);  // 55,375 of the ratings are 4 or 5

  // The expected join, straight from the files.
  std::map<std::string, std::vector<std::string>> item_genres;
  std::vector<std::string> genre_names;
  {
    std::istringstream genres(ReadText(folder + "/u.genre"));
    for (std::string line; std::getline(genres, line);) {
      if (!line.empty()) genre_names.push_back(line.substr(0, line.find('|')));
    }
    std::istringstream items(ReadText(folder + "/u.item"));
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
    std::istringstream data(ReadText(folder + "/u.data"));
    std::string user, item, rating, time;
    while (data >> user >> item >> rating >> time) ratings[{user, item}] = std::stoi(rating);
  }

  const PreparedFile train = ReadPrepared(dir.File("ml/train.h5"));
  const PreparedFile test = ReadPrepared(dir.File("ml/test.h5"));
  EXPECT_EQ(train.rows + test.rows, 100000);
  const FeatureSchema& schema = train.schema;
  ASSERT_EQ(schema.multi_valued, (std::vector<std::string>{"genres", "title"}));
  const std::vector<std::string>& genre_vocabulary = schema.bag_encodings[0].vocabulary;
  EXPECT_GE(genre_vocabulary.size(), 18u);
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

TEST(ImportersTest, TaobaoCutLastLine) {
  ScratchDir dir;
  PrepareRequest request;
  request.format = "taobao";
  request.csv_path = SharedData("taobao-userbehavior-prefix/UserBehavior.csv");
  // Default roles: user, item and category ids; label = behavior is "buy".
  StatusOr<PrepareReport> report = Prepare(request, dir, "fail");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kDataError);
  EXPECT_EQ(report.status().message(), request.csv_path +
                                           ":84476 column 'timestamp': expected 5 fields, found 4; the file's last "
                                           "line has no line end, so it was probably cut");
  EXPECT_FALSE(std::filesystem::exists(dir.File("fail/train.h5")));

  request.bad_rows = "skip";
  report = Prepare(request, dir, "skip");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, 84476);  // 84,475 whole lines and the cut one
  EXPECT_EQ(report->bad_rows_skipped, 1);
  ASSERT_EQ(report->bad_row_examples.size(), 1u);
  EXPECT_NE(report->bad_row_examples[0].find(":84476 column 'timestamp'"), std::string::npos);
  EXPECT_NEAR(report->train_positive_rate, 1750.0 / 84475, 0.005);  // "buy" rows
  const PreparedFile train = ReadPrepared(dir.File("skip/train.h5"));
  EXPECT_EQ(train.schema.label_positive_values, (std::vector<std::string>{"buy"}));
  EXPECT_EQ(train.schema.categorical, (std::vector<std::string>{"user_id", "item_id", "category_id"}));

  // Time split: train on the past, test on the future.
  request.label = "behavior_type";
  request.categorical = {"user_id", "item_id", "category_id"};
  request.dense = {"timestamp"};
  request.scale = "none";
  request.split = "time";
  request.time_column = "timestamp";
  report = Prepare(request, dir, "time");
  ASSERT_TRUE(report.ok()) << report.status().message();
  const PreparedFile past = ReadPrepared(dir.File("time/train.h5"));
  const PreparedFile future = ReadPrepared(dir.File("time/test.h5"));
  const std::vector<double>& past_t = past.columns.at("timestamp");
  const std::vector<double>& future_t = future.columns.at("timestamp");
  const auto threshold = static_cast<double>(static_cast<float>(*report->time_threshold));  // stored as float32
  EXPECT_LE(*std::max_element(past_t.begin(), past_t.end()), threshold);
  EXPECT_GE(*std::min_element(future_t.begin(), future_t.end()), threshold);
  EXPECT_NEAR(static_cast<double>(future.rows) / (past.rows + future.rows), 0.2, 0.02);
}

// Product titles -> token ids (a vocabulary, or hashing), category names -> class ids 0..9;
// the header's names have leading spaces.
TEST(ImportersTest, PriceRunnerTitlesAndClasses) {
  ScratchDir dir;
  const std::string csv = SharedData("pricerunner-product-classification/pricerunner_aggregate.csv");
  StatusOr<CsvTable> raw = ReadCsv(csv);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  PrepareRequest request;
  request.csv_path = csv;
  request.label = "Category Label";
  request.label_type = "class";
  request.dense = {"Product ID"};
  request.scale = "none";
  request.categorical = {"Merchant ID"};
  request.multi_valued = {"Product Title"};
  request.text = {"Product Title"};
  for (const int64_t buckets : {int64_t{0}, int64_t{1} << 18}) {
    request.hash_buckets = buckets;
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
        Tokenize(row[1], tokens);
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
}  // namespace ectrain::data
