#include "data/table_io.h"

#include <algorithm>
#include <optional>

#include "data/csv.h"
#include "data/encoding.h"
#include "data/training_files.h"

namespace ectrain::data {
namespace {

// A file's stored schema against the model's (CheckEncodedAlike). The text the same (the file the
// model was trained or tested on) is the common case and needs no parsing: with real
// vocabularies that parse costs a second and tens of MB.
Status CheckEncodedLikeModel(const ColumnFile& file, const FeatureSchema& schema, const std::string& schema_json,
                             bool with_labels) {
  ASSIGN_OR_RETURN(const std::optional<std::string> text, file.StoredSchemaText());
  if (!text || *text == schema_json) return Status::Ok();
  ASSIGN_OR_RETURN(const FeatureSchema stored, ParseStoredSchema(*text, file.path()));
  return CheckEncodedAlike(stored, schema, with_labels, file.path());
}

// Appends one raw row, encoded as `prepare` encoded training (the same RowEncoder), to `table`;
// errors start with `row_name` (a file:line) when there is one.
Status AppendEncodedRow(const RowEncoder& encoder, const std::vector<std::string_view>& fields,
                        const std::string& row_name, Table& table, std::vector<std::vector<int32_t>>& bags) {
  table.dense.resize(table.dense.size() + table.num_dense);
  table.categorical.resize(table.categorical.size() + table.num_categorical);
  Status s = encoder.Encode(fields, table.dense.data() + table.num_rows * table.num_dense,
                            table.categorical.data() + table.num_rows * table.num_categorical, &bags);
  if (!s.ok()) return row_name.empty() ? s : Status(s.code(), row_name + ": " + s.message());
  for (int b = 0; b < table.bags.size(); ++b) {
    std::vector<int32_t>& values = table.bags.values(b);
    values.insert(values.end(), bags[b].begin(), bags[b].end());
    table.bags.offsets(b).push_back(static_cast<int64_t>(values.size()));
  }
  ++table.num_rows;
  return Status::Ok();
}

StatusOr<Table> EmptyRawTable(const FeatureSchema& schema) {
  if (!schema.has_preprocessing()) {
    return InvalidArgument(
        "this checkpoint's data was not made by `ectrain prepare`, so raw values cannot be "
        "encoded; give prepared HDF5 rows with --input FILE.h5");
  }
  Table table;
  table.num_dense = static_cast<int>(schema.dense.size());
  table.num_categorical = static_cast<int>(schema.categorical.size());
  table.bags.Resize(static_cast<int>(schema.multi_valued.size()));
  for (int b = 0; b < table.bags.size(); ++b) table.bags.offsets(b).push_back(0);
  return table;
}

}  // namespace

StatusOr<Table> ReadPreparedRows(const std::string& path, const FeatureSchema& schema, const std::string& schema_json,
                                 bool with_labels) {
  ASSIGN_OR_RETURN(ColumnFile file, ColumnFile::Open(path));
  RETURN_IF_ERROR(CheckEncodedLikeModel(file, schema, schema_json, with_labels));
  ASSIGN_OR_RETURN(Table table, file.ReadAll(schema, with_labels));
  if (table.num_rows == 0) return DataError("data file '" + path + "' has no rows: nothing to evaluate or score");
  return table;
}

StatusOr<Table> ReadTrainingTable(const std::string& train, const FeatureSchema& schema, const std::string& schema_json,
                                  std::vector<int32_t>& sampled) {
  ASSIGN_OR_RETURN(std::vector<std::string> files, ExpandTrainFiles(train));
  Table all;
  for (const std::string& path : files) {
    ASSIGN_OR_RETURN(ColumnFile file, ColumnFile::Open(path));
    RETURN_IF_ERROR(CheckEncodedLikeModel(file, schema, schema_json, /*with_labels=*/true));
    ASSIGN_OR_RETURN(Table t, file.ReadAll(schema, /*with_labels=*/true));
    ASSIGN_OR_RETURN(std::vector<int32_t> marks, file.SampledMarks());
    marks.resize(static_cast<size_t>(t.num_rows), 0);
    sampled.insert(sampled.end(), marks.begin(), marks.end());
    if (all.num_rows == 0 && all.dense.empty() && all.categorical.empty()) {
      all = std::move(t);
      continue;
    }
    all.dense.insert(all.dense.end(), t.dense.begin(), t.dense.end());
    all.categorical.insert(all.categorical.end(), t.categorical.begin(), t.categorical.end());
    all.labels.insert(all.labels.end(), t.labels.begin(), t.labels.end());
    for (int b = 0; b < all.bags.size(); ++b) {
      auto& values = all.bags.values(b);
      auto& offsets = all.bags.offsets(b);
      const int64_t base = static_cast<int64_t>(values.size());
      values.insert(values.end(), t.bags.values(b).begin(), t.bags.values(b).end());
      for (size_t r = 1; r < t.bags.offsets(b).size(); ++r) offsets.push_back(base + t.bags.offsets(b)[r]);
    }
    all.num_rows += t.num_rows;
  }
  all.bags.Link();
  return all;
}

// One raw row (column name -> text).
StatusOr<Table> EncodeRawRow(const FeatureSchema& schema, const std::map<std::string, std::string>& row) {
  ASSIGN_OR_RETURN(Table table, EmptyRawTable(schema));
  std::vector<std::string> columns;
  std::vector<std::string_view> fields;
  for (const auto& [name, text] : row) {
    columns.push_back(name);
    fields.push_back(text);
  }
  StatusOr<RowEncoder> encoder = RowEncoder::Create(schema, columns);
  RETURN_IF_ERROR(encoder.status());
  std::vector<std::vector<int32_t>> bags;
  RETURN_IF_ERROR(AppendEncodedRow(*encoder, fields, "", table, bags));
  table.bags.Link();
  return table;
}

// A raw CSV with a header, streamed and encoded row by row.
StatusOr<Table> ReadRawCsv(const FeatureSchema& schema, const std::string& path, const std::string& id_column,
                           std::vector<std::string>* ids) {
  ASSIGN_OR_RETURN(Table table, EmptyRawTable(schema));
  ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(path));
  StatusOr<RowEncoder> encoder = RowEncoder::Create(schema, reader.header());
  if (!encoder.ok()) return Status(encoder.status().code(), path + ": " + encoder.status().message());
  const std::vector<std::string>& header = reader.header();
  const size_t id_field = std::find(header.begin(), header.end(), id_column) - header.begin();
  if (!id_column.empty() && id_field == header.size()) {
    return InvalidArgument(path + " has no column '" + id_column +
                           "' (the id column); its columns are: " + JoinColumnNames(header));
  }
  CsvRecord record;
  std::vector<std::string_view> fields;
  std::vector<std::vector<int32_t>> bags;
  while (true) {
    ASSIGN_OR_RETURN(const bool found, reader.Next(record));
    if (!found) break;
    fields.resize(record.size());
    for (size_t i = 0; i < record.size(); ++i) fields[i] = record[i];
    RETURN_IF_ERROR(AppendEncodedRow(*encoder, fields, path + ":" + std::to_string(record.line), table, bags));
    if (ids != nullptr && !id_column.empty()) ids->emplace_back(id_field < record.size() ? record[id_field] : "");
  }
  if (table.num_rows == 0) return DataError("'" + path + "' has no rows after its header: nothing to score");
  table.bags.Link();
  return table;
}

StatusOr<std::vector<std::string>> ReadIdColumn(const std::string& path, const std::string& column, int64_t rows) {
  ASSIGN_OR_RETURN(const ColumnFile file, ColumnFile::Open(path));
  ASSIGN_OR_RETURN(std::vector<std::string> ids, file.ReadAsText(column));
  if (static_cast<int64_t>(ids.size()) != rows) {
    return DataError("data file '" + path + "': the id column '" + column + "' has " + std::to_string(ids.size()) +
                     " values for " + std::to_string(rows) + " rows; name a column with one value per row");
  }
  return ids;
}

}  // namespace ectrain::data
