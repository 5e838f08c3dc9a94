#include "data/encoding.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ectrain::data {

uint64_t Mix64(uint64_t value) {
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ULL;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

uint64_t StableHash(std::string_view text, uint64_t seed) {
  uint64_t hash = 0xcbf29ce484222325ULL ^ Mix64(seed);
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return Mix64(hash);
}

int32_t HashedId(std::string_view value, int64_t buckets) {
  return static_cast<int32_t>(1 + StableHash(value) % static_cast<uint64_t>(buckets - 1));
}

void Tokenize(std::string_view text, std::vector<std::string>& tokens) {
  std::string token;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || u >= 0x80) {
      token += c;
    } else if (u >= 'A' && u <= 'Z') {
      token += static_cast<char>(u - 'A' + 'a');
    } else if (!token.empty()) {
      tokens.push_back(std::move(token));
      token.clear();
    }
  }
  if (!token.empty()) tokens.push_back(std::move(token));
}

void SplitValues(std::string_view text, std::string_view separator, std::vector<std::string>& values) {
  auto add = [&](std::string_view piece) {
    const size_t begin = piece.find_first_not_of(" \t");
    if (begin == std::string_view::npos) return;
    values.emplace_back(piece.substr(begin, piece.find_last_not_of(" \t") - begin + 1));
  };
  if (separator.empty()) {
    add(text);
    return;
  }
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      add(text.substr(start));
      return;
    }
    add(text.substr(start, end - start));
    start = end + separator.size();
  }
}

double SignedLog1p(double x) { return x < 0 ? -std::log1p(-x) : std::log1p(x); }

namespace {

// Reads exactly `digits` decimal digits at text[pos].
std::optional<int> Digits(std::string_view text, size_t pos, size_t digits) {
  if (pos + digits > text.size()) return std::nullopt;
  int value = 0;
  auto [end, error] = std::from_chars(text.data() + pos, text.data() + pos + digits, value);
  if (error != std::errc() || end != text.data() + pos + digits) return std::nullopt;
  return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<double> ParseTime(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return std::nullopt;
  text = text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
  {
    const std::string copy(text);
    char* end = nullptr;
    const double value = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() + copy.size() && std::isfinite(value)) return value;
  }
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto year = Digits(text, 0, 4), month = Digits(text, 5, 2), day = Digits(text, 8, 2);
  if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  double seconds = static_cast<double>(DaysFromCivil(*year, *month, *day)) * 86400.0;
  if (text.size() == 10) return seconds;
  if (text[10] != ' ' && text[10] != 'T') return std::nullopt;
  const auto hour = Digits(text, 11, 2), minute = Digits(text, 14, 2);
  if (!hour || !minute || text.size() < 16 || text[13] != ':') return std::nullopt;
  seconds += *hour * 3600.0 + *minute * 60.0;
  if (text.size() == 16) return seconds;
  const auto second = Digits(text, 17, 2);
  if (text[16] != ':' || !second) return std::nullopt;
  // Fractional seconds and a trailing 'Z' are accepted; other zones are not interpreted.
  const std::string_view rest = text.substr(19);
  if (!rest.empty() && rest != "Z" && rest[0] != '.') return std::nullopt;
  return seconds + *second;
}

}  // namespace ectrain::data
