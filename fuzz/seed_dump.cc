// fuzz_seed_dump: writes seed inputs for the fuzz targets from a real target
// (made by `coffer init` and `coffer backup`, see fuzz/make_seeds.sh) and
// the cache directory its backups used, in each target's input layout
// (the comment atop each *_fuzz.cc).
//
//   COFFER_PASSPHRASE=… fuzz_seed_dump TARGET_DIR CACHE_DIR CORPUS_DIR
//
// It also writes the agent protocol's messages as this build makes them
// (fuzz/protocol_seeds.h).
//
// The target key goes into the seeds of the targets whose objects are
// authenticated under it: these seeds are test data, and so is the target.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/compress/zstd_codec.h"
#include "core/format/chunk_object.h"
#include "core/format/manifest.h"
#include "engine/known_chunks.h"
#include "engine/repository.h"
#include "fuzz/manifest_parts.h"
#include "fuzz/protocol_seeds.h"
#include "store/open_store.h"

namespace coffer {
namespace {

namespace fs = std::filesystem;

// Chunks kept as seeds: enough to hold a compressed one and a stored one.
constexpr size_t kMaxChunkSeeds = 6;

class Seeds {
 public:
  explicit Seeds(fs::path dir) : dir_(std::move(dir)) {}
  void Write(const std::string& target, const std::string& name,
             std::initializer_list<ByteView> parts) {
    fs::create_directories(dir_ / target);
    std::ofstream out(dir_ / target / name, std::ios::binary | std::ios::trunc);
    for (ByteView p : parts)
      out.write(reinterpret_cast<const char*>(p.data()), std::streamsize(p.size()));
    if (!out) Die("writing " + (dir_ / target / name).string());
  }
  [[noreturn]] static void Die(const std::string& what) {
    std::cerr << "fuzz_seed_dump: " << what << "\n";
    std::exit(1);
  }

 private:
  fs::path dir_;
};

Bytes Get(ObjectStore& store, const std::string& key) {
  auto bytes = GetAll(store, key);
  if (!bytes) Seeds::Die(key + ": " + bytes.error().message());
  return *bytes;
}

Bytes ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int Run(const std::string& target_dir, const fs::path& cache_dir, const fs::path& corpus) {
  const char* pass = std::getenv("COFFER_PASSPHRASE");
  if (pass == nullptr) Seeds::Die("COFFER_PASSPHRASE is not set");
  auto store = OpenStore(target_dir, {});
  if (!store) Seeds::Die(store.error().message());
  auto repo = Repository::Open(std::move(*store), pass);
  if (!repo) Seeds::Die(repo.error().message());
  ObjectStore& s = (*repo)->store();
  const TargetKeys& keys = (*repo)->keys();
  const ByteView tk(keys.target_key.data(), kKeyLen);
  const Uuid& target_id = (*repo)->config().target_id;
  Seeds seeds(corpus);

  seeds.Write("config_object", "real-config", {tk, Get(s, "config")});
  seeds.Write("gc_generation", "real-gc", {Get(s, std::string(kGcKey))});

  std::vector<ObjectInfo> objects;
  auto listed = s.List("", [&](const ObjectInfo& info) -> Status {
    objects.push_back(info);
    return {};
  });
  if (!listed) Seeds::Die(listed.error().message());
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.size < b.size; });
  size_t chunks = 0, manifests = 0, slots = 0;
  for (const ObjectInfo& o : objects) {
    if (auto id = ParseChunkKey(o.key); id && chunks < kMaxChunkSeeds) {
      seeds.Write("chunk_object", "real-chunk-" + std::to_string(chunks++),
                  {tk, ByteView(*id), Get(s, o.key)});
    } else if (o.key.starts_with(kManifestPrefix)) {
      auto backup_id = Uuid::Parse(std::string_view(o.key).substr(kManifestPrefix.size()));
      if (!backup_id) continue;
      const Bytes object = Get(s, o.key);
      const std::string n = std::to_string(manifests++);
      seeds.Write("manifest", "real-manifest-" + n, {tk, backup_id->bytes, object});
      auto parts = fuzz::OpenManifestParts(keys, *backup_id, object);
      auto m = OpenManifest(keys, *backup_id, object);
      if (!parts || !m) Seeds::Die(o.key + " does not open");
      Buffer list;
      if (!Decompress(parts->chunk_list, m->entries.size() * 37, &list)) {
        Seeds::Die(o.key + ": chunk list does not decompress");
      }
      uint8_t len[4];
      PutLe32(len, uint32_t(parts->summary.size()));
      seeds.Write("manifest_parts", "real-manifest-" + n,
                  {ByteView(len, 4), parts->summary, list.view()});
    } else if (o.key.starts_with(kKeySlotPrefix)) {
      auto slot_id = Uuid::Parse(std::string_view(o.key).substr(kKeySlotPrefix.size()));
      if (!slot_id) continue;
      seeds.Write("key_slot", "real-key-slot-" + std::to_string(slots++),
                  {slot_id->bytes, Get(s, o.key)});
    }
  }
  if (chunks == 0 || manifests == 0 || slots == 0) Seeds::Die("the target holds no backup");

  const fs::path dir = cache_dir / target_id.ToString();
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const Bytes file = ReadFile(entry.path());
    if (name.starts_with("known-chunks-") && !name.contains(".tmp")) {
      uint8_t gen[8];
      PutLe64(gen, GetLe64(file.data() + 32));  // the generation it was written at
      seeds.Write("known_chunks_cache", "real-known-chunks", {target_id.bytes, gen, file});
    } else if (name == "summaries") {
      seeds.Write("summary_cache", "real-summaries", {target_id.bytes, file});
    }
  }
  for (const auto& [name, text] : fuzz::ProtocolSeeds()) {
    seeds.Write("agent_protocol", "made-" + name, {AsBytes(text)});
  }
  std::cout << "seeds: " << chunks << " chunks, " << manifests << " manifests, " << slots
            << " key slots\n";
  return 0;
}

}  // namespace
}  // namespace coffer

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: COFFER_PASSPHRASE=… fuzz_seed_dump TARGET_DIR CACHE_DIR CORPUS_DIR\n";
    return 2;
  }
  return coffer::Run(argv[1], argv[2], argv[3]);
}
