// The contract every Communicator keeps; the same suite runs on Local and on MPI with 2 and 4 ranks.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "comm_test_env.h"

namespace ectrain::comm {
namespace {
using ectrain::testing::TestComm;

TEST(CommunicatorContract, RankIsWithinSize) {
  Communicator& comm = TestComm();
  EXPECT_GE(comm.rank(), 0);
  EXPECT_LT(comm.rank(), comm.size());
  // The tests run on one host, so the local rank is the rank.
  EXPECT_EQ(comm.local_rank(), comm.rank());
}

TEST(CommunicatorContract, AllReduceSumOfFloatsDoublesAndIntegers) {
  Communicator& comm = TestComm();
  const int n = comm.size();
  std::vector<float> f(5, static_cast<float>(comm.rank() + 1));
  comm.AllReduce(std::span<float>(f));
  for (float v : f) EXPECT_FLOAT_EQ(v, n * (n + 1) / 2.0f);
  std::vector<double> d{0.5 * comm.rank()};
  comm.AllReduce(std::span<double>(d));
  EXPECT_DOUBLE_EQ(d[0], 0.5 * n * (n - 1) / 2);
  std::vector<int64_t> i{comm.rank(), -comm.rank()};
  comm.AllReduce(std::span<int64_t>(i), ReduceOp::kMax);
  EXPECT_EQ(i[0], n - 1);
  EXPECT_EQ(i[1], 0);
  std::vector<int64_t> lo{comm.rank() + 10};
  comm.AllReduce(std::span<int64_t>(lo), ReduceOp::kMin);
  EXPECT_EQ(lo[0], 10);
}

TEST(CommunicatorContract, AllReduceOfALargeBuffer) {
  Communicator& comm = TestComm();
  std::vector<float> big(3'000'001);
  std::iota(big.begin(), big.end(), 0.0f);
  comm.AllReduce(std::span<float>(big));
  EXPECT_FLOAT_EQ(big[0], 0.0f);
  EXPECT_FLOAT_EQ(big[12345], 12345.0f * comm.size());
  EXPECT_FLOAT_EQ(big.back(), 3'000'000.0f * comm.size());
}

TEST(CommunicatorContract, BroadcastFromAnyRoot) {
  Communicator& comm = TestComm();
  for (int root : {0, comm.size() - 1}) {
    std::vector<float> v(3, comm.rank() == root ? 7.5f : -1.0f);
    comm.Broadcast(std::span<float>(v), root);
    EXPECT_EQ(v, std::vector<float>(3, 7.5f)) << "root " << root;
    std::string text = comm.rank() == root ? "from the root" : "";
    comm.Broadcast(text, root);
    EXPECT_EQ(text, "from the root");
  }
}

TEST(CommunicatorContract, AllGatherPlacesEachRanksBlockInRankOrder) {
  Communicator& comm = TestComm();
  std::vector<int64_t> mine{comm.rank(), 100 + comm.rank()};
  std::vector<int64_t> all(2 * comm.size());
  comm.AllGather(mine, all);
  for (int r = 0; r < comm.size(); ++r) {
    EXPECT_EQ(all[2 * r], r);
    EXPECT_EQ(all[2 * r + 1], 100 + r);
  }
}

TEST(CommunicatorContract, AgreeOkFailsEveryRankWhenOneFails) {
  Communicator& comm = TestComm();
  const int failing = comm.size() - 1;
  Status local = comm.rank() == failing ? DataError("bad row 3") : Status::Ok();
  Status agreed = AgreeOk(comm, local, "reading");
  EXPECT_FALSE(agreed.ok());
  if (comm.rank() == failing) {
    EXPECT_EQ(agreed.message(), "bad row 3");
  } else {
    EXPECT_NE(agreed.message().find("reading failed on another rank"), std::string::npos);
  }
  EXPECT_TRUE(AgreeOk(comm, Status::Ok(), "reading").ok());
  comm.Barrier();
}

}  // namespace
}  // namespace ectrain::comm
