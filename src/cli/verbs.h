// The CLI verbs (DESIGN §9), one file each. Each Add* registers its
// subcommand and returns the function that runs it once parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace coffer::cli {

using VerbRun = std::function<int()>;

VerbRun AddInit(CLI::App& app);
VerbRun AddBackup(CLI::App& app);
VerbRun AddRestore(CLI::App& app);
VerbRun AddLs(CLI::App& app);
VerbRun AddCheck(CLI::App& app);
VerbRun AddForget(CLI::App& app);
VerbRun AddGc(CLI::App& app);
VerbRun AddKey(CLI::App& app);
VerbRun AddUnlock(CLI::App& app);
VerbRun AddAgent(CLI::App& app);
VerbRun AddManager(CLI::App& app);

}  // namespace coffer::cli
