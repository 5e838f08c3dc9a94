// What only the in-process backend promises: RunInProcess's threads, results and failures, its
// log ranks, odd world sizes, and a message (not a hang) when ranks stop calling the same
// collectives.
#include "comm/in_process_communicator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "comm/ring.h"
#include "core/log.h"
#include "ring_reference.h"

namespace ectrain::comm {
namespace {
using ectrain::testing::DescribeBitDifference;
using ectrain::testing::FirstBitDifference;
using ectrain::testing::RankInput;
using ectrain::testing::RingSumReference;

TEST(RingChunk, SizesDifferByAtMostOneEarlierChunksLarger) {
  EXPECT_EQ(RingChunkOf(10, 4, 0).count, 3u);
  EXPECT_EQ(RingChunkOf(10, 4, 1).begin, 3u);
  EXPECT_EQ(RingChunkOf(10, 4, 1).count, 3u);
  EXPECT_EQ(RingChunkOf(10, 4, 2).begin, 6u);
  EXPECT_EQ(RingChunkOf(10, 4, 2).count, 2u);
  EXPECT_EQ(RingChunkOf(10, 4, 3).begin, 8u);
  EXPECT_EQ(RingChunkOf(2, 4, 2).count, 0u);
  EXPECT_EQ(RingChunkOf(2, 4, 3).begin, 2u);
}

TEST(RunInProcess, RunsEveryRankOnItsOwnThread) {
  std::atomic<int> rank_sum{0};
  std::atomic<int> ran{0};
  Status status = RunInProcess(3, [&](Communicator& comm) {
    EXPECT_EQ(comm.size(), 3);
    EXPECT_EQ(comm.name(), "in-process");
    rank_sum += comm.rank();
    ++ran;
    comm.Barrier();
    // Everyone has started before anyone passes the barrier.
    EXPECT_EQ(ran.load(), 3);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(rank_sum.load(), 0 + 1 + 2);
}

TEST(RunInProcess, OneRankIsTheIdentity) {
  Status status = RunInProcess(1, [](Communicator& comm) {
    std::vector<float> x{1.5f, -2.0f};
    comm.AllReduce(std::span<float>(x));
    EXPECT_EQ(x, (std::vector<float>{1.5f, -2.0f}));
    std::vector<float> all;
    std::vector<int64_t> counts;
    comm.AllGatherV(std::span<const float>(x), all, counts);
    EXPECT_EQ(all, x);
    EXPECT_EQ(counts, std::vector<int64_t>{2});
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(RunInProcess, RejectsFewerThanOneRank) {
  Status status = RunInProcess(0, [](Communicator&) { return Status::Ok(); });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

// The failing rank's own status wins over the other ranks' "failed on another rank".
TEST(RunInProcess, ReturnsTheFailureItselfNotItsEcho) {
  Status status = RunInProcess(4, [](Communicator& comm) {
    Status local = comm.rank() == 2 ? DataError("train.h5: bad row 3") : Status::Ok();
    return AgreeOk(comm, local, "reading");
  });
  EXPECT_EQ(status.code(), StatusCode::kDataError);
  EXPECT_EQ(status.message(), "rank 2: train.h5: bad row 3");
}

TEST(RunInProcess, TheLowestFailingRankWins) {
  Status status = RunInProcess(3, [](Communicator& comm) {
    comm.Barrier();
    return comm.rank() == 0 ? Status::Ok() : InvalidArgument("rank-specific " + std::to_string(comm.rank()));
  });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "rank 1: rank-specific 1");
}

TEST(RunInProcess, AnExceptionBecomesAFailure) {
  Status status = RunInProcess(2, [](Communicator& comm) -> Status {
    comm.Barrier();
    if (comm.rank() == 1) throw std::runtime_error("boom");
    return Status::Ok();
  });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(), "rank 1: uncaught exception: boom");
}

TEST(RunInProcess, EachRankLogsItsOwnRank) {
  SetLogRank(7);  // the caller's own rank is left alone
  ::testing::internal::CaptureStderr();
  Status status = RunInProcess(3, [](Communicator& comm) {
    LOG_WARNING << "hello from " << comm.rank();
    comm.Barrier();
    return Status::Ok();
  });
  LOG_WARNING << "hello from the caller";
  const std::string log = ::testing::internal::GetCapturedStderr();
  SetLogRank(0);
  EXPECT_TRUE(status.ok());
  for (int r = 0; r < 3; ++r) {
    EXPECT_NE(log.find("rank " + std::to_string(r) + "] WARNING: hello from " + std::to_string(r)), std::string::npos)
        << log;
  }
  EXPECT_NE(log.find("rank 7] WARNING: hello from the caller"), std::string::npos) << log;
}

// Odd world sizes, beyond the contract suite's 1, 2 and 4.
TEST(InProcessCommunicator, FloatSumIsTheRingOrderForOddWorldSizes) {
  for (int ranks : {3, 5}) {
    for (size_t count : {size_t{2}, size_t{4}, size_t{10'007}}) {
      std::vector<std::vector<float>> inputs;
      for (int r = 0; r < ranks; ++r) inputs.push_back(RankInput(r, count, 11));
      const std::vector<float> expected = RingSumReference(inputs);
      Status status = RunInProcess(ranks, [&](Communicator& comm) {
        std::vector<float> x = inputs[static_cast<size_t>(comm.rank())];
        comm.AllReduce(std::span<float>(x));
        EXPECT_EQ(FirstBitDifference(x, expected), -1)
            << ranks << " ranks, " << count << " floats: " << DescribeBitDifference(x, expected);
        return Status::Ok();
      });
      EXPECT_TRUE(status.ok()) << status.message();
    }
  }
}

// Each rank owns its communicator and calls it from a thread of its own making, as a background
// communication thread would.
TEST(InProcessCommunicator, WorksFromThreadsOtherThanTheRanksOwn) {
  auto group = MakeInProcessGroup(2);
  std::vector<float> results[2];
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      InProcessCommunicator comm(group, r);
      std::thread helper([&] {
        results[r] = {static_cast<float>(r + 1), 10.0f};
        comm.AllReduce(std::span<float>(results[r]));
      });
      helper.join();
      comm.Barrier();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(results[0], (std::vector<float>{3.0f, 20.0f}));
  EXPECT_EQ(results[1], (std::vector<float>{3.0f, 20.0f}));
}

using InProcessDeathTest = ::testing::Test;

TEST_F(InProcessDeathTest, ARankWaitingForAnEndedRankEndsTheProcessWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        (void)RunInProcess(2, [](Communicator& comm) {
          if (comm.rank() == 1) return DataError("bad row 3");
          comm.Barrier();
          return Status::Ok();
        });
      },
      ::testing::ExitedWithCode(1), "rank 0 waits in Barrier.*rank 1 \\(its body failed: bad row 3\\)");
}

TEST_F(InProcessDeathTest, RanksCallingDifferentCollectivesFailACheck) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        (void)RunInProcess(2, [](Communicator& comm) {
          std::vector<float> x(3);
          if (comm.rank() == 0) {
            comm.AllReduce(std::span<float>(x));
          } else {
            comm.Broadcast(std::span<float>(x), 0);
          }
          return Status::Ok();
        });
      },
      "in-process ranks call different collectives: rank 0 calls AllReduce.*rank 1 calls Broadcast");
}

TEST_F(InProcessDeathTest, AbortEndsTheWholeProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        (void)RunInProcess(2, [](Communicator& comm) -> Status {
          if (comm.rank() == 1) comm.Abort(5);
          comm.Barrier();
          return Status::Ok();
        });
      },
      ::testing::ExitedWithCode(5), "");
}

}  // namespace
}  // namespace ectrain::comm
