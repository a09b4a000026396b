// Every writer of a target sees the others (DESIGN §5, issue 15): backups
// and GCs started from the CLI and from the service race on one target, on
// a directory and on moto S3, through real processes; an agent stopped past
// the silence timeout cannot commit after a GC swept what it skipped; two
// CLI processes on two hosts share a target.
//
// What each round asserts: `coffer check --read-data` is clean; a backup
// that completed restores bit for bit; one that did not says why.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/open_store.h"
#include "tests/manager_fixture.h"

namespace coffer::testing {
namespace {

constexpr const char* kPassphrase = "correct horse battery";  // manager_fixture.cc's

class GcRaceTest : public ManagerTest {
 protected:
  // One agent (its lock promises 3 s of silence at most, so a stopped one
  // goes stale quickly), a manager that fails a backup silent for 5 s.
  void StartServices() {
    agent1_ = std::make_unique<AgentProc>(dir_ / "agent1", dir_ / "root1",
                                          Env{{"COFFER_LOCK_STALE_AFTER", "3s"}});
    manager_ = std::make_unique<ManagerProc>(dir_ / "manager", "", Env{}, /*silence_seconds=*/5);
    agent_ = RegisterAgent(*agent1_, "agent-1");
  }
  // The target, created through the manager, and how the CLI reaches it.
  void UseTarget(bool s3) {
    target_ = s3 ? CreateS3Target("t", NewBucket()) : CreateLocalTarget("t");
    const std::string address = target_["address"];
    cli_target_ = {"--target", address};
    cli_env_ = {{"COFFER_PASSPHRASE", kPassphrase}};
    if (s3) {
      cli_target_.insert(cli_target_.end(),
                         {"--s3-endpoint", Moto()->endpoint(), "--s3-region", "us-east-1"});
      cli_env_["AWS_ACCESS_KEY_ID"] = MotoKeys().access_key_id;
      cli_env_["AWS_SECRET_ACCESS_KEY"] = MotoKeys().secret_access_key;
    }
    StoreOptions o;
    if (s3) {
      o.s3_endpoint = Moto()->endpoint();
      o.s3_region = "us-east-1";
      o.s3_credentials = AwsCredentials{MotoKeys().access_key_id, MotoKeys().secret_access_key, ""};
    }
    auto store = OpenStore(address, o);
    ASSERT_TRUE(store.has_value()) << store.error().message();
    store_ = std::move(*store);
  }
  // Waits until someone holds a lock in the target (a backup has started
  // for real); false if none shows within the time.
  bool WaitForALock(double timeout_s = 60) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      bool any = false;
      auto st = store_->List("locks/", [&](const ObjectInfo&) -> Status {
        any = true;
        return {};
      });
      if (st && any) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }
  // The pause before the racing GC starts, once the backup holds its lock:
  // spread over the backup's run, round by round.
  static std::chrono::milliseconds Pause(int round) {
    return std::chrono::milliseconds((round * 37) % 200);
  }
  std::string TargetId() const { return target_["id"]; }

  RunResult Coffer(std::vector<std::string> args, const Env& extra = {}) {
    std::vector<std::string> argv = {CofferBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), cli_target_.begin(), cli_target_.end());
    Env env = cli_env_;
    for (const auto& [k, v] : extra) env[k] = v;
    return RunProcess(argv, env);
  }
  void ExpectCheckClean(const std::string& when) {
    RunResult check = Coffer({"check", "--read-data", "--lock-wait", "60s"});
    EXPECT_EQ(check.exit_code, 0) << when << ": " << check.out << check.err;
  }
  void ExpectRestores(const std::string& backup_id, const std::string& original,
                      const std::string& when) {
    const std::string out = dir_ / ("restored-" + backup_id);
    RunResult r = Coffer({"restore", backup_id, out, "--lock-wait", "60s"});
    ASSERT_EQ(r.exit_code, 0) << when << ": " << r.err;
    EXPECT_EQ(CompareFiles(original, out), "") << when;
    std::filesystem::remove(out);
  }
  // A backup from the CLI that is forgotten at once: its chunks stay in the
  // target, named by no manifest, as an old forgotten backup's do.
  void LeaveOrphans(const std::string& image) {
    RunResult b = Coffer({"backup", "--name", "orphan-" + image, image});
    ASSERT_EQ(b.exit_code, 0) << b.err;
    std::string id = b.out.substr(0, b.out.find('\n'));
    RunResult f = Coffer({"forget", id});
    ASSERT_EQ(f.exit_code, 0) << f.err;
  }
  json NewVolume(const std::string& name, const std::string& image) {
    json v = CreateVolume(name, agent_["id"], image);
    Schedule(v["id"], TargetId());
    return v;
  }
  json WaitGcRun(const std::string& run_id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      Reply r = manager_->Get("/v1/backup_targets/" + TargetId() + "/gc_runs");
      EXPECT_EQ(r.status, 200) << r.raw;
      for (const json& run : r.body["gc_runs"]) {
        if (run["id"] == run_id && run["status"] != "running") return run;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "GC run " << run_id << " did not end";
    return nullptr;
  }

  // Race 1: a backup through POST /v1/volumes/{id}/backup of data whose
  // chunks an old forgotten backup left, while `coffer gc --grace 0` runs,
  // started at a different moment each round.
  void ServiceBackupsRaceCliGc(int rounds) {
    int completed = 0, failed = 0, gc_ran = 0, gc_refused = 0, gc_waited = 0;
    for (int i = 0; i < rounds; ++i) {
      SCOPED_TRACE("round " + std::to_string(i));
      const std::string image = agent1_->root() + "/r1-" + std::to_string(i) + ".img";
      MakeImage(image, "24M", 100 + i);
      LeaveOrphans(image);
      json volume = NewVolume("r1-" + std::to_string(i), image);
      // Odd rounds wait for the backup's lock, even ones give up at once.
      // Every third round starts the GC first and the backup while it runs
      // (the agent waits for it); the others start the GC once the backup
      // holds its lock, a little later each round.
      const bool gc_first = i % 3 == 2;
      RunResult gc;
      std::thread gc_thread;
      auto run_gc = [&] {
        gc = Coffer({"gc", "--grace", "0", "--lock-wait", i % 2 ? "60s" : "0"});
      };
      if (gc_first) gc_thread = std::thread(run_gc);
      Reply started = manager_->Post("/v1/volumes/" + volume["id"].get<std::string>() + "/backup");
      ASSERT_EQ(started.status, 202) << started.raw;
      if (gc_first) {
        gc_thread.join();
      } else {
        ASSERT_TRUE(WaitForALock()) << "the backup took no lock";
        std::this_thread::sleep_for(Pause(i));
        run_gc();
      }
      if (gc.exit_code == 0) {
        ++gc_ran;
        if (gc.err.find("waiting for") != std::string::npos) ++gc_waited;
      } else {
        ++gc_refused;
        EXPECT_EQ(gc.exit_code, 1) << gc.err;
        EXPECT_NE(gc.err.find("the target is locked"), std::string::npos) << gc.err;
      }
      json done = manager_->WaitBackup(started.body["id"], 120);
      if (done["status"] == "completed") {
        ++completed;
        ExpectCheckClean("after round " + std::to_string(i));
        ExpectRestores(done["id"], image, "round " + std::to_string(i));
      } else {
        ++failed;
        EXPECT_EQ(done["status"], "failed") << done.dump();
        EXPECT_TRUE(done["error"].is_string() && !done["error"].get<std::string>().empty());
        ExpectCheckClean("after round " + std::to_string(i));
      }
    }
    std::fprintf(stderr,
                 "service backup vs CLI gc: %d rounds, %d backups completed, %d failed; gc ran "
                 "%d times (%d after waiting for the backup), refused %d times\n",
                 rounds, completed, failed, gc_ran, gc_waited, gc_refused);
    EXPECT_EQ(completed + failed, rounds);
  }

  // Race 2: `coffer backup` of data whose chunks an old forgotten backup
  // left, while POST /v1/backup_targets/{id}/gc (grace 0) runs.
  void CliBackupsRaceServiceGc(int rounds) {
    int completed = 0, refused = 0, gc_completed = 0, gc_failed = 0, backup_waited = 0;
    for (int i = 0; i < rounds; ++i) {
      SCOPED_TRACE("round " + std::to_string(i));
      // The image starts with the orphans' data and goes on with new data,
      // which is stored at 16 MiB/s: the backup skips the orphans first and
      // then runs on for a second or two, so the GC meets it mid-way.
      const std::string old_part = dir_ / ("r2-" + std::to_string(i) + ".old");
      const std::string new_part = dir_ / ("r2-" + std::to_string(i) + ".new");
      const std::string image = dir_ / ("r2-" + std::to_string(i) + ".img");
      MakeImage(old_part, "16M", 200 + i);
      MakeImage(new_part, "24M", 400 + i);
      LeaveOrphans(old_part);
      WriteFile(image, ReadFile(old_part) + ReadFile(new_part));
      // As in race 1: every third round the GC goes first.
      const bool gc_first = i % 3 == 2;
      RunResult backup;
      Reply gc;
      if (gc_first) gc = manager_->Post("/v1/backup_targets/" + TargetId() + "/gc");
      std::thread cli([&] {
        backup = Coffer({"backup", "--name", "r2-" + std::to_string(i), "--limit-upload", "16M",
                         "--lock-wait", i % 2 ? "60s" : "0", image});
      });
      if (!gc_first) {
        const bool locked = WaitForALock(30);
        std::this_thread::sleep_for(Pause(i));
        gc = manager_->Post("/v1/backup_targets/" + TargetId() + "/gc");
        EXPECT_TRUE(locked) << "the backup took no lock";
      }
      cli.join();
      if (backup.exit_code == 0 && backup.err.find("waiting for") != std::string::npos) {
        ++backup_waited;
      }
      ASSERT_EQ(gc.status, 202) << gc.raw;
      json run = WaitGcRun(gc.body["id"]);
      if (run["status"] == "completed") {
        ++gc_completed;
      } else {
        ++gc_failed;
        EXPECT_NE(run["error"].get<std::string>().find("locked"), std::string::npos) << run.dump();
      }
      if (backup.exit_code == 0) {
        ++completed;
        ExpectCheckClean("after round " + std::to_string(i));
        ExpectRestores(backup.out.substr(0, backup.out.find('\n')), image,
                       "round " + std::to_string(i));
      } else {
        ++refused;
        EXPECT_EQ(backup.exit_code, 1) << backup.err;
        EXPECT_NE(backup.err.find("the target is locked"), std::string::npos) << backup.err;
        ExpectCheckClean("after round " + std::to_string(i));
      }
    }
    std::fprintf(stderr,
                 "CLI backup vs service gc: %d rounds, %d backups completed (%d after waiting "
                 "for the GC), %d refused; gc completed %d times, failed %d times\n",
                 rounds, completed, backup_waited, refused, gc_completed, gc_failed);
  }

  // An agent stopped (SIGSTOP) in the middle of a backup whose chunks an old
  // forgotten backup left, past the silence timeout: the reconciler fails
  // its row, `coffer gc --grace 0` breaks its lock (silent past the 3 s it
  // promised) and sweeps; SIGCONT: the job must not commit.
  void StoppedAgentCannotCommitAfterASweep() {
    json job;
    std::string backup_id, image;
    json volume;
    for (int attempt = 0; attempt < 4 && backup_id.empty(); ++attempt) {
      image = agent1_->root() + "/stop-" + std::to_string(attempt) + ".img";
      MakeImage(image, "384M", 300 + attempt);
      LeaveOrphans(image);
      volume = NewVolume("stop-" + std::to_string(attempt), image);
      Reply started = manager_->Post("/v1/volumes/" + volume["id"].get<std::string>() + "/backup");
      ASSERT_EQ(started.status, 202) << started.raw;
      // Stop it once it has read a quarter of the volume, well before its
      // commit gate.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      bool stopped = false;
      while (!stopped && std::chrono::steady_clock::now() < deadline) {
        Reply jobs = HttpCall(agent1_->port(), "GET", "/v1/storage/jobs", "", agent1_->token());
        for (const json& j : jobs.body["jobs"]) {
          if (j["kind"] != "backup" || j["volume"]["id"] != volume["id"]) continue;
          if (j["state"] != "running") {
            deadline = std::chrono::steady_clock::now();  // too late: try again
            break;
          }
          const uint64_t done = j["progress"]["done_bytes"], total = j["progress"]["total_bytes"];
          // Not at its end: the commit gate is still far off.
          if (total > 0 && done * 4 >= total && done * 4 <= total * 3) {
            agent1_->Signal(SIGSTOP);
            stopped = true;
            job = j;
            break;
          }
        }
        if (!stopped) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (!stopped) {
        manager_->WaitBackup(started.body["id"], 120);
        continue;
      }
      backup_id = started.body["id"];
    }
    ASSERT_FALSE(backup_id.empty()) << "no backup could be stopped in its middle";
    const auto t0 = std::chrono::steady_clock::now();
    auto phase = [&](const char* what) {
      std::fprintf(stderr, "stopped agent: %s after %.1f s\n", what,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };

    json failed = manager_->WaitBackup(backup_id, 60);
    phase("row failed");
    EXPECT_EQ(failed["status"], "failed") << failed.dump();
    EXPECT_NE(failed["error"].get<std::string>().find("has not answered"), std::string::npos)
        << failed.dump();
    std::this_thread::sleep_for(std::chrono::seconds(4));  // past the lock's promise
    RunResult gc = Coffer({"gc", "--grace", "0", "--json"});
    ASSERT_EQ(gc.exit_code, 0) << gc.err;
    EXPECT_GT(json::parse(gc.out)["chunks_deleted"].get<uint64_t>(), 0u) << gc.out;

    phase("swept");
    agent1_->Signal(SIGCONT);
    // The job comes back, asks to commit, and is abandoned.
    json final_job;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      Reply r = HttpCall(agent1_->port(), "GET", "/v1/storage/jobs/" + job["id"].get<std::string>(),
                         "", agent1_->token());
      if (r.status == 200 && r.body["state"] != "running") {
        final_job = r.body;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_FALSE(final_job.is_null()) << "the stopped job never ended";
    phase("job ended");
    EXPECT_EQ(final_job["state"], "failed") << final_job.dump(2);
    EXPECT_NE(final_job["error"]["message"].get<std::string>().find("fenced"), std::string::npos)
        << final_job.dump(2);
    // No manifest of it, and nothing missing.
    RunResult ls = Coffer({"ls", "--json"});
    ASSERT_EQ(ls.exit_code, 0) << ls.err;
    EXPECT_EQ(ls.out.find(backup_id), std::string::npos) << ls.out;
    ExpectCheckClean("after the stopped job came back");
    EXPECT_EQ(manager_->Get("/v1/backups/" + backup_id).body["status"], "failed");
    // The next backup of the volume completes and restores.
    json next = BackUp(volume["id"]);
    ASSERT_EQ(next["status"], "completed") << next.dump();
    ExpectCheckClean("after the next backup");
    ExpectRestores(next["id"], image, "the next backup");
    phase("next backup restored");
    std::filesystem::remove(image);
  }

  json agent_, target_;
  std::unique_ptr<ObjectStore> store_;  // the target, for looking at its locks
  std::vector<std::string> cli_target_;
  Env cli_env_;
};

TEST_F(GcRaceTest, ServiceBackupsRaceCliGcOnADirectory) {
  StartServices();
  UseTarget(false);
  ServiceBackupsRaceCliGc(10);
}

TEST_F(GcRaceTest, ServiceBackupsRaceCliGcOnS3) {
  StartServices();
  UseTarget(true);
  ServiceBackupsRaceCliGc(10);
}

TEST_F(GcRaceTest, CliBackupsRaceServiceGcOnADirectory) {
  StartServices();
  UseTarget(false);
  CliBackupsRaceServiceGc(10);
}

TEST_F(GcRaceTest, CliBackupsRaceServiceGcOnS3) {
  StartServices();
  UseTarget(true);
  CliBackupsRaceServiceGc(10);
}

TEST_F(GcRaceTest, AStoppedAgentCannotCommitAfterASweepOnADirectory) {
  StartServices();
  UseTarget(false);
  StoppedAgentCannotCommitAfterASweep();
}

TEST_F(GcRaceTest, AStoppedAgentCannotCommitAfterASweepOnS3) {
  StartServices();
  UseTarget(true);
  StoppedAgentCannotCommitAfterASweep();
}

// Two CLI processes on two hosts (two host ids) share one target: neither
// can prove the other's process gone, so only the silence the lock promised
// breaks it; on its own host a dead process's lock is broken at once.
TEST_F(GcRaceTest, TwoHostsShareATargetAndBreakOnlyWhatTheyCanProve) {
  const std::string target = dir_ / "shared-target";
  cli_target_ = {"--target", target};
  cli_env_ = {{"COFFER_PASSPHRASE", kPassphrase}};
  const Env host_a = {{"COFFER_HOST_ID", "host-a"}, {"COFFER_LOCK_STALE_AFTER", "3s"}};
  const Env host_b = {{"COFFER_HOST_ID", "host-b"}};
  ASSERT_EQ(Coffer({"init"}).exit_code, 0);

  // Both hosts back up at once; both complete and restore.
  const std::string a_img = dir_ / "a.img", b_img = dir_ / "b.img";
  MakeImage(a_img, "48M", 1);
  MakeImage(b_img, "48M", 2);
  RunResult a, b;
  std::thread ta([&] { a = Coffer({"backup", "--name", "a", a_img}, host_a); });
  std::thread tb([&] { b = Coffer({"backup", "--name", "b", b_img}, host_b); });
  ta.join();
  tb.join();
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ExpectRestores(a.out.substr(0, a.out.find('\n')), a_img, "host a");
  ExpectRestores(b.out.substr(0, b.out.find('\n')), b_img, "host b");

  // A backup on host a is killed while it holds its lock.
  const std::string big = dir_ / "big.img";
  MakeImage(big, "512M", 3);
  auto kill_mid_backup = [&](const Env& host) {
    std::vector<std::string> argv = {CofferBin(), "backup", "--name", "big", big};
    argv.insert(argv.end(), cli_target_.begin(), cli_target_.end());
    Env env = cli_env_;
    for (const auto& [k, v] : host) env[k] = v;
    pid_t pid = Spawn(argv, env);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto locks = [&] {
      size_t n = 0;
      if (std::filesystem::exists(target + "/locks")) {
        for (const auto& e : std::filesystem::directory_iterator(target + "/locks")) {
          n += e.path().filename().string().starts_with(".") ? 0 : 1;
        }
      }
      return n;
    };
    while (locks() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && locks() == 1;
  };
  ASSERT_TRUE(kill_mid_backup(host_a)) << "the backup ended before it could be killed";
  // Host b cannot prove host a's process gone: refused, naming the lock.
  RunResult refused = Coffer({"gc", "--grace", "0"}, host_b);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("a shared lock (backup)"), std::string::npos) << refused.err;
  // What the operator sees: one live lock, host a's backup.
  RunResult listed = Coffer({"unlock", "--list", "--json"}, host_b);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json locks = json::parse(listed.out);
  ASSERT_EQ(locks.size(), 1u) << listed.out;
  EXPECT_EQ(locks[0]["purpose"], "backup");
  EXPECT_EQ(locks[0]["host_id"], "host-a");
  EXPECT_EQ(locks[0]["stale_after"], 3);
  // Until the 3 s the lock promised have passed: then it is broken.
  RunResult waited = Coffer({"gc", "--grace", "0", "--lock-wait", "30s"}, host_b);
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_NE(waited.err.find("waiting for a shared lock (backup)"), std::string::npos) << waited.err;

  // On its own host a dead process's lock (30 minutes promised) goes at once.
  ASSERT_TRUE(kill_mid_backup({{"COFFER_HOST_ID", "host-a"}}));
  RunResult same_host = Coffer({"gc", "--grace", "0"}, {{"COFFER_HOST_ID", "host-a"}});
  EXPECT_EQ(same_host.exit_code, 0) << same_host.err;
  RunResult other_host = Coffer({"unlock", "--json"}, host_b);
  EXPECT_EQ(json::parse(other_host.out)["removed"], 0);  // nothing was left
  ExpectCheckClean("after the two hosts");
  ExpectRestores(a.out.substr(0, a.out.find('\n')), a_img, "host a, at the end");
}

}  // namespace
}  // namespace coffer::testing
