// coffer agent --listen HOST:PORT --token-file F --volume-root DIR… [--config FILE]
// [--tls-cert F --tls-key F]: the service on every host that owns volumes
// (DESIGN §6, §10). Runs until SIGINT or SIGTERM; running jobs are cancelled
// on the way out.
#include <cstdio>

#include "agent/config.h"
#include "agent/server.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "service/http_server.h"
#include "volume/file_snapshot.h"

namespace coffer::cli {

VerbRun AddAgent(CLI::App& app) {
  struct Flags {
    std::string config, listen, token_file, tls_cert, tls_key;
    std::vector<std::string> roots;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("agent",
                                     "run the agent: the HTTP service that backs up "
                                     "and restores this host's volumes");
  cmd->add_option("--config", f->config, "TOML file with the same keys (flags win)");
  cmd->add_option("--listen", f->listen, "HOST:PORT to listen on (default 127.0.0.1:8081)");
  cmd->add_option("--token-file", f->token_file, "file holding the bearer token callers send");
  cmd->add_option("--volume-root", f->roots,
                  "directory that file volumes must be inside (repeatable)");
  cmd->add_option("--tls-cert", f->tls_cert, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", f->tls_key, "PEM private key of --tls-cert");
  return [f]() -> int {
    agent::AgentConfig config;
    if (!f->config.empty()) {
      if (auto st = agent::LoadConfigFile(f->config, &config); !st) {
        return Report(UsageFailure(st.error().message()), false);
      }
    }
    if (!f->listen.empty()) {
      auto listen = service::ParseListen(f->listen);
      if (!listen) return Report(UsageFailure(listen.error().message()), false);
      config.listen = *listen;
    }
    if (!f->token_file.empty()) config.token_file = f->token_file;
    if (!f->roots.empty()) config.volume_roots = f->roots;
    if (!f->tls_cert.empty()) config.tls_cert = f->tls_cert;
    if (!f->tls_key.empty()) config.tls_key = f->tls_key;
    if (auto st = agent::FinishConfig(&config); !st) {
      return Report(UsageFailure(st.error().message()), false);
    }
    // Before any thread starts: the stop signals go to ServeUntilSignal only.
    service::BlockStopSignals();

    // Snapshot copies of an agent that was killed mid-backup (each the
    // volume's full size) are removed before anything else runs.
    for (const std::string& root : config.volume_roots) {
      auto removed = RemoveLeftoverSnapshots(root);
      if (!removed) {
        std::fprintf(stderr, "coffer agent: warning: %s\n", removed.error().message().c_str());
        continue;
      }
      for (const std::string& path : *removed) {
        std::fprintf(stderr, "coffer agent: removed leftover snapshot %s\n", path.c_str());
      }
    }
    const bool tls = !config.tls_cert.empty();
    const std::string host = config.listen.host;
    agent::AgentServer agent(std::move(config));
    service::HttpServer& server = agent.http();
    if (auto st = server.Bind(); !st) return Report(FromError(st.error()), false);
    std::fprintf(stderr, "coffer agent: listening on %s://%s:%d (protocol %d)\n",
                 tls ? "https" : "http", host.c_str(), server.port(), agent_api::kProtocolVersion);
    auto served = service::ServeUntilSignal(
        "agent", [&server] { return server.Serve(); }, [&server] { server.Stop(); });
    if (!served) return Report(FromError(served.error()), false);
    return kExitOk;
  };
}

}  // namespace coffer::cli
