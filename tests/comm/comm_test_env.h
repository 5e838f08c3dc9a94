// The communicators under test, provided by the test binary: comm_local_test runs the contract
// suite on a LocalCommunicator, on in-process groups of 2 and 4 ranks (threads), on host segments
// over them and on a plain CommunicatorWrapper; under mpiexec (mpi_main.cc) on this process's MPI
// communicator, with its host segment and without. Tests that use them are collective.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace ectrain::testing {
// This process's communicator (Local, or MPI under mpiexec), for suites that run once per process.
comm::Communicator& TestComm();
// The backends the contract suite runs on in this binary: "local", "inprocess2", "inprocess4",
// "segment2", "segment4", "wrapper2"; "mpi", "mpi_messages".
std::vector<std::string> ContractBackends();
// Runs body once per rank of `backend` in this process: on N threads for an in-process backend
// (failures carry a "rank r of N" trace), on TestComm() otherwise.
void RunOnEveryRank(const std::string& backend, const std::function<void(comm::Communicator&)>& body);
// Collective: `comm` (one of RunOnEveryRank's) moves its data in small pieces from now on, so that
// tests run many pieces through its pipelines with small buffers (MPI's ring segments, a host
// segment's pieces); `small` false restores the defaults.
void UseSmallPieces(comm::Communicator& comm, bool small);
}  // namespace ectrain::testing
