#include "data/csv.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace ectrain::data {

std::string Latin1ToUtf8(std::string_view text) {
  std::string converted;
  converted.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      converted += ch;
    } else {
      converted += static_cast<char>(0xC0 | (c >> 6));
      converted += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return converted;
}

std::string_view TrimSpaces(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

StatusOr<char> ParseDelimiter(const std::string& text) {
  if (text == "tab" || text == "\\t") return '\t';
  if (text.size() == 1 && text != "\"" && text != "\n" && text != "\r") return text[0];
  return InvalidArgument("delimiter '" + text + "' must be one character other than a quote or a line end, or \"tab\"");
}

StatusOr<CsvReader> CsvReader::Open(const std::string& path, CsvOptions options) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return NotFound("CSV file '" + path + "' not found");
  }
  CsvReader reader;
  reader.path_ = path;
  reader.options_ = std::move(options);
  reader.file_.reset(std::fopen(path.c_str(), "rb"));
  if (!reader.file_) return DataError("could not read CSV file '" + path + "'; check its permissions");
  reader.file_bytes_ = static_cast<int64_t>(std::filesystem::file_size(path, error));
  reader.buffer_.resize(std::max<size_t>(reader.options_.buffer_bytes, 64));
  // A UTF-8 byte order mark (Excel) is not part of the first name.
  if (reader.Refill() && reader.end_ >= 3 && std::memcmp(reader.buffer_.data(), "\xEF\xBB\xBF", 3) == 0) {
    reader.pos_ = 3;
  }
  if (reader.options_.header) {
    CsvRecord names;
    ASSIGN_OR_RETURN(const bool found, reader.Next(names));
    if (!found) return DataError("CSV file '" + path + "' is empty; it needs a header row");
    for (size_t i = 0; i < names.size(); ++i) reader.header_.emplace_back(TrimSpaces(names[i]));
  } else {
    reader.header_ = reader.options_.columns;
  }
  reader.data_offset_ = reader.bytes_read();
  reader.data_line_ = reader.line_;
  return reader;
}

Status CsvReader::Rewind() {
  if (std::fseek(file_.get(), static_cast<long>(data_offset_), SEEK_SET) != 0) {
    return DataError("could not seek in '" + path_ + "'; is it a pipe? give a regular file");
  }
  buffer_offset_ = data_offset_;
  pos_ = end_ = 0;
  eof_ = false;
  line_ = data_line_;
  return Status::Ok();
}

bool CsvReader::Refill() {
  if (pos_ < end_) return true;
  if (eof_) return false;
  buffer_offset_ += static_cast<int64_t>(end_);
  pos_ = 0;
  end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_.get());
  if (end_ == 0) eof_ = true;
  return end_ > 0;
}

std::string CsvReader::Where(int64_t line, size_t field) const {
  std::string where = path_ + ":" + std::to_string(line) + " column ";
  if (field < header_.size()) return where + "'" + header_[field] + "'";
  return where + std::to_string(field + 1);
}

void CsvReader::FinishField(CsvRecord& record, size_t field_begin) const {
  std::string& text = record.text_;
  if (options_.latin1 && std::any_of(text.begin() + field_begin, text.end(), [](char c) { return (c & 0x80) != 0; })) {
    text.replace(field_begin, std::string::npos, Latin1ToUtf8(std::string_view(text).substr(field_begin)));
  }
  record.ends_.push_back(text.size());
}

void CsvReader::SkipRestOfLine() {
  while (Refill()) {
    const char* start = buffer_.data() + pos_;
    const void* newline = std::memchr(start, '\n', end_ - pos_);
    if (newline != nullptr) {
      pos_ += static_cast<const char*>(newline) - start + 1;
      ++line_;
      return;
    }
    pos_ = end_;
  }
}

StatusOr<bool> CsvReader::ParseRecord(CsvRecord& record, bool& blank) {
  record.text_.clear();
  record.ends_.clear();
  record.line = line_;
  record.terminated = true;
  blank = false;
  if (!Refill()) return false;
  const char delimiter = options_.delimiter;
  bool quoted_any = false;
  while (true) {  // one field per iteration
    const size_t field_begin = record.text_.size();
    if (Refill() && buffer_[pos_] == '"') {
      quoted_any = true;
      const int64_t quote_line = line_;
      ++pos_;
      while (true) {
        if (!Refill()) {
          FinishField(record, field_begin);
          return DataError(path_ + ":" + std::to_string(quote_line) +
                           ": a quoted field is never closed; check for a stray '\"'");
        }
        const char* start = buffer_.data() + pos_;
        const size_t available = end_ - pos_;
        const char* quote = static_cast<const char*>(std::memchr(start, '"', available));
        const char* stop = quote != nullptr ? quote : start + available;
        line_ += std::count(start, stop, '\n');
        record.text_.append(start, stop);
        pos_ += stop - start;
        if (quote == nullptr) continue;
        ++pos_;  // the quote: doubled, or the end of the field
        if (Refill() && buffer_[pos_] == '"') {
          record.text_ += '"';
          ++pos_;
          continue;
        }
        break;
      }
      if (Refill() && buffer_[pos_] != delimiter && buffer_[pos_] != '\n' && buffer_[pos_] != '\r') {
        const size_t field = record.ends_.size();
        FinishField(record, field_begin);
        const int64_t line = line_;
        SkipRestOfLine();
        return DataError(Where(line, field) +
                         ": unexpected text after a closing quote; quotes inside a quoted field must "
                         "be doubled (\"\")");
      }
    } else {
      bool line_ended = false;  // by a CR LF, or a CR at the end of the file
      while (Refill()) {
        const char* start = buffer_.data() + pos_;
        const char* stop = buffer_.data() + end_;
        const char* p = start;
        while (p < stop && *p != delimiter && *p != '\n' && *p != '\r') ++p;
        record.text_.append(start, p);
        pos_ += p - start;
        if (p == stop) continue;
        if (*p != '\r') break;
        // A CR ends the line only before an LF or at the end of the file; elsewhere it is text.
        ++pos_;
        if (!Refill() || buffer_[pos_] == '\n') {
          if (Refill()) ++pos_;
          line_ended = true;
          break;
        }
        record.text_ += '\r';
      }
      if (line_ended) {
        FinishField(record, field_begin);
        ++line_;
        break;
      }
    }
    FinishField(record, field_begin);
    if (!Refill()) {  // the last line has no line end
      record.terminated = false;
      break;
    }
    const char c = buffer_[pos_];
    ++pos_;
    if (c == delimiter) continue;
    if (c == '\r' && Refill() && buffer_[pos_] == '\n') ++pos_;
    ++line_;
    break;
  }
  blank = record.ends_.size() == 1 && record.text_.empty() && !quoted_any;
  return true;
}

StatusOr<bool> CsvReader::Next(CsvRecord& record) {
  while (true) {
    bool blank = false;
    ASSIGN_OR_RETURN(const bool found, ParseRecord(record, blank));
    if (!found) return false;
    if (blank) continue;
    if (!header_.empty() && record.size() != header_.size()) {
      const std::string expected = "expected " + std::to_string(header_.size()) + " fields" +
                                   (options_.header ? " as in the header" : "") + ", found " +
                                   std::to_string(record.size());
      if (record.size() > header_.size()) {
        return DataError(Where(record.line, header_.size()) + ": " + expected +
                         "; quote fields that contain the delimiter");
      }
      return DataError(Where(record.line, record.size()) + ": " + expected +
                       (record.terminated ? "" : "; the file's last line has no line end, so it was probably cut"));
    }
    return true;
  }
}

StatusOr<int> CsvReader::ColumnIndex(const std::string& name) const {
  int found = -1;
  std::string columns;
  for (int c = 0; c < static_cast<int>(header_.size()); ++c) {
    if (header_[c] == name) {
      if (found >= 0) {
        return DataError("CSV '" + path_ + "' has two columns named '" + name + "'; rename one in the header");
      }
      found = c;
    }
    columns += (c == 0 ? "" : ", ") + header_[c];
  }
  if (found < 0) return NotFound("CSV '" + path_ + "' has no column '" + name + "'; columns are: " + columns);
  return found;
}

StatusOr<int> CsvTable::ColumnIndex(const std::string& name) const {
  int found = -1;
  std::string columns;
  for (int c = 0; c < static_cast<int>(header.size()); ++c) {
    if (header[c] == name) {
      if (found >= 0)
        return DataError("CSV '" + path + "' has two columns named '" + name + "'; rename one in the header");
      found = c;
    }
    columns += (c == 0 ? "" : ", ") + header[c];
  }
  if (found < 0) return NotFound("CSV '" + path + "' has no column '" + name + "'; columns are: " + columns);
  return found;
}

StatusOr<CsvTable> ReadCsv(const std::string& path, char delimiter) {
  CsvOptions options;
  options.delimiter = delimiter;
  ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(path, options));
  CsvTable table;
  table.path = path;
  table.header = reader.header();
  CsvRecord record;
  while (true) {
    ASSIGN_OR_RETURN(const bool found, reader.Next(record));
    if (!found) break;
    std::vector<std::string>& row = table.rows.emplace_back();
    for (size_t i = 0; i < record.size(); ++i) row.emplace_back(record[i]);
    table.line_numbers.push_back(record.line);
  }
  return table;
}

}  // namespace ectrain::data
