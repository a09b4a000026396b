// The strict JSON body reader both services use (service/http.h
// ReadJsonBody, service/json_fields.h FieldReader): every accessor on the
// fields a body may or may not hold, a nested object, unknown-field
// refusal, and the wiping of secret fields.
//
// Input: a request body. Keys the fuzzer asks for: "s" "i" "u" "n" "b"
// (string, int, uint, number, bool), "ns" (nullable string), "o" (an object
// with the same fields); seeds in fuzz/corpus/json_fields use them.
#include "fuzz/fuzz_util.h"
#include "service/http.h"
#include "service/json_fields.h"

namespace {

void ReadAll(coffer::service::FieldReader& f) {
  std::string s;
  std::optional<std::string> ns;
  bool is_null = false, b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double n = 0;
  f.String("s", &s, false, 64);
  f.NullableString("ns", &ns, &is_null);
  f.Int("i", &i, false, -1000, 1000);
  f.Uint("u", &u, false);
  f.Number("n", &n, false);
  f.Bool("b", &b);
  if (!f.ok() && f.error().message().empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  service::Request req;
  req.body.assign(reinterpret_cast<const char*>(data), size);
  req.headers.emplace("Content-Type", "application/json");
  service::Response res;
  auto body = service::ReadJsonBody(req, res);
  if (!body) {
    if (res.status != 400) std::abort();
    return 0;
  }
  service::FieldReader f(*body);
  ReadAll(f);
  if (const auto* o = f.Object("o", false)) {
    service::FieldReader inner(*o, "o");
    inner.Only({"s", "ns", "i", "u", "n", "b"});
    ReadAll(inner);
    f.Take(inner);
  }
  f.Only({"s", "ns", "i", "u", "n", "b", "o"});
  service::WipeFields(*body, {"s", "ns"});
  return 0;
}
