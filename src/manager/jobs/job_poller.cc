#include "manager/jobs/job_poller.h"

#include <vector>

namespace coffer::manager {

void JobPoller::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void JobPoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobPoller::Track(const std::string& key, AgentEndpoint agent, std::string job_id,
                      OnPoll on_poll) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  e.agent = std::move(agent);
  e.job_id = std::move(job_id);
  e.on_poll = std::move(on_poll);
  e.generation = ++next_generation_;
}

void JobPoller::Untrack(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

bool JobPoller::IsTracked(const std::string& key) const {
  std::lock_guard lock(mu_);
  return entries_.contains(key);
}

void JobPoller::PollOnce() {
  std::lock_guard round(round_mu_);
  struct Item {
    std::string key;
    Entry entry;
  };
  std::vector<Item> items;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, e] : entries_) items.push_back({key, e});
  }
  for (auto& item : items) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    auto answer = client_.GetJob(item.entry.agent, item.entry.job_id);
    bool keep = item.entry.on_poll(answer);
    if (!keep) {
      std::lock_guard lock(mu_);
      auto it = entries_.find(item.key);
      // Only if nobody re-tracked the key meanwhile.
      if (it != entries_.end() && it->second.generation == item.entry.generation) {
        entries_.erase(it);
      }
    }
  }
}

void JobPoller::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    PollOnce();
    lock.lock();
  }
}

}  // namespace coffer::manager
