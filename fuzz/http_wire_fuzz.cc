// The HTTP/1.1 wire format both services read (service/http_wire.h): the
// request head (request line, headers, the target's path and query
// decoded), the log line of a head that does not parse, and chunked
// bodies fed in pieces — the first bytes anyone who reaches the port sends.
//
// Input: bytes as a client sends them. The head is what FindHeadEnd finds
// (all of the input when it finds none); what follows is fed to a chunked
// decoder in pieces of 1 to 16 bytes, sized by the input's first byte.
#include "fuzz/fuzz_util.h"
#include "service/http_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer::service::wire;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t end = FindHeadEnd(in);
  if (end != std::string_view::npos && end > in.size()) std::abort();
  const std::string_view head = in.substr(0, end == std::string_view::npos ? in.size() : end);
  if (auto h = ParseRequestHead(head); h) {
    (void)h->Header("Content-Type");
    // A decoded path is what routes and the log see: never a control byte.
    for (unsigned char c : h->path) {
      if (c < 0x20 || c == 0x7f) std::abort();
    }
  } else {
    (void)RequestLineForLog(head);
  }
  (void)EscapeForLog(head);
  (void)DecodeComponent(head, true);

  if (end == std::string_view::npos) return 0;
  ChunkedDecoder chunked(4096);
  std::string body;
  std::string_view rest = in.substr(end);
  const size_t piece = size > 0 ? 1 + data[0] % 16 : 1;
  while (!rest.empty() && !chunked.done()) {
    auto used = chunked.Feed(rest.substr(0, piece), &body);
    if (!used) break;
    if (*used > piece || body.size() > 4096) std::abort();
    if (*used == 0 && !chunked.done()) std::abort();  // no progress
    rest.remove_prefix(*used);
  }
  return 0;
}
