#include "manager/common/admin_token.h"

#include "base/bytes.h"
#include "base/uuid.h"
#include "core/crypto/secret.h"
#include "core/hash/blake3.h"

namespace coffer::manager {

std::string TokenHash(std::string_view token) {
  uint8_t h[kBlake3OutLen];
  Blake3Hash(AsBytes(token), h);
  return "blake3:" + HexEncode(ByteView(h, sizeof h));
}

std::string NewToken() {
  uint8_t raw[32];
  FillRandom(raw, sizeof raw);
  std::string token = HexEncode(ByteView(raw, sizeof raw));
  Wipe(raw, sizeof raw);
  return token;
}

Result<std::optional<std::string>> EnsureAdminToken(meta::MetaStore& store,
                                                    std::optional<std::string_view> env_token) {
  COFFER_ASSIGN_OR_RETURN(auto tokens, store.ListApiTokens());
  if (env_token) {
    if (env_token->size() < 16) {
      return InvalidArgument(
          "COFFER_ADMIN_TOKEN is shorter than 16 characters; use a long "
          "random one");
    }
    const std::string hash = TokenHash(*env_token);
    bool present = false;
    for (const auto& t : tokens) {
      if (t.token_hash == hash) {
        present = true;
      } else if (t.name == "admin") {
        COFFER_RETURN_IF_ERROR(store.DeleteApiToken(t.id));
      }
    }
    if (!present) {
      auto created = store.CreateApiToken("admin", hash);
      // A replica starting at the same time stored it first: fine.
      if (!created && created.error().code() != ErrorCode::kAlreadyExists) {
        return std::unexpected(created.error());
      }
    }
    return std::optional<std::string>();
  }
  if (!tokens.empty()) return std::optional<std::string>();
  std::string token = NewToken();
  COFFER_RETURN_IF_ERROR(store.CreateApiToken("admin", TokenHash(token)));
  return std::optional<std::string>(std::move(token));
}

void TokenAuthenticator::Refresh() {
  auto tokens = store_.ListApiTokens();
  refreshed_ = std::chrono::steady_clock::now();
  if (!tokens) return;  // keep the old list; the database may be back soon
  hashes_.clear();
  for (const auto& t : *tokens) hashes_.push_back(t.token_hash);
  loaded_ = true;
}

bool TokenAuthenticator::Check(std::string_view token) {
  if (token.empty()) return false;
  const std::string hash = TokenHash(token);
  std::lock_guard lock(mu_);
  const auto age = std::chrono::steady_clock::now() - refreshed_;
  // Reread now and then too, so a token removed elsewhere stops working.
  if (!loaded_ || age > std::chrono::seconds(10)) Refresh();
  auto matches = [&] {
    bool found = false;
    // Every stored hash is compared, whatever matched, in constant time.
    for (const auto& h : hashes_) found |= SecretsEqual(hash, h);
    return found;
  };
  if (matches()) return true;
  if (std::chrono::steady_clock::now() - refreshed_ < std::chrono::seconds(1)) return false;
  Refresh();
  return matches();
}

}  // namespace coffer::manager
