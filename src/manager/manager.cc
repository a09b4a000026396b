#include "manager/manager.h"

#include <cstdio>

#include "manager/api/server.h"
#include "manager/common/admin_token.h"
#include "manager/common/log.h"
#include "manager/common/metrics.h"
#include "manager/jobs/agent_client.h"
#include "manager/jobs/job_poller.h"
#include "manager/loops/gc_loop.h"
#include "manager/loops/reconciler.h"
#include "manager/loops/scheduler.h"
#include "manager/services/orchestrator.h"
#include "manager/services/restores.h"
#include "manager/services/retention.h"
#include "manager/services/targets.h"
#include "meta/master_key.h"
#include "meta/meta_store.h"

namespace coffer::manager {

// Declared in the order they are built; destroyed in reverse.
struct Manager::Parts {
  std::unique_ptr<meta::MetaStore> meta;
  std::unique_ptr<meta::LeaderLock> leader;
  bool was_leader = false;
  std::unique_ptr<TokenAuthenticator> auth;
  std::unique_ptr<TargetService> targets;
  std::unique_ptr<Retention> retention;
  std::unique_ptr<ManagerMetrics> metrics;
  std::unique_ptr<AgentClient> agents;
  std::unique_ptr<AgentService> agent_service;
  std::unique_ptr<VolumeService> volumes;
  std::unique_ptr<BackupService> backups;
  std::unique_ptr<JobPoller> poller;
  std::unique_ptr<Orchestrator> orchestrator;
  std::unique_ptr<RestoreService> restores;
  std::unique_ptr<Reconciler> reconciler;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<GcLoop> gc;
  std::unique_ptr<api::ApiServer> server;
};

Manager::Manager(ManagerConfig config) : config_(std::move(config)) {}

Manager::~Manager() {
  Stop();
  if (!parts_) return;
  // Loops first (they use everything else), then the poller, then the rest.
  parts_->scheduler.reset();
  parts_->gc.reset();
  parts_->reconciler.reset();
  if (parts_->poller) parts_->poller->Stop();
  parts_->server.reset();
}

int Manager::port() const { return parts_ && parts_->server ? parts_->server->http().port() : 0; }

bool Manager::IsLeader() {
  std::lock_guard lock(leader_mu_);
  if (!parts_ || !parts_->leader) return false;
  auto held = parts_->was_leader ? parts_->leader->StillHeld() : parts_->leader->TryAcquire();
  if (held && !*held && parts_->was_leader) held = parts_->leader->TryAcquire();
  const bool now = held && *held;
  if (now != parts_->was_leader) {
    Log(now ? "this replica is now the leader: it runs the scheduler, GC and reconciler"
            : "this replica is no longer the leader");
    parts_->was_leader = now;
  }
  return now;
}

Status Manager::OpenDatabase(std::optional<std::string> env_token) {
  Parts& p = *parts_;
  COFFER_ASSIGN_OR_RETURN(SecretKey master,
                          AddContext(meta::LoadOrCreateMasterKey(config_.master_key_file),
                                     "master key " + config_.master_key_file));
  meta::MetaStoreOptions mo;
  mo.master_key = master;
  COFFER_ASSIGN_OR_RETURN(p.meta, meta::OpenMetaStore(config_.database_url, mo));
  COFFER_ASSIGN_OR_RETURN(p.leader, p.meta->NewLeaderLock());
  std::optional<std::string_view> env;
  if (env_token) env = *env_token;
  COFFER_ASSIGN_OR_RETURN(auto generated, EnsureAdminToken(*p.meta, env));
  if (generated) {
    // Printed once, at the first start; only its hash is kept.
    std::fprintf(stderr, "admin token: %s\n", generated->c_str());
    std::fflush(stderr);
  }
  return {};
}

void Manager::BuildServices() {
  Parts& p = *parts_;
  p.auth = std::make_unique<TokenAuthenticator>(*p.meta);
  TargetServiceOptions to;
  to.places.allow_link_local = config_.allow_link_local_peers;
  to.places.refused_dirs.push_back(config_.data_dir);  // its database and master key
  to.places.directory_roots = config_.target_roots;
  p.targets = std::make_unique<TargetService>(*p.meta, to);
  p.retention = std::make_unique<Retention>(*p.meta, *p.targets);
  p.metrics = std::make_unique<ManagerMetrics>(*p.meta);
  p.agents = std::make_unique<AgentClient>(AgentClientOptions{config_.agent_timeout, ""});
  p.agent_service =
      std::make_unique<AgentService>(*p.meta, *p.agents, config_.allow_link_local_peers);
  p.poller = std::make_unique<JobPoller>(*p.agents, config_.job_poll_interval);
  p.orchestrator = std::make_unique<Orchestrator>(*p.meta, *p.targets, *p.retention, *p.agents,
                                                  *p.poller, *p.metrics);
  p.volumes = std::make_unique<VolumeService>(*p.meta);
  p.backups = std::make_unique<BackupService>(*p.meta, *p.targets, *p.orchestrator);
  p.restores =
      std::make_unique<RestoreService>(*p.meta, *p.targets, *p.agents, *p.poller, *p.metrics);
  auto is_leader = [this] { return IsLeader(); };
  ReconcilerOptions ro;
  ro.interval = config_.reconcile_interval;
  // Long enough that a job being started (up to the agent timeout) or
  // polled now and then is not taken for an orphan.
  ro.orphan_after = std::max<std::chrono::milliseconds>(
      {3 * config_.job_poll_interval, 2 * config_.agent_timeout, std::chrono::seconds(5)});
  ro.silence_timeout = config_.backup_silence_timeout;
  ro.is_leader = is_leader;
  ro.restores = p.restores.get();
  p.reconciler = std::make_unique<Reconciler>(*p.meta, *p.orchestrator, ro);
  SchedulerOptions so;
  so.tick = config_.scheduler_interval;
  so.is_leader = is_leader;
  p.scheduler = std::make_unique<Scheduler>(*p.meta, *p.orchestrator, so);
  GcLoopOptions go;
  go.tick = config_.gc_check_interval;
  go.lock_wait = config_.gc_lock_wait;
  go.is_leader = is_leader;
  p.gc = std::make_unique<GcLoop>(*p.meta, *p.targets, go);
}

Status Manager::Start(std::optional<std::string> env_token) {
  parts_ = std::make_unique<Parts>();
  Parts& p = *parts_;
  COFFER_RETURN_IF_ERROR(OpenDatabase(std::move(env_token)));
  BuildServices();
  api::ApiContext ctx;
  ctx.targets = p.targets.get();
  ctx.agents = p.agent_service.get();
  ctx.gc = p.gc.get();
  ctx.volumes = p.volumes.get();
  ctx.backups = p.backups.get();
  ctx.restores = p.restores.get();
  ctx.metrics = p.metrics.get();
  ctx.auth = p.auth.get();
  ctx.is_leader = [this] { return IsLeader(); };
  ctx.ready = [this] { return parts_->meta->Ping(); };
  api::ApiOptions ao;
  ao.host = config_.listen.host;
  ao.port = config_.listen.port;
  ao.max_body_bytes = config_.max_body_bytes;
  ao.log_requests = config_.log_requests;
  p.server = std::make_unique<api::ApiServer>(std::move(ctx), ao);
  COFFER_RETURN_IF_ERROR(p.server->http().Bind());

  p.poller->Start();
  p.reconciler->Start();
  p.scheduler->Start();
  p.gc->Start();
  Log("database " + std::string(p.meta->backend()) + ", data directory " + config_.data_dir);
  return {};
}

Status Manager::Serve() {
  if (!parts_ || !parts_->server) return Internal("the manager was not started");
  Log("listening on http://" + config_.listen.host + ":" + std::to_string(port()));
  auto served = parts_->server->http().Serve();
  Log("stopping");
  parts_->scheduler->Stop();
  parts_->reconciler->Stop();
  parts_->gc->Stop();  // waits for a running sweep
  parts_->poller->Stop();
  return served;
}

void Manager::Stop() {
  if (parts_ && parts_->server) parts_->server->http().Stop();
}

}  // namespace coffer::manager
