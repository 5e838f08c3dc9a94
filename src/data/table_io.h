// Tables of rows for a trained model to score, read as the model's training data was encoded:
// prepared HDF5 files (their stored schema checked against the model's), the training files of a
// run (for recommend's catalogue), and raw rows or CSVs encoded with the same RowEncoder that
// `ectrain prepare` used. Errors name the file, row and column. Pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/column_file.h"
#include "data/schema.h"

namespace ectrain::data {

// Every row of a prepared file for a model trained on data encoded as `schema` (its stored JSON
// text `schema_json`): the file's stored schema must encode the columns alike
// (CheckEncodedAlike), and it must have rows.
StatusOr<Table> ReadPreparedRows(const std::string& path, const FeatureSchema& schema, const std::string& schema_json,
                                 bool with_labels);

// The rows of every file `train` names (data.train: a file, a folder or a glob), concatenated, with
// their labels; `sampled` gets each row's sampled-negative mark (0 for files without marks).
StatusOr<Table> ReadTrainingTable(const std::string& train, const FeatureSchema& schema, const std::string& schema_json,
                                  std::vector<int32_t>& sampled);

// One raw row (column name -> text), and a raw CSV with a header (streamed), encoded as `prepare`
// encoded the training data. Needs a schema with preprocessing (written by `ectrain prepare`).
StatusOr<Table> EncodeRawRow(const FeatureSchema& schema, const std::map<std::string, std::string>& row);
// With an `id_column`, `ids` gets that column's raw text for each row (a row key passed through).
StatusOr<Table> ReadRawCsv(const FeatureSchema& schema, const std::string& path, const std::string& id_column = "",
                           std::vector<std::string>* ids = nullptr);

// Column `column` of data file `path` as text, one per row (ColumnFile::ReadAsText); it must have
// `rows` values, one per row scored.
StatusOr<std::vector<std::string>> ReadIdColumn(const std::string& path, const std::string& column, int64_t rows);

}  // namespace ectrain::data
