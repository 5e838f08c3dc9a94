# Writes OUTPUT, the C++ source that defines ectrain::cli::kBuildCommit (src/cli/build_commit.h):
# the short hash of the commit checked out in SOURCE_DIR, with "-dirty" when tracked files differ
# from it, or "" when SOURCE_DIR is not the top of a git checkout (a tarball; git missing).
# Runs on every build (cmake -DSOURCE_DIR=... -DGIT_EXECUTABLE=... -DOUTPUT=... -P this file) and
# rewrites OUTPUT only when its text changes, so an unchanged tree recompiles and relinks nothing.
set(commit "")
if(GIT_EXECUTABLE AND EXISTS "${GIT_EXECUTABLE}")
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --show-toplevel --short HEAD
                  OUTPUT_VARIABLE lines RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0)
    string(REPLACE "\n" ";" lines "${lines}")
    list(GET lines 0 top)
    list(GET lines 1 hash)
    file(REAL_PATH "${top}" top)
    file(REAL_PATH "${SOURCE_DIR}" source)
    # Only the project's own checkout counts, not one that merely contains an unpacked tarball.
    if(top STREQUAL source)
      set(commit "${hash}")
      # --no-optional-locks: a build must not take index.lock from under a concurrent git command.
      execute_process(COMMAND "${GIT_EXECUTABLE}" --no-optional-locks -C "${SOURCE_DIR}" status --porcelain
                              --untracked-files=no
                      OUTPUT_VARIABLE changes RESULT_VARIABLE rc ERROR_QUIET)
      if(NOT rc EQUAL 0 OR NOT changes STREQUAL "")  # a tree git cannot read counts as changed
        string(APPEND commit "-dirty")
      endif()
    endif()
  endif()
endif()

string(CONCAT text "// Written by cmake/build_commit.cmake at build time.\n#include \"cli/build_commit.h\"\n\n"
       "namespace ectrain::cli {\nconst char kBuildCommit[] = \"${commit}\";\n}  // namespace ectrain::cli\n")
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
