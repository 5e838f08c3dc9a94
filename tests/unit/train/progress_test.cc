#include "train/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace ectrain::train {
namespace {

ProgressState State(int64_t step, int64_t total_steps) {
  ProgressState s;
  s.epoch = 2;
  s.num_epochs = 10;
  s.step = step;
  s.total_steps = total_steps;
  s.loss = 0.4321;
  s.samples_per_sec = 123456.0;
  s.elapsed_seconds = 754.0;
  s.eta_seconds = 3725.0;
  return s;
}

// The states a run goes through, and ones with unusually long fields.
std::vector<ProgressState> States() {
  std::vector<ProgressState> states = {State(1, 100), State(50, 100), State(100, 100), State(123456, 9999999)};
  ProgressState unknown_eta = State(1, 1000);
  unknown_eta.eta_seconds = -1.0;
  ProgressState unknown_total = State(4567, 0);
  ProgressState long_fields = State(7, 2000000000);
  long_fields.loss = 123456.789;
  long_fields.samples_per_sec = 9.9e9;
  long_fields.elapsed_seconds = 1e6;
  long_fields.eta_seconds = 1e7;
  long_fields.num_epochs = 100000;
  long_fields.epoch = 99999;
  states.insert(states.end(), {unknown_eta, unknown_total, long_fields});
  return states;
}

TEST(ProgressLine, NeverReachesTheLastColumnAtAnyWidth) {
  for (const ProgressState& state : States()) {
    for (int width = 0; width <= 200; ++width) {  // 0: a terminal that reports no width
      const std::string line = FormatProgressLine(state, width);
      EXPECT_LE(static_cast<int>(line.size()), std::max(width - 1, 0)) << "width " << width << ": '" << line << "'";
      EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos);
      if (state.total_steps > 0 && width >= 20) {
        EXPECT_NE(line.find('%'), std::string::npos) << "width " << width << ": '" << line << "'";
      }
    }
  }
}

TEST(ProgressLine, KeepsTheMostUsefulFieldsWhenNarrow) {
  const std::string narrow = FormatProgressLine(State(50, 100), 40);
  EXPECT_NE(narrow.find(" 50%"), std::string::npos) << narrow;
  EXPECT_NE(narrow.find(" 50/100"), std::string::npos) << narrow;
  EXPECT_NE(narrow.find("loss  0.4321"), std::string::npos) << narrow;
  EXPECT_EQ(narrow.find("epoch"), std::string::npos) << narrow;  // the first to go

  const std::string wide = FormatProgressLine(State(50, 100), 160);
  for (const char* part : {"epoch 3/10", "[", "]", " 50%", " 50/100", "loss  0.4321", "123.5k samples/s",
                           "elapsed 12:34", "ETA 1:02:05"}) {
    EXPECT_NE(wide.find(part), std::string::npos) << part << " in '" << wide << "'";
  }
}

TEST(ProgressLine, TheBarShowsTheFractionDoneAndGrowsWithTheTerminal) {
  const std::string line = FormatProgressLine(State(25, 100), 120);
  const size_t open = line.find('['), close = line.find(']');
  ASSERT_NE(open, std::string::npos) << line;
  ASSERT_NE(close, std::string::npos) << line;
  const std::string bar = line.substr(open + 1, close - open - 1);
  EXPECT_EQ(std::count(bar.begin(), bar.end(), '#'), static_cast<long>(bar.size() / 4)) << bar;
  EXPECT_EQ(bar.find_first_not_of("#-"), std::string::npos) << bar;

  auto bar_size = [](const std::string& l) { return l.find(']') - l.find('['); };
  const std::string at_80 = FormatProgressLine(State(25, 100), 80);
  const std::string at_100 = FormatProgressLine(State(25, 100), 100);
  ASSERT_NE(at_80.find('['), std::string::npos) << at_80;
  EXPECT_GT(bar_size(at_100), bar_size(at_80));
}

TEST(ProgressLine, KeepsItsLayoutFromOneRedrawToTheNext) {
  ProgressState later = State(51, 100);
  later.loss = 0.1;
  later.samples_per_sec = 99999.0;
  later.eta_seconds = 4000.0;
  EXPECT_EQ(FormatProgressLine(State(5, 100), 100).size(), FormatProgressLine(later, 100).size());
}

TEST(ProgressLine, ShowsWhatIsKnownWithoutATotal) {
  const std::string line = FormatProgressLine(State(4567, 0), 100);
  EXPECT_NE(line.find("step 4567"), std::string::npos) << line;
  EXPECT_NE(line.find("loss"), std::string::npos) << line;
  EXPECT_EQ(line.find('%'), std::string::npos) << line;
  EXPECT_EQ(line.find('['), std::string::npos) << line;
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
}

TEST(ProgressLine, PercentRoundsDown) {
  EXPECT_NE(FormatProgressLine(State(999, 1000), 100).find(" 99%"), std::string::npos);
  EXPECT_NE(FormatProgressLine(State(1000, 1000), 100).find("100%"), std::string::npos);
}

TEST(ProgressBar, FillsTheFractionDoneClamped) {
  EXPECT_EQ(ProgressBar(0.5, 10), "#####-----");
  EXPECT_EQ(ProgressBar(0.0, 4), "----");
  EXPECT_EQ(ProgressBar(0.999, 10), "#########-");
  EXPECT_EQ(ProgressBar(1.0, 4), "####");
  EXPECT_EQ(ProgressBar(1.5, 4), "####");
  EXPECT_EQ(ProgressBar(-0.5, 4), "----");
  EXPECT_EQ(ProgressBar(std::nan(""), 4), "----");
}

TEST(ProgressEta, MinutesHoursAndUnknown) {
  EXPECT_EQ(FormatEta(65.0), "ETA  1:05");
  EXPECT_EQ(FormatEta(0.2), "ETA  0:00");
  EXPECT_EQ(FormatEta(3725.0), "ETA 1:02:05");
  EXPECT_EQ(FormatEta(-1.0), "ETA --:--");
  EXPECT_EQ(FormatEta(INFINITY), "ETA --:--");
  EXPECT_EQ(FormatDuration(59.6), "1:00");
}

TEST(ProgressMode, LiveAndLinesAreWhatTheySayAutoFollowsTheTerminal) {
  EXPECT_TRUE(LiveProgressWanted("live"));
  EXPECT_FALSE(LiveProgressWanted("lines"));
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr && std::getenv("PMIX_RANK") == nullptr) {
    EXPECT_EQ(LiveProgressWanted("auto"), isatty(STDERR_FILENO) != 0);
  }
}

TEST(ProgressMode, WidthIsTheTerminalsElseColumnsElse80) {
  EXPECT_EQ(ProgressWidth(120, "57"), 120);
  EXPECT_EQ(ProgressWidth(0, "57"), 57);
  EXPECT_EQ(ProgressWidth(0, "junk"), 80);
  EXPECT_EQ(ProgressWidth(0, "-3"), 80);
  EXPECT_EQ(ProgressWidth(0, nullptr), 80);
}

}  // namespace
}  // namespace ectrain::train
