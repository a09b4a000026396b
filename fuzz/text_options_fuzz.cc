// The human-facing values of the command line and the config files
// (base/text.h, service/http.h): sizes and rates ("--limit-upload 8M",
// "--chunk-avg 1M"), durations ("--grace 7d", "--lock-wait 90s") and
// listen addresses ("127.0.0.1:8080", "[::1]:0").
//
// Input: the text; every parser reads it.
#include "base/text.h"
#include "fuzz/fuzz_util.h"
#include "service/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ParseSize(text);
  if (auto d = ParseDuration(text); d && d->count() < 0) std::abort();
  if (auto l = service::ParseListen(text); l && (l->port < 0 || l->port > 65535)) std::abort();
  return 0;
}
