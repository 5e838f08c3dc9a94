// The training data set that data.train names, opened and checked before any row is read: its
// files (one file, a directory's *.h5 files or a glob's matches, in name order), each with the
// columns and the stored schema of the first, bound to the FeatureSchema resolved from the data:
// keys and the schema `ectrain prepare` stored. Also what holding it decoded (data.in_memory)
// costs. Free functions of the options and the files, no state: call them from any one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/column_file.h"
#include "data/options.h"
#include "data/schema.h"
#include "data/stream_reader.h"

namespace ectrain::data {

// The schema of `file` for the columns named in `options`: vocabulary sizes and preprocessing
// from `stored`, the schema `ectrain prepare` stored in it (moved in: its vocabularies move on,
// uncopied), else from data.vocab_sizes (for categorical and multi-valued columns). Checks that
// every column exists. Errors name the file and the column, and say which key to set.
StatusOr<FeatureSchema> ResolveSchema(const DataOptions& options, const ColumnFile& file,
                                      std::optional<FeatureSchema> stored);

// The files data.train names: the file itself, a directory's *.h5 files, or a glob's matches,
// sorted by name. An error names the key and the pattern when nothing matches.
StatusOr<std::vector<std::string>> ExpandTrainFiles(const std::string& train);

// data.train's files, checked and bound to the resolved schema: what a StreamReader reads.
struct TrainingFiles {
  std::vector<std::string> paths;  // in name order
  std::vector<StreamFile> files;   // one per path; the first StreamOptions::max_open_files still open
  FeatureSchema schema;            // resolved from the first file, its preprocessing included
  int64_t chunk_rows = 0;          // the largest HDF5 chunk, in rows, of the bound datasets (0: none)
  std::string chunked_file;        // the file that has it
};

// Opens every file data.train names and checks it against the first: the same columns and the
// same stored schema (compared by a hash of its text, which can be tens of MB). Errors name the
// key and both files.
StatusOr<TrainingFiles> OpenTrainingFiles(const DataOptions& options);

// Bytes of the training set decoded: 4 per value and label, 8 per multi-valued row offset, 4 per id.
int64_t DecodedBytes(const std::vector<StreamFile>& files, const FeatureSchema& schema);

// data.in_memory: refused at start, rather than killed for memory while loading, when the decoded
// training set (`needed` bytes, held by every rank) times the ranks on this machine exceeds
// `available` (MemAvailable; < 0: unknown).
Status CheckFitsInMemory(int64_t needed, int ranks_on_host, int64_t available);

}  // namespace ectrain::data
