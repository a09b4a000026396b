#include "manager/testing/ops_testing.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

#include "base/uuid.h"
#include "volume/file_volume.h"

namespace coffer::manager::testing_support {
namespace {

// Fails the test with the error and leaves the helper (gtest reports the
// exception as the test's failure).
template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r) {
    ADD_FAILURE() << what << ": " << r.error().message();
    throw std::runtime_error(what + ": " + r.error().message());
  }
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "coffer-mloops-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<meta::MetaStore> OpenTestMeta(const TempDir& dir,
                                              std::function<int64_t()> clock_us) {
  meta::MetaStoreOptions o;
  o.master_key = SecretKey::Random();
  o.clock_us = std::move(clock_us);
  return Must(meta::OpenMetaStore("sqlite://" + (dir / "meta.db"), std::move(o)),
              "opening the metadata store");
}

void WriteImage(const std::string& path, size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string data(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(data.data(), std::streamsize(size));
}

meta::BackupTarget CreateLocalTarget(TargetService& targets, const TempDir& dir,
                                     const std::string& name, const std::string& passphrase) {
  CreateTargetRequest r;
  r.name = name;
  r.address = dir / name;
  r.passphrase = meta::SecretString(passphrase);
  return Must(targets.CreateTarget(r), "creating target " + name);
}

meta::Volume CreateVolume(meta::MetaStore& meta, const std::string& name,
                          const std::string& target_id, const std::string& cron, int retain) {
  auto agents = Must(meta.ListAgents(), "listing agents");
  std::string agent_id;
  if (agents.empty()) {
    meta::NewAgent a;
    a.name = "agent";
    a.url = "http://127.0.0.1:1";
    a.token = meta::SecretString("agent-token");
    agent_id = Must(meta.CreateAgent(a), "creating the agent").id;
  } else {
    agent_id = agents.front().id;
  }
  meta::Volume v;
  v.name = name;
  v.agent_id = agent_id;
  v.locator = "/volumes/" + name;
  v.size_bytes = 1 << 20;
  auto created = Must(meta.CreateVolume(v), "creating volume " + name);
  meta::VolumeSchedule s;
  s.backup_target_id = target_id;
  s.backup_cron = cron;
  s.backup_retain_count = retain;
  return Must(meta.SetVolumeSchedule(created.id, s), "scheduling volume " + name);
}

meta::Backup RecordBackup(meta::MetaStore& meta, TargetService& targets, const meta::Volume& volume,
                          const std::string& image) {
  meta::NewBackup nb;
  const Uuid id = Uuid::Random();
  nb.id = id.ToString();
  nb.volume_id = volume.id;
  nb.target_id = *volume.backup_target_id;
  auto row = Must(meta.CreateBackup(nb), "creating the backup row");
  auto repo = Must(targets.OpenRepository(nb.target_id), "opening the target");
  auto source = Must(OpenFileVolume(image), "opening " + image);
  BackupOptions o;
  o.volume_id = volume.id;
  o.volume_name = volume.name;
  o.backup_id = id;
  o.workers = 2;
  auto result = Must(RunBackup(*repo, *source, o), "backing up " + image);
  meta::BackupStats st;
  st.logical_bytes = int64_t(result.summary.source_size);
  st.zero_bytes = int64_t(result.summary.zero_bytes);
  st.new_bytes = int64_t(result.summary.new_bytes);
  st.stored_bytes = int64_t(result.summary.stored_bytes);
  st.chunks = int64_t(result.summary.chunk_count);
  st.new_chunks = int64_t(result.summary.new_chunks);
  return Must(meta.CompleteBackup(row.id, row.attempt, st, int64_t(result.seconds * 1000)),
              "completing backup " + row.id);
}

}  // namespace coffer::manager::testing_support
