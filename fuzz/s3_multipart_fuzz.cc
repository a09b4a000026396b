// Multipart upload answers (store/s3/s3_xml.h): the upload id of
// CreateMultipartUpload, CompleteMultipartUpload's body, which S3 may send
// with status 200 and an <Error> inside (s3_store.cc reads it with
// ParseError), and ListMultipartUploads pages (the unfinished uploads gc
// aborts and check counts).
#include "fuzz/fuzz_util.h"
#include "store/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto id = s3xml::ParseUploadId(body); id && id->empty()) std::abort();
  (void)s3xml::ParseError(body);
  (void)s3xml::ParseListMultipartUploads(body);
  return 0;
}
