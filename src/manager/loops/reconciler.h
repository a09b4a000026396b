// Reconciler (DESIGN §4): makes sure no backup stays `running` when nothing
// runs it. On the leader only, every interval, it looks at the running
// backups that have not been heard of for a while (no heartbeat for
// `orphan_after`):
//   - polled by this process: the agent does not answer (the poller would
//     have settled any answer); once silent for `silence_timeout`, the backup
//     fails with "the agent … has not answered for N s" and polling stops;
//   - polled by nobody here (the manager restarted, a replica died): the
//     agent is asked once about the job. Running → heartbeat, and this
//     process polls it from now on. Finished → settled as the poller would.
//     Unknown to the agent (404: it restarted) → failed, saying so. No
//     answer → failed once silent for `silence_timeout`. No job recorded
//     (the manager stopped while sending it) → failed once silent for
//     `silence_timeout`.
// All reports carry the backup's attempt, so a decision made meanwhile
// elsewhere wins (kConflict) and the reconciler's is dropped.
//
// Thread safety: Start, Stop and the destructor from one thread; RunOnce
// from one thread at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "manager/services/orchestrator.h"
#include "manager/services/restores.h"
#include "meta/meta_store.h"

namespace coffer::manager {

struct ReconcilerOptions {
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds orphan_after{5'000};
  std::chrono::milliseconds silence_timeout{300'000};
  std::function<bool()> is_leader;  // empty: always leader
  // Microseconds since the epoch; empty: the system clock. Tests pass the
  // metadata store's clock, which they move.
  std::function<int64_t()> clock_us;
  // When set, restores are reconciled too (RestoreService::Reconcile).
  RestoreService* restores = nullptr;
};

struct ReconcileRound {
  bool leader = false;
  int adopted = 0;
  int failed = 0;
  int settled = 0;  // finished jobs recorded
  int restores_failed = 0;
};

class Reconciler {
 public:
  Reconciler(meta::MetaStore& meta, Orchestrator& orchestrator, ReconcilerOptions options)
      : meta_(meta), orchestrator_(orchestrator), options_(std::move(options)) {}
  ~Reconciler() { Stop(); }
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  void Start();
  void Stop();
  Result<ReconcileRound> RunOnce();

 private:
  void Loop();
  // Decides about one silent running backup (the cases above).
  void Reconcile(const meta::Backup& backup, int64_t now, ReconcileRound* round);

  meta::MetaStore& meta_;
  Orchestrator& orchestrator_;
  ReconcilerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace coffer::manager
