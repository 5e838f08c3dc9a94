#include "data/csv.h"

#include <gtest/gtest.h>

#include "core/rng.h"
#include "test_files.h"

namespace ectrain::data {
namespace {

using testing::ScratchDir;
using testing::WriteTextFile;
using Rows = std::vector<std::vector<std::string>>;

// Every record of `path` through a CsvReader, with its line numbers.
Rows ReadAllRecords(const std::string& path, const CsvOptions& options, std::vector<int64_t>* lines = nullptr) {
  StatusOr<CsvReader> reader = CsvReader::Open(path, options);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  if (!reader.ok()) return {};
  Rows rows;
  CsvRecord record;
  while (true) {
    StatusOr<bool> next = reader->Next(record);
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !*next) break;
    std::vector<std::string>& row = rows.emplace_back();
    for (size_t i = 0; i < record.size(); ++i) row.emplace_back(record[i]);
    if (lines != nullptr) lines->push_back(record.line);
  }
  return rows;
}

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
  EXPECT_EQ(table->rows,
            (Rows{{"a", "x, y", "1"}, {"b", "he said \"hi\"", "2"}, {"c", "two\nlines", "3"}, {"d", "", "4"}}));
  // A row's line is where it starts; the quoted newline pushes the next row down one line.
  EXPECT_EQ(table->line_numbers, (std::vector<int64_t>{2, 3, 4, 6}));
}

TEST(CsvTest, HandlesCrlfTrimmedHeaderBomAndBlankLines) {
  ScratchDir dir;
  const std::string path = WriteTextFile(
      dir.File("crlf.csv"), "\xEF\xBB\xBF id , BounceRates in % ,label\r\n1,0.2,TRUE\r\n\r\n2,,FALSE\r\n\r\n\r\n");
  StatusOr<CsvTable> table = ReadCsv(path);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->header, (std::vector<std::string>{"id", "BounceRates in %", "label"}));
  EXPECT_EQ(table->rows, (Rows{{"1", "0.2", "TRUE"}, {"2", "", "FALSE"}}));
  EXPECT_EQ(table->line_numbers, (std::vector<int64_t>{2, 4}));
}

TEST(CsvTest, LastLineWithoutNewlineOtherDelimitersAndLoneCarriageReturns) {
  ScratchDir dir;
  StatusOr<CsvTable> table = ReadCsv(WriteTextFile(dir.File("semi.csv"), "a;b\n1;\"2;3\""), ';');
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->rows, (Rows{{"1", "2;3"}}));
  table = ReadCsv(WriteTextFile(dir.File("tab.tsv"), "a\tb\r\nx y\tz\r\n"), '\t');
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->rows, (Rows{{"x y", "z"}}));
  // A CR inside a line is text; a CR at the very end is a line end.
  table = ReadCsv(WriteTextFile(dir.File("cr.csv"), "a,b\nx\ry,z\r"));
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->rows, (Rows{{"x\ry", "z"}}));
}

// The streaming reader gives the same records whatever its buffer size: fields, quotes, CRLF
// and quoted line breaks that straddle buffer boundaries included.
TEST(CsvTest, SmallBuffersGiveTheSameRecords) {
  ScratchDir dir;
  Rng rng(5);
  Rows expected;
  std::string text = "k,text,n\r\n";
  const std::string pieces[] = {"plain", "with, comma", "quote \"q\"", "two\r\nlines", "", "ünïcode", "x"};
  for (int r = 0; r < 3000; ++r) {
    const std::string& piece = pieces[rng.Below(7)];
    const bool quote = piece.find_first_of(",\"\r\n") != std::string::npos || rng.Below(4) == 0;
    std::string field = piece;
    if (quote) {
      field = "\"";
      for (char c : piece) field += c == '"' ? std::string("\"\"") : std::string(1, c);
      field += "\"";
    }
    text += std::to_string(r) + "," + field + "," + std::to_string(r * 7) + (rng.Below(2) ? "\r\n" : "\n");
    expected.push_back({std::to_string(r), piece, std::to_string(r * 7)});
  }
  const std::string path = WriteTextFile(dir.File("big.csv"), text);
  for (const size_t buffer : {size_t{64}, size_t{65}, size_t{1000}, size_t{1} << 20}) {
    CsvOptions options;
    options.buffer_bytes = buffer;
    EXPECT_EQ(ReadAllRecords(path, options), expected) << "buffer " << buffer;
  }
}

TEST(CsvTest, RewindReadsTheSameRecordsAgain) {
  ScratchDir dir;
  const std::string path = WriteTextFile(dir.File("r.csv"), "a,b\n1,2\n\"3\n\",4\n5,6");
  CsvOptions options;
  options.buffer_bytes = 64;
  StatusOr<CsvReader> reader = CsvReader::Open(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  for (int pass = 0; pass < 2; ++pass) {
    CsvRecord record;
    std::vector<std::string> firsts;
    std::vector<int64_t> lines;
    std::vector<bool> terminated;
    while (reader->Next(record).value()) {
      firsts.emplace_back(record[0]);
      lines.push_back(record.line);
      terminated.push_back(record.terminated);
    }
    EXPECT_EQ(firsts, (std::vector<std::string>{"1", "3\n", "5"})) << "pass " << pass;
    EXPECT_EQ(lines, (std::vector<int64_t>{2, 3, 5})) << "pass " << pass;
    EXPECT_EQ(terminated, (std::vector<bool>{true, true, false})) << "\"5,6\" has no line end";
    EXPECT_EQ(reader->bytes_read(), reader->file_bytes());
    ASSERT_TRUE(reader->Rewind().ok());
  }
}

TEST(CsvTest, NoHeaderWithNamesLatin1AndTabDelimiter) {
  ScratchDir dir;
  const std::string path = WriteTextFile(dir.File("u.item"), "1|Caf\xE9 (1995)|x\n2|Plain|y\n");
  CsvOptions options;
  options.delimiter = '|';
  options.header = false;
  options.columns = {"id", "title", "z"};
  options.latin1 = true;
  EXPECT_EQ(ReadAllRecords(path, options), (Rows{{"1", "Caf\xC3\xA9 (1995)", "x"}, {"2", "Plain", "y"}}));
  StatusOr<CsvReader> reader = CsvReader::Open(path, options);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->header(), options.columns);
  EXPECT_EQ(reader->ColumnIndex("title").value(), 1);

  EXPECT_EQ(ParseDelimiter("tab").value(), '\t');
  EXPECT_EQ(ParseDelimiter("\\t").value(), '\t');
  EXPECT_EQ(ParseDelimiter("|").value(), '|');
  EXPECT_FALSE(ParseDelimiter("||").ok());
  EXPECT_FALSE(ParseDelimiter("\"").ok());
  EXPECT_FALSE(ParseDelimiter("").ok());
}

TEST(CsvTest, WrongFieldCountNamesFileLineAndColumnAndReadingGoesOn) {
  ScratchDir dir;
  const std::string path = WriteTextFile(dir.File("bad.csv"), "a,b,c\n1,2,3\n\"x\ny\",2,3\n4,5\n6,7,8,9\n10,11,12\n");
  StatusOr<CsvReader> reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  CsvRecord record;
  ASSERT_TRUE(reader->Next(record).value());
  ASSERT_TRUE(reader->Next(record).value());
  StatusOr<bool> next = reader->Next(record);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kDataError);
  EXPECT_EQ(next.status().message(), path + ":5 column 'c': expected 3 fields as in the header, found 2");
  next = reader->Next(record);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().message(),
            path + ":6 column 4: expected 3 fields as in the header, found 4; quote fields that contain the delimiter");
  next = reader->Next(record);  // after an error, the next record
  ASSERT_TRUE(next.ok() && *next);
  EXPECT_EQ(record[0], "10");
  EXPECT_EQ(record.line, 7);
}

TEST(CsvTest, CutLastLineSaysSo) {
  ScratchDir dir;
  const std::string path = WriteTextFile(dir.File("cut.csv"), "1,2,pv,5\n1,3,p");
  CsvOptions options;
  options.header = false;
  options.columns = {"user", "item", "behavior", "time"};
  StatusOr<CsvReader> reader = CsvReader::Open(path, options);
  ASSERT_TRUE(reader.ok());
  CsvRecord record;
  ASSERT_TRUE(reader->Next(record).value());
  StatusOr<bool> next = reader->Next(record);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().message(), path +
                                         ":2 column 'time': expected 4 fields, found 3; the file's last line has no "
                                         "line end, so it was probably cut");
  next = reader->Next(record);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(*next);
}

TEST(CsvTest, UnclosedQuoteAndTextAfterQuoteAreErrors) {
  ScratchDir dir;
  StatusOr<CsvTable> table = ReadCsv(WriteTextFile(dir.File("open.csv"), "a,b\n1,\"oops\n2,3\n"));
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), StatusCode::kDataError);
  EXPECT_NE(table.status().message().find("open.csv:2: a quoted field is never closed"), std::string::npos)
      << table.status().message();
  table = ReadCsv(WriteTextFile(dir.File("after.csv"), "a,b\n1,\"x\"y\n"));
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("after.csv:2 column 'b': unexpected text after a closing quote"),
            std::string::npos)
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
  EXPECT_NE(missing.status().message().find("no column 'clicked'; columns are: a, b, a"), std::string::npos)
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
