// Denormal floats (magnitudes under 1.2e-38) become zero, as inputs and as results, on the calling
// thread and on the threads it starts afterwards (they inherit the setting). Training makes them
// as Adam's moments decay for parameters whose gradient stays zero (units a ReLU switched off,
// rare ids), and each denormal operation costs about a hundred cycles: at batch 32 the optimizer
// took 40 us a step instead of 6 and throughput halved (bench/RESULTS.md, profile). TensorFlow
// trains the same way; PyTorch offers it as torch.set_flush_denormal.
#pragma once

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace ectrain {

inline void FlushDenormalsToZero() {
#if defined(__SSE__)
  constexpr unsigned kFlushToZero = 0x8000;     // MXCSR.FTZ: denormal results become 0
  constexpr unsigned kDenormalsAreZero = 0x40;  // MXCSR.DAZ: denormal inputs read as 0
  _mm_setcsr(_mm_getcsr() | kFlushToZero | kDenormalsAreZero);
#endif
}

}  // namespace ectrain
