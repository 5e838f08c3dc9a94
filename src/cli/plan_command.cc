// `ectrain plan`: the config and its data checked as `ectrain config` checks them, then what a
// training run on N ranks reads and holds (plan/run_estimate.h), as text or JSON.
#include <cstdio>

#include "cli/commands.h"
#include "config/config.h"
#include "plan/data_check.h"
#include "plan/run_estimate.h"

namespace ectrain::cli {

Status RunPlanCommand(const PlanArgs& args) {
  ASSIGN_OR_RETURN(const RunConfig config, config::LoadConfig(args.config_path, args.overrides));
  const plan::DataCheck check = plan::CheckConfigData(config, args.config_path);
  RETURN_IF_ERROR(ReportDataProblems(check, args.config_path));
  ASSIGN_OR_RETURN(const plan::RunEstimate estimate, plan::EstimateRun(check, args.ranks, args.config_path));
  if (args.json) {
    std::printf("%s\n", plan::EstimateJson(estimate).dump(2).c_str());
  } else {
    std::printf("%s", plan::FormatEstimate(estimate).c_str());
  }
  return Status::Ok();
}

}  // namespace ectrain::cli
