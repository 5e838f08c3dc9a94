// The steady-state training step allocates nothing: a run of 320 steps makes as many heap
// allocations as a run of 20 steps (both inside one epoch, logging and checkpoints off), so
// nothing allocates per step. Counts every operator new of the process. The run's closing lines
// (metrics.jsonl, the log) format timings whose number of digits varies, so a string there may
// grow once more or less: a few allocations of slack, far below one per step (300).
#include <gtest/gtest.h>

#include <cstdlib>

#include "comm/in_process_communicator.h"
#include "comm/local_communicator.h"
#include "counting_allocator.h"
#include "model/ctr_model.h"
#include "test_data.h"
#include "train/trainer.h"

namespace ectrain::train {
namespace {

constexpr int64_t kFormattingSlack = 4;  // see the top of the file

int64_t AllocationsOfARun(const RunConfig& config, comm::Communicator& comm) {
  auto feed = DataFeed::Open(config.data, comm.size(), comm.rank(), config.train.global_batch_size, 1);
  EXPECT_TRUE(feed.ok());
  const auto& schema = feed->schema();
  model::CtrModel model(config.model, {static_cast<int>(schema.dense.size()), schema.categorical, schema.vocab_sizes});
  Trainer trainer(config, comm, model, *feed);
  const int64_t before = ectrain::testing::Allocations();
  auto result = trainer.Run(std::chrono::steady_clock::now());
  EXPECT_TRUE(result.ok()) << result.status().message();
  return ectrain::testing::Allocations() - before;
}

// Each run trains afresh in its own output folder (same-length names: same string allocations).
RunConfig Config(const std::string& dir, int64_t steps, int run) {
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.train.global_batch_size = 4;  // 375 steps in the first epoch
  config.train.max_steps = steps;
  config.train.log_every_steps = 1000000;
  config.train.progress = "lines";  // on a terminal the live bar would redraw (and format) by time
  config.train.output_dir = dir + "/run_" + std::to_string(run);
  config.comm.bucket_mb = 0.0005;  // several buckets: the communication thread is exercised
  return config;
}

TEST(SteadyStateStep, MakesNoHeapAllocation) {
  const std::string dir = ectrain::testing::TempDir("allocations");
  ectrain::testing::PrepareSynthetic(dir, 2000, 3, /*users=*/400);  // the user table is row-sparse
  comm::LocalCommunicator local;
  for (const bool in_memory : {false, true}) {  // data streamed from the file, or held in memory
    const auto config = [&](int64_t steps, int run) {
      RunConfig c = Config(dir, steps, run + (in_memory ? 3 : 0));
      c.data.in_memory = in_memory;
      return c;
    };
    AllocationsOfARun(config(20, 0), local);  // first use: library and static set-up
    const int64_t short_run = AllocationsOfARun(config(20, 1), local);
    const int64_t long_run = AllocationsOfARun(config(320, 2), local);
    EXPECT_LE(std::abs(long_run - short_run), kFormattingSlack)
        << "300 more steps made " << long_run - short_run << " more allocations (in_memory " << in_memory << ")";
  }
}

TEST(SteadyStateStep, MakesNoHeapAllocationWithTwoInProcessRanks) {
  const std::string dir = ectrain::testing::TempDir("allocations_ranks");
  ectrain::testing::PrepareSynthetic(dir, 2000, 3, /*users=*/400);
  int64_t counts[3] = {0, 0, 0};
  for (int run = 0; run < 3; ++run) {  // run 0: first use, library and static set-up
    const int64_t steps = run < 2 ? 20 : 320;
    const int64_t before = ectrain::testing::Allocations();
    Status status = comm::RunInProcess(2, [&](comm::Communicator& comm) {
      RunConfig config = Config(dir, steps, run);
      AllocationsOfARun(config, comm);
      return Status::Ok();
    });
    ASSERT_TRUE(status.ok()) << status.message();
    counts[run] = ectrain::testing::Allocations() - before;
  }
  EXPECT_LE(std::abs(counts[2] - counts[1]), 2 * kFormattingSlack)
      << "300 more steps made " << counts[2] - counts[1] << " more allocations";
}

}  // namespace
}  // namespace ectrain::train
