// Status and StatusOr<T>: how set-up and I/O report failure without exceptions.
// A Status names what failed and what to do; only main() turns one into an exit code.
// Value types; safe to copy between threads.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ectrain {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // usage or configuration error: exit status 2
  kNotFound,         // a file, column or checkpoint that should exist does not
  kDataError,        // input that exists but is malformed
  kInternal,         // a failure at run time
  kInterrupted,      // stopped on request (a signal) after saving a checkpoint: exit status 3
  kFailedElsewhere,  // this rank's own work went well, another rank's failed (comm::AgreeOk): exit status 1
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The exit status main() uses: 0 ok, 2 usage/configuration, 3 interrupted after a checkpoint
  // (run again to resume), 1 anything else at run time (a failure on another rank too).
  int ExitCode() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status DataError(std::string m) { return {StatusCode::kDataError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Interrupted(std::string m) { return {StatusCode::kInterrupted, std::move(m)}; }
inline Status FailedElsewhere(std::string m) { return {StatusCode::kFailedElsewhere, std::move(m)}; }

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : value_(std::move(status)) {}  // NOLINT: implicit by design
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(value_); }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<Status, T> value_;
};

}  // namespace ectrain

#define ECT_CONCAT_INNER(a, b) a##b
#define ECT_CONCAT(a, b) ECT_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::ectrain::Status ect_status_ = (expr);    \
    if (!ect_status_.ok()) return ect_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(ECT_CONCAT(ect_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
