// Shell completions for bash, zsh and fish, made from the CLI's own
// definition (its commands and their options), so they cannot fall behind
// it: `vmseal --completion SHELL` prints one, and the build writes and
// installs all three.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

namespace vmseal::cli {

// The completion script for `shell` ("bash", "zsh" or "fish"); "" for
// another shell.
std::string completion_script(const CLI::App& app, std::string_view shell);

}  // namespace vmseal::cli
