// ListObjectsV2 pages (store/s3/s3_xml.h): what GC, check, the cache rebuild
// and index rebuild learn of a bucket, from an S3 server Coffer does not
// control. The input is also read as a LastModified value (ParseIsoTime).
#include "fuzz/fuzz_util.h"
#include "store/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)s3xml::ParseListObjectsV2(body);
  (void)s3xml::ParseIsoTime(body);
  return 0;
}
