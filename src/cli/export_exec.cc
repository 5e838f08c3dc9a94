#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"

namespace ectrain::cli {

// `ectrain export` runs ectrain-export, installed beside this program (export_main.cc says why).
Status RunExportProgram(const ExportArgs& args) {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::string program = (self.parent_path() / "ectrain-export").string();
  if (error || access(program.c_str(), X_OK) != 0) {
    return NotFound("export: the program " + program + " is missing or not executable (" +
                    std::strerror(error ? error.value() : errno) +
                    "); it is built and installed with ectrain (launch/setup.sh, cmake --install): build it again");
  }
  std::vector<std::string> words = {program,     "--checkpoint", args.checkpoint, "--format",
                                    args.format, "--out",        args.out};
  if (LogVerbose()) words.push_back("--verbose");
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  execv(program.c_str(), argv.data());
  return Internal("export: cannot run " + program + ": " + std::strerror(errno));
}

}  // namespace ectrain::cli
