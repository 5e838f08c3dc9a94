// Libraries loaded when first needed rather than linked (cuBLAS, NCCL: mapping them costs every
// process resident memory that a CPU run has no use for). Both calls end the process with a
// CHECK failure naming the library, what it is for and dlerror(): a GPU run cannot go on without it.
#pragma once

#include <dlfcn.h>

#include <string>

#include "core/log.h"

namespace ectrain {

// `soname`, loaded for the process's life.
inline void* OpenSharedLibrary(const std::string& soname, const std::string& what_for) {
  void* library = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  CHECK(library != nullptr) << "cannot load " << soname << " for " << what_for << ": " << dlerror()
                            << " (install it, or add its folder to LD_LIBRARY_PATH)";
  return library;
}

// `function` = the library's `name`.
template <typename Function>
void ResolveSymbol(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  CHECK(function != nullptr) << "the library loaded has no " << name << ": " << dlerror();
}

}  // namespace ectrain
