// The communicator under test, set by the test binary's main: a LocalCommunicator, or an
// MpiCommunicator when the binary runs under mpiexec. Tests that use it are collective.
#pragma once

#include "comm/communicator.h"

namespace ectrain::testing {
comm::Communicator& TestComm();
}  // namespace ectrain::testing
