#include "manager/api/server.h"

#include "manager/api/http_util.h"
#include "manager/common/log.h"

namespace coffer::manager::api {

ApiServer::ApiServer(ApiContext context, ApiOptions options)
    : ctx_(std::move(context)), options_(std::move(options)) {
  service::ServerOptions o;
  o.name = "manager";
  o.listen = {options_.host, options_.port};
  o.max_body_bytes = options_.max_body_bytes;
  o.authorize = [this](std::string_view token) { return ctx_.auth->Check(token); };
  o.open_paths = {"/healthz", "/readyz"};
  // The manager's own log (with its time stamps), not the shell's line.
  o.log_requests = false;
  o.on_request = [this](const std::string& method, const std::string& path, int status,
                        double seconds) {
    ctx_.metrics->CountRequest(method, path, status, seconds);
    if (options_.log_requests) {
      Log(method + " " + path + " " + std::to_string(status) + " " +
          std::to_string(int64_t(seconds * 1000)) + " ms");
    }
  };
  http_ = std::make_unique<service::HttpServer>(std::move(o));
  service::HttpServer& s = *http_;
  AddSystemRoutes(s, ctx_);
  AddTargetRoutes(s, ctx_);
  AddAgentRoutes(s, ctx_);
  AddVolumeRoutes(s, ctx_);
  AddBackupRoutes(s, ctx_);
}

ApiServer::~ApiServer() { http_->Stop(); }

}  // namespace coffer::manager::api
