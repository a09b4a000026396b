// The agent protocol's messages (agent_api/protocol.h): the requests the
// agent reads from the manager (backup, restore, commit, abandon: the
// agent's request bodies, read by ReadJsonBody as its server does) and the
// answers the manager reads from an agent (health, job reports and lists,
// error bodies). Both sides are across a network from each other.
//
// Input: a JSON document; every parser reads it.
#include "agent_api/protocol.h"
#include "fuzz/fuzz_util.h"
#include "service/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  using namespace coffer::agent_api;
  service::Request req;
  req.body.assign(reinterpret_cast<const char*>(data), size);
  req.headers.emplace("Content-Type", "application/json");
  service::Response res;
  auto body = service::ReadJsonBody(req, res);
  if (!body) return 0;

  const json original = *body;
  (void)ParseHealth(original);
  (void)ParseCommitRequest(original);
  (void)ParseAbandonRequest(original);
  (void)ParseBackupReport(original);
  (void)ParseRestoreReport(original);
  (void)ParseJobReport(original);
  (void)ParseJobList(original);
  (void)service::ErrorFromJson(original);
  // The request parsers wipe the secrets in the document they read.
  json backup = original;
  if (auto r = ParseBackupRequest(backup); r) {
    // What the manager sends, the agent reads back.
    json again = ToJson(*r);
    if (!ParseBackupRequest(again)) std::abort();
  }
  json restore = original;
  if (auto r = ParseRestoreRequest(restore); r) {
    json again = ToJson(*r);
    if (!ParseRestoreRequest(again)) std::abort();
  }
  return 0;
}
