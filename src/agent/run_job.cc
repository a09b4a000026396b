#include "agent/run_job.h"

#include "agent/hooks.h"
#include "base/text.h"
#include "engine/backup_session.h"
#include "engine/lock.h"
#include "engine/restore.h"
#include "store/metrics/store_metrics.h"
#include "store/open_store.h"
#include "volume/file_snapshot.h"

namespace coffer::agent {
namespace {

using agent_api::BackupRequest;
using agent_api::RestoreRequest;
using agent_api::TargetSpec;

// `metrics`, when given, counts the job's requests to the target.
Result<std::unique_ptr<Repository>> OpenTarget(const TargetSpec& t, JobLog& log,
                                               std::shared_ptr<StoreMetrics> metrics = nullptr) {
  StoreOptions o;
  o.metrics = std::move(metrics);
  o.s3_endpoint = t.s3_endpoint;
  o.s3_region = t.s3_region;
  o.s3_credentials = t.s3_credentials;
  log.Add("opening target " + t.address);
  COFFER_ASSIGN_OR_RETURN(auto store, OpenStore(t.address, o));
  auto repo = Repository::OpenWithKey(std::move(store), t.key);
  if (o.s3_credentials) {
    WipeString(o.s3_credentials->secret_access_key);
    WipeString(o.s3_credentials->session_token);
  }
  if (!repo) return std::unexpected(repo.error().WithContext("target " + t.address));
  log.Add("target " + (*repo)->config().target_id.ToString() + " opened");
  return repo;
}

// Reads `locator` (already validated) and runs the pipeline; snapshots a
// file volume first unless a hook made the snapshot.
Result<BackupResult> ReadAndBackUp(Job& job, Repository& repo, TargetLock* lock,
                                   const BackupRequest& req, const std::string& locator,
                                   bool from_hook, const AgentConfig& config,
                                   const BackendContext& backends, KnownChunkSets& known_sets,
                                   std::string* snapshot_method) {
  std::unique_ptr<FileSnapshot> snapshot;
  std::string path = locator;
  *snapshot_method = from_hook ? "hook" : "none";
  if (req.volume.backend == Backend::kFile && !from_hook) {
    COFFER_ASSIGN_OR_RETURN(snapshot,
                            SnapshotFile(locator, req.volume.quiescent, /*no_symlinks=*/true));
    *snapshot_method = snapshot->method();
    path = snapshot->path();
    job.log().Add("snapshot: " + snapshot->method() +
                  (snapshot->method() == "none" ? " (the volume is quiescent)" : " of " + locator));
  }
  const BackendInfo& backend = BackendOf(req.volume.backend);
  BackendContext ctx = backends;
  ctx.cancel = &job.cancel_flag();  // a peer that stops answering cannot hold the job
  COFFER_ASSIGN_OR_RETURN(auto source, backend.open_source(path, ctx));
  job.log().Add("reading " + backend.redact(source->name()) + " (" + FormatBytes(source->size()) +
                ")");
  BackupSession session;
  BackupOptions& o = session.options;
  o.backup_id = req.backup_id;
  o.volume_id = req.volume.id;
  o.volume_name = req.volume.name;
  o.zstd_level = req.zstd_level;
  o.progress = &job.progress();
  o.cancel = &job.cancel_flag();
  o.lock = lock;
  if (req.await_commit) {
    o.before_commit = [&job, &config] {
      return job.AwaitCommit(std::chrono::seconds(config.commit_wait_seconds));
    };
  }
  // Chunks the target is known to store are neither asked about nor sent
  // again; the store decides about the others (a stat in a directory, none
  // on S3, where a HEAD is a billed request), and how many go at once.
  auto memory = known_sets.For(req.target.address);
  session.memory = memory.get();
  session.note = [&job](const std::string& line) { job.log().Add(line); };
  session.warn = [&job](const std::string& line) { job.log().Add("warning: " + line); };
  return RunBackupSession(repo, *source, session);
}

// The target's lock for a job (DESIGN §5): shared, waiting for a GC of the
// target up to the agent's lock_wait_seconds.
Result<std::unique_ptr<TargetLock>> LockForJob(Job& job, Repository& repo, std::string purpose,
                                               std::string what, const AgentConfig& config) {
  LockRequest r;
  r.purpose = std::move(purpose);
  r.job = std::move(what) + ", agent job " + job.id();
  r.wait = std::chrono::seconds(config.lock_wait_seconds);
  r.on_wait = [&job](const std::string& holder) { job.log().Add("waiting for " + holder); };
  r.cancel = &job.cancel_flag();
  r.on_removed = [&job](const LockInfo& gone) {
    job.log().Add("removed " + DescribeLock(gone) + ": " + gone.stale_reason);
  };
  auto lock = TargetLock::Acquire(repo.store(), r);
  if (lock) job.log().Add("holding " + (*lock)->key());
  return lock;
}

agent_api::BackupReport ReportOf(const BackupResult& r, const std::string& snapshot_method,
                                 const StoreMetrics& metrics) {
  agent_api::BackupReport b;
  static_cast<BackupFigures&>(b) = FiguresOf(r);
  b.snapshot = snapshot_method;
  for (const auto& [kind, n] : metrics.RequestCounts()) b.requests[kind] = n;
  b.retries = metrics.retries();
  return b;
}

}  // namespace

void RunBackupJob(Job& job, BackupRequest& req, const std::string& source,
                  const AgentConfig& config, const BackendContext& backends,
                  KnownChunkSets& known_sets) {
  JobLog& log = job.log();
  const BackendInfo& backend = BackendOf(req.volume.backend);
  log.Add("backup of volume '" + req.volume.name + "' (" + std::string(backend.name) + " " +
          backend.redact(req.volume.locator) + "), attempt " + std::to_string(req.attempt));
  auto metrics = std::make_shared<StoreMetrics>();
  auto repo = OpenTarget(req.target, log, metrics);
  if (!repo) return job.Finish(repo.error());
  // Before anything is read: what the backup learns is stored must stay so
  // until its manifest names it.
  auto lock = LockForJob(job, **repo, "backup", "backup " + req.backup_id.ToString(), config);
  if (!lock) return job.Finish(lock.error());

  HookContext hook;
  hook.job_id = job.id();
  hook.volume_id = req.volume.id;
  hook.volume_name = req.volume.name;
  hook.backend = std::string(backend.name);
  hook.locator = source;
  hook.timeout = req.volume.hooks.timeout.count() > 0
                     ? req.volume.hooks.timeout
                     : std::chrono::seconds(config.hook_timeout_seconds);

  std::string locator = source;
  const bool has_pre = !req.volume.hooks.pre_backup.empty();
  if (has_pre) {
    auto printed = RunPreHook(req.volume.hooks.pre_backup, hook, log, &job.cancel_flag());
    if (!printed) return job.Finish(printed.error());
    auto valid = backend.validate_source(*printed, backends);
    if (!valid) {
      Error e = valid.error().WithContext("the pre-backup hook's locator");
      if (!req.volume.hooks.post_backup.empty()) {
        (void)RunPostHook(req.volume.hooks.post_backup, hook, *printed, log);
      }
      return job.Finish(e);
    }
    locator = *valid;
    log.Add("pre-backup hook gave snapshot " + backend.redact(locator));
  }

  std::string method;
  auto result = ReadAndBackUp(job, **repo, lock->get(), req, locator, has_pre, config, backends,
                              known_sets, &method);
  lock->reset();

  // Released whatever happened, once the pre-backup hook made a snapshot
  // (or when there is no pre-backup hook at all).
  if (!req.volume.hooks.post_backup.empty()) {
    auto post = RunPostHook(req.volume.hooks.post_backup, hook, locator, log);
    if (!post) {
      if (!result) return job.Finish(result.error());
      // The manifest is written; the job still fails so the snapshot left
      // behind is seen. The result tells which backup was stored.
      job.log().Add("backup " + result->summary.backup_id.ToString() +
                    " was stored before the post-backup hook failed");
      return job.Finish(post.error());
    }
  }
  if (!result) return job.Finish(result.error());
  log.Add("backup " + result->summary.backup_id.ToString() + ": " +
          FormatBytes(result->summary.source_size) + ", " + FormatBytes(result->summary.new_bytes) +
          " new, " + FormatBytes(result->summary.zero_bytes) + " zeros");
  job.Complete(ReportOf(*result, method, *metrics));
}

void RunRestoreJob(Job& job, RestoreRequest& req, const std::string& destination,
                   const AgentConfig& config, const BackendContext& backends) {
  JobLog& log = job.log();
  const BackendInfo& backend = BackendOf(req.destination.backend);
  log.Add("restore of backup " + req.backup_id + " into " + std::string(backend.name) + " " +
          backend.redact(req.destination.locator));
  auto repo = OpenTarget(req.target, log);
  if (!repo) return job.Finish(repo.error());
  auto lock = LockForJob(job, **repo, "restore", "backup " + req.backup_id, config);
  if (!lock) return job.Finish(lock.error());
  auto id = (*repo)->ResolveBackupId(req.backup_id);
  if (!id) return job.Finish(id.error());
  auto manifest = (*repo)->LoadManifest(*id);
  if (!manifest) return job.Finish(manifest.error());
  const ManifestSummary& s = manifest->summary;
  log.Add("backup " + s.backup_id.ToString() + " of volume '" + s.volume_name + "' (" +
          FormatBytes(s.source_size) + ")");
  BackendContext ctx = backends;
  ctx.cancel = &job.cancel_flag();
  auto dest = backend.open_destination(destination, s.source_size, ctx);
  if (!dest) return job.Finish(dest.error());
  RestoreOptions o;
  o.progress = &job.progress();
  o.cancel = &job.cancel_flag();
  auto r = RunRestore(**repo, *manifest, **dest, o);
  dest->reset();  // a file destination that was not committed is removed here
  if (!r) return job.Finish(r.error());
  job.Complete(agent_api::RestoreReport{s.backup_id.ToString(), s.volume_name,
                                        req.destination.backend, backend.redact(destination),
                                        r->bytes, r->zero_bytes, r->chunks_fetched, r->seconds});
}

}  // namespace coffer::agent
