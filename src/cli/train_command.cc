// `ectrain train`: one rank's run wired from the config (data feed, model, communicator, trainer),
// as a process of its own under a launcher or as a thread of --ranks N.
#include <cstdint>
#include <memory>
#include <optional>

#include "ckpt/restore.h"
#include "cli/commands.h"
#include "comm/communicator.h"
#include "comm/in_process_communicator.h"
#include "comm/make_communicator.h"
#include "comm/no_gradient_exchange.h"
#include "config/config.h"
#include "core/log.h"
#include "eval/metrics.h"
#include "train/data_feed.h"
#include "train/device.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace ectrain::cli {
namespace {

comm::Backend BackendOf(const std::string& name) {
  if (name == "local") return comm::Backend::kLocal;
  if (name == "mpi") return comm::Backend::kMpi;
  return comm::Backend::kAuto;
}

// One rank's whole training run; the same for a process of its own and for a thread of --ranks N.
// `no_gradient_exchange`: bench/comm_ceiling.sh's timing-only run (comm/no_gradient_exchange.h).
Status TrainOnRank(const RunConfig& config, const TrainArgs& args, comm::Communicator& rank_comm,
                   bool no_gradient_exchange) {
  StatusOr<train::RankDevice> device = train::ChooseDevice(config.train.device, rank_comm);
  RETURN_IF_ERROR(comm::AgreeOk(rank_comm, device.status(), "choosing the device (train.device)"));
  std::optional<comm::NoGradientExchangeCommunicator> timing_only;
  if (no_gradient_exchange) timing_only.emplace(*device->comm);
  comm::Communicator& comm = timing_only ? *timing_only : *device->comm;
  if (comm.rank() == 0) LOG_INFO << "device: " << device->description;
  data::DataOptions data = config.data;
  data.ranks_on_host = comm.local_size();
  auto feed = train::DataFeed::Open(data, comm.size(), comm.rank(), config.train.global_batch_size,
                                    static_cast<uint64_t>(config.train.seed));
  RETURN_IF_ERROR(comm::AgreeOk(comm, feed.status(), "opening the training data"));
  // model.loss auto follows the labels the data holds; the run's config.yaml and checkpoints record
  // the loss it trains with, so eval, predict and a resumed run use that one.
  RunConfig resolved = config;
  if (resolved.model.loss == "auto") {
    resolved.model.loss = model::LossForLabelType(feed->schema().label_type);
    if (comm.rank() == 0) {
      LOG_INFO << "model.loss auto: " << resolved.model.loss << " (column '" << feed->schema().label << "' holds "
               << feed->schema().label_type << " labels)";
    }
  }
  resolved.data.label_type = feed->schema().label_type;
  StatusOr<std::unique_ptr<model::Model>> model =
      model::CreateModel(resolved.model, ckpt::ModelInputs(feed->schema()), *device->kernels);
  RETURN_IF_ERROR(comm::AgreeOk(comm, model.status(), "building the model"));
  train::Trainer trainer(resolved, comm, **model, *feed);
  const train::ResumeMode mode = args.fresh    ? train::ResumeMode::kFresh
                                 : args.resume ? train::ResumeMode::kRequired
                                               : train::ResumeMode::kAuto;
  ASSIGN_OR_RETURN(train::TrainResult result, trainer.Run(args.launch_time, mode));
  if (result.validation_metrics) LOG_INFO << "validation " << eval::FormatMetrics(*result.validation_metrics);
  if (result.test_metrics && result.already_complete) {
    LOG_INFO << "final test " << eval::FormatMetrics(*result.test_metrics) << "; checkpoint " << result.checkpoint_path;
  } else if (result.test_metrics) {
    LOG_INFO << "done: " << result.epochs << " epochs, " << result.steps << " steps in "
             << train::FormatDuration(result.train_seconds) << " (" << static_cast<int64_t>(result.samples_per_second)
             << " samples/s); final test " << eval::FormatMetrics(*result.test_metrics);
    LOG_INFO << "checkpoint: " << result.checkpoint_path << "   metrics: " << config.train.output_dir
             << "/metrics.jsonl";
  }
  return Status::Ok();
}

}  // namespace

Status RunTrain(const TrainArgs& args) {
  ASSIGN_OR_RETURN(RunConfig config, config::LoadConfig(args.config_path, args.overrides));
  RETURN_IF_ERROR(config::CheckTrainingInputs(config, args.config_path));
  const bool no_gradient_exchange = comm::NoGradientExchangeRequested();
  if (args.ranks > 1) {
    if (comm::LaunchedByMpi() || config.comm.backend == "mpi") {
      return InvalidArgument(
          "--ranks runs ranks as threads of one process; do not combine it with mpirun/srun or "
          "comm.backend: mpi");
    }
    LOG_INFO << "debug mode: " << args.ranks << " ranks as threads of this process";
    return comm::RunInProcess(args.ranks, [&](comm::Communicator& comm) {
      SetLogRank(comm.rank());
      return TrainOnRank(config, args, comm, no_gradient_exchange);
    });
  }
  ASSIGN_OR_RETURN(auto comm, comm::MakeCommunicator(BackendOf(config.comm.backend), config.comm.host_shared_memory));
  return TrainOnRank(config, args, *comm, no_gradient_exchange);
}

}  // namespace ectrain::cli
