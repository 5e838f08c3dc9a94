// TensorBoardWriter: with train.tensorboard, rank 0 also writes what metrics.jsonl gets as
// TensorBoard event files in <train.output_dir>/tensorboard (`tensorboard --logdir RUN_DIR`).
// Each run, fresh or resumed, starts a new file there (TensorBoard merges a folder's files); its
// records are TFRecord frames of Event messages (tensorboard_event.proto), each written with one
// write(2) as it comes, so a killed run keeps what it logged. Rank 0 only; not thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ectrain::train {

// CRC-32C (Castagnoli polynomial, reflected), the checksum of TFRecord frames.
uint32_t Crc32c(std::string_view data);
// TFRecord's masked CRC: rotated and offset, so that the CRC of data that holds CRCs stays unlike them.
uint32_t MaskCrc32c(uint32_t crc);
// One TFRecord frame: the length (uint64, little-endian), its masked CRC-32C, the data, and the
// data's masked CRC-32C.
std::string TfRecordFrame(std::string_view data);

class TensorBoardWriter {
 public:
  TensorBoardWriter() = default;  // disabled: writes nothing
  TensorBoardWriter(TensorBoardWriter&& other) noexcept;
  TensorBoardWriter& operator=(TensorBoardWriter&& other) noexcept;
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;
  ~TensorBoardWriter();

  // Creates `folder` and a new file in it, events.out.tfevents.<Unix seconds>.<host>.<pid>,
  // beginning with the file version and a restart at the step after `resumed_step` (0 on a fresh
  // run): TensorBoard drops what earlier files logged from that step on, after the checkpoint.
  static StatusOr<TensorBoardWriter> Open(const std::string& folder, int64_t resumed_step);

  bool enabled() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // A metrics.jsonl line as scalars at its "step" and "time": `step` lines as train/loss,
  // train/learning_rate, train/samples_per_second, train/data_wait_seconds; `epoch` lines as
  // epoch/train_loss, ...; `eval` lines as validation/<metric> and test/<metric>; `best` lines as
  // best/validation/<metric>, best/test/<metric>. Other lines, and values that are not numbers
  // (a non-finite loss is null), write nothing.
  void WriteMetricsLine(const nlohmann::json& line);
  // `text` under `tag` in TensorBoard's Text tab, shown preformatted.
  void WriteText(const std::string& tag, int64_t step, const std::string& text);

 private:
  Status Append(const std::string& event);  // a serialized Event, framed
  // After a failed write: one warning, and no more writes (metrics.jsonl still gets every line).
  void WriteOrGiveUp(const std::string& event);

  int fd_ = -1;
  std::string path_;
};

}  // namespace ectrain::train
