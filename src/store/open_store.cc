#include "store/open_store.h"

#include "store/local/local_store.h"

namespace coffer {

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view address,
                                               const StoreOptions& options) {
  if (address.empty()) return InvalidArgument("empty target address");
  if (address.starts_with("s3://")) {
    return InvalidArgument("target '" + std::string(address) +
                           "': S3 targets are not supported by this build");
  }
  std::string path(address);
  if (address.starts_with("file://")) path = std::string(address.substr(7));
  if (path.find("://") != std::string::npos) {
    return InvalidArgument("target '" + std::string(address) +
                           "' has an unknown scheme (use a directory, file://PATH or "
                           "s3://BUCKET/PREFIX)");
  }
  COFFER_ASSIGN_OR_RETURN(auto store, LocalStore::Open(path, options.create));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace coffer
