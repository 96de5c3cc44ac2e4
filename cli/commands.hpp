#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace vmseal::cli {

// Exit codes shared by all subcommands.
enum Exit : int {
  kOk = 0,
  kMismatch = 1,      // sim --check found a disagreement
  kUsage = 2,         // bad command line
  kBadInput = 3,      // malformed input (trace syntax)
  kIoError = 4,       // a file could not be read
};

struct SimOptions {
  std::string input;  // "-" = stdin
  bool check = false;
  bool smaps = false;
  bool quiet = false;
  bool privileged = false;
  bool json = false;
  bool keep_going = false;
};
CLI::App* add_sim(CLI::App& app, SimOptions& opts);
int run_sim(const SimOptions& opts);

}  // namespace vmseal::cli
