#include "base/shared_library.h"

#include <dlfcn.h>

namespace coffer {

Result<SharedLibrary> SharedLibrary::Open(const std::string& soname, const std::string& package,
                                          const std::string& purpose) {
  void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return MakeError(ErrorCode::kInternal,
                     purpose + " need " + soname + ", which could not be loaded (" +
                         (why ? why : "no reason given") + "); " +
                         (package.empty() ? "install the package that provides it"
                                          : "on Debian it is in the package " + package));
  }
  return SharedLibrary(handle, soname);
}

Result<void*> SharedLibrary::Symbol(const char* name) const {
  ::dlerror();
  void* symbol = ::dlsym(handle_, name);
  if (symbol == nullptr) {
    const char* why = ::dlerror();
    return MakeError(ErrorCode::kInternal, soname_ + " has no function " + name + " (" +
                                               (why ? why : "null symbol") +
                                               "): a version older than this build expects");
  }
  return symbol;
}

}  // namespace coffer
