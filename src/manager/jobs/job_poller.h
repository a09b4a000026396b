// JobPoller: one thread that asks agents about the jobs the manager waits
// for (backups and restores), every poll interval, and hands each answer to
// the callback the job was tracked with. The callback decides what the
// answer means (heartbeat, completion, failure) and whether to keep polling.
//
// Polls run one after another on the poller's thread, each bounded by the
// agent client's timeout, so an unreachable agent delays the round but does
// not stop it.
//
// Thread safety: Track, Untrack, IsTracked, Start and Stop from any thread;
// callbacks run on the poller's thread, never under its lock (they may call
// Track/Untrack).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.h"
#include "manager/jobs/agent_client.h"

namespace coffer::manager {

class JobPoller {
 public:
  // Gets the agent's answer (or why there is none); returns whether to keep
  // polling the job.
  using OnPoll = std::function<bool(const Result<AgentJob>& answer)>;

  JobPoller(AgentClient& client, std::chrono::milliseconds interval)
      : client_(client), interval_(interval) {}
  ~JobPoller() { Stop(); }
  JobPoller(const JobPoller&) = delete;
  JobPoller& operator=(const JobPoller&) = delete;

  void Start();
  // Joins the thread; a round in progress finishes its current poll first.
  void Stop();

  // Polls `job_id` on `agent` under `key` (a backup or restore id),
  // replacing whatever was tracked under that key. The first poll comes on
  // the next round.
  void Track(const std::string& key, AgentEndpoint agent, std::string job_id, OnPoll on_poll);
  void Untrack(const std::string& key);
  bool IsTracked(const std::string& key) const;
  // Runs one round now, on the calling thread (tests).
  void PollOnce();

 private:
  struct Entry {
    AgentEndpoint agent;
    std::string job_id;
    OnPoll on_poll;
    uint64_t generation = 0;  // a Track under the same key replaces the entry
  };
  void Loop();

  AgentClient& client_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  uint64_t next_generation_ = 0;
  std::mutex round_mu_;  // one round at a time (the loop, or PollOnce)
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace coffer::manager
