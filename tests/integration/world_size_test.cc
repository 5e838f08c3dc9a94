// World-size equivalence (run under mpiexec -n 2 and -n 4): N ranks with global batch B follow
// the same trajectory as 1 rank with B, because the data order and the loss's divisor do not
// depend on the number of ranks. Only the float summation order differs.
#include <gtest/gtest.h>

#include <cmath>

#include "comm/local_communicator.h"
#include "comm_test_env.h"
#include "model/ctr_model.h"
#include "test_data.h"
#include "train/trainer.h"

namespace ectrain::train {
namespace {
using ectrain::testing::TestComm;

struct RunOutput {
  std::vector<float> params;
  std::optional<BinaryMetrics> metrics;
};

RunOutput Train(const RunConfig& config, comm::Communicator& comm, ResumeMode mode = ResumeMode::kAuto) {
  auto feed = DataFeed::Open(config.data, comm.size(), comm.rank(), config.train.global_batch_size,
                             static_cast<uint64_t>(config.train.seed));
  EXPECT_TRUE(feed.ok()) << feed.status().message();
  const auto& schema = feed->schema();
  model::CtrModel model(config.model, {static_cast<int>(schema.dense.size()), schema.categorical, schema.vocab_sizes});
  Trainer trainer(config, comm, model, *feed);
  auto result = trainer.Run(std::chrono::steady_clock::now(), mode);
  EXPECT_TRUE(result.ok()) << result.status().message();
  return {{trainer.params().data(), trainer.params().data() + trainer.params().size()},
          result.ok() ? result->test_metrics : std::nullopt};
}

double RelativeDifference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += std::pow(double(a[i]) - b[i], 2);
    norm += std::pow(double(a[i]), 2);
  }
  return std::sqrt(diff / norm);
}

TEST(WorldSizeEquivalence, NRanksMatchOneRankAfter50Steps) {
  comm::Communicator& comm = TestComm();
  std::string dir = comm.rank() == 0 ? ectrain::testing::TempDir("world_size") : "";
  comm.Broadcast(dir, 0);
  if (comm.rank() == 0) ectrain::testing::PrepareSynthetic(dir, 1000, 3);
  comm.Barrier();  // the data files exist before any rank opens them
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.train.global_batch_size = 36;  // uneven across 4 ranks: 9 each; the epoch tail is uneven too
  config.train.epochs = 10;
  config.train.max_steps = 50;
  config.train.output_dir = dir + "/distributed";

  RunOutput distributed = Train(config, comm);
  if (comm.rank() != 0) return;

  comm::LocalCommunicator local;
  config.train.output_dir = dir + "/single";
  RunOutput single = Train(config, local);
  ASSERT_EQ(single.params.size(), distributed.params.size());
  EXPECT_LT(RelativeDifference(single.params, distributed.params), 1e-5) << "parameters after 50 steps: " << comm.size() << " ranks vs 1 rank";
  ASSERT_TRUE(single.metrics && distributed.metrics);
  EXPECT_NEAR(single.metrics->auc, distributed.metrics->auc, 1e-4);
}

// A checkpoint written by 1 rank, resumed on N ranks, ends where the 1-rank run ends (the data
// order does not depend on the rank count).
TEST(ResumeAcrossWorldSizes, OneRankCheckpointContinuesOnNRanks) {
  comm::Communicator& comm = TestComm();
  std::string dir = comm.rank() == 0 ? ectrain::testing::TempDir("resume_world") : "";
  comm.Broadcast(dir, 0);
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.train.global_batch_size = 36;
  config.train.epochs = 10;
  config.train.max_steps = 50;
  RunOutput single;
  if (comm.rank() == 0) {
    ectrain::testing::PrepareSynthetic(dir, 1000, 3);
    comm::LocalCommunicator local;
    config.train.output_dir = dir + "/single";
    single = Train(config, local);
    RunConfig first_part = config;
    first_part.train.output_dir = dir + "/resumed";
    first_part.train.max_steps = 20;
    Train(first_part, local);
  }
  comm.Barrier();
  config.train.output_dir = dir + "/resumed";
  RunOutput resumed = Train(config, comm, ResumeMode::kRequired);
  if (comm.rank() != 0) return;
  ASSERT_EQ(single.params.size(), resumed.params.size());
  EXPECT_LT(RelativeDifference(single.params, resumed.params), 1e-5)
      << "1 rank for 50 steps vs 1 rank for 20 + " << comm.size() << " ranks for 30";
}

}  // namespace
}  // namespace ectrain::train
