#include "store/metrics/store_metrics.h"

namespace coffer {

std::string_view RequestKindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kPut:
      return "put";
    case RequestKind::kGet:
      return "get";
    case RequestKind::kHead:
      return "head";
    case RequestKind::kList:
      return "list";
    case RequestKind::kDelete:
      return "delete";
    case RequestKind::kDeleteMany:
      return "delete_many";
    case RequestKind::kMultipartCreate:
      return "multipart_create";
    case RequestKind::kMultipartPart:
      return "multipart_part";
    case RequestKind::kMultipartComplete:
      return "multipart_complete";
    case RequestKind::kMultipartAbort:
      return "multipart_abort";
  }
  return "unknown";
}

uint64_t StoreMetrics::total_requests() const {
  uint64_t n = 0;
  for (const auto& c : requests_) n += c.load(kRelaxed);
  return n;
}

std::map<std::string, uint64_t> StoreMetrics::RequestCounts() const {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < kRequestKinds; ++i) {
    uint64_t n = requests_[i].load(kRelaxed);
    if (n > 0) out.emplace(RequestKindName(RequestKind(i)), n);
  }
  return out;
}

}  // namespace coffer
