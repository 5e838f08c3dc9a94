// Writing a whole file or nothing: what a reader finds at the path is the old file or the new one,
// never half of one (`ectrain report`'s page, `ectrain export`'s model and sidecar).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace ectrain {

// The temporary file beside `path` that WriteFileAtomically writes: PATH.tmp-<pid>.
std::string TemporaryPathFor(const std::string& path);

// Writes `bytes` to a temporary file beside `path` (TemporaryPathFor) and renames it over `path`;
// on failure the temporary is removed and `path` is left as it was. An Internal error, "cannot
// write NAME: <the system's reason>", names the file as `name` (`path` where empty).
Status WriteFileAtomically(const std::string& path, std::string_view bytes, const std::string& name = "");

}  // namespace ectrain
