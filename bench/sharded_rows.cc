// The row-sharded table exchange alone (train/sharded_rows.h; not yet wired into training): time
// and bytes of one step's Gather (ids to owners, rows back) plus ScatterAdd (gradient rows to
// owners, summed there), per rank. A table of --rows rows x --cols floats; each step the global
// batch looks up --ids ids (Zipf(1.1): popular ids small, as vocabularies numbered by frequency
// are), split evenly over the ranks; each rank exchanges its distinct ids.
//
//   mpirun -np 2 build/bench/sharded_rows [--ids 256,4096] [--rows 1000000] [--cols 16] [--steps 200] [--rounds 5]
//   build/bench/sharded_rows --threads 2 [...]     (ranks as threads of this process)
//
// Each round times --steps steps of every configuration; a step's time is the slowest rank's
// (barrier, then Gather + ScatterAdd). The table shows medians over rounds, on rank 0. Bytes are
// payload to and from other ranks (ids, rows, counts), per rank and step, averaged over ranks;
// "replicated" is what GradSync's all-gather of the same gradient rows moves in backward (each
// rank's count, ids and rows to every other rank, and theirs back), for comparison: a replicated
// table needs no exchange in forward, a sharded one saves the memory of all but its shard.
#include "train/sharded_rows.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "comm/in_process_communicator.h"
#include "comm/make_communicator.h"

namespace {

using ectrain::comm::Communicator;
using ectrain::train::RowSharding;
using ectrain::train::ShardedRowExchange;

struct Options {
  std::vector<int64_t> ids{256, 4096};
  int64_t rows = 1000000;
  int64_t cols = 16;
  int steps = 200;
  int rounds = 5;
  int threads = 0;
};

struct Figures {
  double us_per_step = 0;
  double distinct_ids = 0;    // per rank and step
  double bytes_per_step = 0;  // sent + received, per rank
  double replicated_bytes = 0;
};

// Each step's distinct ids for this rank: `lookups` Zipf(1.1) draws, repeats dropped.
std::vector<std::vector<int64_t>> MakeSteps(int64_t rows, int64_t lookups, int steps, int rank) {
  std::vector<double> cdf(static_cast<size_t>(rows));
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) cdf[r] = total += std::pow(static_cast<double>(r + 1), -1.1);
  std::mt19937_64 rng(static_cast<uint64_t>(17 + rank));
  std::uniform_real_distribution<double> u(0, total);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(steps));
  std::vector<bool> seen(static_cast<size_t>(rows), false);
  for (auto& ids : out) {
    for (int64_t k = 0; k < lookups; ++k) {
      const auto id = static_cast<int64_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      const int64_t clamped = std::min(id, rows - 1);
      if (!seen[clamped]) ids.push_back(clamped);
      seen[clamped] = true;
    }
    for (int64_t id : ids) seen[id] = false;
  }
  return out;
}

Figures RunOne(Communicator& comm, const Options& o, int64_t global_ids, int round) {
  const RowSharding sharding(o.rows, comm.size());
  ShardedRowExchange exchange(comm, sharding);
  std::vector<float> shard(static_cast<size_t>(sharding.owned_rows(comm.rank()) * o.cols), 0.5f);
  const auto steps = MakeSteps(o.rows, global_ids / comm.size(), o.steps, comm.rank() + 100 * round);
  std::vector<float> rows, owned_grads;
  std::vector<int64_t> owned;
  double seconds = 0, bytes = 0, distinct = 0;
  for (int s = -5; s < o.steps; ++s) {  // 5 untimed steps first
    const auto& ids = steps[static_cast<size_t>(std::max(s, 0))];
    comm.Barrier();
    const auto start = std::chrono::steady_clock::now();
    exchange.Gather(ids, shard, o.cols, rows);
    const ShardedRowExchange::Stats gather = exchange.last_stats();
    exchange.ScatterAdd(ids, rows, o.cols, owned, owned_grads);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s < 0) continue;
    std::vector<double> slowest{elapsed};
    comm.AllReduce(std::span<double>(slowest), ectrain::comm::ReduceOp::kMax);
    seconds += slowest[0];
    const ShardedRowExchange::Stats& scatter = exchange.last_stats();
    bytes +=
        static_cast<double>(gather.bytes_sent + gather.bytes_received + scatter.bytes_sent + scatter.bytes_received);
    distinct += static_cast<double>(ids.size());
  }
  // Averages over ranks.
  std::vector<double> sums{bytes, distinct};
  comm.AllReduce(std::span<double>(sums));
  Figures f;
  f.us_per_step = seconds / o.steps * 1e6;
  f.bytes_per_step = sums[0] / comm.size() / o.steps;
  f.distinct_ids = sums[1] / comm.size() / o.steps;
  // All-gather-v: each rank's count, ids and rows to every other rank, and theirs from them.
  f.replicated_bytes = 2.0 * (comm.size() - 1) * (8 + f.distinct_ids * (8 + 4 * o.cols));
  return f;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Run(Communicator& comm, const Options& o) {
  std::vector<std::vector<Figures>> results(o.ids.size());
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t c = 0; c < o.ids.size(); ++c) results[c].push_back(RunOne(comm, o, o.ids[c], round));
  }
  if (comm.rank() != 0) return;
  std::printf("%s, %d ranks, table %lld x %lld, %d steps x %d rounds (medians)\n", comm.name().c_str(), comm.size(),
              static_cast<long long>(o.rows), static_cast<long long>(o.cols), o.steps, o.rounds);
  std::printf("%10s %14s %14s %16s %18s\n", "global_ids", "distinct/rank", "us/step", "bytes/step/rank",
              "replicated_bytes");
  for (size_t c = 0; c < o.ids.size(); ++c) {
    std::vector<double> us, bytes, distinct, replicated;
    for (const Figures& f : results[c]) {
      us.push_back(f.us_per_step);
      bytes.push_back(f.bytes_per_step);
      distinct.push_back(f.distinct_ids);
      replicated.push_back(f.replicated_bytes);
    }
    std::printf("%10lld %14.1f %14.1f %16.0f %18.0f\n", static_cast<long long>(o.ids[c]), Median(distinct), Median(us),
                Median(bytes), Median(replicated));
  }
}

std::vector<int64_t> ParseList(const char* text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoll(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--ids") {
      o.ids = ParseList(argv[i + 1]);
    } else if (flag == "--rows") {
      o.rows = std::atoll(argv[i + 1]);
    } else if (flag == "--cols") {
      o.cols = std::atoll(argv[i + 1]);
    } else if (flag == "--steps") {
      o.steps = std::atoi(argv[i + 1]);
    } else if (flag == "--rounds") {
      o.rounds = std::atoi(argv[i + 1]);
    } else if (flag == "--threads") {
      o.threads = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (o.threads > 0) {
    const ectrain::Status status = ectrain::comm::RunInProcess(o.threads, [&](Communicator& comm) {
      Run(comm, o);
      return ectrain::Status::Ok();
    });
    return status.ok() ? 0 : 1;
  }
  auto comm = ectrain::comm::MakeCommunicator(ectrain::comm::Backend::kAuto);
  if (!comm.ok()) {
    std::fprintf(stderr, "%s\n", comm.status().message().c_str());
    return 1;
  }
  Run(**comm, o);
  return 0;
}
