// Helpers for end-to-end tests: run the real `coffer` binary (and the image
// tool) as a child process with a chosen environment, capture its output and
// exit code, make and compare files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace coffer::testing {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out, err;
};

using Env = std::map<std::string, std::string>;

// Runs argv[0] with the arguments, this process's environment plus `env`
// (an empty value removes a variable), stdin from /dev/null. XDG_CACHE_HOME
// is a directory private to the test process unless `env` sets it.
RunResult RunProcess(const std::vector<std::string>& argv, const Env& env = {});

// Starts a child without waiting; its output goes to /dev/null.
pid_t Spawn(const std::vector<std::string>& argv, const Env& env = {});

std::string CofferBin();
std::string MkimageBin();

// build/coffer with `args`; COFFER_PASSPHRASE is "pw" unless `env` says.
RunResult RunCoffer(std::vector<std::string> args, Env env = {});
// coffer-mkimage create: an image of `size` from `seed` at `path` (returned).
std::string MakeImageFile(const std::string& path, const std::string& size, int seed);

// A fresh directory for one test, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// "" when the files are equal, else where they first differ.
std::string CompareFiles(const std::string& a, const std::string& b);
void WriteFile(const std::string& path, const std::string& data);
std::string ReadFile(const std::string& path);
// The port a process started with `--listen 127.0.0.1:0` reports in its log
// ("listening on http://127.0.0.1:PORT"), looking only past byte `from`.
// Letting the process pick its own port leaves no window in which another
// process could take one picked for it. 0 if none shows within the time.
int ListeningPort(const std::string& log, size_t from, double timeout_s);
// The file's size, 0 if it does not exist.
size_t FileSizeOrZero(const std::string& path);
// Paths of the chunk objects in a local target.
std::vector<std::string> ChunkFiles(const std::string& target);
// Bytes the file occupies on disk (st_blocks * 512).
uint64_t AllocatedBytes(const std::string& path);

}  // namespace coffer::testing
