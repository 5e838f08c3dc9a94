#include "train/consistency.h"

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/version.h"
#include "data/encoding.h"

namespace ectrain::train {

Status CheckRanksAgree(comm::Communicator& comm, const RunConfig& config, const DataFeed& feed,
                       const model::Model& model) {
  // What must be the same everywhere, as rank 0 sees it; each rank compares its own view.
  const std::vector<std::pair<std::string, std::string>> mine = {
      {"binary version", ECTRAIN_VERSION},
      {"training data (" + config.data.train + ")",
       std::to_string(feed.num_rows()) + " rows, schema " + std::to_string(data::StableHash(*feed.schema_json()))},
      {"parameter count", std::to_string(model.layout().num_parameters())},
      {"configuration", config::ToYaml(config)}};
  Status local;
  for (const auto& [what, value] : mine) {
    std::string rank0 = value;
    comm.Broadcast(rank0, 0);  // Collective
    if (!local.ok() || rank0 == value) continue;
    std::string detail;
    if (what == "configuration") {  // name the first differing line of the resolved YAML
      std::istringstream a(value), b(rank0);
      for (std::string la, lb; std::getline(a, la) && std::getline(b, lb);) {
        if (la != lb) {
          detail = ": here '" + la + "', on rank 0 '" + lb + "'";
          break;
        }
      }
    } else {
      detail = ": here " + value + ", on rank 0 " + rank0;
    }
    local = InvalidArgument("rank " + std::to_string(comm.rank()) + " differs from rank 0 in its " + what + detail +
                            "; every rank must run the same ectrain, config and data");
  }
  return comm::AgreeOk(comm, local, "the start-up check that all ranks agree");
}

Status VerifyParametersIdentical(comm::Communicator& comm, StallWatchdog& watchdog, const ParamLayout& layout,
                                 const ParamArena& params, int64_t step) {
  const auto& specs = layout.specs();
  std::vector<float> copy;
  if (!params.on_host()) {
    copy.resize(static_cast<size_t>(params.size()));
    params.CopyToHost(copy.data());
  }
  const float* values = params.on_host() ? params.data() : copy.data();
  std::vector<int64_t> mine(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string_view bytes(reinterpret_cast<const char*>(values + specs[i].offset),
                                 static_cast<size_t>(specs[i].size()) * sizeof(float));
    mine[i] = static_cast<int64_t>(data::StableHash(bytes));
  }
  std::vector<int64_t> all(specs.size() * comm.size());
  {
    InCollective waiting(watchdog, "the parameter checksum all-gather", step, static_cast<int64_t>(all.size()) * 8);
    comm.AllGather(mine, all);
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    for (int r = 1; r < comm.size(); ++r) {
      if (all[r * specs.size() + i] != all[i]) {
        return Internal("parameters differ between ranks at step " + std::to_string(step) + ": '" + specs[i].name +
                        "' on rank " + std::to_string(r) + " differs from rank 0 (train.verify_every_steps)");
      }
    }
  }
  return Status::Ok();
}

}  // namespace ectrain::train
