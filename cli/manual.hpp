// What each command says about itself in one place: its exit statuses. The
// --help footers, the man pages (`vmseal --man COMMAND`, built and installed
// as vmseal(1) and vmseal-COMMAND(1)) and the README's tables are all made
// from or checked against this (tests/sealing/cli_test.cpp,
// ExitStatusesAgree), so they cannot drift.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace vmseal::cli {

struct ExitStatus {
  std::string_view code;  // "0", "125", or a word for a range ("other")
  std::string_view meaning;
};

// The commands that have a manual entry, "vmseal" first.
const std::vector<std::string_view>& manual_commands();

// A command's exit statuses; empty for an unknown command.
const std::vector<ExitStatus>& exit_statuses(std::string_view command);

// "Exit status:" and one line per status, for a --help footer.
std::string exit_status_footer(std::string_view command);

// The man page of `command` ("vmseal" for the overview) in roff, from the
// command's own CLI11 description and options and its exit statuses.
std::string man_page(const CLI::App& app, std::string_view command);

}  // namespace vmseal::cli
