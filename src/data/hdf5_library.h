// What a program does with the HDF5 library as a whole, without including hdf5.h.
#pragma once

namespace ectrain::data {

// Keeps HDF5 from closing files in its own exit handler. A file whose write failed (a full disk)
// cannot be closed, and HDF5 1.10 crashes trying again at exit, turning a clean error into a
// segfault. Every file ectrain writes is closed (and synced) explicitly before exit, so nothing
// is lost. Call first, before any other HDF5 call of the process.
void SkipHdf5ExitCleanup();

}  // namespace ectrain::data
