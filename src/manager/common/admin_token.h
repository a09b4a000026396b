// The manager's API tokens (DESIGN §10): the admin token is made at the first
// start (or taken from COFFER_ADMIN_TOKEN) and only its hash is stored, in
// the metadata database's api_token table. Every API call presents the token
// as `Authorization: Bearer <token>`; TokenAuthenticator hashes it and
// compares the hash with each stored one in constant time.
//
// Hash: "blake3:" followed by the 64 hex digits of BLAKE3(token). Tokens are
// 32 random bytes (64 hex digits), so a fast hash is enough: there is nothing
// to guess.
//
// Thread safety: TokenAuthenticator::Check may be called from any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "meta/meta_store.h"

namespace coffer::manager {

// The stored form of a token.
std::string TokenHash(std::string_view token);

// A new random token: 64 hex digits.
std::string NewToken();

// Makes sure an admin token exists. With `env_token` (COFFER_ADMIN_TOKEN)
// set, that token is the admin token: its hash is stored if missing and any
// other token named "admin" is removed (so setting the variable rotates it).
// Without it, a token is generated only when none is stored; the new token
// is returned so the caller can print it once. Returns nullopt when nothing
// was generated. kInvalidArgument for an env token shorter than 16 bytes.
Result<std::optional<std::string>> EnsureAdminToken(meta::MetaStore& store,
                                                    std::optional<std::string_view> env_token);

class TokenAuthenticator {
 public:
  explicit TokenAuthenticator(meta::MetaStore& store) : store_(store) {}

  // Whether `token` is a stored API token. The stored hashes are cached,
  // reread every 10 s (a token removed elsewhere stops working) and, at most
  // once a second, when a token does not match (one created by another
  // replica works soon after).
  bool Check(std::string_view token);

 private:
  void Refresh();  // mu_ held

  meta::MetaStore& store_;
  std::mutex mu_;
  std::vector<std::string> hashes_;
  std::chrono::steady_clock::time_point refreshed_{};
  bool loaded_ = false;
};

}  // namespace coffer::manager
