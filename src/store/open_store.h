// OpenStore: the one place that turns a target address into a store and
// stacks the wrappers (retry, limits, metrics) on it.
//
// Addresses: a directory path, "file://PATH", or "s3://BUCKET/PREFIX".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/object_store.h"

namespace coffer {

struct StoreOptions {
  bool create = false;  // create a missing local directory (init)
  std::string s3_endpoint;  // e.g. http://127.0.0.1:9000; empty: AWS
  std::string s3_region;    // empty: AWS_REGION, AWS_DEFAULT_REGION, or us-east-1
};

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view address,
                                               const StoreOptions& options);

}  // namespace coffer
