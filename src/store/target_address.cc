#include "store/target_address.h"

#include <filesystem>

namespace coffer {

Result<TargetAddress> TargetAddress::Parse(std::string_view address) {
  if (address.empty()) return InvalidArgument("the target address is empty");
  TargetAddress a;
  a.text = std::string(address);
  if (IsS3(address)) {
    std::string_view rest = address.substr(5);
    if (rest.empty() || rest.front() == '/') {
      return InvalidArgument("target '" + a.text + "' names no bucket (s3://BUCKET/PREFIX)");
    }
    a.kind = Kind::kS3;
    return a;
  }
  std::string_view path = address;
  if (path.starts_with("file://")) path.remove_prefix(7);
  if (path.find("://") != std::string_view::npos) {
    return InvalidArgument("target '" + a.text +
                           "' has an unknown scheme (use a directory, file://PATH or "
                           "s3://BUCKET/PREFIX)");
  }
  if (path.empty()) return InvalidArgument("target '" + a.text + "' names no directory");
  a.path = std::string(path);
  return a;
}

std::string TargetAddress::Location(std::string_view s3_endpoint, bool resolve_links) const {
  if (is_s3()) {
    std::string t = text;
    while (t.ends_with('/')) t.pop_back();
    std::string e(s3_endpoint.empty() ? "aws" : s3_endpoint);
    while (e.ends_with('/')) e.pop_back();
    return e + " " + t;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec) p = path;
  if (resolve_links) {
    fs::path canonical = fs::weakly_canonical(p, ec);
    if (!ec) p = canonical;
  }
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.ends_with('/')) out.pop_back();
  return out;
}

}  // namespace coffer
