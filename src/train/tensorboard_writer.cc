#include "train/tensorboard_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <utility>

#include "core/log.h"
#include "train/tensorboard_event.pb.h"

namespace ectrain::train {
namespace {

constexpr uint32_t kCrc32cPolynomial = 0x82F63B78;  // 0x1EDC6F41, bit-reversed

std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kCrc32cPolynomial : 0);
    table[byte] = crc;
  }
  return table;
}

void PutLittleEndian(uint64_t value, int bytes, std::string& out) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}

void AddScalar(tfevents::Summary& summary, const std::string& tag, double value) {
  tfevents::Summary::Value* v = summary.add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
}

// The numbers of the metric objects "validation" and "test" of an `eval` or `best` line (their
// "count" is the rows, not a metric; "confusion" is a matrix).
void AddMetricObjects(const nlohmann::json& line, const std::string& prefix, tfevents::Summary& summary) {
  for (const char* set : {"validation", "test"}) {
    const auto metrics = line.find(set);
    if (metrics == line.end() || !metrics->is_object()) continue;
    for (const auto& [name, value] : metrics->items()) {
      if (value.is_number() && name != "count") AddScalar(summary, prefix + set + "/" + name, value.get<double>());
    }
  }
}

}  // namespace

uint32_t Crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrc32cTable();
  uint32_t crc = 0xFFFFFFFF;
  for (const char c : data) crc = table[(crc ^ static_cast<uint8_t>(c)) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFF;
}

uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8; }

std::string TfRecordFrame(std::string_view data) {
  std::string frame;
  frame.reserve(data.size() + 16);
  PutLittleEndian(data.size(), 8, frame);
  PutLittleEndian(MaskCrc32c(Crc32c(frame)), 4, frame);
  frame.append(data);
  PutLittleEndian(MaskCrc32c(Crc32c(data)), 4, frame);
  return frame;
}

TensorBoardWriter::TensorBoardWriter(TensorBoardWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

TensorBoardWriter& TensorBoardWriter::operator=(TensorBoardWriter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

TensorBoardWriter::~TensorBoardWriter() {
  if (fd_ >= 0) close(fd_);
}

StatusOr<TensorBoardWriter> TensorBoardWriter::Open(const std::string& folder, int64_t resumed_step) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) {
    return Internal("train.tensorboard: cannot create the folder " + folder + ": " + ec.message() +
                    "; check the path and permissions of train.output_dir, or set train.tensorboard: false");
  }
  TensorBoardWriter writer;
  writer.path_ = folder + "/events.out.tfevents." + std::to_string(std::time(nullptr)) + "." + HostName() + "." +
                 std::to_string(getpid());
  writer.fd_ = open(writer.path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (writer.fd_ < 0) {
    return Internal("train.tensorboard: cannot write " + writer.path_ + ": " + std::strerror(errno) +
                    "; check the path and permissions of train.output_dir, or set train.tensorboard: false");
  }
  tfevents::Event version;
  version.set_wall_time(UnixSeconds());
  version.set_file_version("brain.Event:2");
  RETURN_IF_ERROR(writer.Append(version.SerializeAsString()));
  tfevents::Event start;
  start.set_wall_time(UnixSeconds());
  start.set_step(resumed_step + 1);
  start.mutable_session_log()->set_status(tfevents::SessionLog::START);
  RETURN_IF_ERROR(writer.Append(start.SerializeAsString()));
  return writer;
}

void TensorBoardWriter::WriteMetricsLine(const nlohmann::json& line) {
  if (!enabled() || !line.is_object()) return;
  const std::string kind = line.value("event", "");
  tfevents::Event event;
  const auto time = line.find("time");
  event.set_wall_time(time != line.end() && time->is_number() ? time->get<double>() : UnixSeconds());
  const auto step = line.find("step");
  if (step != line.end() && step->is_number_integer()) event.set_step(step->get<int64_t>());
  tfevents::Summary& summary = *event.mutable_summary();
  if (kind == "step" || kind == "epoch") {
    for (const auto& [key, value] : line.items()) {
      if (!value.is_number() || key == "time" || key == "epoch" || key == "step") continue;
      // A step line's train_loss is the training curve: train/loss.
      const std::string tag = kind == "step" ? "train/" + (key == "train_loss" ? "loss" : key) : "epoch/" + key;
      AddScalar(summary, tag, value.get<double>());
    }
  } else if (kind == "eval" || kind == "best") {
    AddMetricObjects(line, kind == "best" ? "best/" : "", summary);
  }
  if (summary.value_size() > 0) WriteOrGiveUp(event.SerializeAsString());
}

void TensorBoardWriter::WriteText(const std::string& tag, int64_t step, const std::string& text) {
  if (!enabled()) return;
  // The Text tab renders Markdown: indented by four spaces, the text is a code block, kept as it is.
  std::istringstream lines(text);
  std::string markdown, text_line;
  while (std::getline(lines, text_line)) markdown += "    " + text_line + "\n";
  tfevents::Event event;
  event.set_wall_time(UnixSeconds());
  event.set_step(step);
  tfevents::Summary::Value* value = event.mutable_summary()->add_value();
  value->set_tag(tag);
  value->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  tfevents::TensorProto* tensor = value->mutable_tensor();
  tensor->set_dtype(tfevents::DT_STRING);
  tensor->mutable_tensor_shape();  // no dimensions: one string
  tensor->add_string_val(markdown);
  WriteOrGiveUp(event.SerializeAsString());
}

Status TensorBoardWriter::Append(const std::string& event) {
  const std::string frame = TfRecordFrame(event);
  size_t written = 0;
  while (written < frame.size()) {
    const ssize_t n = write(fd_, frame.data() + written, frame.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Internal("train.tensorboard: cannot write " + path_ + ": " +
                      (n < 0 ? std::strerror(errno) : "nothing written") + "; check the folder and free space");
    }
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

void TensorBoardWriter::WriteOrGiveUp(const std::string& event) {
  const Status written = Append(event);
  if (written.ok()) return;
  LOG_WARNING << written.message() << "; no further TensorBoard events are written (metrics.jsonl has them all)";
  close(fd_);
  fd_ = -1;
}

}  // namespace ectrain::train
