#include "comm/host_memory.h"

#include "comm/communicator.h"

namespace ectrain::comm {

void AllGatherVRead(Communicator& comm, size_t num_bytes, GatherReader& reader, GatherBuffers& buffers) {
  HostMemory* host = comm.host_memory();
  if (host != nullptr && host->AllGatherVRead(num_bytes, reader)) return;
  buffers.mine.resize(num_bytes);
  reader.Fill(buffers.mine);
  comm.AllGatherV(std::span<const uint8_t>(buffers.mine), buffers.all, buffers.counts);
  size_t at = 0;
  for (int r = 0; r < comm.size(); ++r) {
    const auto bytes = static_cast<size_t>(buffers.counts[static_cast<size_t>(r)]);
    reader.Read(r, std::span<const uint8_t>(buffers.all.data() + at, bytes));
    at += bytes;
  }
}

}  // namespace ectrain::comm
