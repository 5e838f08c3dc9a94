// Checks that the ranks of a job are running the same thing: the same binary, configuration, data
// and model at start, and bitwise the same parameters while training (train.verify_every_steps).
// Collective: all ranks, same order; a difference is an error on every rank naming the first one.
#pragma once

#include <cstdint>

#include "comm/communicator.h"
#include "config/run_config.h"
#include "core/param_arena.h"
#include "model/model.h"
#include "train/data_feed.h"
#include "train/watchdog.h"

namespace ectrain::train {

Status CheckRanksAgree(comm::Communicator& comm, const RunConfig& config, const DataFeed& feed,
                       const model::Model& model);

Status VerifyParametersIdentical(comm::Communicator& comm, StallWatchdog& watchdog, const ParamLayout& layout,
                                 const ParamArena& params, int64_t step);

}  // namespace ectrain::train
