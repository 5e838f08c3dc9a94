#include "comm/communicator.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "comm/local_communicator.h"
#include "comm/mpi_communicator.h"
#include "core/log.h"

namespace ectrain::comm {

size_t DataTypeBytes(DataType type) {
  switch (type) {
    case DataType::kFloat32: return 4;
    case DataType::kFloat64: return 8;
    case DataType::kInt64: return 8;
    case DataType::kUInt8: return 1;
  }
  return 1;
}

void Communicator::Broadcast(std::string& text, int root) {
  std::vector<int64_t> length{static_cast<int64_t>(text.size())};
  BroadcastRaw(length.data(), sizeof(int64_t), root);
  text.resize(static_cast<size_t>(length[0]));
  if (!text.empty()) BroadcastRaw(text.data(), text.size(), root);
}

void Communicator::AllGatherVReadRaw(size_t num_bytes, GatherReader& reader) {
  read_mine_.resize(num_bytes);
  reader.Fill(read_mine_);
  AllGatherV(std::span<const uint8_t>(read_mine_), read_all_, read_counts_);
  size_t at = 0;
  for (int r = 0; r < size(); ++r) {
    const auto bytes = static_cast<size_t>(read_counts_[static_cast<size_t>(r)]);
    reader.Read(r, std::span<const uint8_t>(read_all_.data() + at, bytes));
    at += bytes;
  }
}

Status AgreeOk(Communicator& comm, const Status& local, const std::string& what) {
  std::vector<int64_t> failed{local.ok() ? 0 : 1};
  comm.AllReduce(std::span<int64_t>(failed), ReduceOp::kMax);
  if (!local.ok()) return local;
  if (failed[0] != 0) return FailedElsewhere(what + " failed on another rank; see that rank's message");
  return Status::Ok();
}

bool LaunchedByMpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(Backend backend, bool host_shared_memory) {
  std::unique_ptr<Communicator> comm;
  if (backend == Backend::kMpi || (backend == Backend::kAuto && LaunchedByMpi())) {
    ASSIGN_OR_RETURN(auto mpi, MpiCommunicator::Create(host_shared_memory));
    comm = std::move(mpi);
  } else {
    comm = std::make_unique<LocalCommunicator>();
  }
  SetLogRank(comm->rank());
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  LOG_DEBUG << "rank " << comm->rank() << " of " << comm->size() << " (" << comm->name() << "), local rank "
            << comm->local_rank() << " on " << host;
  Communicator* raw = comm.get();
  SetAbortHandler([raw] { raw->Abort(1); });
  return comm;
}

}  // namespace ectrain::comm
