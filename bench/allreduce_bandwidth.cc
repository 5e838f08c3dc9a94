// All-reduce bandwidth and small-collective latency: ectrain's Communicator with its host segment
// (shared memory, the default when every rank is on one host) and with messages only
// (comm.host_shared_memory: false: the deterministic point-to-point ring, MPI's all-gather-v)
// beside a plain MPI_Allreduce of the same bytes, whole and as back-to-back buckets. Then
// microseconds per call for what a training step sends: float all-reduces of --small-kb each
// (a model's dense gradient, the loss and flags) and the row-sparse exchange's AllGatherV of
// --allgather-kb a rank (the counts, then the rows; the bytes written just before each call, as a
// step packs them, and the writing timed too), 1,000 calls back to back per repetition: what they
// cost when no rank is late.
//
//   mpirun -np 2 build/bench/allreduce_bandwidth [--sizes-mb 1,4,16,64,256] [--reps 7] [--bucket-mb 25]
//                                                [--small-kb 0.016,41,256] [--allgather-kb 36,520]
//
// Per size, the variants alternate within each repetition (so drift on a shared machine hits all
// of them alike); a repetition's time is the slowest rank's; the tables show medians. Bandwidth is
// algorithm bandwidth: buffer bytes / time. Prints markdown tables on rank 0.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "comm/host_segment_communicator.h"
#include "comm/make_communicator.h"

namespace {

std::vector<double> ParseSizes(const char* text) {
  std::vector<double> sizes;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    sizes.push_back(std::strtod(p, &end));
    p = *end == ',' ? end + 1 : end;
    if (end == p && *p) break;
  }
  return sizes;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Seconds for op() on the slowest rank, started together, on freshly filled data.
double TimeCollective(std::vector<float>& buffer, const std::function<void()>& op) {
  std::fill(buffer.begin(), buffer.end(), 1e-3f);
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = std::chrono::steady_clock::now();
  op();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<double> sizes_mb{1, 4, 16, 64, 256};
  int reps = 7;
  double bucket_mb = 25;
  std::vector<double> small_kb{0.016, 41, 256};
  std::vector<double> allgather_kb{36, 520};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--sizes-mb") {
      sizes_mb = ParseSizes(argv[i + 1]);
    } else if (flag == "--reps") {
      reps = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--bucket-mb") {
      bucket_mb = std::strtod(argv[i + 1], nullptr);
    } else if (flag == "--small-kb") {
      small_kb = ParseSizes(argv[i + 1]);
    } else if (flag == "--allgather-kb") {
      allgather_kb = ParseSizes(argv[i + 1]);
    } else {
      std::fprintf(stderr,
                   "unknown flag %s; usage: allreduce_bandwidth [--sizes-mb 1,4,16] [--reps 7] [--bucket-mb 25] "
                   "[--small-kb 0.016,41,256] [--allgather-kb 36,520]\n",
                   argv[i]);
      return 2;
    }
  }
  auto created = ectrain::comm::MakeCommunicator(ectrain::comm::Backend::kMpi, /*host_shared_memory=*/true);
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().message().c_str());
    return 1;
  }
  const std::unique_ptr<ectrain::comm::Communicator> made = std::move(created).value();
  // With a host segment in front, MPI itself (messages only) is the segment's target.
  auto* segment = dynamic_cast<ectrain::comm::HostSegmentCommunicator*>(made.get());
  const bool has_segment = segment != nullptr;
  ectrain::comm::Communicator& messages = has_segment ? segment->target() : *made;
  ectrain::comm::Communicator* comm = made.get();  // what the variants below call
  const bool print = comm->rank() == 0;
  // Runs op with the host segment (if this host has one) or with messages only.
  auto with_segment = [&](bool use_segment, const std::function<void()>& op) {
    return [&comm, &made, &messages, use_segment, op] {
      comm = use_segment ? made.get() : &messages;
      op();
      comm = made.get();
    };
  };
  const size_t bucket_floats = std::max<size_t>(1, static_cast<size_t>(bucket_mb * (1 << 20) / sizeof(float)));
  if (print) {
    const char* where = has_segment ? "one host: ectrain uses its host segment" : "no host segment (several hosts)";
    std::printf(
        "%d ranks, %s; %d repetitions (medians), buckets of %g MiB; "
        "GB/s = buffer bytes / time (1 GB = 1e9 B)\n\n",
        comm->size(), where, reps, bucket_mb);
    std::printf(
        "| size (MiB) | MPI_Allreduce GB/s | ectrain GB/s | ectrain / MPI | MPI in %g MiB buckets GB/s | ectrain in %g "
        "MiB buckets GB/s | bucketed ectrain / MPI | ectrain, messages only GB/s | messages only / MPI |\n",
        bucket_mb, bucket_mb);
    std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  }
  for (double mb : sizes_mb) {
    const size_t count = static_cast<size_t>(mb * (1 << 20) / sizeof(float));
    const double bytes = static_cast<double>(count * sizeof(float));
    std::vector<float> buffer(count);
    auto mpi_whole = [&] {
      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    };
    auto ours_whole = [&] { comm->AllReduce(std::span<float>(buffer)); };
    auto mpi_buckets = [&] {
      for (size_t at = 0; at < count; at += bucket_floats) {
        MPI_Allreduce(MPI_IN_PLACE, buffer.data() + at, static_cast<int>(std::min(bucket_floats, count - at)),
                      MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      }
    };
    auto ours_buckets = [&] {
      for (size_t at = 0; at < count; at += bucket_floats) {
        comm->AllReduce(std::span<float>(buffer.data() + at, std::min(bucket_floats, count - at)));
      }
    };
    const std::vector<std::function<void()>> variants{mpi_whole, with_segment(true, ours_whole), mpi_buckets,
                                                      with_segment(true, ours_buckets),
                                                      with_segment(false, ours_whole)};
    for (const auto& op : variants) TimeCollective(buffer, op);  // warm up: pages, MPI connections, scratch
    std::vector<std::vector<double>> seconds(variants.size());
    for (int rep = 0; rep < reps; ++rep) {
      for (size_t v = 0; v < variants.size(); ++v) seconds[v].push_back(TimeCollective(buffer, variants[v]));
    }
    std::vector<double> gbps;
    for (const auto& s : seconds) gbps.push_back(bytes / Median(s) / 1e9);
    if (print) {
      std::printf("| %g | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", mb, gbps[0], gbps[1],
                  gbps[1] / gbps[0], gbps[2], gbps[3], gbps[3] / gbps[2], gbps[4], gbps[4] / gbps[0]);
      std::fflush(stdout);
    }
  }
  constexpr int kCalls = 1000;
  std::vector<float> unused(1);
  // Microseconds per call of each variant, 1,000 calls per repetition, variants alternating.
  auto per_call = [&](const std::vector<std::function<void()>>& variants) {
    std::vector<std::function<void()>> repeated;
    for (const auto& op : variants) {
      repeated.push_back([op] {
        for (int k = 0; k < kCalls; ++k) op();
      });
    }
    for (const auto& op : repeated) TimeCollective(unused, op);  // warm up
    std::vector<std::vector<double>> seconds(repeated.size());
    for (int rep = 0; rep < reps; ++rep) {
      for (size_t v = 0; v < repeated.size(); ++v) seconds[v].push_back(TimeCollective(unused, repeated[v]));
    }
    std::vector<double> micros;
    for (const auto& s : seconds) micros.push_back(Median(s) / kCalls * 1e6);
    return micros;
  };
  if (print) {
    std::printf(
        "\n| float all-reduce (KB) | MPI_Allreduce us | ectrain us | ectrain, messages only us | ectrain / MPI |\n");
    std::printf("| --- | --- | --- | --- | --- |\n");
  }
  for (double kb : small_kb) {
    const size_t count = std::max<size_t>(1, static_cast<size_t>(kb * 1000 / sizeof(float)));
    std::vector<float> buffer(count, 1e-3f);
    auto mpi = [&] {
      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    };
    auto ours = [&] { comm->AllReduce(std::span<float>(buffer)); };
    const auto us = per_call({mpi, with_segment(true, ours), with_segment(false, ours)});
    if (print) std::printf("| %g | %.1f | %.1f | %.1f | %.2f |\n", kb, us[0], us[1], us[2], us[1] / us[0]);
  }
  if (print) {
    std::printf(
        "\n| AllGatherV, bytes a rank (KB) | ectrain us | ectrain, messages only us | ectrain / messages only |\n");
    std::printf("| --- | --- | --- | --- |\n");
  }
  for (double kb : allgather_kb) {
    std::vector<uint8_t> mine(static_cast<size_t>(kb * 1000));
    std::vector<uint8_t> all;
    std::vector<int64_t> counts;
    // Written before each call, as a step packs its rows: the bytes are fresh in the sender's cache.
    auto gather = [&] {
      std::fill(mine.begin(), mine.end(), static_cast<uint8_t>(comm->rank() + 1));
      comm->AllGatherV(std::span<const uint8_t>(mine), all, counts);
    };
    const auto us = per_call({with_segment(true, gather), with_segment(false, gather)});
    if (print) std::printf("| %g | %.1f | %.1f | %.2f |\n", kb, us[0], us[1], us[0] / us[1]);
  }
  return 0;
}
