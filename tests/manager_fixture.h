// The fixture of the manager's end-to-end tests: a manager and two agents
// (each with its own volume root) started as real processes, moto S3
// servers, without and with authentication (shared by the test binary) and, for the
// PostgreSQL runs, a throwaway PostgreSQL server (shared too).
//
// Thread safety: for one test thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/s3/testing/moto_server.h"
#include "tests/manager_harness.h"

namespace coffer::testing {

class ManagerTest : public ::testing::Test {
 protected:
  // The binary's moto servers, without and with authentication, and their
  // key pairs (without: any pair works; its secret is a canary the tests
  // look for).
  static testing_tools::MotoServer* Moto(bool auth = false);
  static const testing_tools::MotoServer::Keys& MotoKeys(bool auth = false);
  // A fresh database on the binary's PostgreSQL server; "" (and a recorded
  // failure) when it cannot start.
  static std::string NewPostgresDatabase();

  // Two agents (roots dir/root1 and dir/root2) and a manager on
  // `database_url` ("" : SQLite in its data directory).
  void StartCluster(const std::string& database_url = "", const Env& manager_env = {});

  std::string NewBucket(bool auth = false);
  json RegisterAgent(const AgentProc& agent, const std::string& name);
  json CreateVolume(const std::string& name, const std::string& agent_id,
                    const std::string& locator, const json& extra = json::object());
  json CreateLocalTarget(const std::string& name);
  // At the bucket's root with `auth` (see manager_fixture.cc), else under
  // the prefix "coffer".
  json CreateS3Target(const std::string& name, const std::string& bucket, bool auth = false);
  void Schedule(const std::string& volume_id, const std::string& target_id, int retain = 0);
  // Starts a backup and waits for it: the final backup JSON.
  json BackUp(const std::string& volume_id);
  // Restores into a new file volume on `agent_id` at `locator`; waits; the
  // final restore JSON.
  json Restore(const std::string& backup_id, const std::string& name, const std::string& agent_id,
               const std::string& locator);
  void MakeImage(const std::string& path, const std::string& size, int seed);
  void Mutate(const std::string& path, const std::string& percent, int seed);

  TempDir dir_;
  std::unique_ptr<AgentProc> agent1_, agent2_;
  std::unique_ptr<ManagerProc> manager_;
};

}  // namespace coffer::testing
