// Target addresses (store/target_address.h) as the CLI's --target, the
// manager's POST /v1/backup_targets and the agent protocol's target spec
// give them, the s3:// split into bucket and prefix (store/s3), and the
// URLs of the peers the manager calls — agents, S3 endpoints
// (service/peer_url.h ParsePeerUrl).
//
// Input: the address.
#include "fuzz/fuzz_util.h"
#include "service/peer_url.h"
#include "store/s3/s3_store.h"
#include "store/target_address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto address = TargetAddress::Parse(text);
  if (address) {
    (void)address->Location("http://127.0.0.1:9000", false);
    if (address->is_s3()) {
      std::string bucket, prefix;
      if (ParseS3Address(address->text, &bucket, &prefix) && bucket.empty()) std::abort();
    }
  }
  if (auto url = service::ParsePeerUrl(text); url && (url->port < 0 || url->port > 65535)) {
    std::abort();
  }
  return 0;
}
