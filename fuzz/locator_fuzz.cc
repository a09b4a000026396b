// Volume locators (volume/backends.h): what a request names as a volume to
// read or a restore destination (the manager's POST /v1/volumes and
// restores, the agent's job requests), checked by each backend before any
// job starts: a file locator must stay inside the volume roots, iSCSI and
// NBD ones must be well-formed URIs. Redaction (for logs) runs on all.
//
// Input: the locator. The root is /tmp/coffer-fuzz-locator-root, which the
// fuzzer makes, holding a file, a subdirectory and a symbolic link that
// leads out of it (to /etc); the checks only look (realpath, stat), they
// create nothing.
#include <filesystem>

#include "fuzz/fuzz_util.h"
#include "volume/backends.h"

namespace {

// A fixed place, so that the seeds can name paths inside it; made once,
// and the same for every fuzzer process (making it again changes nothing).
constexpr const char* kRoot = "/tmp/coffer-fuzz-locator-root";

struct Roots {
  coffer::BackendContext ctx;
  Roots() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(fs::path(kRoot) / "sub", ec);
    fs::create_symlink("/etc", fs::path(kRoot) / "out", ec);
    if (FILE* f = std::fopen((fs::path(kRoot) / "disk.img").c_str(), "a")) std::fclose(f);
    ctx.roots.push_back(kRoot);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  static Roots roots;
  const std::string locator(reinterpret_cast<const char*>(data), size);
  for (const BackendInfo& b : Backends()) {
    auto source = b.validate_source(locator, roots.ctx);
    auto dest = b.validate_destination(locator, roots.ctx);
    (void)b.redact(locator);
    // What a file locator resolves to is inside a root, whatever it said.
    if (b.backend == Backend::kFile) {
      const std::string inside = std::string(kRoot) + "/";
      if (source && !source->starts_with(inside)) std::abort();
      if (dest && !dest->starts_with(inside)) std::abort();
    }
  }
  (void)ParseBackend(std::string_view(locator));
  return 0;
}
