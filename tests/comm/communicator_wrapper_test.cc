// What wrappers promise beyond the contract suite (which runs on a plain CommunicatorWrapper and
// on host segments): decorators compose, each overriding only what it changes; the default
// bucket reducer runs through the outermost one; the timing-only NoGradientExchangeCommunicator
// takes out the gradient collectives and nothing else.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "comm/bucket_reducer.h"
#include "comm/host_segment_communicator.h"
#include "comm/in_process_communicator.h"
#include "comm/no_gradient_exchange.h"
#include "counting_communicator.h"

namespace ectrain::comm {
namespace {
using ectrain::testing::CountingCommunicator;

// Writes `bytes` bytes of the rank's number; counts what it sees.
struct RankBytes final : GatherReader {
  RankBytes(int rank, size_t bytes) : rank(rank), bytes(bytes) {}
  void Fill(std::span<uint8_t> mine) override {
    ++fills;
    for (uint8_t& b : mine) b = static_cast<uint8_t>(rank + 1);
  }
  void Read(int r, std::span<const uint8_t> theirs) override {
    ++reads;
    for (uint8_t b : theirs) read_sum += b * (r + 1);
  }
  int rank;
  size_t bytes;
  int fills = 0, reads = 0;
  int64_t read_sum = 0;
};

// Starts two buckets, reduces a third and exchanges rows: each rank's buckets hold rank + 1.
struct Step {
  std::vector<float> a, b, c;
  RankBytes rows;
  explicit Step(int rank) : a(5, rank + 1.0f), b(300, rank + 1.0f), c(2, rank + 1.0f), rows(rank, 10) {}
  void Run(BucketReducer& reducer) {
    reducer.Reserve(2);
    reducer.Start(std::span<float>(a));
    reducer.Start(std::span<float>(b));
    reducer.Reduce(std::span<float>(c));
    reducer.Wait();
    reducer.ExchangeRows(rows.bytes, rows);
  }
};

TEST(CommunicatorWrapper, TheDefaultBucketReducerRunsThroughTheOutermostDecorator) {
  const Status status = RunInProcess(2, [](Communicator& threads) {
    CountingCommunicator counted(threads);
    Step step(counted.rank());
    step.Run(*counted.MakeBucketReducer());
    // 3 all-reduces; the rows by AllGatherV: the counts, then the bytes (in-process ranks read no
    // contributions in place).
    EXPECT_EQ(counted.calls(), 5);
    EXPECT_EQ(step.a, std::vector<float>(5, 3.0f));
    EXPECT_EQ(step.b, std::vector<float>(300, 3.0f));
    EXPECT_EQ(step.c, std::vector<float>(2, 3.0f));
    EXPECT_EQ(step.rows.fills, 1);
    EXPECT_EQ(step.rows.reads, 2);
    EXPECT_EQ(step.rows.read_sum, 10 * 1 * 1 + 10 * 2 * 2);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(CommunicatorWrapper, AHostSegmentTakesTheCollectivesAndItsTargetOnlyMapsMemory) {
  const Status status = RunInProcess(2, [](Communicator& threads) {
    // A counter between the segment and the in-process ranks sees what the segment passes on.
    CountingCommunicator counted(threads);
    std::string why_not;
    std::unique_ptr<HostSegmentCommunicator> segment = HostSegmentCommunicator::Over(counted, 16 << 10, &why_not);
    if (segment == nullptr) return Internal("no segment: " + why_not);
    EXPECT_EQ(segment->name(), "in-process, shared memory");
    Step step(segment->rank());
    step.Run(*segment->MakeBucketReducer());
    std::vector<float> x{1.0f};
    segment->AllReduce(std::span<float>(x));
    segment->Barrier();
    EXPECT_EQ(counted.calls(), 0) << "a collective went past the host segment";
    EXPECT_EQ(step.b, std::vector<float>(300, 3.0f));
    EXPECT_EQ(step.c, std::vector<float>(2, 3.0f));
    EXPECT_EQ(step.rows.read_sum, 10 * 1 * 1 + 10 * 2 * 2);
    EXPECT_EQ(x[0], 2.0f);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

// AllToAllV has no path of the segment's own: it reaches the target, once per call (and once more
// for the counts), through any decorator.
TEST(CommunicatorWrapper, AllToAllVPassesThroughAHostSegmentToItsTarget) {
  const Status status = RunInProcess(2, [](Communicator& threads) {
    CountingCommunicator counted(threads);
    std::string why_not;
    std::unique_ptr<HostSegmentCommunicator> segment = HostSegmentCommunicator::Over(counted, 16 << 10, &why_not);
    if (segment == nullptr) return Internal("no segment: " + why_not);
    const int me = segment->rank();
    // Rank 0 sends 1 element to itself and 2 to rank 1; rank 1 sends 3 to rank 0 and none to itself.
    const std::vector<int64_t> send_counts = me == 0 ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{3, 0};
    const std::vector<float> send = me == 0 ? std::vector<float>{1, 2, 3} : std::vector<float>{4, 5, 6};
    std::vector<float> recv;
    std::vector<int64_t> recv_counts;
    segment->AllToAllVWithCounts<float>(send, send_counts, recv, recv_counts);
    EXPECT_EQ(counted.calls(), 2) << "the counts, then the data";
    EXPECT_EQ(recv_counts, me == 0 ? std::vector<int64_t>({1, 3}) : std::vector<int64_t>({2, 0}));
    EXPECT_EQ(recv, me == 0 ? std::vector<float>({1, 4, 5, 6}) : std::vector<float>({2, 3}));
    segment->AllToAllV<float>(send, send_counts, recv, recv_counts);
    EXPECT_EQ(counted.calls(), 3);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

// bench/comm_ceiling.sh's timing-only mode: no gradient collective at all, each rank keeps its own
// values; every other collective still reaches the target.
TEST(NoGradientExchangeCommunicator, TakesOutTheGradientCollectivesAndNothingElse) {
  const Status status = RunInProcess(2, [](Communicator& threads) {
    CountingCommunicator counted(threads);
    NoGradientExchangeCommunicator timing_only(counted);
    EXPECT_EQ(timing_only.name(), "in-process, no gradient exchange: timing only");
    Step step(timing_only.rank());
    step.Run(*timing_only.MakeBucketReducer());
    EXPECT_EQ(counted.calls(), 0);
    const float own = timing_only.rank() + 1.0f;
    EXPECT_EQ(step.a, std::vector<float>(5, own));
    EXPECT_EQ(step.b, std::vector<float>(300, own));
    EXPECT_EQ(step.c, std::vector<float>(2, own));
    EXPECT_EQ(step.rows.fills + step.rows.reads, 0);
    std::vector<double> flags{1.0};
    timing_only.AllReduce(std::span<double>(flags));
    timing_only.Barrier();
    EXPECT_EQ(flags[0], 2.0);
    EXPECT_EQ(counted.calls(), 2);
    EXPECT_EQ(timing_only.host_memory(), threads.host_memory());
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(NoGradientExchangeCommunicator, IsRequestedByItsVariableSetAndNotZero) {
  unsetenv(kNoGradientExchangeVariable);
  EXPECT_FALSE(NoGradientExchangeRequested());
  for (const char* value : {"", "0"}) {
    setenv(kNoGradientExchangeVariable, value, 1);
    EXPECT_FALSE(NoGradientExchangeRequested()) << "'" << value << "'";
  }
  for (const char* value : {"1", "yes"}) {
    setenv(kNoGradientExchangeVariable, value, 1);
    EXPECT_TRUE(NoGradientExchangeRequested()) << "'" << value << "'";
  }
  unsetenv(kNoGradientExchangeVariable);
}

}  // namespace
}  // namespace ectrain::comm
