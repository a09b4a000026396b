// coffer manager --data-dir DIR [--listen HOST:PORT] [--database-url URL]
// [--config FILE]: the service (DESIGN §4, §10). Runs until SIGINT or
// SIGTERM. `coffer manager index-rebuild …` puts a target's backup rows back
// from its manifests.
#include "manager/manager.h"

#include <cstdio>
#include <cstdlib>

#include "cli/common.h"
#include "cli/manager_index_rebuild.h"
#include "cli/verbs.h"
#include "manager/common/config.h"
#include "service/http_server.h"

namespace coffer::cli {
namespace {

struct ConfigFlags {
  std::string config, data_dir, listen, database_url;
};

void AddConfigFlags(CLI::App* cmd, ConfigFlags* f, bool with_listen) {
  cmd->add_option("--config", f->config, "TOML file with the same keys (flags win)");
  cmd->add_option("--data-dir", f->data_dir,
                  "directory of the master key and the SQLite database (created if missing)");
  cmd->add_option("--database-url", f->database_url,
                  "postgresql://… (default: SQLite in the data directory)");
  if (with_listen) {
    cmd->add_option("--listen", f->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  }
}

// The merged settings: the file first, the flags over it.
Result<manager::ManagerConfig> Resolve(const ConfigFlags& f) {
  manager::ManagerConfig c;
  if (!f.config.empty()) COFFER_RETURN_IF_ERROR(manager::LoadConfigFile(f.config, &c));
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  if (!f.database_url.empty()) c.database_url = f.database_url;
  if (!f.listen.empty()) {
    COFFER_ASSIGN_OR_RETURN(c.listen, service::ParseListen(f.listen));
  }
  COFFER_RETURN_IF_ERROR(manager::FinishConfig(&c));
  return c;
}

int RunManager(const ConfigFlags& f) {
  auto config = Resolve(f);
  if (!config) return Report(UsageFailure(config.error().message()), false);
  // Before any thread starts: the stop signals go to ServeUntilSignal only.
  service::BlockStopSignals();
  std::optional<std::string> env_token;
  if (const char* t = std::getenv("COFFER_ADMIN_TOKEN"); t != nullptr && *t != '\0') {
    env_token = t;
  }
  manager::Manager m(std::move(*config));
  if (auto st = m.Start(std::move(env_token)); !st) return Report(FromError(st.error()), false);
  auto served = service::ServeUntilSignal(
      "manager", [&m] { return m.Serve(); }, [&m] { m.Stop(); });
  if (!served) return Report(FromError(served.error()), false);
  return kExitOk;
}

}  // namespace

VerbRun AddManager(CLI::App& app) {
  struct Flags {
    ConfigFlags service, rebuild;
    std::string target, passphrase_file;
    bool dry_run = false;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "manager", "run the manager: REST API, metadata database, scheduler, GC, reconciler");
  AddConfigFlags(cmd, &f->service, true);
  CLI::App* rebuild = cmd->add_subcommand(
      "index-rebuild", "put a target's backup rows back from the manifests it holds");
  AddConfigFlags(rebuild, &f->rebuild, false);
  rebuild->add_option("--target", f->target, "the target's id")->required();
  rebuild->add_option("--passphrase-file", f->passphrase_file,
                      "open the target with a key slot instead of the stored key "
                      "(also COFFER_PASSPHRASE)");
  rebuild->add_flag("--dry-run", f->dry_run, "report what would be inserted, insert nothing");
  rebuild->add_flag("--json", f->json, "print one JSON document on stdout");
  return [f, rebuild]() -> int {
    if (!rebuild->parsed()) return RunManager(f->service);
    // Options given before the subcommand count too.
    ConfigFlags merged = f->rebuild;
    for (auto [mine, outer] : {std::pair{&merged.config, &f->service.config},
                               std::pair{&merged.data_dir, &f->service.data_dir},
                               std::pair{&merged.database_url, &f->service.database_url}}) {
      if (mine->empty()) *mine = *outer;
    }
    auto config = Resolve(merged);
    if (!config) return Report(UsageFailure(config.error().message()), false);
    IndexRebuildArgs args;
    args.database_url = config->database_url;
    args.master_key_file = config->master_key_file;
    args.target_id = f->target;
    args.passphrase_file = f->passphrase_file;
    args.dry_run = f->dry_run;
    args.json = f->json;
    return RunIndexRebuildCommand(args);
  };
}

}  // namespace coffer::cli
