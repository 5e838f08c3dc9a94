// A small RFC 4180 CSV reader: a header row, any single-character delimiter, quoted fields
// with doubled quotes, LF or CRLF line ends. Whole file in memory (large inputs: issue 3).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace ectrain::data {

struct CsvTable {
  std::string path;
  std::vector<std::string> header;             // names trimmed of surrounding spaces
  std::vector<std::vector<std::string>> rows;  // each row has header.size() fields
  std::vector<int64_t> line_numbers;           // 1-based line in the file, per row (for errors)

  // Index of `name` in the header, or an error that lists the columns there are.
  StatusOr<int> ColumnIndex(const std::string& name) const;
};

// A row with the wrong number of fields is an error naming the file and line.
StatusOr<CsvTable> ReadCsv(const std::string& path, char delimiter = ',');

// `text` without leading and trailing spaces and tabs.
std::string_view TrimSpaces(std::string_view text);

}  // namespace ectrain::data
