// The communicators under test, provided by the test binary: comm_local_test runs the contract
// suite on a LocalCommunicator and on in-process groups of 2 and 4 ranks (threads); under mpiexec
// (mpi_main.cc) on this process's MpiCommunicator. Tests that use them are collective.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace ectrain::testing {
// This process's communicator (Local, or Mpi under mpiexec), for suites that run once per process.
comm::Communicator& TestComm();
// The backends the contract suite runs on in this binary: "local", "inprocess2", "inprocess4", "mpi".
std::vector<std::string> ContractBackends();
// Runs body once per rank of `backend` in this process: on N threads for an in-process backend
// (failures carry a "rank r of N" trace), on TestComm() otherwise.
void RunOnEveryRank(const std::string& backend, const std::function<void(comm::Communicator&)>& body);
}  // namespace ectrain::testing
