#include "manager/loops/scheduler.h"

#include <algorithm>
#include <set>

#include "manager/common/cron.h"
#include "manager/loops/loop_support.h"

namespace coffer::manager {

Scheduler::Scheduler(meta::MetaStore& meta, BackupStarter& starter, SchedulerOptions options)
    : meta_(meta), starter_(starter), options_(std::move(options)) {}

Scheduler::~Scheduler() { Stop(); }

int64_t Scheduler::Now() const { return ClockNow(options_.clock_us); }

void Scheduler::Log(const std::string& message) const {
  LogTo(options_.log, "scheduler: " + message);
}

void Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  while (true) {
    auto tick = TickOnce();
    if (!tick) Log("tick failed: " + tick.error().message());
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, options_.tick, [this] { return stop_; })) return;
  }
}

Result<int64_t> Scheduler::Baseline(const meta::Volume& volume) {
  meta::BackupFilter newest;
  newest.volume_id = volume.id;
  newest.limit = 1;
  COFFER_ASSIGN_OR_RETURN(auto backups, meta_.ListBackups(newest));
  if (!backups.empty()) return std::max(backups.front().started_at_us, volume.created_at_us);
  return volume.created_at_us;
}

bool Scheduler::GcHolds(const std::string& target_id) {
  auto leases = meta_.ListTargetLeases(target_id);
  if (!leases) return false;  // a database hiccup: the slot is skipped as before
  return std::ranges::any_of(
      *leases, [](const meta::TargetLease& l) { return l.kind == meta::LeaseKind::kGc; });
}

Result<SchedulerTick> Scheduler::TickOnce() {
  SchedulerTick tick;
  if (options_.is_leader && !options_.is_leader()) {
    // Another replica schedules; whoever leads next starts from the database.
    state_.clear();
    return tick;
  }
  tick.leader = true;
  COFFER_ASSIGN_OR_RETURN(auto volumes, AddContext(meta_.ListVolumes(), "listing volumes"));
  const int64_t now = Now();
  std::set<std::string> scheduled;
  for (const meta::Volume& v : volumes) {
    if (!v.backup_target_id || IsBlank(v.backup_cron)) continue;
    auto cron = CronSchedule::Parse(v.backup_cron);
    if (!cron) {
      if (bad_cron_[v.id] != v.backup_cron) {
        bad_cron_[v.id] = v.backup_cron;
        Log("volume " + v.name + " (" + v.id + ") is not scheduled: " + cron.error().message());
      }
      continue;
    }
    bad_cron_.erase(v.id);
    scheduled.insert(v.id);
    auto it = state_.find(v.id);
    if (it == state_.end()) {
      auto baseline = Baseline(v);
      if (!baseline) {
        Log("volume " + v.name + ": " + baseline.error().message());
        continue;
      }
      it = state_.emplace(v.id, VolumeState{v.backup_cron, *baseline}).first;
    } else if (it->second.cron != v.backup_cron) {
      // A new expression applies from now on; its past slots are not missed.
      it->second = VolumeState{v.backup_cron, now};
      continue;
    }
    VolumeState& state = it->second;
    auto due = cron->NextAfter(state.last_slot_us);
    if (!state.waits_for_gc && (!due || *due > now)) continue;
    // However many slots passed since last_slot_us, this is one run.
    state.last_slot_us = now;
    auto started = starter_.StartBackup(v.id, "schedule");
    const bool was_waiting = state.waits_for_gc;
    state.waits_for_gc = false;
    if (started) {
      ++tick.started;
      Log("volume " + v.name + ": started scheduled backup " + *started +
          (was_waiting ? " (its slot waited for a GC of the target)" : ""));
    } else if (started.error().code() == ErrorCode::kConflict && GcHolds(*v.backup_target_id)) {
      state.waits_for_gc = true;
      ++tick.waiting;
      if (!was_waiting) Log("volume " + v.name + ": slot waits for the GC of its target to end");
    } else if (started.error().code() == ErrorCode::kConflict) {
      ++tick.skipped;
      Log("volume " + v.name + ": slot skipped: " + started.error().message());
    } else {
      ++tick.failed;
      Log("volume " + v.name + ": scheduled backup failed to start: " + started.error().message());
    }
  }
  std::erase_if(state_, [&](const auto& kv) { return !scheduled.contains(kv.first); });
  return tick;
}

}  // namespace coffer::manager
