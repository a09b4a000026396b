// The conformance tests: the fixture, and CRUD of agents, targets and
// volumes with their names and references. The other parts:
//   meta_store_conformance_secrets.cc  secrets at rest, API tokens, migrations
//   meta_store_conformance_backups.cc  backups, fencing, retention, GC runs
//   meta_store_conformance_leases.cc   leases, leadership, concurrency
#include "meta/meta_store_conformance.h"

#include "base/uuid.h"

namespace coffer::meta {

void MetaStoreConformanceTest::SetUp() {
  auto url = GetParam().new_database();
  ASSERT_TRUE(url.has_value()) << url.error().message();
  url_ = *url;
  uint8_t k[kKeyLen];
  for (size_t i = 0; i < kKeyLen; ++i) k[i] = uint8_t(i * 7 + 1);
  master_key_ = SecretKey(k);
  clock_ = std::make_shared<std::atomic<int64_t>>(kStartUs);
  store_ = Open();
  ASSERT_NE(store_, nullptr);
}

MetaStoreOptions MetaStoreConformanceTest::Options() const {
  MetaStoreOptions o;
  o.master_key = master_key_;
  o.clock_us = [c = clock_] { return c->fetch_add(1000) + 1000; };
  return o;
}

std::unique_ptr<MetaStore> MetaStoreConformanceTest::Open() {
  auto s = OpenMetaStore(url_, Options());
  if (!s) {
    ADD_FAILURE() << "OpenMetaStore(" << url_ << "): " << s.error().message();
    return nullptr;
  }
  return std::move(*s);
}

std::unique_ptr<sql::SqlDb> MetaStoreConformanceTest::Raw() {
  auto db = sql::OpenSqlDb(url_, Options());
  if (!db) {
    ADD_FAILURE() << "OpenSqlDb(" << url_ << "): " << db.error().message();
    return nullptr;
  }
  return std::move(*db);
}

Agent MetaStoreConformanceTest::MakeAgent(std::string_view name, std::string_view token) {
  auto a = store_->CreateAgent({.name = std::string(name),
                                .url = "http://127.0.0.1:8081",
                                .token = SecretString(std::string(token))});
  if (!a) ADD_FAILURE() << "CreateAgent: " << a.error().message();
  return a.value_or(Agent{});
}

BackupTarget MetaStoreConformanceTest::MakeTarget(std::string_view name) {
  NewBackupTarget t;
  t.name = std::string(name);
  t.address = "s3://bucket/" + std::string(name);
  t.s3_endpoint = "http://127.0.0.1:9000";
  t.s3_region = "us-east-1";
  t.s3_access_key_id = "AKIDEXAMPLE";
  t.s3_secret_access_key = SecretString("s3-secret-" + std::string(name));
  t.target_key = SecretKey::Random();
  auto r = store_->CreateBackupTarget(t);
  if (!r) ADD_FAILURE() << "CreateBackupTarget: " << r.error().message();
  return r.value_or(BackupTarget{});
}

Volume MetaStoreConformanceTest::MakeVolume(std::string_view name, const Agent& agent) {
  Volume v;
  v.name = std::string(name);
  v.agent_id = agent.id;
  v.locator = "/srv/volumes/" + std::string(name) + ".img";
  v.size_bytes = 1 << 30;
  auto r = store_->CreateVolume(v);
  if (!r) ADD_FAILURE() << "CreateVolume: " << r.error().message();
  return r.value_or(Volume{});
}

Backup MetaStoreConformanceTest::MakeCompletedBackup(const Volume& v, const BackupTarget& t,
                                                     int64_t logical_bytes) {
  auto b =
      store_->CreateBackup({.id = Uuid::Random().ToString(), .volume_id = v.id, .target_id = t.id});
  if (!b) {
    ADD_FAILURE() << "CreateBackup: " << b.error().message();
    return Backup{};
  }
  auto done = store_->CompleteBackup(b->id, b->attempt, {.logical_bytes = logical_bytes}, 10);
  if (!done) ADD_FAILURE() << "CompleteBackup: " << done.error().message();
  return done.value_or(Backup{});
}

namespace {

// ---- agents -----------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, AgentCrud) {
  Agent a = MakeAgent("host-a", "token-a");
  EXPECT_TRUE(Uuid::Parse(a.id).has_value());
  EXPECT_EQ(a.name, "host-a");
  EXPECT_GT(a.created_at_us, kStartUs);

  auto got = store_->GetAgent(a.id);
  META_ASSERT_OK(got);
  EXPECT_EQ(got->name, "host-a");
  EXPECT_EQ(got->url, "http://127.0.0.1:8081");
  EXPECT_EQ(got->created_at_us, a.created_at_us);
  auto token = store_->GetAgentToken(a.id);
  META_ASSERT_OK(token);
  EXPECT_EQ(token->Reveal(), "token-a");

  MakeAgent("host-b");
  auto list = store_->ListAgents();
  META_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "host-a");
  EXPECT_EQ((*list)[1].name, "host-b");

  AgentPatch patch;
  patch.name = "host-a2";
  patch.url = "https://10.0.0.2:8081";
  patch.token = SecretString("token-a2");
  auto upd = store_->UpdateAgent(a.id, patch);
  META_ASSERT_OK(upd);
  EXPECT_EQ(upd->name, "host-a2");
  EXPECT_EQ(store_->GetAgent(a.id)->url, "https://10.0.0.2:8081");
  EXPECT_EQ(store_->GetAgentToken(a.id)->Reveal(), "token-a2");

  META_ASSERT_OK(store_->DeleteAgent(a.id));
  META_EXPECT_ERROR(store_->GetAgent(a.id), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->DeleteAgent(a.id), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->GetAgentToken(a.id), ErrorCode::kNotFound);
}

TEST_P(MetaStoreConformanceTest, NamesAreUnique) {
  Agent a = MakeAgent("host-a");
  Agent b = MakeAgent("host-b");
  META_EXPECT_ERROR(
      store_->CreateAgent({.name = "host-a", .url = "http://x", .token = SecretString("t")}),
      ErrorCode::kAlreadyExists);
  META_EXPECT_ERROR(
      store_->CreateAgent(
          {.id = a.id, .name = "host-c", .url = "http://x", .token = SecretString("t")}),
      ErrorCode::kAlreadyExists);
  AgentPatch rename;
  rename.name = "host-a";
  META_EXPECT_ERROR(store_->UpdateAgent(b.id, rename), ErrorCode::kAlreadyExists);

  MakeTarget("t1");
  BackupTarget t2 = MakeTarget("t2");
  NewBackupTarget dup;
  dup.name = "t1";
  dup.address = "/srv/backups";
  META_EXPECT_ERROR(store_->CreateBackupTarget(dup), ErrorCode::kAlreadyExists);
  BackupTargetPatch trename;
  trename.name = "t1";
  META_EXPECT_ERROR(store_->UpdateBackupTarget(t2.id, trename), ErrorCode::kAlreadyExists);

  MakeVolume("vol1", a);
  Volume v2 = MakeVolume("vol2", a);
  Volume dupv;
  dupv.name = "vol1";
  dupv.agent_id = a.id;
  dupv.locator = "/x";
  META_EXPECT_ERROR(store_->CreateVolume(dupv), ErrorCode::kAlreadyExists);
  VolumePatch vrename;
  vrename.name = "vol1";
  META_EXPECT_ERROR(store_->UpdateVolume(v2.id, vrename), ErrorCode::kAlreadyExists);
}

TEST_P(MetaStoreConformanceTest, BadIdsAndFieldsAreRefused) {
  META_EXPECT_ERROR(store_->GetAgent("not-a-uuid"), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->GetVolume(Uuid::Random().ToString()), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->GetBackup("'; DROP TABLE backup; --"), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->CreateAgent(
                        {.id = "bad", .name = "a", .url = "http://x", .token = SecretString("t")}),
                    ErrorCode::kInvalidArgument);
  META_EXPECT_ERROR(
      store_->CreateAgent({.name = "", .url = "http://x", .token = SecretString("t")}),
      ErrorCode::kInvalidArgument);
  META_EXPECT_ERROR(store_->CreateAgent({.name = "a", .url = "", .token = SecretString("t")}),
                    ErrorCode::kInvalidArgument);
  META_EXPECT_ERROR(store_->CreateAgent({.name = "a", .url = "http://x"}),
                    ErrorCode::kInvalidArgument);

  NewBackupTarget t;
  t.name = "t";
  t.address = "/srv/b";
  t.gc_hour = 24;
  META_EXPECT_ERROR(store_->CreateBackupTarget(t), ErrorCode::kInvalidArgument);
  t.gc_hour = 3;
  t.gc_grace_seconds = -1;
  META_EXPECT_ERROR(store_->CreateBackupTarget(t), ErrorCode::kInvalidArgument);

  Agent a = MakeAgent("a");
  Volume v;
  v.name = "v";
  v.agent_id = a.id;
  v.locator = "/x";
  v.backup_retain_count = -1;
  META_EXPECT_ERROR(store_->CreateVolume(v), ErrorCode::kInvalidArgument);
  v.backup_retain_count = 0;
  v.agent_id = Uuid::Random().ToString();  // no such agent
  META_EXPECT_ERROR(store_->CreateVolume(v), ErrorCode::kInvalidArgument);
  v.agent_id = a.id;
  v.backup_target_id = Uuid::Random().ToString();  // no such target
  META_EXPECT_ERROR(store_->CreateVolume(v), ErrorCode::kInvalidArgument);

  // A name that would break SQL built from strings is just a name.
  Agent odd = MakeAgent("x'); DELETE FROM agent; --");
  EXPECT_EQ(store_->GetAgent(odd.id)->name, "x'); DELETE FROM agent; --");
  EXPECT_EQ(store_->ListAgents()->size(), 2u);
}

// ---- targets ----------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, BackupTargetCrudAndPatch) {
  NewBackupTarget in;
  in.name = "offsite";
  in.address = "s3://bucket/prefix";
  in.s3_endpoint = "http://127.0.0.1:9000";
  in.s3_region = "eu-west-1";
  in.s3_access_key_id = "AKID1";
  in.s3_secret_access_key = SecretString("secret-1");
  in.target_key = SecretKey::Random();
  in.gc_hour = 4;
  in.gc_grace_seconds = 3600;
  auto t = store_->CreateBackupTarget(in);
  META_ASSERT_OK(t);
  EXPECT_TRUE(t->has_s3_secret_access_key);

  auto got = store_->GetBackupTarget(t->id);
  META_ASSERT_OK(got);
  EXPECT_EQ(got->name, "offsite");
  EXPECT_EQ(got->address, "s3://bucket/prefix");
  EXPECT_EQ(got->s3_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(got->s3_region, "eu-west-1");
  EXPECT_EQ(got->s3_access_key_id, "AKID1");
  EXPECT_TRUE(got->has_s3_secret_access_key);
  EXPECT_EQ(got->gc_hour, 4);
  EXPECT_EQ(got->gc_grace_seconds, 3600);

  auto secrets = store_->GetTargetSecrets(t->id);
  META_ASSERT_OK(secrets);
  EXPECT_EQ(secrets->s3_secret_access_key.Reveal(), "secret-1");
  EXPECT_TRUE(secrets->target_key == in.target_key);

  BackupTargetPatch p;
  p.name = "offsite-2";
  p.s3_access_key_id = "AKID2";
  p.s3_secret_access_key = SecretString("secret-2");
  p.gc_hour = 23;
  p.gc_grace_seconds = 0;
  auto upd = store_->UpdateBackupTarget(t->id, p);
  META_ASSERT_OK(upd);
  got = store_->GetBackupTarget(t->id);
  META_ASSERT_OK(got);
  EXPECT_EQ(got->name, "offsite-2");
  EXPECT_EQ(got->s3_access_key_id, "AKID2");
  EXPECT_EQ(got->gc_hour, 23);
  EXPECT_EQ(got->gc_grace_seconds, 0);
  EXPECT_EQ(got->address, "s3://bucket/prefix");
  EXPECT_GT(got->updated_at_us, got->created_at_us);
  EXPECT_EQ(store_->GetTargetSecrets(t->id)->s3_secret_access_key.Reveal(), "secret-2");
  EXPECT_TRUE(store_->GetTargetSecrets(t->id)->target_key == in.target_key);

  BackupTargetPatch bad;
  bad.gc_hour = -1;
  META_EXPECT_ERROR(store_->UpdateBackupTarget(t->id, bad), ErrorCode::kInvalidArgument);

  BackupTargetPatch clear;
  clear.s3_secret_access_key = SecretString();
  META_ASSERT_OK(store_->UpdateBackupTarget(t->id, clear));
  EXPECT_FALSE(store_->GetBackupTarget(t->id)->has_s3_secret_access_key);
  EXPECT_TRUE(store_->GetTargetSecrets(t->id)->s3_secret_access_key.empty());

  MakeTarget("another");
  EXPECT_EQ(store_->ListBackupTargets()->size(), 2u);
  META_ASSERT_OK(store_->DeleteBackupTarget(t->id, false));
  META_EXPECT_ERROR(store_->GetBackupTarget(t->id), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->GetTargetSecrets(t->id), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListBackupTargets()->size(), 1u);
}

TEST_P(MetaStoreConformanceTest, DeletingAReferencedTargetIsAConflictUnlessForced) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  META_ASSERT_OK(store_->SetVolumeSchedule(
      v.id, {.backup_target_id = t.id, .backup_cron = "0 3 * * *", .backup_retain_count = 7}));
  // Referenced by a volume's schedule only.
  META_EXPECT_ERROR(store_->DeleteBackupTarget(t.id, false), ErrorCode::kConflict);

  Backup b = MakeCompletedBackup(v, t);
  auto run = store_->CreateGcRun(t.id);
  META_ASSERT_OK(run);
  META_EXPECT_ERROR(store_->DeleteBackupTarget(t.id, false), ErrorCode::kConflict);
  EXPECT_TRUE(store_->GetBackup(b.id).has_value());

  // Not even forced while a backup of it runs.
  Volume v2 = MakeVolume("v2", a);
  auto running = store_->CreateBackup(
      {.id = Uuid::Random().ToString(), .volume_id = v2.id, .target_id = t.id});
  META_ASSERT_OK(running);
  META_EXPECT_ERROR(store_->DeleteBackupTarget(t.id, true), ErrorCode::kConflict);
  META_ASSERT_OK(store_->FailBackup(running->id, running->attempt, "agent gone"));

  META_ASSERT_OK(store_->DeleteBackupTarget(t.id, true));
  META_EXPECT_ERROR(store_->GetBackup(b.id), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->GetGcRun(run->id), ErrorCode::kNotFound);
  auto after = store_->GetVolume(v.id);
  META_ASSERT_OK(after);
  EXPECT_FALSE(after->backup_target_id.has_value());
}

// ---- volumes ----------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, VolumeCrudAndSchedule) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume in;
  in.name = "db-disk";
  in.agent_id = a.id;
  in.backend = VolumeBackend::kNbd;
  in.locator = "nbd://127.0.0.1:10809/db";
  in.size_bytes = int64_t(10) << 30;
  in.hooks = {"snap-create", "snap-release", 60};
  auto v = store_->CreateVolume(in);
  META_ASSERT_OK(v);

  auto got = store_->GetVolume(v->id);
  META_ASSERT_OK(got);
  EXPECT_EQ(got->name, "db-disk");
  EXPECT_EQ(got->agent_id, a.id);
  EXPECT_EQ(got->backend, VolumeBackend::kNbd);
  EXPECT_EQ(got->locator, "nbd://127.0.0.1:10809/db");
  EXPECT_EQ(got->size_bytes, int64_t(10) << 30);
  EXPECT_FALSE(got->backup_target_id.has_value());
  EXPECT_EQ(got->backup_cron, "");
  EXPECT_EQ(got->hooks.pre_backup_command, "snap-create");
  EXPECT_EQ(got->hooks.post_backup_command, "snap-release");
  EXPECT_EQ(got->hooks.timeout_seconds, 60);

  VolumePatch p;
  p.locator = "nbd://127.0.0.1:10809/db2";
  p.size_bytes = 42;
  auto upd = store_->UpdateVolume(v->id, p);
  META_ASSERT_OK(upd);
  EXPECT_EQ(store_->GetVolume(v->id)->locator, "nbd://127.0.0.1:10809/db2");
  EXPECT_EQ(store_->GetVolume(v->id)->size_bytes, 42);

  auto sched = store_->SetVolumeSchedule(
      v->id, {.backup_target_id = t.id, .backup_cron = "*/15 * * * *", .backup_retain_count = 3});
  META_ASSERT_OK(sched);
  got = store_->GetVolume(v->id);
  EXPECT_EQ(got->backup_target_id, t.id);
  EXPECT_EQ(got->backup_cron, "*/15 * * * *");
  EXPECT_EQ(got->backup_retain_count, 3);
  META_EXPECT_ERROR(
      store_->SetVolumeSchedule(v->id, {.backup_target_id = Uuid::Random().ToString()}),
      ErrorCode::kInvalidArgument);
  META_ASSERT_OK(store_->SetVolumeSchedule(v->id, {}));
  EXPECT_FALSE(store_->GetVolume(v->id)->backup_target_id.has_value());

  // An agent with volumes cannot go.
  META_EXPECT_ERROR(store_->DeleteAgent(a.id), ErrorCode::kConflict);
  MakeVolume("other", a);
  EXPECT_EQ(store_->ListVolumes()->size(), 2u);
  META_ASSERT_OK(store_->DeleteVolume(v->id));
  META_EXPECT_ERROR(store_->GetVolume(v->id), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListVolumes()->size(), 1u);
}

TEST_P(MetaStoreConformanceTest, DeletingAVolumeWithBackupsIsAConflict) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  Backup b = MakeCompletedBackup(v, t);
  META_EXPECT_ERROR(store_->DeleteVolume(v.id), ErrorCode::kConflict);
  META_ASSERT_OK(store_->DeleteBackup(b.id));
  META_ASSERT_OK(store_->DeleteVolume(v.id));
  META_ASSERT_OK(store_->DeleteAgent(a.id));
}

}  // namespace
}  // namespace coffer::meta
