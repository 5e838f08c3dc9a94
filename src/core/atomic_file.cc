#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ectrain {

std::string TemporaryPathFor(const std::string& path) { return path + ".tmp-" + std::to_string(getpid()); }

Status WriteFileAtomically(const std::string& path, std::string_view bytes, const std::string& name) {
  const std::string temporary = TemporaryPathFor(path);
  const auto failed = [&](int error) {
    std::remove(temporary.c_str());
    return Internal("cannot write " + (name.empty() ? path : name) + ": " + std::strerror(error));
  };
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) return failed(errno);
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const int write_error = errno;
  if (std::fclose(file) != 0 || !written) return failed(written ? errno : write_error);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) return failed(errno);
  return Status::Ok();
}

}  // namespace ectrain
