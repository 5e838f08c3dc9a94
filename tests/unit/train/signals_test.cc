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
      ::testing::ExitedWithCode(130), "second interrupt");
}

}  // namespace
}  // namespace ectrain::train
