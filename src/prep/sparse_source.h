// libSVM ("label index:value ...") and libFFM ("label field:index:value ...") files as raw rows for
// `ectrain prepare`: a column per leading value (the label first) and one per named field, whose
// text follows the field's role (SparseOptions). The survey reads such files once to find the
// fields libFFM numbers and the roles to give them when the config names none. One source per thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "prep/importers.h"

namespace ectrain::prep {

// Reached through OpenRowSource (format libsvm or libffm). libffm without field names
// (SourceOptions::columns) reads the file once first, to name its fields f0..fN.
StatusOr<std::unique_ptr<RowSource>> OpenSparseSource(const SourceOptions& options);

// What one pass over the files says about their fields.
struct SparseSurvey {
  std::vector<std::string> fields;  // every field; libffm without names: f0..fN, N the largest number seen
  // Default roles: the label is the first leading column; a field with a value other than 0 and 1
  // on its one index is dense, one with several features on a row multi-valued, any other present
  // one categorical. Fields no line has, and fields with other values on several indices, have none.
  FormatRoles roles;
  std::vector<std::string> absent;      // fields no line has
  std::vector<std::string> unreadable;  // values other than 0/1 on several indices: not dense, not one-hot
  int64_t lines = 0;                    // lines with data, bad ones included
};

// Reads `paths` (all in the layout of `options`); a malformed line is an error naming its file,
// line and token, or, with `skip_bad_lines`, left out of the survey.
StatusOr<SparseSurvey> SurveySparseFiles(const SourceOptions& options, const std::vector<std::string>& paths,
                                         bool skip_bad_lines);

}  // namespace ectrain::prep
