// Where tests find real data: the bundled sets in the source tree's datasets/, fixtures in
// tests/fixtures/, and the sets that may not be redistributed (MovieLens, Taobao) wherever the user
// put them: $ECTRAIN_DATASETS/<name>/ (CI points it at a folder holding them all), else
// datasets/<name>/ as that folder's fetch.sh leaves it. A test that needs an absent set is
// skipped, saying which set and how to get it (ctest counts it as skipped: SKIP_REGULAR_EXPRESSION).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace ectrain::testing {

// A bundled data set's file: datasets/<relative>. It is part of the checkout, so absence fails.
inline std::string BundledData(const std::string& relative) {
  const std::string path = std::string(ECTRAIN_SOURCE_DIR) + "/datasets/" + relative;
  EXPECT_TRUE(std::filesystem::exists(path)) << path << " is missing from the checkout";
  return path;
}

// A fixture under tests/fixtures/.
inline std::string Fixture(const std::string& relative) {
  const std::string path = std::string(ECTRAIN_SOURCE_DIR) + "/tests/fixtures/" + relative;
  EXPECT_TRUE(std::filesystem::exists(path)) << path << " is missing from the checkout";
  return path;
}

// The path of `file` (a data file, not the folder: datasets/<name>/ always holds its fetch.sh)
// inside the fetched data set `name`, or nothing when it is absent.
inline std::optional<std::string> FetchedData(const std::string& name, const std::string& file) {
  const char* root = std::getenv("ECTRAIN_DATASETS");
  for (const std::string& base :
       {std::string(root != nullptr ? root : ""), std::string(ECTRAIN_SOURCE_DIR) + "/datasets"}) {
    if (base.empty()) continue;
    const std::string path = base + "/" + name + "/" + file;
    if (std::filesystem::exists(path)) return path;
  }
  return std::nullopt;
}

inline std::string SkipMessage(const std::string& name) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return "SKIPPED: " + std::string(test->test_suite_name()) + "." + test->name() + ": needs " + name +
         ", see datasets/" + name + "/fetch.sh (or set ECTRAIN_DATASETS to a folder holding " + name + "/)";
}

}  // namespace ectrain::testing

// Sets `var` to the fetched set's file, or skips the test (from inside a TEST body or SetUp).
#define ECTRAIN_REQUIRE_DATASET(var, name, file)                              \
  std::string var;                                                            \
  if (const auto found_##var = ::ectrain::testing::FetchedData(name, file)) { \
    var = *found_##var;                                                       \
  } else {                                                                    \
    GTEST_SKIP() << ::ectrain::testing::SkipMessage(name);                    \
  }
