// Value-level encodings shared by `ectrain prepare` and FeatureSchema::EncodeRow, so a value is
// turned into the same number or id when a file is written and when a raw row is scored.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ectrain::data {

// A 64-bit hash of `text` that is the same on every machine and build (FNV-1a, then a final
// mixer so that the low bits used by `% buckets` are well spread). Hashed ids depend on it:
// changing it changes every hashed column of every prepared file.
uint64_t StableHash(std::string_view text, uint64_t seed = 0);
// Mixes a 64-bit value (splitmix64's finaliser).
uint64_t Mix64(uint64_t value);

// Hashing into `buckets` ids: id = 1 + StableHash(value) % (buckets - 1), so id 0 stays free for a
// missing value, as in a vocabulary. Needs buckets >= 2.
int32_t HashedId(std::string_view value, int64_t buckets);

// Product-title tokens: ASCII letters lower-cased, split on anything that is not a letter or a
// digit; bytes >= 0x80 (UTF-8 letters such as 'ö') count as letters, so words stay whole.
// Appends to `tokens`.
void Tokenize(std::string_view text, std::vector<std::string>& tokens);
// The values of a multi-valued field: `text` split on `separator`, each trimmed of spaces,
// empty pieces dropped. Appends to `values`.
void SplitValues(std::string_view text, std::string_view separator, std::vector<std::string>& values);

// sign(x) * log1p(|x|): log1p for counts, and defined for the negative values some count
// columns hold (Criteo's I2 has -1).
double SignedLog1p(double x);

// A time value: a number (e.g. Unix seconds), or an ISO date "YYYY-MM-DD" optionally followed
// by "[T ]HH:MM[:SS]" (UTC), as seconds since 1970. nullopt when it is neither.
std::optional<double> ParseTime(std::string_view text);

}  // namespace ectrain::data
