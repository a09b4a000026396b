#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "service/config_file.h"
#include "service/http_client.h"
#include "service/http_server.h"
#include "service/json_fields.h"

namespace coffer::service {
namespace {

TEST(ServiceTest, ListenAddressesAreParsedOrRefusedByName) {
  auto a = ParseListen("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto v6 = ParseListen("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  for (const char* bad : {"8080", "host:", ":80", "h:65536", "h:-1", "h:8x", "[::1]80"}) {
    auto r = ParseListen(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("listen '"), std::string::npos) << bad;
  }
}

TEST(ServiceTest, ErrorsMapToStatusesAndCarryTheirDetails) {
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInvalidArgument, "x")).status, 400);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kNotFound, "x")).status, 404);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kAlreadyExists, "x")).status, 409);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kConflict, "x")).status, 409);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kResourceExhausted, "x")).status, 429);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kUnavailable, "agent down")).status, 503);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kAuthFailed, "agent refused")).status, 502);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInternal, "x")).status, 500);
  // A field prefix in the message is not a field: only the detail is.
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInvalidArgument, "gc_hour: too big")).field, "");
  Error e = FieldInvalid("volume.locator", "no such file").error().WithS3Code("NoSuchBucket");
  ApiError a = ToApiError(e.WithContext("agent http://a"));
  EXPECT_EQ(a.field, "volume.locator");
  EXPECT_EQ(a.s3_error_code, "NoSuchBucket");
  EXPECT_EQ(a.message, "agent http://a: volume.locator: no such file");

  // The body and back, field for field.
  auto back = ErrorFromJson(ErrorJson(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(back->message(), e.message());
  EXPECT_EQ(back->field(), "volume.locator");
  EXPECT_EQ(back->s3_code(), "NoSuchBucket");
  for (ErrorCode c : {ErrorCode::kNotFound, ErrorCode::kCancelled, ErrorCode::kCorruption,
                      ErrorCode::kResourceExhausted, ErrorCode::kPermissionDenied}) {
    auto r = ErrorFromJson(ErrorJson(Error(c, "m")));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), c);
  }
  EXPECT_FALSE(ErrorFromJson(json::object()));
  EXPECT_FALSE(ErrorFromJson(json{{"error", "text"}}));
  EXPECT_FALSE(ErrorFromJson(json{{"error", {{"code", "not-found"}}}}));  // no message
  EXPECT_EQ(ErrorFromJson(json{{"error", {{"code", "who-knows"}, {"message", "m"}}}})->code(),
            ErrorCode::kInternal);
}

TEST(ServiceTest, FieldReaderNamesTheFirstBadField) {
  json body = {{"name", 3}, {"gc_hour", 30}, {"extra", true}};
  FieldReader f(body);
  std::string name;
  EXPECT_FALSE(f.String("name", &name, true));
  int64_t hour = 0;
  EXPECT_FALSE(f.Int("gc_hour", &hour, false, 0, 23));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().field(), "name");
  EXPECT_EQ(f.error().message(), "name: must be a string");
  EXPECT_EQ(f.error().code(), ErrorCode::kInvalidArgument);

  json nested = {{"hooks", {{"timeout_seconds", 0}}}};
  FieldReader outer(nested);
  FieldReader inner(*outer.Object("hooks", false), "hooks");
  int64_t t = 0;
  inner.Int("timeout_seconds", &t, false, 1, 86400);
  outer.Take(inner);
  ASSERT_FALSE(outer.ok());
  EXPECT_EQ(outer.error().field(), "hooks.timeout_seconds");

  json unknown = {{"name", "x"}, {"colour", "red"}};
  FieldReader u(unknown);
  u.Only({"name"});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().field(), "colour");
  EXPECT_EQ(u.error().message(), "colour: unknown field");

  // Missing required fields are named, never read as 0 or "".
  json empty = json::object();
  FieldReader m(empty, "progress");
  uint64_t n = 7;
  EXPECT_FALSE(m.Uint("done_bytes", &n, true));
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(m.error().field(), "progress.done_bytes");
  EXPECT_EQ(m.error().message(), "progress.done_bytes: required");

  json negative = {{"n", -1}, {"x", 1.5}, {"b", "yes"}};
  FieldReader neg(negative);
  EXPECT_FALSE(neg.Uint("n", &n, true));
  EXPECT_EQ(neg.error().message(), "n: must be a non-negative integer");
  json eleven = {{"n", 11}};
  FieldReader big(eleven);
  EXPECT_FALSE(big.Uint("n", &n, true, 10));
  EXPECT_EQ(big.error().message(), "n: must be an integer from 0 to 10");
  FieldReader b(negative);
  bool flag = false;
  EXPECT_FALSE(b.Bool("b", &flag));
  EXPECT_EQ(b.error().field(), "b");
  FieldReader optional(empty);
  EXPECT_FALSE(optional.Bool("b", &flag));
  EXPECT_TRUE(optional.ok());  // absent and optional: not a problem
}

Request JsonRequest(std::string body) {
  Request req;
  req.headers.emplace("Content-Type", "application/json");
  req.body = std::move(body);
  return req;
}

TEST(ServiceTest, JsonBodiesAreWipedAfterParsing) {
  Request req = JsonRequest(R"({"key":"0123456789abcdef0123456789abcdef"})");
  const char* bytes = req.body.data();
  const size_t size = req.body.size();
  Response res;
  auto body = ReadJsonBody(req, res);
  ASSERT_TRUE(body);
  EXPECT_EQ(req.body.size(), size);
  EXPECT_EQ(std::string(bytes, size), std::string(size, '\0'));
}

// Each refused body: its status and what the message says (and the body is
// wiped whatever happened, since it may hold a secret).
TEST(ServiceTest, JsonBodiesThatAreNotOneClearObjectAreRefused) {
  struct Case {
    std::string body, content_type;
    int status;
    std::string says;
  };
  const std::string deep = std::string(40, '[') + std::string(40, ']');
  const std::vector<Case> cases = {
      {"{nope", "application/json", 400, "not valid JSON"},
      {"[1]", "application/json", 400, "must be a JSON object"},
      {"", "application/json", 400, "the request has no body"},
      {R"({"a":1})", "", 415, "Content-Type: application/json (none was given)"},
      {R"({"a":1})", "text/plain", 415, "(not 'text/plain')"},
      {"a=1", "application/x-www-form-urlencoded", 415, "Content-Type"},
      {"{\"name\":\"\xff\xfe\"}", "application/json", 400, "not valid JSON"},
      {R"({"n":1e400})", "application/json", 400, "number overflow"},
      {R"({"a":1,"a":2})", "application/json", 400, "gives the key 'a' twice"},
      {R"({"x":{"a":1,"b":{"a":2},"a":3}})", "application/json", 400, "the key 'a' twice"},
      {"{\"x\":" + deep + "}", "application/json", 400, "nests deeper than 32 levels"},
  };
  for (const Case& c : cases) {
    Request req;
    if (!c.content_type.empty()) req.headers.emplace("content-type", c.content_type);
    req.body = c.body;
    Response res;
    EXPECT_FALSE(ReadJsonBody(req, res)) << c.body;
    EXPECT_EQ(res.status, c.status) << c.body;
    EXPECT_NE(res.body.find(c.says), std::string::npos) << c.body << " -> " << res.body;
    EXPECT_EQ(req.body.find_first_not_of('\0'), std::string::npos) << c.body;
    EXPECT_TRUE(json::accept(res.body));  // the answer itself is valid JSON
  }
  // Accepted: a charset parameter, the same key in sibling objects, 31 levels.
  Request ok = JsonRequest(R"({"a":{"k":1},"b":{"k":2},"c":)" + std::string(30, '[') +
                           std::string(30, ']') + "}");
  ok.headers.clear();
  ok.headers.emplace("Content-Type", "Application/JSON; charset=utf-8");
  Response res;
  EXPECT_TRUE(ReadJsonBody(ok, res)) << res.body;
}

TEST(ServiceTest, AnswersWithBytesThatAreNotUtf8StayValidJson) {
  Response res;
  res.Json(400, {{"message", std::string("volume \xff\xfe")}});
  EXPECT_EQ(json::parse(res.body)["message"], "volume \ufffd\ufffd");
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.name = "test";
    o.listen = {"127.0.0.1", 0};
    o.max_body_bytes = 1024;
    o.authorize = [](std::string_view token) { return token == "right-token-0123456789"; };
    o.open_paths = {"/healthz"};
    o.on_request = [this](const std::string& method, const std::string& path, int status, double) {
      log_.push_back(method + " " + path + " " + std::to_string(status));
    };
    server_ = std::make_unique<HttpServer>(o);
    server_->Get("/healthz", [](Request&, Response& res) { res.Json(200, {{"status", "ok"}}); });
    server_->Post(R"(/v1/things/([a-z]+)/echo)", [](Request& req, Response& res) {
      auto body = ReadJsonBody(req, res);
      if (!body) return;
      res.SetHeader("X-Thing", req.params.at(0));
      res.Json(201, {{"thing", req.params.at(0)}, {"q", req.Query("q")}, {"body", *body}});
    });
    server_->Get("/v1/throws", [](Request&, Response&) { throw std::runtime_error("boom"); });
    ASSERT_TRUE(server_->Bind());
    thread_ = std::thread([this] { (void)server_->Serve(); });
    client_ = std::make_unique<HttpClient>("http://127.0.0.1:" + std::to_string(server_->port()));
  }
  void TearDown() override {
    server_->Stop();
    thread_.join();
  }

  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<HttpClient> client_;
  std::vector<std::string> log_;
};

TEST_F(ServerTest, AnswersRoutesAndRefusesWithJsonErrors) {
  const std::string token = "right-token-0123456789";
  auto open = client_->Call("GET", "/healthz", "");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 200);

  std::string body = R"({"a":1})";
  auto ok = client_->Call("POST", "/v1/things/box/echo?q=7", token, &body);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201);
  EXPECT_EQ(ok->Header("x-thing"), "box");
  json j = json::parse(ok->body);
  EXPECT_EQ(j["thing"], "box");
  EXPECT_EQ(j["q"], "7");
  EXPECT_EQ(j["body"]["a"], 1);

  auto missing = client_->Call("GET", "/v1/throws", "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->Header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "unauthenticated");
  auto wrong = client_->Call("GET", "/v1/throws", "wrong-token-0123456789");
  EXPECT_EQ(json::parse(wrong->body)["error"]["message"], "invalid bearer token");

  auto thrown = client_->Call("GET", "/v1/throws", token);
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(json::parse(thrown->body)["error"]["message"], "internal error: boom");
  auto none = client_->Call("GET", "/v1/nothing", token);
  EXPECT_EQ(none->status, 404);
  EXPECT_EQ(json::parse(none->body)["error"]["code"], "not-found");
  std::string large(4096, ' ');
  auto too_large = client_->Call("POST", "/v1/things/box/echo", token, &large);
  EXPECT_EQ(too_large->status, 413);
  EXPECT_EQ(json::parse(too_large->body)["error"]["message"],
            "the body is larger than the test accepts (1024 bytes)");
  std::string not_json = "{";
  auto bad = client_->Call("POST", "/v1/things/box/echo", token, &not_json);
  EXPECT_EQ(bad->status, 400);

  server_->Stop();
  thread_.join();
  thread_ = std::thread([] {});
  auto gone = client_->Call("GET", "/healthz", "");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kUnavailable);
  EXPECT_GE(log_.size(), 8u);
  EXPECT_EQ(log_.front(), "GET /healthz 200");
}

TEST(ServiceTest, UnusableTlsFilesAreNamed) {
  ServerOptions o;
  o.name = "test";
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  HttpServer tls(o);
  auto st = tls.Bind();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message().find("/nonexistent/cert.pem"), std::string::npos);
}

TEST(ServiceTest, ConfigFilesSetKeysOrSayWhatIsWrong) {
  char dir[] = "/tmp/coffer-service-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/c.toml";
  auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  std::string s;
  std::vector<std::string> list;
  ListenAddress listen;
  bool flag = false;
  int64_t n = 0;
  ConfigKeys keys;
  keys.String("name", &s);
  keys.Strings("roots", &list);
  keys.Listen("listen", &listen);
  keys.Bool("flag", &flag);
  keys.Int("n", 1, 10, [&n](int64_t v) { n = v; });

  write("name = \"x\"\nroots = [\"/a\", \"/b\"]\nlisten = \"0.0.0.0:9\"\nflag = true\nn = 3\n");
  ASSERT_TRUE(keys.Load(path));
  EXPECT_EQ(s, "x");
  EXPECT_EQ(list, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(listen.host, "0.0.0.0");
  EXPECT_EQ(listen.port, 9);
  EXPECT_TRUE(flag);
  EXPECT_EQ(n, 3);

  auto fails = [&](const std::string& text, const std::string& want) {
    write(text);
    auto st = keys.Load(path);
    ASSERT_FALSE(st) << text;
    EXPECT_NE(st.error().message().find(want), std::string::npos) << st.error().message();
  };
  fails("colour = 1\n", "unknown key 'colour'");
  fails("n = 11\n", "'n' must be an integer from 1 to 10");
  fails("n = \"3\"\n", "'n' must be an integer from 1 to 10");
  fails("name = 1\n", "'name' must be a string");
  fails("roots = [1]\n", "'roots' must be an array of strings");
  fails("flag = 1\n", "'flag' must be true or false");
  fails("listen = \"nope\"\n", "listen 'nope'");
  fails("name = \n", "line 1");
  auto missing = keys.Load(std::string(dir) + "/none.toml");
  EXPECT_FALSE(missing);
  std::remove(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace coffer::service
