// A streaming RFC 4180 reader: one record at a time through a fixed buffer, so memory does not
// grow with the file. Any single-character delimiter, a header row or given column names, quoted
// fields with doubled quotes and line breaks, LF or CRLF line ends, optional Latin-1 -> UTF-8.
// One reader per thread; a CsvRecord's fields are valid until the next call to Next().
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace ectrain::data {

struct CsvOptions {
  char delimiter = ',';
  bool header = true;                // the first record names the columns
  std::vector<std::string> columns;  // the names when there is no header (may be empty: no check)
  bool latin1 = false;               // the file is Latin-1: fields are converted to UTF-8
  size_t buffer_bytes = 1 << 20;
};

// One record: its fields and where it starts in the file.
class CsvRecord {
 public:
  size_t size() const { return ends_.size(); }
  std::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text_).substr(begin, ends_[i] - begin);
  }
  int64_t line = 0;        // 1-based line where the record starts
  bool terminated = true;  // false: the file's last line, without a line end (it may be cut)

 private:
  friend class CsvReader;
  std::string text_;          // the fields, back to back
  std::vector<size_t> ends_;  // end of each field in text_
};

class CsvReader {
 public:
  static StatusOr<CsvReader> Open(const std::string& path, CsvOptions options = {});
  CsvReader(CsvReader&&) noexcept = default;
  CsvReader& operator=(CsvReader&&) noexcept = default;

  // Reads the next record; false at the end of the file. Blank lines are skipped. A malformed
  // record is a DataError naming "path:line" (and the column where there is one): text after a
  // closing quote, a quote never closed, or, when the columns are known, a wrong number of
  // fields. After such an error reading may go on with the next record (for `bad_rows: skip`).
  StatusOr<bool> Next(CsvRecord& record);
  // Back to the first data record, for another pass.
  Status Rewind();

  const std::string& path() const { return path_; }
  // Column names: the header trimmed of spaces, or CsvOptions::columns.
  const std::vector<std::string>& header() const { return header_; }
  // Index of `name` in header(), or an error that lists the columns there are.
  StatusOr<int> ColumnIndex(const std::string& name) const;
  int64_t bytes_read() const { return buffer_offset_ + static_cast<int64_t>(pos_); }
  int64_t file_bytes() const { return file_bytes_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  CsvReader() = default;
  bool Refill();  // false at the end of the file
  // Parses one record (possibly blank) into `record`; false at the end of the file.
  StatusOr<bool> ParseRecord(CsvRecord& record, bool& blank);
  void FinishField(CsvRecord& record, size_t field_begin) const;
  void SkipRestOfLine();
  // "path:line column 'name'" (or "column N" when the columns have no names).
  std::string Where(int64_t line, size_t field) const;

  std::string path_;
  CsvOptions options_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::vector<char> buffer_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  int64_t line_ = 1;
  int64_t buffer_offset_ = 0;  // file offset of buffer_[0]
  int64_t file_bytes_ = 0;
  int64_t data_offset_ = 0;  // where the first data record starts (after a header)
  int64_t data_line_ = 1;
  std::vector<std::string> header_;
};

// A whole small CSV with a header in memory (predict's raw rows). Large inputs: use CsvReader.
struct CsvTable {
  std::string path;
  std::vector<std::string> header;             // names trimmed of surrounding spaces
  std::vector<std::vector<std::string>> rows;  // each row has header.size() fields
  std::vector<int64_t> line_numbers;           // 1-based line in the file, per row (for errors)

  StatusOr<int> ColumnIndex(const std::string& name) const;
};
StatusOr<CsvTable> ReadCsv(const std::string& path, char delimiter = ',');

// Latin-1 bytes as UTF-8 (every byte >= 0x80 becomes two).
std::string Latin1ToUtf8(std::string_view text);
// `text` without leading and trailing spaces and tabs.
std::string_view TrimSpaces(std::string_view text);
// "tab" or "\t" (the two characters) -> '\t'; any other single character as it is; else an error.
StatusOr<char> ParseDelimiter(const std::string& text);

}  // namespace ectrain::data
