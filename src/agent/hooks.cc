#include "agent/hooks.h"

#include <signal.h>
#include <string.h>

#include <cstdlib>

#include "base/subprocess.h"

namespace coffer::agent {
namespace {

std::vector<std::string> HookEnvironment(const HookContext& ctx, const char* hook,
                                         const std::string* snapshot) {
  std::vector<std::string> env;
  for (const char* name : {"PATH", "HOME", "LANG", "TMPDIR"}) {
    if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
  }
  if (std::getenv("PATH") == nullptr) env.push_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
  env.push_back(std::string("COFFER_HOOK=") + hook);
  env.push_back("COFFER_JOB_ID=" + ctx.job_id);
  env.push_back("COFFER_VOLUME_ID=" + ctx.volume_id);
  env.push_back("COFFER_VOLUME_NAME=" + ctx.volume_name);
  env.push_back("COFFER_BACKEND=" + ctx.backend);
  env.push_back("COFFER_LOCATOR=" + ctx.locator);
  if (snapshot != nullptr) env.push_back("COFFER_SNAPSHOT_LOCATOR=" + *snapshot);
  return env;
}

Result<SubprocessResult> Run(const std::string& command, const HookContext& ctx, const char* hook,
                             const std::string* snapshot, JobLog& log,
                             const std::atomic<bool>* cancel) {
  SubprocessOptions o;
  o.argv = {"/bin/sh", "-c", command};
  o.env = HookEnvironment(ctx, hook, snapshot);
  o.timeout = ctx.timeout;
  o.max_output = 64 << 10;
  log.Add(std::string(hook) + " hook: running (time limit " + std::to_string(ctx.timeout.count()) +
          " s)");
  auto started = std::chrono::steady_clock::now();
  auto r = RunSubprocess(o, cancel);
  if (!r) return std::unexpected(r.error().WithContext(std::string(hook) + " hook"));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log.AddOutput(std::string(hook) + " hook stdout", r->out);
  log.AddOutput(std::string(hook) + " hook stderr", r->err);
  if (r->truncated) log.Add(std::string(hook) + " hook: output beyond 64 KiB was dropped");
  char took[32];
  std::snprintf(took, sizeof took, "%.2f s", secs);
  std::string what = std::string(hook) + " hook";
  if (r->timed_out) {
    return Unavailable(what + " did not finish within " + std::to_string(ctx.timeout.count()) +
                       " s and was killed");
  }
  if (r->cancelled) return Cancelled(what + " was stopped: the job was cancelled");
  if (r->signal != 0) {
    return Internal(what + " was killed by signal " + std::to_string(r->signal) + " (" +
                    strsignal(r->signal) + ") after " + took);
  }
  if (r->exit_code != 0) {
    std::string last_err;
    std::string err = r->err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    size_t nl = err.rfind('\n');
    last_err = nl == std::string::npos ? err : err.substr(nl + 1);
    return Internal(what + " failed with exit code " + std::to_string(r->exit_code) +
                    (last_err.empty() ? "" : ": " + last_err));
  }
  log.Add(what + ": done in " + took);
  return r;
}

}  // namespace

Result<std::string> RunPreHook(const std::string& command, const HookContext& ctx, JobLog& log,
                               const std::atomic<bool>* cancel) {
  COFFER_ASSIGN_OR_RETURN(SubprocessResult r,
                          Run(command, ctx, "pre-backup", nullptr, log, cancel));
  // The last non-empty line, trimmed.
  std::string out = r.out;
  std::string last;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(pos, nl - pos);
    size_t b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos) last = line.substr(b, e - b + 1);
    pos = nl + 1;
  }
  if (last.empty()) {
    log.Add("pre-backup hook printed no locator: reading the volume's own");
    return ctx.locator;
  }
  return last;
}

Status RunPostHook(const std::string& command, const HookContext& ctx,
                   const std::string& snapshot_locator, JobLog& log) {
  COFFER_ASSIGN_OR_RETURN(SubprocessResult r,
                          Run(command, ctx, "post-backup", &snapshot_locator, log, nullptr));
  (void)r;
  return {};
}

}  // namespace coffer::agent
