// `ectrain report RUN_DIR... --out FILE`: the runs side by side in one HTML page.
#include <cstdio>

#include "cli/commands.h"
#include "report/report.h"

namespace ectrain::cli {

Status RunReport(const ReportArgs& args) {
  ASSIGN_OR_RETURN(const report::Report report, report::WriteReport(args.run_dirs, args.out));
  std::printf("wrote %s: %zu run%s, %d chart%s\n", args.out.c_str(), args.run_dirs.size(),
              args.run_dirs.size() == 1 ? "" : "s", report.charts, report.charts == 1 ? "" : "s");
  return Status::Ok();
}

}  // namespace ectrain::cli
