#include "volume/backends.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "base/fd.h"
#include "volume/file_volume.h"
#include "volume/iscsi/iscsi_volume.h"
#include "volume/nbd/nbd_volume.h"

namespace coffer {
namespace {

// ---- file ----

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
bool Inside(const std::string& resolved, const std::vector<std::string>& roots) {
  for (const std::string& root : roots) {
    std::string prefix = root == "/" ? "/" : root + "/";
    if (resolved.size() > prefix.size() && resolved.starts_with(prefix)) return true;
  }
  return false;
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

Result<std::string> FileSource(const std::string& locator, const BackendContext& ctx) {
  COFFER_RETURN_IF_ERROR(CheckFileSyntax(locator));
  COFFER_ASSIGN_OR_RETURN(std::string resolved, Resolve(locator));
  if (!Inside(resolved, ctx.roots)) {
    return InvalidArgument("file locator " + locator + " resolves to " + resolved +
                           ", outside the agent's volume roots (" + RootList(ctx.roots) + ")");
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

Result<std::string> FileDestination(const std::string& locator, const BackendContext& ctx) {
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
  COFFER_ASSIGN_OR_RETURN(std::string resolved_parent, Resolve(parent));
  std::string resolved = (resolved_parent.size() == 1 ? "" : resolved_parent) + "/" + base;
  const auto& roots = ctx.roots;
  bool parent_is_root = std::find(roots.begin(), roots.end(), resolved_parent) != roots.end();
  if (!parent_is_root && !Inside(resolved_parent, roots)) {
    return InvalidArgument("restore destination " + locator + " resolves to " + resolved +
                           ", outside the agent's volume roots (" + RootList(roots) + ")");
  }
  return resolved;
}

std::string AsIs(const std::string& locator) { return locator; }

Result<std::unique_ptr<VolumeReader>> OpenFileSource(const std::string& path,
                                                     const BackendContext&) {
  // Resolved and checked by FileSource: no link may lead elsewhere now.
  return OpenFileVolume(path, {.no_symlinks = true});
}

Result<std::unique_ptr<VolumeWriter>> OpenFileDestination(const std::string& path, uint64_t size,
                                                          const BackendContext&) {
  return CreateFileVolume(path, size, {.no_symlinks = true});
}

// ---- URIs: iscsi, nbd ----

Status CheckUriText(std::string_view backend, const std::string& locator) {
  if (locator.find_first_of(" \t\r\n") != std::string::npos || locator.empty()) {
    return InvalidArgument(std::string(backend) + " locator is empty or contains white space");
  }
  return {};
}

Result<std::string> IscsiLocator(const std::string& locator, const BackendContext&) {
  COFFER_RETURN_IF_ERROR(CheckUriText("iscsi", locator));
  auto malformed = [&] {
    return InvalidArgument("iscsi locator '" + RedactIscsiUrl(locator) +
                           "' must look like iscsi://HOST[:PORT]/TARGET-IQN/LUN");
  };
  if (!locator.starts_with("iscsi://")) return malformed();
  // HOST/IQN/LUN: two slashes after the authority, and a numeric LUN.
  std::string_view rest = std::string_view(locator).substr(8);
  size_t last = rest.rfind('/');
  size_t first = rest.find('/');
  std::string_view lun = last == std::string_view::npos ? "" : rest.substr(last + 1);
  if (first == last || lun.empty() ||
      lun.find_first_not_of("0123456789") != std::string_view::npos) {
    return malformed();
  }
  return locator;
}

IscsiOptions IscsiOf(const BackendContext& ctx) {
  IscsiOptions o;
  o.initiator_name = ctx.iscsi_initiator;
  return o;
}

Result<std::unique_ptr<VolumeReader>> OpenIscsiSource(const std::string& url,
                                                      const BackendContext& ctx) {
  return OpenIscsiVolume(url, IscsiOf(ctx));
}

Result<std::unique_ptr<VolumeWriter>> OpenIscsiDestination(const std::string& url, uint64_t size,
                                                           const BackendContext& ctx) {
  return OpenIscsiVolumeForRestore(url, size, IscsiOf(ctx));
}

Result<std::string> NbdLocator(const std::string& locator, const BackendContext&) {
  COFFER_RETURN_IF_ERROR(CheckUriText("nbd", locator));
  for (const char* scheme : {"nbd://", "nbds://", "nbd+unix://", "nbds+unix://"}) {
    if (locator.starts_with(scheme)) return locator;
  }
  return InvalidArgument("nbd locator '" + locator +
                         "' must be an NBD URI (nbd://HOST[:PORT]/EXPORT, nbds://…, "
                         "nbd+unix:///EXPORT?socket=PATH)");
}

NbdOptions NbdOf(const BackendContext& ctx) {
  NbdOptions o;
  o.cancel = ctx.cancel;
  return o;
}

Result<std::unique_ptr<VolumeReader>> OpenNbdSource(const std::string& uri,
                                                    const BackendContext& ctx) {
  return OpenNbdVolume(uri, NbdOf(ctx));
}

Result<std::unique_ptr<VolumeWriter>> OpenNbdDestination(const std::string& uri, uint64_t size,
                                                         const BackendContext& ctx) {
  return OpenNbdVolumeForRestore(uri, size, NbdOf(ctx));
}

Status IscsiForm(const std::string& locator) {
  COFFER_RETURN_IF_ERROR(IscsiLocator(locator, {}));
  return {};
}

Status NbdForm(const std::string& locator) {
  COFFER_RETURN_IF_ERROR(NbdLocator(locator, {}));
  return {};
}

// The registry.
constexpr BackendInfo kBackends[] = {
    {Backend::kFile, "file", "an absolute path inside one of the agent's volume roots", FileSource,
     FileDestination, AsIs, OpenFileSource, OpenFileDestination, CheckFileSyntax},
    {Backend::kIscsi, "iscsi", "iscsi://[USER[%PASSWORD]@]HOST[:PORT]/TARGET-IQN/LUN", IscsiLocator,
     IscsiLocator, RedactIscsiUrl, OpenIscsiSource, OpenIscsiDestination, IscsiForm},
    {Backend::kNbd, "nbd",
     "nbd://HOST[:PORT][/EXPORT], nbds://…, nbd+unix:///EXPORT?socket=PATH or nbds+unix://…",
     NbdLocator, NbdLocator, AsIs, OpenNbdSource, OpenNbdDestination, NbdForm},
};

}  // namespace

std::span<const BackendInfo> Backends() { return kBackends; }

const BackendInfo& BackendOf(Backend b) {
  for (const BackendInfo& info : kBackends) {
    if (info.backend == b) return info;
  }
  return kBackends[0];  // unreachable: every enumerator has an entry (tested)
}

std::string_view BackendName(Backend b) { return BackendOf(b).name; }

Result<Backend> ParseBackend(std::string_view name) {
  for (const BackendInfo& info : kBackends) {
    if (info.name == name) return info.backend;
  }
  return InvalidArgument("unknown backend '" + std::string(name) + "' (" + BackendList() + ")");
}

std::vector<std::string> BackendNames() {
  std::vector<std::string> names;
  for (const BackendInfo& info : kBackends) names.emplace_back(info.name);
  return names;
}

std::string BackendList() {
  std::string out;
  const size_t n = std::size(kBackends);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += i + 1 == n ? " or " : ", ";
    out += kBackends[i].name;
  }
  return out;
}

}  // namespace coffer
