#include "agent/locator.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "base/fd.h"
#include "volume/file_volume.h"
#include "volume/iscsi/iscsi_volume.h"

namespace coffer::agent {
namespace {

bool HasDotDot(std::string_view path) {
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (path.substr(pos, slash - pos) == "..") return true;
    pos = slash + 1;
  }
  return false;
}

// Strictly inside: "/r/x" is inside "/r"; "/r" and "/rx" are not.
const std::string* RootOf(const std::string& resolved, const std::vector<std::string>& roots) {
  for (const std::string& root : roots) {
    std::string prefix = root == "/" ? "/" : root + "/";
    if (resolved.size() > prefix.size() && resolved.starts_with(prefix)) return &root;
  }
  return nullptr;
}

std::string RootList(const std::vector<std::string>& roots) {
  std::string out;
  for (const auto& r : roots) out += (out.empty() ? "" : ", ") + r;
  return out;
}

Status CheckFileSyntax(const std::string& locator) {
  if (locator.empty()) return InvalidArgument("the file locator is empty");
  if (locator.front() != '/') {
    return InvalidArgument("file locator '" + locator + "' must be an absolute path");
  }
  if (locator.find('\0') != std::string::npos) {
    return InvalidArgument("file locator contains a NUL byte");
  }
  if (HasDotDot(locator)) {
    return InvalidArgument("file locator '" + locator + "' contains '..'");
  }
  return {};
}

Result<std::string> Resolve(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return std::unexpected(ErrnoError(errno, "file locator " + path));
  }
  return std::string(resolved);
}

Status CheckUri(Backend backend, const std::string& locator) {
  if (locator.find_first_of(" \t\r\n") != std::string::npos || locator.empty()) {
    return InvalidArgument(std::string(BackendName(backend)) +
                           " locator is empty or contains white space");
  }
  if (backend == Backend::kIscsi) {
    if (!locator.starts_with("iscsi://")) {
      return InvalidArgument("iscsi locator '" + RedactIscsiUrl(locator) +
                             "' must look like iscsi://HOST[:PORT]/TARGET-IQN/LUN");
    }
    // HOST/IQN/LUN: two slashes after the authority, and a numeric LUN.
    std::string_view rest = std::string_view(locator).substr(8);
    size_t last = rest.rfind('/');
    size_t first = rest.find('/');
    std::string_view lun = last == std::string_view::npos ? "" : rest.substr(last + 1);
    if (first == last || lun.empty() ||
        lun.find_first_not_of("0123456789") != std::string_view::npos) {
      return InvalidArgument("iscsi locator '" + RedactIscsiUrl(locator) +
                             "' must look like iscsi://HOST[:PORT]/TARGET-IQN/LUN");
    }
    return {};
  }
  for (const char* scheme : {"nbd://", "nbds://", "nbd+unix://", "nbds+unix://"}) {
    if (locator.starts_with(scheme)) return {};
  }
  return InvalidArgument("nbd locator '" + locator +
                         "' must be an NBD URI (nbd://HOST[:PORT]/EXPORT, nbds://…, "
                         "nbd+unix:///EXPORT?socket=PATH)");
}

}  // namespace

Result<Backend> ParseBackend(std::string_view name) {
  if (name == "file") return Backend::kFile;
  if (name == "iscsi") return Backend::kIscsi;
  if (name == "nbd") return Backend::kNbd;
  return InvalidArgument("unknown backend '" + std::string(name) + "' (file, iscsi or nbd)");
}

std::string_view BackendName(Backend b) {
  switch (b) {
    case Backend::kFile:
      return "file";
    case Backend::kIscsi:
      return "iscsi";
    case Backend::kNbd:
      return "nbd";
  }
  return "?";
}

Result<std::string> ValidateSource(Backend backend, const std::string& locator,
                                   const std::vector<std::string>& roots) {
  if (backend != Backend::kFile) {
    COFFER_RETURN_IF_ERROR(CheckUri(backend, locator));
    return locator;
  }
  COFFER_RETURN_IF_ERROR(CheckFileSyntax(locator));
  COFFER_ASSIGN_OR_RETURN(std::string resolved, Resolve(locator));
  if (RootOf(resolved, roots) == nullptr) {
    return InvalidArgument("file locator " + locator + " resolves to " + resolved +
                           ", outside the agent's volume roots (" + RootList(roots) + ")");
  }
  // Refused here, with the request, rather than in a job that would wait
  // on a FIFO for a writer.
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0) {
    return std::unexpected(ErrnoError(errno, "file locator " + locator));
  }
  COFFER_RETURN_IF_ERROR(CheckVolumeFileType(st, "file locator " + locator));
  return resolved;
}

Result<std::string> ValidateDestination(Backend backend, const std::string& locator,
                                        const std::vector<std::string>& roots) {
  if (backend != Backend::kFile) {
    COFFER_RETURN_IF_ERROR(CheckUri(backend, locator));
    return locator;
  }
  COFFER_RETURN_IF_ERROR(CheckFileSyntax(locator));
  const auto [parent, base] = SplitPath(locator);
  if (base.empty() || base == ".") {
    return InvalidArgument("file locator '" + locator + "' names no file");
  }
  struct stat st;
  if (::lstat(locator.c_str(), &st) == 0) {
    return AlreadyExists("restore destination " + locator +
                         " already exists (a restore makes a new volume)");
  }
  auto resolved_dir = Resolve(parent);
  if (!resolved_dir) return std::unexpected(resolved_dir.error());
  const std::string& resolved_parent = *resolved_dir;
  std::string resolved = (resolved_parent.size() == 1 ? "" : resolved_parent) + "/" + base;
  bool parent_is_root = std::find(roots.begin(), roots.end(), resolved_parent) != roots.end();
  if (!parent_is_root && RootOf(resolved_parent, roots) == nullptr) {
    return InvalidArgument("restore destination " + locator + " resolves to " + resolved +
                           ", outside the agent's volume roots (" + RootList(roots) + ")");
  }
  return resolved;
}

std::string RedactLocator(Backend backend, const std::string& locator) {
  return backend == Backend::kIscsi ? RedactIscsiUrl(locator) : locator;
}

}  // namespace coffer::agent
