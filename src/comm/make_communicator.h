// Choosing and assembling this process's communicator: MPI (behind a host segment where its ranks
// share a host) or Local. Part of the ectrain_comm_mpi target, the one that links MPI.
#pragma once

#include <memory>

#include "comm/communicator.h"

namespace ectrain::comm {

class MpiCommunicator;

enum class Backend { kAuto, kLocal, kMpi };

// True when the environment shows that an MPI launcher started this process.
bool LaunchedByMpi();

// kAuto picks MPI when a launcher (mpirun, srun) started this process, else Local.
// `host_shared_memory`: MPI ranks all on one host meet in a HostSegmentCommunicator in front of
// MPI (WithHostSegment). Installs the communicator's Abort as the CHECK failure handler and sets
// the log rank.
StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(Backend backend, bool host_shared_memory = true);

// Collective: `mpi` behind a HostSegmentCommunicator where every rank wants one (`wanted`,
// agreed first, so that ranks started with different settings do not disagree on a collective),
// all ranks run on this host and it has room for the segment; else `mpi` itself (after a warning
// where there was no room).
std::unique_ptr<Communicator> WithHostSegment(std::unique_ptr<MpiCommunicator> mpi, bool wanted);

}  // namespace ectrain::comm
