// ectrain-export: the program behind `ectrain export`, which parses the command line and runs this
// one with the parsed values (RunExportProgram). It is apart because it links ONNX and the full
// protobuf library, which every training process would otherwise load (2.6 MB resident per rank).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "core/log.h"

int main(int argc, char** argv) {
  ectrain::cli::ExportArgs args;
  bool verbose = false;
  CLI::App app{"ectrain-export: run by `ectrain export` (see `ectrain export --help`)"};
  app.add_option("--checkpoint", args.checkpoint)->required();
  app.add_option("--format", args.format)->required();
  app.add_option("--out", args.out)->required();
  app.add_flag("--verbose", verbose);
  CLI11_PARSE(app, argc, argv);
  ectrain::SetLogVerbose(verbose);
  const ectrain::Status status = ectrain::cli::RunExport(args);
  if (!status.ok()) {
    std::fprintf(stderr, "ectrain: error: %s\n", status.message().c_str());
    return status.ExitCode();
  }
  return 0;
}
