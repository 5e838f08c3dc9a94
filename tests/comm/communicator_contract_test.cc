// The contract every Communicator keeps. comm_local_test runs it on Local, InProcess(2),
// InProcess(4), host segments over InProcess(2) and (4), and a plain CommunicatorWrapper over
// InProcess(2); comm_mpi_test on MPI under mpiexec -n 2 and -n 4, with its host segment and
// without. Each test body runs on every rank (a thread per rank for in-process); EXPECT, not
// ASSERT, so that no rank skips a collective.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "comm/host_memory.h"
#include "comm/in_process_communicator.h"
#include "comm_test_env.h"
#include "ring_reference.h"

namespace ectrain::comm {
namespace {
using ectrain::testing::DescribeBitDifference;
using ectrain::testing::FirstBitDifference;
using ectrain::testing::RankInput;
using ectrain::testing::RingSumReference;

class CommunicatorContract : public ::testing::TestWithParam<std::string> {
 protected:
  void OnEveryRank(const std::function<void(Communicator&)>& body) {
    ectrain::testing::RunOnEveryRank(GetParam(), body);
  }
};

// Every rank's buffer, gathered (through the communicator under test's AllGatherV, which other
// tests check on their own).
std::vector<std::vector<float>> GatherInputs(Communicator& comm, const std::vector<float>& mine) {
  std::vector<float> all;
  std::vector<int64_t> counts;
  comm.AllGatherV(mine, all, counts);
  std::vector<std::vector<float>> inputs;
  size_t at = 0;
  for (int64_t c : counts) {
    inputs.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(at),
                        all.begin() + static_cast<std::ptrdiff_t>(at + c));
    at += static_cast<size_t>(c);
  }
  return inputs;
}

TEST_P(CommunicatorContract, RankIsWithinSize) {
  OnEveryRank([](Communicator& comm) {
    EXPECT_GE(comm.rank(), 0);
    EXPECT_LT(comm.rank(), comm.size());
    // The tests run on one host, so the local rank is the rank and every rank is local.
    EXPECT_EQ(comm.local_rank(), comm.rank());
    EXPECT_EQ(comm.local_size(), comm.size());
    EXPECT_FALSE(comm.name().empty());
  });
}

TEST_P(CommunicatorContract, AllReduceSumOfFloatsDoublesAndIntegers) {
  OnEveryRank([](Communicator& comm) {
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
  });
}

TEST_P(CommunicatorContract, AllReduceMaxMinAndSumsOfLongerBuffers) {
  OnEveryRank([](Communicator& comm) {
    const int n = comm.size();
    const int r = comm.rank();
    std::vector<float> hi(1001), lo(1001);
    for (size_t i = 0; i < hi.size(); ++i) hi[i] = lo[i] = static_cast<float>((static_cast<int>(i) + r) % n) - 0.5f;
    comm.AllReduce(std::span<float>(hi), ReduceOp::kMax);
    comm.AllReduce(std::span<float>(lo), ReduceOp::kMin);
    std::vector<double> d(777);
    std::vector<int64_t> k(777);
    for (size_t i = 0; i < d.size(); ++i) {
      d[i] = static_cast<double>(i) * (r + 1);
      k[i] = static_cast<int64_t>(i) * (r + 1) - (int64_t{1} << 40);
    }
    comm.AllReduce(std::span<double>(d));
    comm.AllReduce(std::span<int64_t>(k));
    const int64_t factor = n * (n + 1) / 2;
    for (size_t i = 0; i < hi.size(); ++i) {
      EXPECT_EQ(hi[i], n - 1.5f) << i;
      EXPECT_EQ(lo[i], -0.5f) << i;
    }
    for (size_t i = 0; i < d.size(); ++i) {
      EXPECT_EQ(d[i], static_cast<double>(i) * factor) << i;
      EXPECT_EQ(k[i], static_cast<int64_t>(i) * factor - n * (int64_t{1} << 40)) << i;
    }
  });
}

TEST_P(CommunicatorContract, AllReduceOfALargeBuffer) {
  OnEveryRank([](Communicator& comm) {
    std::vector<float> big(3'000'001);
    std::iota(big.begin(), big.end(), 0.0f);
    comm.AllReduce(std::span<float>(big));
    EXPECT_FLOAT_EQ(big[0], 0.0f);
    EXPECT_FLOAT_EQ(big[12345], 12345.0f * comm.size());
    EXPECT_FLOAT_EQ(big.back(), 3'000'000.0f * comm.size());
  });
}

// The float sum is exactly the documented ring order (comm/ring.h): compared bit for bit with a
// serial reference over every rank's input, for sizes below the world size (empty chunks), sizes
// that do not divide evenly, and buffers large enough for the segmented ring.
TEST_P(CommunicatorContract, FloatSumIsTheRingOrderBitForBit) {
  OnEveryRank([](Communicator& comm) {
    for (size_t count :
         {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{1000}, size_t{100'003}, size_t{5'000'011}}) {
      std::vector<float> mine = RankInput(comm.rank(), count);
      const auto inputs = GatherInputs(comm, mine);
      comm.AllReduce(std::span<float>(mine));
      if (inputs.size() != static_cast<size_t>(comm.size())) {
        ADD_FAILURE() << "AllGatherV returned " << inputs.size() << " contributions";
        continue;
      }
      const std::vector<float> expected = RingSumReference(inputs);
      EXPECT_EQ(FirstBitDifference(mine, expected), -1)
          << count << " floats: " << DescribeBitDifference(mine, expected);
      // Guard against a test that cannot fail: with 3+ ranks these inputs round differently in the
      // plain order x_0 + x_1 + ... (with 2 ranks every order is the same: a + b == b + a).
      if (comm.size() >= 3 && count >= 1000) {
        EXPECT_NE(FirstBitDifference(ectrain::testing::SequentialSum(inputs), expected), -1) << count;
      }
    }
  });
}

// The same with the MPI ring cut into many small segments, so that its receive window wraps many
// times (with the default 4 MiB segments that takes buffers of 32+ MB), and the host segment's
// pieces ending inside the ring's chunks.
TEST_P(CommunicatorContract, FloatSumIsTheRingOrderWithManySegments) {
  OnEveryRank([](Communicator& comm) {
    ectrain::testing::UseSmallPieces(comm, true);
    for (size_t count : {size_t{99'999}, size_t{250'007}}) {
      std::vector<float> mine = RankInput(comm.rank(), count, /*seed=*/3);
      const auto inputs = GatherInputs(comm, mine);
      comm.AllReduce(std::span<float>(mine));
      if (inputs.size() != static_cast<size_t>(comm.size())) {
        ADD_FAILURE() << "AllGatherV returned " << inputs.size() << " contributions";
        continue;
      }
      const std::vector<float> expected = RingSumReference(inputs);
      EXPECT_EQ(FirstBitDifference(mine, expected), -1)
          << count << " floats: " << DescribeBitDifference(mine, expected);
    }
    ectrain::testing::UseSmallPieces(comm, false);
  });
}

// This backend and an in-process group of the same size give the same bits for the same inputs
// (each rank of this backend runs the whole in-process group itself and compares its own rank).
TEST_P(CommunicatorContract, FloatSumMatchesInProcessBitForBit) {
  OnEveryRank([](Communicator& comm) {
    for (size_t count : {size_t{7}, size_t{20'000}, size_t{300'001}}) {
      std::vector<float> mine = RankInput(comm.rank(), count, /*seed=*/5);
      comm.AllReduce(std::span<float>(mine));
      std::vector<float> in_process;
      Status status = RunInProcess(comm.size(), [&](Communicator& local) {
        std::vector<float> x = RankInput(local.rank(), count, /*seed=*/5);
        local.AllReduce(std::span<float>(x));
        if (local.rank() == comm.rank()) in_process = std::move(x);
        return Status::Ok();
      });
      EXPECT_TRUE(status.ok()) << status.message();
      EXPECT_EQ(FirstBitDifference(mine, in_process), -1)
          << count << " floats, " << comm.name() << " vs in-process: " << DescribeBitDifference(mine, in_process);
    }
  });
}

TEST_P(CommunicatorContract, FloatSumIsTheSameOnEveryRank) {
  OnEveryRank([](Communicator& comm) {
    std::vector<float> mine = RankInput(comm.rank(), 54'321, /*seed=*/9);
    comm.AllReduce(std::span<float>(mine));
    std::vector<float> root = mine;
    comm.Broadcast(std::span<float>(root), 0);
    EXPECT_EQ(FirstBitDifference(mine, root), -1) << DescribeBitDifference(mine, root);
  });
}

TEST_P(CommunicatorContract, BroadcastFromAnyRoot) {
  OnEveryRank([](Communicator& comm) {
    for (int root : {0, comm.size() - 1}) {
      std::vector<float> v(3, comm.rank() == root ? 7.5f : -1.0f);
      comm.Broadcast(std::span<float>(v), root);
      EXPECT_EQ(v, std::vector<float>(3, 7.5f)) << "root " << root;
      std::string text = comm.rank() == root ? "from the root" : "";
      comm.Broadcast(text, root);
      EXPECT_EQ(text, "from the root");
      std::string empty = comm.rank() == root ? "" : "stale";
      comm.Broadcast(empty, root);
      EXPECT_EQ(empty, "");
    }
  });
}

TEST_P(CommunicatorContract, AllGatherPlacesEachRanksBlockInRankOrder) {
  OnEveryRank([](Communicator& comm) {
    std::vector<int64_t> mine{comm.rank(), 100 + comm.rank()};
    std::vector<int64_t> all(2 * comm.size());
    comm.AllGather(mine, all);
    for (int r = 0; r < comm.size(); ++r) {
      EXPECT_EQ(all[2 * r], r);
      EXPECT_EQ(all[2 * r + 1], 100 + r);
    }
  });
}

// Rank r contributes (3 r) % 5 elements: 0 on rank 0, and uneven elsewhere.
TEST_P(CommunicatorContract, AllGatherVConcatenatesUnevenAndEmptyContributions) {
  OnEveryRank([](Communicator& comm) {
    auto count_of = [](int r) { return static_cast<int64_t>((3 * r) % 5); };
    std::vector<float> mine_f;
    std::vector<int64_t> mine_i;
    for (int64_t i = 0; i < count_of(comm.rank()); ++i) {
      mine_f.push_back(static_cast<float>(comm.rank() * 1000 + i) + 0.25f);
      mine_i.push_back((int64_t{comm.rank()} << 40) + i);
    }
    std::vector<float> all_f{-1.0f};  // stale contents are replaced
    std::vector<int64_t> all_i, counts_f, counts_i{42};
    comm.AllGatherV(mine_f, all_f, counts_f);
    comm.AllGatherV(mine_i, all_i, counts_i);
    std::vector<float> want_f;
    std::vector<int64_t> want_i, want_counts;
    for (int r = 0; r < comm.size(); ++r) {
      want_counts.push_back(count_of(r));
      for (int64_t i = 0; i < count_of(r); ++i) {
        want_f.push_back(static_cast<float>(r * 1000 + i) + 0.25f);
        want_i.push_back((int64_t{r} << 40) + i);
      }
    }
    EXPECT_EQ(counts_f, want_counts);
    EXPECT_EQ(counts_i, want_counts);
    EXPECT_EQ(all_f, want_f);
    EXPECT_EQ(all_i, want_i);

    // Nobody contributes anything.
    std::vector<float> none{1.0f, 2.0f};
    comm.AllGatherV(std::span<const float>(), none, counts_f);
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(counts_f, std::vector<int64_t>(static_cast<size_t>(comm.size()), 0));
  });
}

TEST_P(CommunicatorContract, AllGatherVOfALargeContribution) {
  OnEveryRank([](Communicator& comm) {
    // Only the last rank sends, 1M ids (8 MB).
    const bool sender = comm.rank() == comm.size() - 1;
    std::vector<int64_t> mine(sender ? 1'000'000 : 0);
    std::iota(mine.begin(), mine.end(), int64_t{7});
    std::vector<int64_t> all, counts;
    comm.AllGatherV(mine, all, counts);
    ASSERT_EQ(all.size(), 1'000'000u);
    EXPECT_EQ(counts.back(), 1'000'000);
    EXPECT_EQ(all.front(), 7);
    EXPECT_EQ(all.back(), 1'000'006);
  });
}

// AllToAllV's test pattern: how many elements rank s sends rank d in `round` (0 to 40, zeros
// among them; in each round one rank sends nothing at all), and the value of element i, which
// names s, d and i (exact in every type: uint8 keeps s, d and the low bits of i).
int64_t PairCount(int s, int d, int round, int n) {
  if (s == round % n) return 0;
  const uint32_t h = static_cast<uint32_t>(s * 7919 + d * 104729 + round * 1299709) * 2654435761u;
  return (h >> 16) % 6 == 0 ? 0 : static_cast<int64_t>((h >> 8) % 41);
}
template <typename T>
T PairValue(int s, int d, int64_t i) {
  if constexpr (std::is_same_v<T, uint8_t>) return static_cast<uint8_t>(s * 64 + d * 16 + i % 16);
  if constexpr (std::is_same_v<T, int64_t>) return (int64_t{s} << 40) + (int64_t{d} << 20) + i;
  return static_cast<T>((s * 64 + d) * 64 + i) + static_cast<T>(0.25);
}

// One AllToAllV of type T in `round`, with the receive counts the caller knows; returns the number
// of elements that differ from what their sources sent (and counts that differ, if any).
template <typename T>
int64_t AllToAllVRound(Communicator& comm, int round, bool exchange_counts) {
  const int n = comm.size(), me = comm.rank();
  std::vector<int64_t> send_counts, want_counts;
  std::vector<T> send, want;
  for (int d = 0; d < n; ++d) {
    send_counts.push_back(PairCount(me, d, round, n));
    for (int64_t i = 0; i < send_counts.back(); ++i) send.push_back(PairValue<T>(me, d, i));
  }
  for (int s = 0; s < n; ++s) {
    want_counts.push_back(PairCount(s, me, round, n));
    for (int64_t i = 0; i < want_counts.back(); ++i) want.push_back(PairValue<T>(s, me, i));
  }
  std::vector<T> recv(want.size() + 3, T{7});  // stale contents
  std::vector<int64_t> recv_counts{-1};
  if (exchange_counts) {
    comm.AllToAllVWithCounts<T>(send, send_counts, recv, recv_counts);
  } else {
    recv.resize(want.size());
    recv_counts = want_counts;
    comm.AllToAllV<T>(send, send_counts, recv, recv_counts);
  }
  int64_t wrong = recv_counts == want_counts ? 0 : 1'000'000;
  if (recv.size() != want.size()) return wrong + 1'000'000;
  for (size_t i = 0; i < want.size(); ++i) wrong += std::memcmp(&recv[i], &want[i], sizeof(T)) != 0;
  return wrong;
}

// Every rank receives exactly what each source sent it, in source order: uneven counts, zeros, a
// rank that sends nothing, four element types, call after call, with the counts known and
// exchanged; and again in small pieces (MPI's messages of 24 bytes).
TEST_P(CommunicatorContract, AllToAllVDeliversWhatEachSourceSentInSourceOrder) {
  OnEveryRank([](Communicator& comm) {
    for (bool small : {false, true}) {
      ectrain::testing::UseSmallPieces(comm, small);
      for (int round = 0; round < 6; ++round) {
        const bool exchange = round % 2 == 1;
        EXPECT_EQ(AllToAllVRound<float>(comm, round, exchange), 0) << "float, round " << round << ", small " << small;
        EXPECT_EQ(AllToAllVRound<double>(comm, round, exchange), 0) << "double, round " << round;
        EXPECT_EQ(AllToAllVRound<int64_t>(comm, round, exchange), 0) << "int64, round " << round;
        EXPECT_EQ(AllToAllVRound<uint8_t>(comm, round, exchange), 0) << "uint8, round " << round;
      }
    }
    ectrain::testing::UseSmallPieces(comm, false);
  });
}

// AllToAllCounts: entry s is what rank s will send this rank; nothing sent anywhere is all zeros.
TEST_P(CommunicatorContract, AllToAllCountsTellsEachRankWhatItWillReceive) {
  OnEveryRank([](Communicator& comm) {
    const int n = comm.size(), me = comm.rank();
    std::vector<int64_t> send_counts;
    for (int d = 0; d < n; ++d) send_counts.push_back(int64_t{me} * 1000 + d + (int64_t{1} << 33));
    std::vector<int64_t> want;
    for (int s = 0; s < n; ++s) want.push_back(int64_t{s} * 1000 + me + (int64_t{1} << 33));
    EXPECT_EQ(comm.AllToAllCounts(send_counts), want);
    const std::vector<int64_t> zeros(static_cast<size_t>(n), 0);
    EXPECT_EQ(comm.AllToAllCounts(zeros), zeros);
    // Nothing at all to move.
    std::vector<float> none;
    comm.AllToAllV<float>(none, zeros, none, zeros);
  });
}

// A larger pair: the last rank sends rank 0 1M ids (8 MB), everyone else sends nothing.
TEST_P(CommunicatorContract, AllToAllVOfALargePart) {
  OnEveryRank([](Communicator& comm) {
    const int n = comm.size();
    std::vector<int64_t> send_counts(static_cast<size_t>(n), 0);
    if (comm.rank() == n - 1) send_counts[0] = 1'000'000;
    std::vector<int64_t> send(static_cast<size_t>(send_counts[0]));
    std::iota(send.begin(), send.end(), int64_t{7});
    std::vector<int64_t> recv, recv_counts;
    comm.AllToAllVWithCounts<int64_t>(send, send_counts, recv, recv_counts);
    ASSERT_EQ(recv.size(), comm.rank() == 0 ? 1'000'000u : 0u);
    if (recv.empty()) return;
    EXPECT_EQ(recv_counts[static_cast<size_t>(n - 1)], 1'000'000);
    EXPECT_EQ(recv.front(), 7);
    EXPECT_EQ(recv.back(), 1'000'006);
  });
}

// AllGatherVRead (comm/host_memory.h): Fill once with this rank's size, then Read once per rank in
// rank order with exactly its bytes; small contributions (a host segment reads them in its slots),
// none, and one larger than any slot (gathered by copying instead), one call after another.
TEST_P(CommunicatorContract, AllGatherVReadSeesEveryRanksBytesInRankOrder) {
  OnEveryRank([](Communicator& comm) {
    struct Recorder final : GatherReader {
      size_t bytes = 0;
      uint8_t seed = 0;
      int fills = 0;
      std::vector<std::pair<int, std::vector<uint8_t>>> reads;
      void Fill(std::span<uint8_t> mine) override {
        ++fills;
        EXPECT_EQ(mine.size(), bytes);
        for (size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<uint8_t>(seed + i * 7);
      }
      void Read(int rank, std::span<const uint8_t> theirs) override {
        reads.emplace_back(rank, std::vector<uint8_t>(theirs.begin(), theirs.end()));
      }
    };
    const auto size_of = [&comm](int r, int round) -> size_t {
      if (round == 1) return 0;
      if (round == 2 && r == comm.size() - 1) return 1'500'000;  // past every slot
      return static_cast<size_t>((r * 3 + round) % 4) * 1000 + static_cast<size_t>(r);
    };
    GatherBuffers buffers;
    for (int round = 0; round < 4; ++round) {
      Recorder recorder;
      recorder.bytes = size_of(comm.rank(), round);
      recorder.seed = static_cast<uint8_t>(comm.rank() * 31 + round);
      AllGatherVRead(comm, recorder.bytes, recorder, buffers);
      EXPECT_EQ(recorder.fills, 1) << "round " << round;
      EXPECT_EQ(recorder.reads.size(), static_cast<size_t>(comm.size())) << "round " << round;
      for (int r = 0; r < comm.size() && r < static_cast<int>(recorder.reads.size()); ++r) {
        const auto& [rank, bytes] = recorder.reads[static_cast<size_t>(r)];
        EXPECT_EQ(rank, r) << "round " << round;
        EXPECT_EQ(bytes.size(), size_of(r, round)) << "round " << round << " rank " << r;
        const auto seed = static_cast<uint8_t>(r * 31 + round);
        size_t wrong = 0;
        for (size_t i = 0; i < bytes.size(); ++i) wrong += bytes[i] != static_cast<uint8_t>(seed + i * 7);
        EXPECT_EQ(wrong, 0u) << "round " << round << " rank " << r;
      }
    }
  });
}

TEST_P(CommunicatorContract, AgreeOkFailsEveryRankWhenOneFails) {
  OnEveryRank([](Communicator& comm) {
    const int failing = comm.size() - 1;
    Status local = comm.rank() == failing ? DataError("bad row 3") : Status::Ok();
    Status agreed = AgreeOk(comm, local, "reading");
    EXPECT_FALSE(agreed.ok());
    if (comm.rank() == failing) {
      EXPECT_EQ(agreed.message(), "bad row 3");
      EXPECT_EQ(agreed.code(), StatusCode::kDataError);
    } else {
      EXPECT_NE(agreed.message().find("reading failed on another rank"), std::string::npos);
      EXPECT_EQ(agreed.code(), StatusCode::kFailedElsewhere);
      EXPECT_EQ(agreed.ExitCode(), 1);
    }
    EXPECT_TRUE(AgreeOk(comm, Status::Ok(), "reading").ok());
    comm.Barrier();
  });
}

// HostMemory::MapShared: where ranks share memory (threads of a process, MPI ranks on one host,
// and decorators over them) every rank gets the same zeroed, page-aligned bytes, where one rank's
// writes are seen by all after a barrier; one rank has no host memory.
TEST_P(CommunicatorContract, MapSharedIsOneZeroedMemoryForEveryRankOrNone) {
  OnEveryRank([](Communicator& comm) {
    std::string why_not;
    constexpr size_t kBytes = 3 * 4096 + 100;
    HostMemory* host = comm.host_memory();
    EXPECT_EQ(host != nullptr, comm.size() > 1);
    std::unique_ptr<SharedMemory> shared = host != nullptr ? host->MapShared(kBytes, &why_not) : nullptr;
    EXPECT_EQ(shared != nullptr, comm.size() > 1) << why_not;
    std::vector<int64_t> mapped{shared != nullptr ? 1 : 0};
    comm.AllReduce(std::span<int64_t>(mapped));
    EXPECT_EQ(mapped[0], shared != nullptr ? comm.size() : 0) << "some ranks mapped it, some did not";
    if (shared == nullptr) return;
    auto* bytes = static_cast<unsigned char*>(shared->data());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(bytes) % 4096, 0u);
    EXPECT_EQ(std::count(bytes, bytes + kBytes, 0), static_cast<std::ptrdiff_t>(kBytes)) << "not zeroed";
    comm.Barrier();  // every rank has seen the zeros
    bytes[comm.rank() * 1000 + 7] = static_cast<unsigned char>(comm.rank() + 1);
    comm.Barrier();
    for (int r = 0; r < comm.size(); ++r) EXPECT_EQ(bytes[r * 1000 + 7], r + 1) << "rank " << r << "'s write";
    comm.Barrier();  // every rank has read before any releases it
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, CommunicatorContract, ::testing::ValuesIn(ectrain::testing::ContractBackends()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace ectrain::comm
