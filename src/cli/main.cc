// coffer: the command line (DESIGN §9). One subcommand per verb; see
// `coffer help`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "base/open_files.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "core/crypto/secret.h"

namespace {

constexpr const char* kDescription =
    "Coffer backs up block volumes (VM images, raw files, block devices) into a deduplicated,\n"
    "encrypted target: a directory or an S3 bucket.\n\n"
    "Exit codes: 0 success, 1 failure (also wrong S3 credentials or a missing bucket,\n"
    "with the S3 error code), 2 usage error, 3 wrong passphrase, 4 data integrity\n"
    "error (a corrupt or tampered object).\n"
    "The passphrase comes from COFFER_PASSPHRASE, --passphrase-file, or a prompt.\n"
    "S3 credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and\n"
    "AWS_SESSION_TOKEN; see docs/S3.md.";

}  // namespace

int main(int argc, char** argv) {
  using namespace coffer::cli;
  coffer::InitCrypto();
  coffer::RaiseOpenFileLimit();
  CLI::App app(kDescription, "coffer");
  app.set_version_flag("--version", "coffer " COFFER_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  std::map<CLI::App*, VerbRun> verbs;
  auto add = [&](VerbRun run) { verbs[app.get_subcommands({}).back()] = std::move(run); };
  add(AddInit(app));
  add(AddBackup(app));
  add(AddRestore(app));
  add(AddLs(app));
  add(AddCheck(app));
  add(AddForget(app));
  add(AddGc(app));
  add(AddKey(app));
  add(AddUnlock(app));
  add(AddAgent(app));
  add(AddManager(app));
  CLI::App* help = app.add_subcommand("help", "show help for coffer or one verb");
  std::string help_verb;
  help->add_option("VERB", help_verb, "the verb to explain");

  // Rendered before parsing: afterwards CLI11 describes the parsed verb.
  const std::string main_help = app.help();
  if (argc < 2) {
    std::cerr << main_help;
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --version
  } catch (const CLI::ParseError& e) {
    std::cerr << "coffer: " << e.what() << "\nRun `coffer help` for usage.\n";
    return kExitUsage;
  }
  if (help->parsed()) {
    if (help_verb.empty()) {
      std::cout << main_help;
      return kExitOk;
    }
    try {
      std::cout << app.get_subcommand(help_verb)->help();
    } catch (const CLI::OptionNotFound&) {
      std::cerr << "coffer: no verb '" << help_verb << "'\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  for (auto& [cmd, run] : verbs) {
    if (cmd->parsed()) return run();
  }
  std::cerr << main_help;
  return kExitUsage;
}
