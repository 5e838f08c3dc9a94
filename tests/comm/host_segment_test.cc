// What only the host segment promises beyond the contract suite (which runs on it as "segment2"
// and "segment4"): ranks that race ahead into the next collective never overwrite what a slower
// rank still reads, and ranks calling different collectives fail with both calls named.
#include "comm/host_segment.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "comm/host_segment_communicator.h"
#include "segment_comm.h"

namespace ectrain::comm {
namespace {
using ectrain::testing::RunOnSegment;

// Ranks are delayed at random between collectives, so that a fast rank fills the next round's
// slots while the others still copy out of the last one; every result is checked.
TEST(HostSegment, BackToBackCollectivesWithUnevenRanksKeepEveryResult) {
  for (int ranks : {2, 3, 4}) {
    RunOnSegment(ranks, 256, [ranks](HostSegmentCommunicator& comm) {
      std::mt19937 rng(static_cast<unsigned>(comm.rank()) * 7919u + 1u);
      int failures = 0;
      for (int64_t step = 0; step < 400 && failures < 5; ++step) {
        if (rng() % 4 == 0) std::this_thread::yield();
        // A sum of 100 int64s (several 256-byte pieces): each element is sum over r of (r + 1) * (step + i).
        std::vector<int64_t> sums(100);
        for (size_t i = 0; i < sums.size(); ++i) sums[i] = (comm.rank() + 1) * (step + static_cast<int64_t>(i));
        comm.AllReduce(std::span<int64_t>(sums));
        const int64_t weight = ranks * (ranks + 1) / 2;
        for (size_t i = 0; i < sums.size(); ++i) {
          if (sums[i] != weight * (step + static_cast<int64_t>(i))) {
            ADD_FAILURE() << "step " << step << " element " << i << ": " << sums[i];
            ++failures;
            break;
          }
        }
        // Contributions of different lengths, some longer than a slot.
        std::vector<uint8_t> mine(static_cast<size_t>((step * (comm.rank() + 3)) % 700));
        for (size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<uint8_t>(comm.rank() * 31 + step + i);
        std::vector<uint8_t> all;
        std::vector<int64_t> counts;
        comm.AllGatherV(std::span<const uint8_t>(mine), all, counts);
        size_t at = 0;
        for (int r = 0; r < ranks; ++r) {
          const auto expected_count = static_cast<int64_t>((step * (r + 3)) % 700);
          if (counts[static_cast<size_t>(r)] != expected_count) {
            ADD_FAILURE() << "step " << step << " rank " << r << " count " << counts[static_cast<size_t>(r)];
            ++failures;
            break;
          }
          for (int64_t i = 0; i < expected_count; ++i, ++at) {
            if (all[at] != static_cast<uint8_t>(r * 31 + step + i)) {
              ADD_FAILURE() << "step " << step << " rank " << r << " byte " << i;
              ++failures;
              break;
            }
          }
        }
      }
    });
  }
}

TEST(HostSegment, SegmentBytesHoldTheHeadAndTwoHalvesOfSlots) {
  // 2 ranks: a 64-byte line each, then 2 halves of 3 slots (2 ranks + the result).
  EXPECT_EQ(HostSegment::SegmentBytes(2, 1024), 2u * 64 + 2u * 3 * 1024);
  EXPECT_EQ(HostSegment::SegmentBytes(4, 100), 4u * 64 + 2u * 5 * 128);  // slots rounded to lines
}

using HostSegmentDeathTest = ::testing::Test;

TEST_F(HostSegmentDeathTest, RanksCallingDifferentCollectivesFailWithBothCalls) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunOnSegment(2, 1024,
                            [](HostSegmentCommunicator& comm) {
                              std::vector<float> x(3);
                              if (comm.rank() == 0) {
                                comm.AllReduce(std::span<float>(x));
                              } else {
                                comm.Broadcast(std::span<float>(x), 0);
                              }
                            }),
               "ranks call different collectives: rank 0 calls AllReduce\\(float32, count 3, sum\\), rank 1 calls "
               "Broadcast\\(uint8, count 12, root 0\\)");
}

}  // namespace
}  // namespace ectrain::comm
