#include "train/run_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace ectrain::train {
namespace {

// One job per run folder: a second lock is refused naming the holder; the folder is free again
// once the first lock is gone.
TEST(RunFolderLock, ASecondJobIsRefusedNamingTheFirst) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("ectrain_lock_" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(dir);
  {
    StatusOr<RunFolderLock> first = RunFolderLock::Acquire(dir + "/run", "train.output_dir");
    ASSERT_TRUE(first.ok()) << first.status().message();
    StatusOr<RunFolderLock> second = RunFolderLock::Acquire(dir + "/run", "train.output_dir");
    ASSERT_FALSE(second.ok());
    const std::string message = second.status().message();
    EXPECT_NE(message.find("train.output_dir '" + dir + "/run' is in use by another training job (host "),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("pid " + std::to_string(getpid())), std::string::npos) << message;
    EXPECT_NE(message.find("lock file " + dir + "/run/.lock"), std::string::npos) << message;
  }
  EXPECT_TRUE(RunFolderLock::Acquire(dir + "/run", "train.output_dir").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ectrain::train
