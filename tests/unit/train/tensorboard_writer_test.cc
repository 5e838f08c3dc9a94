#include "train/tensorboard_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <vector>

#include "train/tensorboard_event.pb.h"

namespace ectrain::train {
namespace {

namespace fs = std::filesystem;

uint32_t ReadLittleEndian(const std::string& bytes, size_t at, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return static_cast<uint32_t>(value);
}

// Every record of an event file, each frame's length and CRCs checked.
std::vector<tfevents::Event> ReadEvents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<tfevents::Event> events;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size());
    const uint64_t length = ReadLittleEndian(bytes, at, 8);
    EXPECT_EQ(ReadLittleEndian(bytes, at + 8, 4), MaskCrc32c(Crc32c(bytes.substr(at, 8))));
    const std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(ReadLittleEndian(bytes, at + 12 + length, 4), MaskCrc32c(Crc32c(data)));
    tfevents::Event event;
    EXPECT_TRUE(event.ParseFromString(data));
    events.push_back(event);
    at += 16 + length;
  }
  return events;
}

std::string TempFolder(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ectrain_tb_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir.string();
}

// RFC 3720 (iSCSI) B.4's CRC-32C vectors, and the usual check value.
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

// Frames byte for byte as the tensorboard package's own writer makes them (its masked_crc32c).
TEST(TfRecordFrame, MatchesTensorBoardsFraming) {
  EXPECT_EQ(MaskCrc32c(Crc32c("123456789")), 0xC78AB0E5u);
  EXPECT_EQ(TfRecordFrame(""), std::string("\0\0\0\0\0\0\0\0\x29\x03\x98\x07\xd8\xea\x82\xa2", 16));
  EXPECT_EQ(TfRecordFrame("hello"), std::string("\x05\0\0\0\0\0\0\0\xea\xb2\x04\x3e"
                                                "hello\xbb\x1f\x1c\x19",
                                                21));
}

TEST(TensorBoardWriter, WritesVersionRestartScalarsAndText) {
  const std::string dir = TempFolder("write");
  std::string path;
  {
    StatusOr<TensorBoardWriter> writer = TensorBoardWriter::Open(dir + "/tensorboard", 300);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    path = writer->path();
    EXPECT_EQ(fs::path(path).parent_path(), fs::path(dir + "/tensorboard"));
    EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u) << path;
    writer->WriteText("config", 300, "train:\n  epochs: 2\n");
    writer->WriteMetricsLine({{"event", "start"}, {"world_size", 1}});  // nothing
    writer->WriteMetricsLine({{"event", "step"},
                              {"time", 1700000000.5},
                              {"epoch", 2},
                              {"step", 400},
                              {"train_loss", 0.25},
                              {"learning_rate", 1e-3},
                              {"samples_per_second", 5000.0},
                              {"data_wait_seconds", 0.0}});
    writer->WriteMetricsLine({{"event", "eval"},
                              {"epoch", 2},
                              {"step", 500},
                              {"train_loss", nullptr},
                              {"validation", {{"count", 100}, {"auc", 0.75}, {"confusion", {1, 2, 3, 4}}}},
                              {"time", 1700000001.0}});
    writer->WriteMetricsLine({{"event", "best"}, {"step", 450}, {"test", {{"log_loss", 0.5}}}});
  }
  const std::vector<tfevents::Event> events = ReadEvents(path);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[1].session_log().status(), tfevents::SessionLog::START);
  EXPECT_EQ(events[1].step(), 301);

  const tfevents::Summary::Value& text = events[2].summary().value(0);
  EXPECT_EQ(events[2].step(), 300);
  EXPECT_EQ(text.tag(), "config");
  EXPECT_EQ(text.metadata().plugin_data().plugin_name(), "text");
  EXPECT_EQ(text.tensor().dtype(), tfevents::DT_STRING);
  EXPECT_EQ(text.tensor().string_val(0), "    train:\n      epochs: 2\n");

  EXPECT_EQ(events[3].step(), 400);
  EXPECT_EQ(events[3].wall_time(), 1700000000.5);
  std::map<std::string, float> scalars;
  for (const auto& v : events[3].summary().value()) {
    ASSERT_EQ(v.value_case(), tfevents::Summary::Value::kSimpleValue) << v.tag();
    scalars[v.tag()] = v.simple_value();
  }
  EXPECT_EQ(scalars, (std::map<std::string, float>{{"train/loss", 0.25f},
                                                   {"train/learning_rate", 1e-3f},
                                                   {"train/samples_per_second", 5000.0f},
                                                   {"train/data_wait_seconds", 0.0f}}));
  // Only the metrics: not the rows counted, the confusion matrix or a missing loss.
  ASSERT_EQ(events[4].summary().value_size(), 1);
  EXPECT_EQ(events[4].step(), 500);
  EXPECT_EQ(events[4].summary().value(0).tag(), "validation/auc");
  EXPECT_EQ(events[4].summary().value(0).simple_value(), 0.75f);
  ASSERT_EQ(events[5].summary().value_size(), 1);
  EXPECT_EQ(events[5].step(), 450);
  EXPECT_EQ(events[5].summary().value(0).tag(), "best/test/log_loss");
  fs::remove_all(dir);
}

// A later run in the folder never truncates what an earlier one wrote: a file of its own (another
// second or process id), or, named alike, appended to.
TEST(TensorBoardWriter, ALaterRunKeepsWhatEarlierOnesWrote) {
  const std::string dir = TempFolder("two");
  std::string first_path;
  {
    StatusOr<TensorBoardWriter> first = TensorBoardWriter::Open(dir, 0);
    ASSERT_TRUE(first.ok()) << first.status().message();
    first->WriteMetricsLine({{"event", "epoch"}, {"step", 10}, {"train_loss", 0.5}});
    first_path = first->path();
  }
  StatusOr<TensorBoardWriter> second = TensorBoardWriter::Open(dir, 10);
  ASSERT_TRUE(second.ok()) << second.status().message();
  second->WriteMetricsLine({{"event", "epoch"}, {"step", 20}, {"train_loss", 0.25}});
  const std::vector<tfevents::Event> events = ReadEvents(first_path);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[2].step(), 10);
  EXPECT_EQ(events[2].summary().value(0).tag(), "epoch/train_loss");
  const std::vector<tfevents::Event> later = ReadEvents(second->path());
  EXPECT_EQ(later.back().step(), 20);
  fs::remove_all(dir);
}

TEST(TensorBoardWriter, AFolderThatCannotBeMadeIsNamedWithTheReason) {
  const std::string dir = TempFolder("blocked");
  fs::create_directories(dir);
  std::ofstream(dir + "/tensorboard") << "a file in the way\n";
  StatusOr<TensorBoardWriter> writer = TensorBoardWriter::Open(dir + "/tensorboard/more", 0);
  ASSERT_FALSE(writer.ok());
  const std::string message = writer.status().message();
  EXPECT_NE(message.find("train.tensorboard: cannot create the folder " + dir + "/tensorboard/more: Not a directory"),
            std::string::npos)
      << message;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ectrain::train
