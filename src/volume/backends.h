// The volume backends, registered once: each one's name (as the API, the
// database and the agent protocol spell it), what its locator looks like,
// how a locator is checked before a job starts, and how a volume is opened
// to read from or to restore into. The API's enums (GET
// /v1/openapi.json) are made from this table; the database's CHECK is tested against it.
//
// Adding a backend: its reader and writer in its folder (volume/NAME/), one
// entry in backends.cc, and a migration that widens the volume table's
// CHECK (meta/migrations; the conformance test says so if it is missing).
//
// Locators (DESIGN §6, §10), checked so that a bad one is a 400 with the
// reason:
//   file   an absolute path of an image file or block device. It must
//          resolve (symbolic links followed) to a path strictly inside one
//          of the volume roots, and may not contain a ".." component at all;
//          FIFOs, sockets and character devices are refused. A restore
//          destination must not exist yet; its parent directory must
//          resolve inside a root.
//   iscsi  iscsi://[USER[%PASSWORD]@]HOST[:PORT]/TARGET-IQN/LUN
//   nbd    nbd://HOST[:PORT][/EXPORT], nbds://…, nbd+unix:///EXPORT?socket=PATH
//          or nbds+unix://… (libnbd's URI forms).
//
// Thread safety: the table is constant; the functions look at the file
// system and open connections, nothing shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "volume/volume.h"

namespace coffer {

enum class Backend { kFile, kIscsi, kNbd };

// What opening a volume may need from its host.
struct BackendContext {
  std::vector<std::string> roots;  // canonical directories file volumes must be inside
  std::string iscsi_initiator = "iqn.2026-11.dev.coffer:agent";
  // A job's cancel flag: a volume opened with it ends a call blocked on an
  // unresponsive peer soon after it is set (NbdOptions, IscsiOptions).
  const std::atomic<bool>* cancel = nullptr;
};

struct BackendInfo {
  Backend backend;
  std::string_view name;     // "file"
  std::string_view locator;  // the locator's form, for help and the API docs
  // A locator to read from: returns what to open (for `file` the resolved
  // path). kInvalidArgument for a malformed locator or one outside the
  // roots, kNotFound for a file that does not exist.
  Result<std::string> (*validate_source)(const std::string& locator, const BackendContext& ctx);
  // A locator to restore into (a file must not exist yet: kAlreadyExists).
  Result<std::string> (*validate_destination)(const std::string& locator,
                                              const BackendContext& ctx);
  // The locator without secrets (an iSCSI CHAP password), for logs and JSON.
  std::string (*redact)(const std::string& locator);
  // Open what validate_* returned.
  Result<std::unique_ptr<VolumeReader>> (*open_source)(const std::string& validated,
                                                       const BackendContext& ctx);
  Result<std::unique_ptr<VolumeWriter>> (*open_destination)(const std::string& validated,
                                                            uint64_t size,
                                                            const BackendContext& ctx);
  // The checks that need no host (the manager's, when a volume is entered):
  // the locator's form, and for `file` an absolute path without NUL or "..".
  Status (*check_form)(const std::string& locator);
};

std::span<const BackendInfo> Backends();
const BackendInfo& BackendOf(Backend b);
std::string_view BackendName(Backend b);
// kInvalidArgument naming the known ones otherwise.
Result<Backend> ParseBackend(std::string_view name);
std::vector<std::string> BackendNames();
std::string BackendList();  // "file, iscsi or nbd"

}  // namespace coffer
