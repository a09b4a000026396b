// ApiServer: the manager's REST API (DESIGN §4; docs/API.md, "Manager API";
// GET /v1/openapi.json) on the service shell (service/http_server.h).
//
// Every request except GET /healthz must carry `Authorization: Bearer
// <token>` (an API token, TokenAuthenticator: hashes compared in constant
// time); otherwise 401 before the body is read. Bodies above max_body_bytes
// are refused with 413 before they are read. Answers are JSON (GET /metrics:
// Prometheus text). Each request is logged as "METHOD PATH STATUS MS" —
// never headers, query strings or bodies, which may hold secrets.
//
// Thread safety: Serve blocks on the calling thread and answers on the
// HTTP library's worker threads; Stop may be called from any thread. The
// context's services are thread safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/error.h"
#include "manager/common/admin_token.h"
#include "manager/common/metrics.h"
#include "manager/loops/gc_loop.h"
#include "manager/services/agents.h"
#include "manager/services/backups.h"
#include "manager/services/restores.h"
#include "manager/services/targets.h"
#include "manager/services/volumes.h"
#include "service/http_server.h"

namespace coffer::manager::api {

// What the routes work with; everything outlives the server.
struct ApiContext {
  TargetService* targets = nullptr;
  AgentService* agents = nullptr;
  VolumeService* volumes = nullptr;
  BackupService* backups = nullptr;
  GcLoop* gc = nullptr;
  RestoreService* restores = nullptr;
  ManagerMetrics* metrics = nullptr;
  TokenAuthenticator* auth = nullptr;
  std::function<bool()> is_leader;  // for /metrics and /healthz
  std::function<Status()> ready;    // for /readyz: the database answers
};

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (port() tells which)
  uint64_t max_body_bytes = 1 << 20;
  bool log_requests = true;
};

class ApiServer {
 public:
  ApiServer(ApiContext context, ApiOptions options);
  ~ApiServer();

  // The HTTP server: Bind (kUnavailable when the address cannot be
  // bound), port, Serve (until Stop), Stop.
  service::HttpServer& http() { return *http_; }

 private:
  ApiContext ctx_;
  ApiOptions options_;
  std::unique_ptr<service::HttpServer> http_;
};

// The route groups, one file each.
void AddTargetRoutes(service::HttpServer& s, ApiContext& ctx);
void AddAgentRoutes(service::HttpServer& s, ApiContext& ctx);
void AddVolumeRoutes(service::HttpServer& s, ApiContext& ctx);
void AddBackupRoutes(service::HttpServer& s, ApiContext& ctx);
void AddSystemRoutes(service::HttpServer& s, ApiContext& ctx);

// The OpenAPI 3 document of the whole API.
const std::string& OpenApiDocument();

}  // namespace coffer::manager::api
