// Key slots (core/format/key_slot.h): the plain fields read before any
// passphrase (`coffer key list`, and OpenKeySlot's first step), and the
// Argon2id limits they ask for, which are checked before they are run.
//
// Input: slot uuid (16) | object. OpenKeySlot itself is not called: past
// ParseKeySlot it reads fixed offsets of an object of fixed size and runs
// Argon2id at no less than 64 MiB, which would hold the fuzzer to a few
// inputs a second.
#include "core/crypto/password.h"
#include "core/format/key_slot.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  fuzz::Input in(data, size);
  Uuid slot_id;
  if (!in.TakeUuid(&slot_id)) return 0;
  if (auto info = ParseKeySlot(slot_id, in.rest()); info) {
    if (info->slot_id != slot_id) std::abort();
    (void)ValidateArgon2Params(info->params);
  }
  return 0;
}
