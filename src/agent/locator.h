// Volume locators as the agent accepts them (DESIGN §6, §10), checked before
// a job starts so that a bad one is a 400 with the reason:
//
//   file   an absolute path of an image file or block device. It must
//          resolve (symbolic links followed, realpath) to a path strictly
//          inside one of the agent's volume roots, and may not contain a
//          ".." component at all. A restore destination must not exist yet;
//          its parent directory must resolve inside a root.
//   iscsi  iscsi://[USER[%PASSWORD]@]HOST[:PORT]/TARGET-IQN/LUN
//   nbd    nbd://HOST[:PORT][/EXPORT], nbds://…, nbd+unix:///EXPORT?socket=PATH
//          or nbds+unix://… (libnbd's URI forms; local-file parameters are
//          refused by libnbd).
//
// Thread safety: pure functions (they look at the file system).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace coffer::agent {

enum class Backend { kFile, kIscsi, kNbd };

// "file", "iscsi", "nbd"; kInvalidArgument otherwise.
Result<Backend> ParseBackend(std::string_view name);
std::string_view BackendName(Backend b);

// A locator to read from. Returns what to open: for `file` the resolved
// path. kInvalidArgument for a malformed locator or one outside the roots,
// kNotFound for a file that does not exist.
Result<std::string> ValidateSource(Backend backend, const std::string& locator,
                                   const std::vector<std::string>& roots);

// A locator to restore into: for `file` a path that does not exist yet (an
// existing one is kAlreadyExists) in a directory inside a root; returns the
// resolved path.
Result<std::string> ValidateDestination(Backend backend, const std::string& locator,
                                        const std::vector<std::string>& roots);

// The locator without secrets (an iSCSI CHAP password), for logs and JSON.
std::string RedactLocator(Backend backend, const std::string& locator);

}  // namespace coffer::agent
