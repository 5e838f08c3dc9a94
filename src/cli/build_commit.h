// The git commit the ectrain program was built from: the short hash, with "-dirty" when tracked
// files had uncommitted changes, or "" for a build outside a git checkout. cmake/build_commit.cmake
// writes its definition on every build where it changed; only the program links it.
#pragma once

namespace ectrain::cli {
extern const char kBuildCommit[];
}  // namespace ectrain::cli
