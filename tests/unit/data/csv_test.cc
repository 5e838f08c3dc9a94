#include "data/csv.h"

#include <gtest/gtest.h>

#include "test_files.h"

namespace ectrain::data {
namespace {

using testing::ScratchDir;
using testing::WriteTextFile;
using Rows = std::vector<std::vector<std::string>>;

TEST(CsvTest, ReadsQuotedFieldsWithDelimitersDoubledQuotesAndNewlines) {
  ScratchDir dir;
  const std::string path = WriteTextFile(dir.File("q.csv"),
                                         "name,note,n\n"
                                         "a,\"x, y\",1\n"
                                         "b,\"he said \"\"hi\"\"\",2\n"
                                         "c,\"two\nlines\",3\n"
                                         "d,\"\",4\n");
  StatusOr<CsvTable> table = ReadCsv(path);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->path, path);
  EXPECT_EQ(table->header, (std::vector<std::string>{"name", "note", "n"}));
  EXPECT_EQ(table->rows, (Rows{{"a", "x, y", "1"},
                               {"b", "he said \"hi\"", "2"},
                               {"c", "two\nlines", "3"},
                               {"d", "", "4"}}));
  // A row's line is where it starts; the quoted newline pushes the next row down one line.
  EXPECT_EQ(table->line_numbers, (std::vector<int64_t>{2, 3, 4, 6}));
}

TEST(CsvTest, HandlesCrlfTrimmedHeaderAndTrailingEmptyLines) {
  ScratchDir dir;
  const std::string path = WriteTextFile(
      dir.File("crlf.csv"), " id , BounceRates in % ,label\r\n1,0.2,TRUE\r\n2,,FALSE\r\n\r\n\r\n");
  StatusOr<CsvTable> table = ReadCsv(path);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->header, (std::vector<std::string>{"id", "BounceRates in %", "label"}));
  EXPECT_EQ(table->rows, (Rows{{"1", "0.2", "TRUE"}, {"2", "", "FALSE"}}));
  EXPECT_EQ(table->line_numbers, (std::vector<int64_t>{2, 3}));
}

TEST(CsvTest, LastLineWithoutNewlineAndOtherDelimiters) {
  ScratchDir dir;
  StatusOr<CsvTable> table = ReadCsv(WriteTextFile(dir.File("semi.csv"), "a;b\n1;\"2;3\""), ';');
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->rows, (Rows{{"1", "2;3"}}));
  table = ReadCsv(WriteTextFile(dir.File("tab.tsv"), "a\tb\r\nx y\tz\r\n"), '\t');
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->rows, (Rows{{"x y", "z"}}));
}

TEST(CsvTest, WrongFieldCountNamesFileAndLine) {
  ScratchDir dir;
  const std::string path = WriteTextFile(dir.File("bad.csv"), "a,b,c\n1,2,3\n\"x\ny\",2,3\n4,5\n");
  StatusOr<CsvTable> table = ReadCsv(path);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), StatusCode::kDataError);
  EXPECT_NE(table.status().message().find(path + ":5:"), std::string::npos)
      << table.status().message();
  EXPECT_NE(table.status().message().find("expected 3 fields"), std::string::npos)
      << table.status().message();
}

TEST(CsvTest, UnclosedQuoteAndTextAfterQuoteAreErrors) {
  ScratchDir dir;
  StatusOr<CsvTable> table = ReadCsv(WriteTextFile(dir.File("open.csv"), "a,b\n1,\"oops\n2,3\n"));
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), StatusCode::kDataError);
  EXPECT_NE(table.status().message().find("open.csv:2:"), std::string::npos)
      << table.status().message();
  table = ReadCsv(WriteTextFile(dir.File("after.csv"), "a,b\n1,\"x\"y\n"));
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("after.csv:2:"), std::string::npos)
      << table.status().message();
}

TEST(CsvTest, MissingAndEmptyFiles) {
  ScratchDir dir;
  StatusOr<CsvTable> table = ReadCsv(dir.File("nope.csv"));
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), StatusCode::kNotFound);
  EXPECT_NE(table.status().message().find(dir.File("nope.csv")), std::string::npos);
  table = ReadCsv(WriteTextFile(dir.File("empty.csv"), ""));
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), StatusCode::kDataError);
}

TEST(CsvTest, ColumnIndexListsColumnsWhenMissing) {
  ScratchDir dir;
  StatusOr<CsvTable> table = ReadCsv(WriteTextFile(dir.File("c.csv"), "a,b,a\n1,2,3\n"));
  ASSERT_TRUE(table.ok()) << table.status().message();
  StatusOr<int> b = table->ColumnIndex("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 1);
  StatusOr<int> missing = table->ColumnIndex("clicked");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no column 'clicked'; columns are: a, b, a"),
            std::string::npos)
      << missing.status().message();
  EXPECT_FALSE(table->ColumnIndex("a").ok());  // ambiguous
}

TEST(CsvTest, TrimSpaces) {
  EXPECT_EQ(TrimSpaces("  a b \t"), "a b");
  EXPECT_EQ(TrimSpaces(" \t "), "");
  EXPECT_EQ(TrimSpaces("x"), "x");
}

}  // namespace
}  // namespace ectrain::data
