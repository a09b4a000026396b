// The manager's request bodies (manager/api/requests.h): every write route's
// reader — targets, agents, volumes, schedules, restores — after the body
// reader the routes use (service/http.h ReadJsonBody). Bodies come from
// anyone holding an API token, and a token leaks.
//
// Input: a request body; every reader reads it.
#include "fuzz/fuzz_util.h"
#include "manager/api/requests.h"
#include "service/http.h"
#include "service/peer_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  using namespace coffer::manager::api;
  service::Request req;
  req.body.assign(reinterpret_cast<const char*>(data), size);
  req.headers.emplace("Content-Type", "application/json");
  service::Response res;
  auto body = service::ReadJsonBody(req, res);
  if (!body) return 0;
  // AgentService::CheckUrl without its name lookup: the URL's form.
  const UrlCheck check_url = [](const std::string& url) -> Status {
    if (auto u = service::ParsePeerUrl(url); !u) return std::unexpected(u.error());
    return {};
  };

  nlohmann::json j = *body;
  if (auto r = ReadCreateTarget(j); r && (r->name.empty() || r->gc_hour < 0 || r->gc_hour > 23)) {
    std::abort();
  }
  j = *body;
  (void)ReadUpdateTarget(j);
  j = *body;
  if (auto a = ReadNewAgent(j, check_url); a && a->url.ends_with('/')) std::abort();
  j = *body;
  (void)ReadAgentPatch(j, check_url);
  if (auto v = ReadNewVolume(*body); v && v->size_bytes < 0) std::abort();
  (void)ReadVolumePatch(*body, meta::VolumeHooks{});
  meta::VolumeSchedule current;
  current.backup_target_id = "t";
  if (auto s = ReadVolumeSchedule(*body, current);
      s && (s->backup_retain_count < 0 || (s->backup_target_id && s->backup_target_id->empty()))) {
    std::abort();
  }
  (void)ReadRestoreRequest(*body, "b");
  return 0;
}
