#include "data/csv.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ectrain::data {
namespace {

struct Record {
  std::vector<std::string> fields;
  int64_t line = 0;
  bool blank = false;  // an empty line, not even a quoted empty field
};

// Splits the whole text into records. A quoted field may span lines, so `line` is where the
// record starts.
StatusOr<std::vector<Record>> SplitRecords(const std::string& text, char delimiter,
                                           const std::string& path) {
  std::vector<Record> records;
  size_t i = 0;
  const size_t n = text.size();
  int64_t line = 1;
  // Returns the length of the line end at `pos` (LF, or CR LF, or a CR ending the file), else 0.
  auto line_end = [&](size_t pos) -> size_t {
    if (text[pos] == '\n') return 1;
    if (text[pos] == '\r' && (pos + 1 == n || text[pos + 1] == '\n')) return pos + 1 == n ? 1 : 2;
    return 0;
  };
  while (i < n) {
    Record record;
    record.line = line;
    record.blank = line_end(i) > 0;
    while (true) {
      std::string field;
      if (i < n && text[i] == '"') {
        const int64_t quote_line = line;
        ++i;
        while (true) {
          if (i >= n) {
            return DataError(path + ":" + std::to_string(quote_line) +
                             ": a quoted field is never closed; check for a stray '\"'");
          }
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < n && text[i] != delimiter && line_end(i) == 0) {
          return DataError(path + ":" + std::to_string(line) +
                           ": unexpected text after a closing quote; quotes inside a quoted "
                           "field must be doubled (\"\")");
        }
      } else {
        while (i < n && text[i] != delimiter && line_end(i) == 0) field += text[i++];
      }
      record.fields.push_back(std::move(field));
      if (i < n && text[i] == delimiter) {
        ++i;
        continue;
      }
      if (i < n) {
        i += line_end(i);
        ++line;
      }
      break;
    }
    records.push_back(std::move(record));
  }
  while (!records.empty() && records.back().blank) records.pop_back();
  return records;
}

}  // namespace

std::string_view TrimSpaces(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

StatusOr<int> CsvTable::ColumnIndex(const std::string& name) const {
  int found = -1;
  std::string columns;
  for (int c = 0; c < static_cast<int>(header.size()); ++c) {
    if (header[c] == name) {
      if (found >= 0) {
        return DataError("CSV '" + path + "' has two columns named '" + name +
                         "'; rename one in the header");
      }
      found = c;
    }
    columns += (c == 0 ? "" : ", ") + header[c];
  }
  if (found < 0) {
    return NotFound("CSV '" + path + "' has no column '" + name + "'; columns are: " + columns);
  }
  return found;
}

StatusOr<CsvTable> ReadCsv(const std::string& path, char delimiter) {
  if (!std::filesystem::exists(path)) return NotFound("CSV file '" + path + "' not found");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in) return DataError("could not read CSV file '" + path + "'; check its permissions");
  std::string text = std::move(buffer).str();
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // UTF-8 byte order mark (Excel)

  ASSIGN_OR_RETURN(std::vector<Record> records, SplitRecords(text, delimiter, path));
  if (records.empty()) return DataError("CSV file '" + path + "' is empty; it needs a header row");

  CsvTable table;
  table.path = path;
  for (const std::string& name : records[0].fields) table.header.emplace_back(TrimSpaces(name));
  table.rows.reserve(records.size() - 1);
  table.line_numbers.reserve(records.size() - 1);
  for (size_t r = 1; r < records.size(); ++r) {
    Record& record = records[r];
    if (record.fields.size() != table.header.size()) {
      return DataError(path + ":" + std::to_string(record.line) + ": expected " +
                       std::to_string(table.header.size()) + " fields as in the header, found " +
                       std::to_string(record.fields.size()) +
                       "; quote fields that contain the delimiter");
    }
    table.rows.push_back(std::move(record.fields));
    table.line_numbers.push_back(record.line);
  }
  return table;
}

}  // namespace ectrain::data
