// Helpers for tests that drive external programs (python3 with botocore,
// moto_server, the aws CLI): finding them and running them.
//
// Thread safety: functions are safe to call concurrently.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace coffer::testing_tools {

// The full path of `name` found on PATH, then in the pyenv shims directory
// of the machine image ($HOME/.pyenv/shims, /root/.pyenv/shims); kNotFound
// with a message saying where it looked.
Result<std::string> FindExecutable(const std::string& name);

// A python3 that can import botocore (the aws CLI's signer); kNotFound
// with a clear message when none can.
Result<std::string> FindPythonWithBotocore();

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] with the arguments, `input` on its standard input, extra
// environment variables `env` ("NAME=value"), and captures its output.
// Fails when the program cannot be started or runs past `timeout_seconds`.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input,
                                 const std::vector<std::string>& env = {},
                                 int timeout_seconds = 60);

}  // namespace coffer::testing_tools
