#include "train/signals.h"

#include <gtest/gtest.h>

#include <csignal>

namespace ectrain::train {
namespace {

TEST(StopSignals, TheFirstSignalIsRememberedNotActedOn) {
  InstallStopSignalHandlers();
  ClearStopSignal();
  EXPECT_EQ(StopSignalReceived(), 0);
  std::raise(SIGUSR1);
  EXPECT_EQ(StopSignalReceived(), SIGUSR1);
  std::raise(SIGTERM);  // the first one is what the message names
  EXPECT_EQ(StopSignalReceived(), SIGUSR1);
  EXPECT_STREQ(SignalName(SIGUSR1), "SIGUSR1");
  ClearStopSignal();
}

TEST(StopSignalsDeathTest, ASecondInterruptExitsAtOnceWith130) {
  EXPECT_EXIT(
      {
        InstallStopSignalHandlers();
        ClearStopSignal();
        std::raise(SIGINT);
        std::raise(SIGINT);
        std::_Exit(0);  // not reached
      },
      ::testing::ExitedWithCode(130), "second stop signal");
}

// A process busy elsewhere (a long evaluation) still ends on the second SIGTERM; repeated
// SIGUSR1 (Slurm may send its warning again) only asks for the checkpoint.
TEST(StopSignalsDeathTest, ASecondTermExitsAtOnceWith143AndUsr1NeverDoes) {
  EXPECT_EXIT(
      {
        InstallStopSignalHandlers();
        ClearStopSignal();
        std::raise(SIGUSR1);
        std::raise(SIGUSR1);
        std::raise(SIGTERM);
        std::raise(SIGTERM);
        std::_Exit(0);  // not reached
      },
      ::testing::ExitedWithCode(143), "second stop signal");
}

}  // namespace
}  // namespace ectrain::train
