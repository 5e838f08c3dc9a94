#include "comm/make_communicator.h"

#include <unistd.h>

#include <array>
#include <cstdlib>

#include "comm/host_segment_communicator.h"
#include "comm/local_communicator.h"
#include "comm/mpi_communicator.h"
#include "core/log.h"

namespace ectrain::comm {

bool LaunchedByMpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

std::unique_ptr<Communicator> WithHostSegment(std::unique_ptr<MpiCommunicator> mpi, bool wanted) {
  std::array<int64_t, 1> all_want{wanted ? 1 : 0};
  mpi->AllReduce(std::span<int64_t>(all_want), ReduceOp::kMin);  // Collective
  if (all_want[0] == 0 || mpi->host_memory() == nullptr) return mpi;
  const size_t slot_bytes = HostSegmentCommunicator::DefaultSlotBytes(mpi->size());
  std::unique_ptr<SharedMemory> memory =
      mpi->MapHostSegment(HostSegmentCommunicator::SegmentBytes(mpi->size(), slot_bytes));  // Collective
  if (memory == nullptr) return mpi;
  return std::make_unique<HostSegmentCommunicator>(std::move(mpi), std::move(memory), slot_bytes);
}

StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(Backend backend, bool host_shared_memory) {
  std::unique_ptr<Communicator> comm;
  if (backend == Backend::kMpi || (backend == Backend::kAuto && LaunchedByMpi())) {
    ASSIGN_OR_RETURN(std::unique_ptr<MpiCommunicator> mpi, MpiCommunicator::Create());
    comm = WithHostSegment(std::move(mpi), host_shared_memory);
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
