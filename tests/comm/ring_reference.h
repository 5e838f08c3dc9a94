// The documented float sum order of comm/ring.h, computed serially and independently of src/comm,
// plus helpers to compare floats bit for bit. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace ectrain::testing {

// inputs[r] = rank r's buffer (all the same size). Chunk c holds count / N elements, plus one for
// the first count % N chunks; its element i is (...((x_{c+1} + x_{c+2}) + ...) + x_{c+N-1}) + x_c.
inline std::vector<float> RingSumReference(const std::vector<std::vector<float>>& inputs) {
  const size_t n = inputs.size();
  const size_t count = inputs[0].size();
  std::vector<float> out(count);
  size_t begin = 0;
  for (size_t c = 0; c < n; ++c) {
    const size_t len = count / n + (c < count % n ? 1 : 0);
    for (size_t i = begin; i < begin + len; ++i) {
      volatile float acc = inputs[(c + 1) % n][i];  // volatile: one rounding per addition, in this order
      for (size_t k = 2; k <= n; ++k) acc = acc + inputs[(c + k) % n][i];
      out[i] = acc;
    }
    begin += len;
  }
  EXPECT_EQ(begin, count);
  return out;
}

// The plain left-to-right order x_0 + x_1 + ... + x_{N-1}: a different order, to show that the
// inputs below are sensitive to it.
inline std::vector<float> SequentialSum(const std::vector<std::vector<float>>& inputs) {
  std::vector<float> out(inputs[0]);
  for (size_t r = 1; r < inputs.size(); ++r) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = out[i] + inputs[r][i];
  }
  return out;
}

// Rank `rank`'s input: signed values over many magnitudes (so that the summation order changes
// the rounded result), plus a few exact integers and zeros.
inline std::vector<float> RankInput(int rank, size_t count, uint32_t seed = 1) {
  std::mt19937 rng(seed * 7919u + static_cast<uint32_t>(rank));
  std::uniform_real_distribution<float> exponent(-8.0f, 8.0f);
  std::vector<float> x(count);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t bits = rng();
    const float magnitude = std::exp2(exponent(rng)) * (1.0f + static_cast<float>(bits & 0xffff) / 65536.0f);
    x[i] = (i % 97 == 0) ? static_cast<float>(i % 5) : ((bits >> 31) ? -magnitude : magnitude);
  }
  return x;
}

// Index of the first element whose bits differ, or -1.
inline int64_t FirstBitDifference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  if (std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0) return -1;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
  }
  return -1;
}

inline std::string DescribeBitDifference(const std::vector<float>& got, const std::vector<float>& want) {
  const int64_t i = FirstBitDifference(got, want);
  if (i < 0) return "bitwise equal";
  if (got.size() != want.size())
    return "sizes differ: " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  char text[160];
  std::snprintf(text, sizeof(text), "first difference at element %lld: %.9g vs %.9g", static_cast<long long>(i),
                got[static_cast<size_t>(i)], want[static_cast<size_t>(i)]);
  return text;
}

}  // namespace ectrain::testing
