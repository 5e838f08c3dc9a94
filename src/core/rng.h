// A small, fully specified random generator (SplitMix64 seeding + xoshiro256**), so that
// initialisation and data order are the same on every platform and standard library
// (std:: distributions are not). One instance per user; not thread-safe.
#pragma once

#include <cstdint>

namespace ectrain {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  // Mixes several integers (seed, epoch, stream id) into one independent stream.
  static Rng ForStream(uint64_t seed, uint64_t stream_a, uint64_t stream_b = 0);

  uint64_t NextU64();
  // Uniform in [0, n) without modulo bias.
  uint64_t Below(uint64_t n);
  // Uniform float in [0, 1).
  double Uniform();
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box-Muller).
  double Normal();

 private:
  uint64_t s_[4];
};

}  // namespace ectrain
