// The agent protocol's messages as this build writes them (agent_api::ToJson
// of filled-in values): seeds for agent_protocol_fuzz, written by
// fuzz_seed_dump so that they follow the protocol when it changes.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace coffer::fuzz {

// (file name, JSON text) pairs.
std::vector<std::pair<std::string, std::string>> ProtocolSeeds();

}  // namespace coffer::fuzz
