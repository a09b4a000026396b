// SqlMetaStore: construction, shared helpers, agents and API tokens.
#include "meta/sql/sql_meta_store.h"

#include <cctype>

#include "base/text.h"
#include "base/uuid.h"

namespace coffer::meta::sql {

std::string NewId() { return Uuid::Random().ToString(); }

Result<std::string> IdForCreate(std::string_view id, std::string_view what) {
  if (id.empty()) return NewId();
  auto u = Uuid::Parse(id);
  if (!u || u->IsNil()) {
    return InvalidArgument(std::string(what) + " id '" + std::string(id) + "' is not a UUID");
  }
  return u->ToString();
}

Result<std::string> IdForLookup(std::string_view id, std::string_view what) {
  auto u = Uuid::Parse(id);
  if (!u) return NotFound("no " + std::string(what) + " '" + std::string(id) + "'");
  return u->ToString();
}

Result<std::string> IdForReference(std::string_view id, std::string_view field) {
  auto u = Uuid::Parse(id);
  if (!u) return InvalidArgument(std::string(field) + " '" + std::string(id) + "' is not a UUID");
  return u->ToString();
}

Status CheckName(std::string_view name, std::string_view what) {
  if (name.empty()) return InvalidArgument(std::string(what) + " name is empty");
  if (name.size() > 255) return InvalidArgument(std::string(what) + " name is over 255 bytes");
  for (char ch : name) {
    if (std::iscntrl(static_cast<unsigned char>(ch))) {
      return InvalidArgument(std::string(what) + " name holds a control character");
    }
  }
  return {};
}

SqlMetaStore::SqlMetaStore(std::unique_ptr<SqlDb> db, const MetaStoreOptions& options)
    : db_(std::move(db)), box_(options.master_key), clock_(options.clock_us) {
  if (!clock_) clock_ = UnixNowMicros;
}

// ---- agents -----------------------------------------------------------------

#define COFFER_AGENT_COLUMNS "id, name, url, created_at_us"

namespace {

Result<Agent> DecodeAgent(const SqlRow& row) {
  RowReader r(row);
  Agent a;
  a.id = r.Text();
  a.name = r.Text();
  a.url = r.Text();
  a.created_at_us = r.Int();
  if (!r.ok()) return Corruption("malformed agent row " + a.id);
  return a;
}

Status CheckAgentUrl(std::string_view url) {
  if (url.empty()) return InvalidArgument("agent url is empty");
  return {};
}

}  // namespace

Result<Agent> SqlMetaStore::LoadAgent(SqlConn& c, const std::string& id) {
  COFFER_ASSIGN_OR_RETURN(auto res,
                          c.Exec("SELECT " COFFER_AGENT_COLUMNS " FROM agent WHERE id = $1", {id}));
  if (res.rows.empty()) return NotFound("no agent " + id);
  return DecodeAgent(res.rows[0]);
}

Result<Agent> SqlMetaStore::CreateAgent(const NewAgent& in) {
  COFFER_RETURN_IF_ERROR(CheckName(in.name, "agent"));
  COFFER_RETURN_IF_ERROR(CheckAgentUrl(in.url));
  if (in.token.empty()) return InvalidArgument("agent token is empty");
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForCreate(in.id, "agent"));
  Agent a{id, in.name, in.url, Now()};
  const std::string sealed = box_.Seal(AsBytes(in.token.Reveal()), id, kAgentTokenField);
  COFFER_RETURN_IF_ERROR(Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        auto taken, c.Exec("SELECT id FROM agent WHERE id = $1 OR name = $2", {id, a.name}));
    if (!taken.rows.empty()) {
      if (taken.rows[0][0] == id) return AlreadyExists("agent " + id + " already exists");
      return AlreadyExists("an agent named '" + a.name + "' already exists");
    }
    return Done(
        c.Exec("INSERT INTO agent (id, name, url, token_sealed, created_at_us) VALUES ($1, $2, $3, "
               "$4, $5)",
               {id, a.name, a.url, sealed, a.created_at_us}));
  }));
  return a;
}

Result<Agent> SqlMetaStore::GetAgent(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "agent"));
  return Tx<Agent>(TxKind::kRead, [&](SqlConn& c) { return LoadAgent(c, id); });
}

Status SqlMetaStore::Ping() {
  auto answered = Tx<bool>(TxKind::kRead, [](SqlConn& c) -> Result<bool> {
    COFFER_RETURN_IF_ERROR(c.Exec("SELECT 1", {}));
    return true;
  });
  if (!answered) return std::unexpected(answered.error());
  return {};
}

Result<std::vector<Agent>> SqlMetaStore::ListAgents() {
  return Tx<std::vector<Agent>>(TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<Agent>> {
    COFFER_ASSIGN_OR_RETURN(
        auto res, c.Exec("SELECT " COFFER_AGENT_COLUMNS " FROM agent ORDER BY name, id", {}));
    std::vector<Agent> out;
    for (const auto& row : res.rows) {
      COFFER_ASSIGN_OR_RETURN(auto a, DecodeAgent(row));
      out.push_back(std::move(a));
    }
    return out;
  });
}

Result<Agent> SqlMetaStore::UpdateAgent(std::string_view id_in, const AgentPatch& patch) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "agent"));
  if (patch.name) COFFER_RETURN_IF_ERROR(CheckName(*patch.name, "agent"));
  if (patch.url) COFFER_RETURN_IF_ERROR(CheckAgentUrl(*patch.url));
  if (patch.token && patch.token->empty()) return InvalidArgument("agent token is empty");
  return Tx<Agent>(TxKind::kWrite, [&](SqlConn& c) -> Result<Agent> {
    COFFER_ASSIGN_OR_RETURN(Agent a, LoadAgent(c, id));
    if (patch.name && *patch.name != a.name) {
      COFFER_ASSIGN_OR_RETURN(bool taken, Exists(c, "SELECT id FROM agent WHERE name = $1",
                                                 {std::string_view(*patch.name)}));
      if (taken) return AlreadyExists("an agent named '" + *patch.name + "' already exists");
      a.name = *patch.name;
    }
    if (patch.url) a.url = *patch.url;
    COFFER_RETURN_IF_ERROR(
        c.Exec("UPDATE agent SET name = $2, url = $3 WHERE id = $1", {id, a.name, a.url}));
    if (patch.token) {
      const std::string sealed = box_.Seal(AsBytes(patch.token->Reveal()), id, kAgentTokenField);
      COFFER_RETURN_IF_ERROR(
          c.Exec("UPDATE agent SET token_sealed = $2 WHERE id = $1", {id, sealed}));
    }
    return a;
  });
}

Status SqlMetaStore::DeleteAgent(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "agent"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_RETURN_IF_ERROR(LoadAgent(c, id));
    COFFER_ASSIGN_OR_RETURN(int64_t volumes,
                            QueryInt(c, "SELECT count(*) FROM volume WHERE agent_id = $1", {id}));
    if (volumes > 0) {
      return Conflict("agent " + id + " is used by " + std::to_string(volumes) +
                      " volume(s); delete or move them first");
    }
    return Done(c.Exec("DELETE FROM agent WHERE id = $1", {id}));
  });
}

Result<SecretString> SqlMetaStore::GetAgentToken(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "agent"));
  COFFER_ASSIGN_OR_RETURN(
      std::string sealed, Tx<std::string>(TxKind::kRead, [&](SqlConn& c) -> Result<std::string> {
        COFFER_ASSIGN_OR_RETURN(auto res,
                                c.Exec("SELECT token_sealed FROM agent WHERE id = $1", {id}));
        if (res.rows.empty()) return NotFound("no agent " + id);
        return RowReader(res.rows[0]).Text();
      }));
  return box_.Open(sealed, id, kAgentTokenField);
}

// ---- API tokens ---------------------------------------------------------------

#define COFFER_TOKEN_COLUMNS "id, name, token_hash, created_at_us"

namespace {

Result<ApiToken> DecodeToken(const SqlRow& row) {
  RowReader r(row);
  ApiToken t;
  t.id = r.Text();
  t.name = r.Text();
  t.token_hash = r.Text();
  t.created_at_us = r.Int();
  if (!r.ok()) return Corruption("malformed api_token row " + t.id);
  return t;
}

}  // namespace

Result<ApiToken> SqlMetaStore::CreateApiToken(std::string_view name, std::string_view token_hash) {
  COFFER_RETURN_IF_ERROR(CheckName(name, "API token"));
  if (token_hash.empty()) return InvalidArgument("API token hash is empty");
  ApiToken t{NewId(), std::string(name), std::string(token_hash), Now()};
  COFFER_RETURN_IF_ERROR(Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        bool taken, Exists(c, "SELECT id FROM api_token WHERE token_hash = $1", {t.token_hash}));
    if (taken) return AlreadyExists("that API token is already registered");
    return Done(c.Exec(
        "INSERT INTO api_token (id, name, token_hash, created_at_us) VALUES ($1, $2, $3, $4)",
        {t.id, t.name, t.token_hash, t.created_at_us}));
  }));
  return t;
}

Result<ApiToken> SqlMetaStore::FindApiTokenByHash(std::string_view token_hash) {
  return Tx<ApiToken>(TxKind::kRead, [&](SqlConn& c) -> Result<ApiToken> {
    COFFER_ASSIGN_OR_RETURN(
        auto res, c.Exec("SELECT " COFFER_TOKEN_COLUMNS " FROM api_token WHERE token_hash = $1",
                         {token_hash}));
    if (res.rows.empty()) return NotFound("no such API token");
    return DecodeToken(res.rows[0]);
  });
}

Result<std::vector<ApiToken>> SqlMetaStore::ListApiTokens() {
  return Tx<std::vector<ApiToken>>(TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<ApiToken>> {
    COFFER_ASSIGN_OR_RETURN(
        auto res,
        c.Exec("SELECT " COFFER_TOKEN_COLUMNS " FROM api_token ORDER BY created_at_us, id", {}));
    std::vector<ApiToken> out;
    for (const auto& row : res.rows) {
      COFFER_ASSIGN_OR_RETURN(auto t, DecodeToken(row));
      out.push_back(std::move(t));
    }
    return out;
  });
}

Status SqlMetaStore::DeleteApiToken(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "API token"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto res, c.Exec("DELETE FROM api_token WHERE id = $1", {id}));
    if (res.affected == 0) return NotFound("no API token " + id);
    return {};
  });
}

}  // namespace coffer::meta::sql
