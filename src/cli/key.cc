// coffer key add|list|remove --target T: passphrase key slots.
#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "core/crypto/secret.h"

namespace coffer::cli {

VerbRun AddKey(CLI::App& app) {
  struct Flags {
    TargetFlags add, list, remove;
    std::string new_passphrase_file;
    std::string slot;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* key = app.add_subcommand("key", "manage passphrase key slots");
  key->require_subcommand(1);
  CLI::App* add = key->add_subcommand("add", "add a key slot with a new passphrase");
  AddTargetFlags(add, &f->add);
  add->add_option("--new-passphrase-file", f->new_passphrase_file,
                  "read the new passphrase from this file (else COFFER_NEW_PASSPHRASE, "
                  "else a prompt)");
  CLI::App* list = key->add_subcommand("list", "list the key slots");
  AddTargetFlags(list, &f->list);
  CLI::App* remove = key->add_subcommand("remove", "remove a key slot (never the last one)");
  AddTargetFlags(remove, &f->remove);
  remove->add_option("SLOT", f->slot, "the slot id, from `coffer key list`")->required();

  return [f, add, list, remove]() -> int {
    if (add->parsed()) {
      const bool json = f->add.json;
      auto opened = OpenRepository(f->add);
      if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
      auto& repo = std::get<std::unique_ptr<Repository>>(opened);
      Failure failure{kExitFailure, ""};
      auto pass = ReadPassphrase(f->new_passphrase_file, "COFFER_NEW_PASSPHRASE",
                                 "New passphrase: ", true, &failure);
      if (!pass) return Report(failure, json);
      auto slot = repo->AddKeySlot(*pass, DefaultArgon2Params());
      Wipe(pass->data(), pass->size());
      if (!slot) return Report(FromError(slot.error()), json);
      if (json) {
        PrintJson({{"slot_id", slot->ToString()}});
      } else {
        std::printf("added key slot %s\n", slot->ToString().c_str());
      }
      return kExitOk;
    }
    if (list->parsed()) {
      const bool json = f->list.json;
      auto opened = OpenRepository(f->list);
      if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
      auto& repo = std::get<std::unique_ptr<Repository>>(opened);
      auto slots = repo->ListKeySlots();
      if (!slots) return Report(FromError(slots.error()), json);
      if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const KeySlotInfo& s : *slots) {
          out.push_back(
              {{"slot_id", s.slot_id.ToString()},
               {"created_at", FormatRfc3339(s.created_at)},
               {"current", s.slot_id == repo->unlocked_slot()},
               {"argon2id", {{"opslimit", s.params.opslimit}, {"memlimit", s.params.memlimit}}}});
        }
        PrintJson(out);
        return kExitOk;
      }
      std::printf("%-36s  %-20s  %s\n", "SLOT", "CREATED", "");
      for (const KeySlotInfo& s : *slots) {
        std::printf("%-36s  %-20s  %s\n", s.slot_id.ToString().c_str(),
                    FormatRfc3339(s.created_at).c_str(),
                    s.slot_id == repo->unlocked_slot() ? "(this passphrase)" : "");
      }
      return kExitOk;
    }
    const bool json = f->remove.json;
    auto id = Uuid::Parse(f->slot);
    if (!id) return Report(UsageFailure("'" + f->slot + "' is not a key slot id"), json);
    auto opened = OpenRepository(f->remove);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    if (auto st = repo->RemoveKeySlot(*id); !st) return Report(FromError(st.error()), json);
    if (json) {
      PrintJson({{"removed", id->ToString()}});
    } else {
      std::printf("removed key slot %s\n", id->ToString().c_str());
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
