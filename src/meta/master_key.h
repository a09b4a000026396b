// The manager's master key (DESIGN §2): 32 random bytes in a file of their
// own, mode 0600, created at first start. It wraps every secret in the
// metadata database (secret_box.h); losing it loses those secrets (targets
// can still be opened with a passphrase key slot).
//
// Thread safety: the functions may be called concurrently, also from
// several processes: creation is atomic (a temporary file linked into
// place), so racing first starts all end up with the same key.
#pragma once

#include <filesystem>

#include "base/error.h"
#include "core/crypto/secret.h"

namespace coffer::meta {

inline constexpr size_t kMasterKeyLen = 32;

// Reads the key at `path`. kNotFound if there is none; kCorruption unless it
// is a regular file of exactly 32 bytes; kPermissionDenied if group or
// others may read or write it (fix: chmod 600).
Result<SecretKey> LoadMasterKey(const std::filesystem::path& path);

// Reads the key at `path`, or creates it (random, mode 0600, fsynced, and its
// directory too) when the file does not exist. The directory must exist.
Result<SecretKey> LoadOrCreateMasterKey(const std::filesystem::path& path);

}  // namespace coffer::meta
