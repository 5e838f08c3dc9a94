// Runs the communicator contract suite on a LocalCommunicator (world size 1).
#include "comm/local_communicator.h"
#include "comm_test_env.h"

namespace ectrain::testing {
comm::Communicator& TestComm() {
  static comm::LocalCommunicator local;
  return local;
}
}  // namespace ectrain::testing
