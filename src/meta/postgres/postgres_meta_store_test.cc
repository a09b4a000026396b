// The conformance suite on a real PostgreSQL server that this binary starts
// once (PgServer) and stops at the end, a new database per test; and what
// only PostgreSQL has: connections that die under the store.
//
// Registered as one ctest test (not one per case) so that the server starts
// once per run.
#include <cstdio>

#include "meta/meta_store_conformance.h"
#include "meta/postgres/testing/pg_server.h"

namespace coffer::meta {
namespace {

pgtest::PgServer* g_server = nullptr;

class PgEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto s = pgtest::PgServer::Start();
    ASSERT_TRUE(s.has_value()) << "PostgreSQL could not start, so the PostgreSQL metadata tests "
                                  "cannot run: "
                               << s.error().message();
    server_ = std::move(*s);
    g_server = server_.get();
    std::fprintf(stderr, "PostgreSQL %s on 127.0.0.1:%d, started in %.2f s\n",
                 server_->version().c_str(), server_->port(), server_->startup_seconds());
  }
  void TearDown() override {
    g_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<pgtest::PgServer> server_;
};
::testing::Environment* const env = ::testing::AddGlobalTestEnvironment(new PgEnvironment);

Result<std::string> NewPostgresDatabase() {
  if (g_server == nullptr) return Unavailable("the PostgreSQL test server is not running");
  return g_server->CreateDatabase();
}

INSTANTIATE_TEST_SUITE_P(Postgres, MetaStoreConformanceTest,
                         ::testing::Values(MetaStoreFactory{"postgresql", NewPostgresDatabase}),
                         MetaStoreFactoryName);

MetaStoreOptions TestOptions() {
  MetaStoreOptions o;
  o.master_key = SecretKey::Random();
  return o;
}

// Ends every other session on the server, as a restart or failover would.
void TerminateOtherSessions(const std::string& url) {
  auto raw = sql::OpenSqlDb(url, TestOptions());
  ASSERT_TRUE(raw.has_value()) << raw.error().message();
  Status st = (*raw)->Transact(sql::TxKind::kWrite, [](sql::SqlConn& c) -> Status {
    return sql::Done(
        c.Exec("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
               " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
               {}));
  });
  ASSERT_TRUE(st.has_value()) << st.error().message();
}

TEST(PostgresMetaStoreTest, TheStoreReconnectsAfterItsConnectionsAreDropped) {
  auto url = NewPostgresDatabase();
  META_ASSERT_OK(url);
  auto store = OpenMetaStore(*url, TestOptions());
  META_ASSERT_OK(store);
  META_ASSERT_OK((*store)->CreateApiToken("before", "h1"));
  TerminateOtherSessions(*url);
  META_ASSERT_OK((*store)->CreateApiToken("after", "h2"));
  EXPECT_EQ((*store)->ListApiTokens()->size(), 2u);
}

TEST(PostgresMetaStoreTest, LeadershipEndsWithTheLeadersSession) {
  auto url = NewPostgresDatabase();
  META_ASSERT_OK(url);
  auto a = OpenMetaStore(*url, TestOptions());
  auto b = OpenMetaStore(*url, TestOptions());
  META_ASSERT_OK(a);
  META_ASSERT_OK(b);
  auto la = (*a)->NewLeaderLock();
  auto lb = (*b)->NewLeaderLock();
  META_ASSERT_OK(la);
  META_ASSERT_OK(lb);
  EXPECT_EQ(BoolOrError((*la)->TryAcquire()), "true");
  EXPECT_EQ(BoolOrError((*lb)->TryAcquire()), "false");
  TerminateOtherSessions(*url);  // the leader's session dies
  EXPECT_EQ(BoolOrError((*la)->StillHeld()), "false");
  EXPECT_EQ(BoolOrError((*lb)->TryAcquire()), "true");
  EXPECT_EQ(BoolOrError((*la)->TryAcquire()), "false");
}

TEST(PostgresMetaStoreTest, AServerThatIsNotThereIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  auto store = OpenMetaStore("postgresql://coffer@127.0.0.1:1/x?connect_timeout=2", TestOptions());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), ErrorCode::kUnavailable) << store.error().message();
}

}  // namespace
}  // namespace coffer::meta
