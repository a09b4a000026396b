// S3 error answers (store/s3/s3_xml.h): the <Error> document of any failed
// request, the <Error> entries of a multi-object delete, and the
// Last-Modified header of a HEAD (ParseHttpDate), all from a server Coffer
// does not control.
#include "fuzz/fuzz_util.h"
#include "store/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)s3xml::ParseError(body);
  (void)s3xml::ParseDeleteResult(body);
  (void)s3xml::ParseHttpDate(body);
  return 0;
}
