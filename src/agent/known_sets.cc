#include "agent/known_sets.h"

namespace coffer::agent {
namespace {

class AgentMemory : public BackupMemory {
 public:
  AgentMemory(KnownChunkSets& sets, std::string address)
      : sets_(sets), address_(std::move(address)) {}

  Result<KnownChunkCache> CheckoutKnown(Repository& repo, std::string* note) override {
    bool listed = false;
    COFFER_ASSIGN_OR_RETURN(KnownChunkCache known, sets_.Checkout(repo, address_, &listed));
    *note = "known chunks: " + std::to_string(known.size()) +
            (listed ? " listed in the target" : " remembered from earlier jobs");
    return known;
  }
  SummaryCache CheckoutSummaries(Repository& repo) override {
    return sets_.CheckoutSummaries(repo.config().target_id);
  }
  Status Keep(const KnownChunkCache& known, const SummaryCache& summaries) override {
    sets_.Return(address_, known);
    sets_.ReturnSummaries(summaries);
    return {};
  }

 private:
  KnownChunkSets& sets_;
  const std::string address_;
};

}  // namespace

std::unique_ptr<BackupMemory> KnownChunkSets::For(std::string address) {
  return std::make_unique<AgentMemory>(*this, std::move(address));
}

Result<KnownChunkCache> KnownChunkSets::Checkout(Repository& repo, const std::string& address,
                                                 bool* listed) {
  COFFER_ASSIGN_OR_RETURN(uint64_t generation,
                          AddContext(repo.GcGeneration(), "reading the GC generation"));
  const auto key = std::make_pair(repo.config().target_id.ToString(), address);
  {
    std::lock_guard lock(mu_);
    auto it = sets_.find(key);
    if (it != sets_.end() && it->second.generation() == generation) {
      if (listed != nullptr) *listed = false;
      return it->second;  // a copy: the job adds to it while others read theirs
    }
  }
  // An empty path: Load finds no file, so the set is the target's listing.
  KnownChunkCache fresh("");
  fresh.Load(repo.config().target_id, generation);
  COFFER_RETURN_IF_ERROR(AddContext(fresh.Rebuild(repo.store()), "listing the target's chunks"));
  if (listed != nullptr) *listed = true;
  return fresh;
}

void KnownChunkSets::Return(const std::string& address, const KnownChunkCache& used) {
  const auto key = std::make_pair(used.target_id().ToString(), address);
  std::lock_guard lock(mu_);
  auto [it, fresh] = sets_.try_emplace(key, used);
  if (fresh) return;
  KnownChunkCache& kept = it->second;
  if (kept.generation() == used.generation()) {
    kept.Add(used.ids());
  } else if (kept.generation() < used.generation()) {
    kept = used;  // learned after a sweep the kept set predates
  }
}

SummaryCache KnownChunkSets::CheckoutSummaries(const Uuid& target_id) {
  std::lock_guard lock(mu_);
  auto it = summaries_.find(target_id);
  if (it != summaries_.end()) return it->second;
  SummaryCache fresh("");  // memory only
  fresh.Load(target_id);
  return fresh;
}

void KnownChunkSets::ReturnSummaries(const SummaryCache& used) {
  std::lock_guard lock(mu_);
  // The last job's view wins: a summary another job read meanwhile is read
  // again next time, at one GET.
  summaries_.insert_or_assign(used.target_id(), used);
}

}  // namespace coffer::agent
