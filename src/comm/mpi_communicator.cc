#include "comm/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>

namespace ectrain::comm {
namespace {
MPI_Datatype ToMpi(DataType type) {
  switch (type) {
    case DataType::kFloat32: return MPI_FLOAT;
    case DataType::kFloat64: return MPI_DOUBLE;
    case DataType::kInt64: return MPI_INT64_T;
    case DataType::kUInt8: return MPI_UINT8_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op ToMpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_OP_NULL;
}

// MPI counts are int; split larger buffers so 2^31+ element arenas still work.
constexpr size_t kMaxChunk = size_t{1} << 30;

size_t TypeBytes(DataType type) {
  switch (type) {
    case DataType::kFloat32: return 4;
    case DataType::kFloat64: return 8;
    case DataType::kInt64: return 8;
    case DataType::kUInt8: return 1;
  }
  return 1;
}
}  // namespace

StatusOr<std::unique_ptr<MpiCommunicator>> MpiCommunicator::Create() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      return Internal("MPI_Init_thread failed: start ectrain with mpirun/srun, or use comm.backend: local");
    }
  }
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm host_comm;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &host_comm);
  int local_rank = 0;
  MPI_Comm_rank(host_comm, &local_rank);
  MPI_Comm_free(&host_comm);
  return std::unique_ptr<MpiCommunicator>(new MpiCommunicator(rank, size, local_rank));
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiCommunicator::Barrier() { MPI_Barrier(MPI_COMM_WORLD); }

void MpiCommunicator::Abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

void MpiCommunicator::AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) {
  auto* bytes = static_cast<char*>(data);
  for (size_t done = 0; done < count;) {
    size_t n = std::min(kMaxChunk, count - done);
    MPI_Allreduce(MPI_IN_PLACE, bytes + done * TypeBytes(type), static_cast<int>(n), ToMpi(type),
                  ToMpi(op), MPI_COMM_WORLD);
    done += n;
  }
}

void MpiCommunicator::BroadcastRaw(void* data, size_t num_bytes, int root) {
  auto* bytes = static_cast<char*>(data);
  for (size_t done = 0; done < num_bytes;) {
    size_t n = std::min(kMaxChunk, num_bytes - done);
    MPI_Bcast(bytes + done, static_cast<int>(n), MPI_BYTE, root, MPI_COMM_WORLD);
    done += n;
  }
}

void MpiCommunicator::AllGatherRaw(const void* mine, size_t num_bytes, void* all) {
  MPI_Allgather(mine, static_cast<int>(num_bytes), MPI_BYTE, all, static_cast<int>(num_bytes), MPI_BYTE,
                MPI_COMM_WORLD);
}

}  // namespace ectrain::comm
