// World-size equivalence (run under mpiexec -n 2 and -n 4): N ranks with global batch B follow
// the same trajectory as 1 rank with B, because the data order and the loss's divisor do not
// depend on the number of ranks. Only the float summation order differs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "comm/in_process_communicator.h"
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
  std::optional<eval::Metrics> metrics;
  TrainResult result;         // empty if the run failed
  bool shared_model = false;  // the ranks held one copy of the model
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
          result.ok() ? result->test_metrics : std::nullopt,
          result.ok() ? *result : TrainResult{},
          trainer.shares_model_on_host()};
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
  EXPECT_LT(RelativeDifference(single.params, distributed.params), 1e-5)
      << "parameters after 50 steps: " << comm.size() << " ranks vs 1 rank";
  ASSERT_TRUE(single.metrics && distributed.metrics);
  EXPECT_NEAR(single.metrics->Get("auc"), distributed.metrics->Get("auc"), 1e-4);
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

// The configuration the engine tests share: a user table large enough to go row-sparse.
RunConfig SparseConfig(const std::string& dir) {
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.train.global_batch_size = 36;
  config.train.epochs = 20;
  config.train.max_steps = 100;
  config.comm.bucket_mb = 0.0005;        // ~500-byte buckets: several, reduced by the communication thread
  config.train.verify_every_steps = 10;  // and all ranks hold bitwise the same parameters throughout
  return config;
}

std::string PrepareSparseData(comm::Communicator& comm, const std::string& name) {
  std::string dir = comm.rank() == 0 ? ectrain::testing::TempDir(name) : "";
  comm.Broadcast(dir, 0);
  if (comm.rank() == 0) ectrain::testing::PrepareSynthetic(dir, 1200, 5, /*users=*/400);
  comm.Barrier();
  return dir;
}

// Sparse embeddings and accumulation keep N ranks on the 1-rank trajectory (100 steps).
TEST(WorldSizeEquivalence, WithSparseEmbeddingsAndAccumulation) {
  comm::Communicator& comm = TestComm();
  const std::string dir = PrepareSparseData(comm, "sparse_accum");
  for (int64_t accumulation : {1, 3}) {
    RunConfig config = SparseConfig(dir);
    config.train.accumulation_steps = accumulation;
    config.train.output_dir = dir + "/distributed_" + std::to_string(accumulation);
    RunOutput distributed = Train(config, comm);
    if (comm.rank() == 0) {
      comm::LocalCommunicator local;
      config.train.output_dir = dir + "/single_" + std::to_string(accumulation);
      RunOutput single = Train(config, local);
      EXPECT_LT(RelativeDifference(single.params, distributed.params), 1e-5)
          << comm.size() << " ranks vs 1, accumulation_steps " << accumulation;
    }
    comm.Barrier();
  }
}

TEST(Reproducibility, RunsWithTheSameRankCountAreBitwiseEqualStreamedOrInMemory) {
  comm::Communicator& comm = TestComm();
  const std::string dir = PrepareSparseData(comm, "repro");
  RunConfig config = SparseConfig(dir);
  config.train.output_dir = dir + "/a";
  RunOutput a = Train(config, comm);
  config.train.output_dir = dir + "/b";
  RunOutput b = Train(config, comm);
  ASSERT_EQ(a.params.size(), b.params.size());
  EXPECT_EQ(0, std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)));
  // Every rank holding the data set in memory gives each rank the same rows as streaming.
  config.data.in_memory = true;
  config.train.output_dir = dir + "/in_memory";
  RunOutput in_memory = Train(config, comm);
  ASSERT_EQ(a.params.size(), in_memory.params.size());
  EXPECT_EQ(0, std::memcmp(a.params.data(), in_memory.params.data(), a.params.size() * sizeof(float)));
  EXPECT_GT(in_memory.result.data_in_memory_bytes, 0);
}

// The step loop's time by phase, as the done line reports it: every phase took time, the phases
// fit inside the step loop, and the row-sparse exchange is a part of the gradient sync on N ranks
// and absent on one.
TEST(StepPhases, AddUpToNoMoreThanTheStepLoop) {
  comm::Communicator& comm = TestComm();
  const std::string dir = PrepareSparseData(comm, "phases");
  RunConfig config = SparseConfig(dir);
  config.train.verify_every_steps = 0;
  config.train.output_dir = dir + "/distributed";
  const TrainResult r = Train(config, comm).result;
  EXPECT_EQ(r.steps, 100);
  EXPECT_GT(r.forward_backward_seconds, 0);
  EXPECT_GT(r.agreement_seconds, 0);
  EXPECT_GT(r.optimizer_seconds, 0);
  EXPECT_GT(r.sync_row_sparse_seconds, 0);
  EXPECT_LE(r.sync_row_sparse_seconds, r.sync_exposed_seconds);
  EXPECT_LE(r.forward_backward_seconds + r.sync_exposed_seconds + r.agreement_seconds + r.optimizer_seconds +
                r.data_wait_seconds,
            r.train_seconds);
  if (comm.rank() == 0) {
    comm::LocalCommunicator local;
    config.train.output_dir = dir + "/single";
    const TrainResult single = Train(config, local).result;
    EXPECT_EQ(single.steps, 100);
    EXPECT_GT(single.forward_backward_seconds, 0);
    EXPECT_EQ(single.sync_row_sparse_seconds, 0) << "one rank exchanges no rows";
  }
  comm.Barrier();
}

// The debug mode (ranks as threads) trains bit for bit like mpirun with the same rank count.
TEST(InProcessEqualsMpi, SameParametersBitwise) {
  comm::Communicator& comm = TestComm();
  const std::string dir = PrepareSparseData(comm, "inprocess");
  RunConfig config = SparseConfig(dir);
  config.train.accumulation_steps = 2;
  config.train.output_dir = dir + "/mpi";
  RunOutput mpi = Train(config, comm);
  if (comm.rank() != 0) return;
  std::vector<float> threads_rank0;
  Status status = comm::RunInProcess(comm.size(), [&](comm::Communicator& rank_comm) -> Status {
    RunConfig c = config;
    c.train.output_dir = dir + "/threads";
    RunOutput out = Train(c, rank_comm);
    if (rank_comm.rank() == 0) threads_rank0 = out.params;
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(threads_rank0.size(), mpi.params.size());
  EXPECT_EQ(0, std::memcmp(threads_rank0.data(), mpi.params.data(), mpi.params.size() * sizeof(float)));
}

// Ranks on one host holding one shared copy of the model, each updating its part, train the model
// each rank's own copy would hold, bit for bit (with accumulation; all ranks verified equal along
// the way). With clipping (clip_norm small enough to act on every step) the global norm adds the
// ranks' rows in another order: the same model to rounding.
TEST(SharedModel, TrainsTheModelOfACopyPerRank) {
  comm::Communicator& comm = TestComm();
  const std::string dir = PrepareSparseData(comm, "shared_model");
  for (double clip_norm : {0.0, 0.01}) {
    RunConfig config = SparseConfig(dir);
    config.train.accumulation_steps = 2;
    config.optimizer.clip_norm = clip_norm;
    config.comm.host_shared_model = true;
    config.train.output_dir = dir + "/shared";
    RunOutput shared = Train(config, comm);
    config.comm.host_shared_model = false;
    config.train.output_dir = dir + "/copies";
    RunOutput copies = Train(config, comm);
    EXPECT_TRUE(shared.shared_model) << "the ranks of one host did not share the model";
    EXPECT_FALSE(copies.shared_model);
    if (shared.params.size() != copies.params.size()) {
      ADD_FAILURE() << "parameter counts differ";  // not ASSERT: every rank goes on to the next run
    } else if (clip_norm == 0) {
      EXPECT_EQ(0, std::memcmp(shared.params.data(), copies.params.data(), shared.params.size() * sizeof(float)));
    } else {
      EXPECT_LT(RelativeDifference(copies.params, shared.params), 1e-6) << "clip_norm " << clip_norm;
    }
  }
}

// One row overflows the forward pass; only the rank whose slice holds it sees a non-finite loss.
TEST(NonFiniteLossOnOneRank, IsStoppedOrSkippedOnAllRanks) {
  comm::Communicator& comm = TestComm();
  std::string dir = comm.rank() == 0 ? ectrain::testing::TempDir("nan_one_rank") : "";
  comm.Broadcast(dir, 0);
  if (comm.rank() == 0) {
    std::vector<double> x, user, clicked;
    for (int i = 0; i < 240; ++i) {
      x.push_back(i == 101 ? 3.4e38 : (i % 7) / 7.0);
      user.push_back(i % 5);
      clicked.push_back(i % 3 == 0);
    }
    ectrain::testing::WriteColumns(
        dir + "/train.h5", {{"x1", x}, {"x2", x}, {"x3", x}, {"user", user}, {"color", user}, {"clicked", clicked}});
    ectrain::testing::WriteColumns(dir + "/test.h5", {{"x1", {0.1, 0.2}},
                                                      {"x2", {0.1, 0.2}},
                                                      {"x3", {0.1, 0.2}},
                                                      {"user", {1, 2}},
                                                      {"color", {1, 2}},
                                                      {"clicked", {0, 1}}});
  }
  comm.Barrier();
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.data.vocab_sizes = {{"user", 5}, {"color", 5}};
  config.model.hidden_units = {16};    // as in train_local_test: this row's forward pass overflows
  config.model.initial_bias = "zero";  // from this start; the overflow is near FLT_MAX, so any other start may miss it
  config.train.epochs = 1;
  config.train.output_dir = dir + "/stop";
  StatusOr<TrainResult> stopped = Internal("not run");
  {
    auto feed = DataFeed::Open(config.data, comm.size(), comm.rank(), config.train.global_batch_size, 42);
    ASSERT_TRUE(feed.ok());
    model::CtrModel model(config.model, {3, {"user", "color"}, {5, 5}});
    Trainer trainer(config, comm, model, *feed);
    stopped = trainer.Run(std::chrono::steady_clock::now());
  }
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find("non-finite at epoch 1, step"), std::string::npos)
      << stopped.status().message();
  EXPECT_NE(stopped.status().message().find("on 1 rank(s)"), std::string::npos) << stopped.status().message();

  config.train.on_nan = "skip";
  config.train.output_dir = dir + "/skip";
  auto feed = DataFeed::Open(config.data, comm.size(), comm.rank(), config.train.global_batch_size, 42);
  model::CtrModel model(config.model, {3, {"user", "color"}, {5, 5}});
  Trainer trainer(config, comm, model, *feed);
  auto skipped = trainer.Run(std::chrono::steady_clock::now());
  ASSERT_TRUE(skipped.ok()) << skipped.status().message();
  EXPECT_EQ(skipped->skipped_steps, 1);
  for (int64_t i = 0; i < trainer.params().size(); ++i) ASSERT_TRUE(std::isfinite(trainer.params().data()[i]));
}

// A bad value in a block that only one rank reads stops every rank at that step: that rank
// names the file, column and row, the others say it failed elsewhere. Nobody hangs.
TEST(DataErrorOnOneRank, StopsAllRanks) {
  comm::Communicator& comm = TestComm();
  std::string dir = comm.rank() == 0 ? ectrain::testing::TempDir("data_error_one_rank") : "";
  comm.Broadcast(dir, 0);
  if (comm.rank() == 0) {
    std::vector<double> x, user, clicked;
    for (int i = 0; i < 480; ++i) {
      x.push_back((i % 7) / 7.0);
      user.push_back(i % 5);
      clicked.push_back(i == 301 ? std::nan("") : i % 3 == 0);
    }
    ectrain::testing::WriteColumns(
        dir + "/train.h5", {{"x1", x}, {"x2", x}, {"x3", x}, {"user", user}, {"color", user}, {"clicked", clicked}});
    ectrain::testing::WriteColumns(dir + "/test.h5", {{"x1", {0.1, 0.2}},
                                                      {"x2", {0.1, 0.2}},
                                                      {"x3", {0.1, 0.2}},
                                                      {"user", {1, 2}},
                                                      {"color", {1, 2}},
                                                      {"clicked", {0, 1}}});
  }
  comm.Barrier();
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.data.vocab_sizes = {{"user", 5}, {"color", 5}};
  config.data.block_rows = 16;
  config.data.shuffle_window_blocks = 4;
  config.train.epochs = 1;
  config.train.output_dir = dir + "/run";
  auto feed = DataFeed::Open(config.data, comm.size(), comm.rank(), config.train.global_batch_size, 42);
  ASSERT_TRUE(feed.ok()) << feed.status().message();
  model::CtrModel model(config.model, {3, {"user", "color"}, {5, 5}});
  Trainer trainer(config, comm, model, *feed);
  auto result = trainer.Run(std::chrono::steady_clock::now());
  ASSERT_FALSE(result.ok());
  const std::string message = result.status().message();
  const bool named = message == dir +
                                    "/train.h5: column 'clicked' row 301: label is NaN; labels must be finite "
                                    "values in [0, 1]";
  EXPECT_TRUE(named || result.status().code() == StatusCode::kFailedElsewhere) << message;
  std::vector<int64_t> ranks_naming_it{named ? 1 : 0};
  comm.AllReduce(std::span<int64_t>(ranks_naming_it));
  EXPECT_EQ(ranks_naming_it[0], 1) << "exactly the rank that owns row 301's block reports it";
}

TEST(StartUpAgreement, AConfigurationMismatchIsNamed) {
  comm::Communicator& comm = TestComm();
  const std::string dir = PrepareSparseData(comm, "mismatch");
  RunConfig config = SparseConfig(dir);
  config.train.output_dir = dir + "/run";
  if (comm.rank() == comm.size() - 1) config.train.epochs = 7;
  auto feed = DataFeed::Open(config.data, comm.size(), comm.rank(), config.train.global_batch_size, 1);
  ASSERT_TRUE(feed.ok());
  const auto& schema = feed->schema();
  model::CtrModel model(config.model, {static_cast<int>(schema.dense.size()), schema.categorical, schema.vocab_sizes});
  Trainer trainer(config, comm, model, *feed);
  auto result = trainer.Run(std::chrono::steady_clock::now());
  ASSERT_FALSE(result.ok());
  if (comm.rank() == comm.size() - 1) {
    EXPECT_NE(result.status().message().find("rank " + std::to_string(comm.rank()) +
                                             " differs from rank 0 in its configuration: here '  epochs: 7'"),
              std::string::npos)
        << result.status().message();
  } else {
    EXPECT_EQ(result.status().code(), StatusCode::kFailedElsewhere) << result.status().message();
    EXPECT_NE(result.status().message().find("failed on another rank"), std::string::npos);
  }
}

}  // namespace
}  // namespace ectrain::train
