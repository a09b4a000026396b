// The services' TOML configuration files (service/config_file.h): the
// agent's and the manager's readers (agent/config.h, manager/common/
// config.h), keys and types and ranges, over toml++.
//
// Input: the file; both readers read it.
#include "agent/config.h"
#include "fuzz/fuzz_util.h"
#include "manager/common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  static fuzz::MemFile file;
  const std::string& path = file.Write(ByteView(data, size));
  agent::AgentConfig agent_config;
  (void)agent::LoadConfigFile(path, &agent_config);
  manager::ManagerConfig manager_config;
  (void)manager::LoadConfigFile(path, &manager_config);
  return 0;
}
