// The conformance tests: secrets at rest, API tokens, migrations.
#include <thread>

#include "base/bytes.h"
#include "base/uuid.h"
#include "meta/meta_store_conformance.h"
#include "meta/migrations/migrations.h"

namespace coffer::meta {
namespace {

// ---- secrets at rest ----------------------------------------------------------

// Every stored cell of every row, as text.
std::string RawTable(sql::SqlDb& db, std::string_view select) {
  std::string all;
  Status st = db.Transact(sql::TxKind::kRead, [&](sql::SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto res, c.Exec(select, {}));
    for (const auto& row : res.rows) {
      for (const auto& cell : row) all += cell.value_or("NULL") + "|";
    }
    return {};
  });
  EXPECT_TRUE(st.has_value()) << st.error().message();
  return all;
}

TEST_P(MetaStoreConformanceTest, SecretsAreNeverStoredInClear) {
  const std::string token = "agent-canary-token-5f1b";
  const std::string s3 = "s3-canary-secret-9c2e";
  MakeAgent("a", token);
  NewBackupTarget in;
  in.name = "t";
  in.address = "s3://b/p";
  in.s3_secret_access_key = SecretString(s3);
  in.target_key = SecretKey::Random();
  auto t = store_->CreateBackupTarget(in);
  META_ASSERT_OK(t);
  const std::string tk_hex = HexEncode(ByteView(in.target_key.data(), kKeyLen));

  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  std::string agents = RawTable(*raw, "SELECT * FROM agent");
  std::string targets = RawTable(*raw, "SELECT * FROM backup_target");
  EXPECT_EQ(agents.find(token), std::string::npos) << agents;
  EXPECT_EQ(targets.find(s3), std::string::npos) << targets;
  EXPECT_EQ(targets.find(tk_hex), std::string::npos) << targets;
  EXPECT_EQ(targets.find(std::string(reinterpret_cast<const char*>(in.target_key.data()), 8)),
            std::string::npos);
  EXPECT_NE(agents.find("1:"), std::string::npos);  // SecretBox's stored form is there

  // Records handed to callers carry no secret either.
  EXPECT_TRUE(store_->GetBackupTarget(t->id)->has_s3_secret_access_key);
}

TEST_P(MetaStoreConformanceTest, SealedSecretsAreBoundToTheirRowAndField) {
  BackupTarget t1 = MakeTarget("t1");
  BackupTarget t2 = MakeTarget("t2");
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  // Copy t1's sealed target key into t2's row: it must not open there.
  Status st = raw->Transact(sql::TxKind::kWrite, [&](sql::SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        auto res, c.Exec("SELECT target_key_sealed FROM backup_target WHERE id = $1", {t1.id}));
    std::string sealed = *res.rows.at(0).at(0);
    COFFER_RETURN_IF_ERROR(
        c.Exec("UPDATE backup_target SET target_key_sealed = $2 WHERE id = $1", {t2.id, sealed}));
    // And t1's S3 secret into its own target key column: wrong field.
    COFFER_ASSIGN_OR_RETURN(auto s3, c.Exec("SELECT s3_secret_access_key_sealed FROM"
                                            " backup_target WHERE id = $1",
                                            {t1.id}));
    std::string s3_sealed = *s3.rows.at(0).at(0);
    return sql::Done(c.Exec("UPDATE backup_target SET target_key_sealed = $2 WHERE id = $1",
                            {t1.id, s3_sealed}));
  });
  META_ASSERT_OK(st);
  META_EXPECT_ERROR(store_->GetTargetSecrets(t2.id), ErrorCode::kAuthFailed);
  META_EXPECT_ERROR(store_->GetTargetSecrets(t1.id), ErrorCode::kAuthFailed);
}

TEST_P(MetaStoreConformanceTest, AnotherMasterKeyCannotUnwrapSecrets) {
  Agent a = MakeAgent("a", "tok");
  BackupTarget t = MakeTarget("t");
  MetaStoreOptions o = Options();
  o.master_key = SecretKey::Random();
  auto other = OpenMetaStore(url_, o);
  META_ASSERT_OK(other);
  META_ASSERT_OK((*other)->GetAgent(a.id));  // the rest is readable
  META_EXPECT_ERROR((*other)->GetAgentToken(a.id), ErrorCode::kAuthFailed);
  META_EXPECT_ERROR((*other)->GetTargetSecrets(t.id), ErrorCode::kAuthFailed);
}

// ---- API tokens ---------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, ApiTokens) {
  auto t = store_->CreateApiToken("admin", "hash-1");
  META_ASSERT_OK(t);
  META_EXPECT_ERROR(store_->CreateApiToken("again", "hash-1"), ErrorCode::kAlreadyExists);
  auto found = store_->FindApiTokenByHash("hash-1");
  META_ASSERT_OK(found);
  EXPECT_EQ(found->id, t->id);
  EXPECT_EQ(found->name, "admin");
  META_EXPECT_ERROR(store_->FindApiTokenByHash("hash-2"), ErrorCode::kNotFound);
  META_ASSERT_OK(store_->CreateApiToken("ci", "hash-2"));
  EXPECT_EQ(store_->ListApiTokens()->size(), 2u);
  META_ASSERT_OK(store_->DeleteApiToken(t->id));
  META_EXPECT_ERROR(store_->FindApiTokenByHash("hash-1"), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->DeleteApiToken(t->id), ErrorCode::kNotFound);
}

// ---- migrations ---------------------------------------------------------------

int64_t CountMigrations(sql::SqlDb& db) {
  int64_t n = -1;
  Status st = db.Transact(sql::TxKind::kRead, [&](sql::SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(n, sql::QueryInt(c, "SELECT count(*) FROM schema_migrations", {}));
    return {};
  });
  EXPECT_TRUE(st.has_value()) << st.error().message();
  return n;
}

TEST_P(MetaStoreConformanceTest, ReopeningKeepsDataAndMigratesOnce) {
  Agent a = MakeAgent("a", "tok");
  store_.reset();
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  auto got = store_->GetAgent(a.id);
  META_ASSERT_OK(got);
  EXPECT_EQ(got->name, "a");
  EXPECT_EQ(store_->GetAgentToken(a.id)->Reveal(), "tok");
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(CountMigrations(*raw), int64_t(Migrations().size()));

  // A later migration is applied once, at the next open, and only once.
  std::vector<Migration> extra(Migrations().begin(), Migrations().end());
  const int next = int(extra.size()) + 1;
  extra.push_back({next, "test: extra table", "CREATE TABLE extra (x BIGINT)"});
  META_ASSERT_OK(Migrate(*raw, extra));
  META_ASSERT_OK(Migrate(*raw, extra));
  EXPECT_EQ(CountMigrations(*raw), next);
  EXPECT_EQ(store_->GetAgent(a.id)->name, "a");

  // This binary does not know the extra version: it refuses the newer schema.
  store_.reset();
  auto refused = OpenMetaStore(url_, Options());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict) << refused.error().message();
}

TEST_P(MetaStoreConformanceTest, ConcurrentOpensMigrateOnce) {
  auto fresh = GetParam().new_database();
  ASSERT_TRUE(fresh.has_value()) << fresh.error().message();
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      auto s = OpenMetaStore(*fresh, Options());
      results[i] = s ? Status() : Status(std::unexpected(s.error()));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(r.has_value()) << r.error().message();
  auto raw = sql::OpenSqlDb(*fresh, Options());
  META_ASSERT_OK(raw);
  EXPECT_EQ(CountMigrations(**raw), int64_t(Migrations().size()));
}

}  // namespace
}  // namespace coffer::meta
