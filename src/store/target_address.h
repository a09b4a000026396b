// Where a target lives, decided in one place: a local directory ("/srv/b",
// "file:///srv/b") or an S3 prefix ("s3://bucket/prefix"). OpenStore, the
// CLI's flags and the manager's target checks all ask this, rather than
// testing the address's text each on their own.
//
// Thread safety: a value.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace coffer {

struct TargetAddress {
  enum class Kind { kLocal, kS3 };

  // kInvalidArgument for an empty address, an unknown scheme
  // ("ftp://…"), or an s3:// address without a bucket.
  static Result<TargetAddress> Parse(std::string_view address);
  // Only the kind, for an address not checked yet: anything that does not
  // start with "s3://" is local.
  static bool IsS3(std::string_view address) { return address.starts_with("s3://"); }

  Kind kind = Kind::kLocal;
  std::string text;  // the address as given
  std::string path;  // kLocal: the directory, without "file://"

  bool is_s3() const { return kind == Kind::kS3; }

  // Where it is, for telling apart copies of one target (a directory and
  // the bucket it was synced to share the target uuid):
  // "<endpoint or aws> s3://bucket/prefix" without trailing slashes, or the
  // directory made absolute and normal; with `resolve_links`, also with its
  // symbolic links resolved (on the machine that reads it).
  std::string Location(std::string_view s3_endpoint, bool resolve_links) const;
};

}  // namespace coffer
