// vmseal: the command-line front end. Each subcommand lives in its own file
// and registers itself here.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "completion.hpp"
#include "manual.hpp"
#include "vmseal/version.hpp"

namespace {
int dispatch(int argc, char** argv);
}  // namespace

// No exception leaves main: a hostile input that exhausts memory, or a bug,
// ends in a message and an exit status that means "could not go on" (4; 125
// for run, the launcher convention), never in std::terminate's abort.
int main(int argc, char** argv) {
  const bool launcher = argc > 1 && std::string_view(argv[1]) == "run";
  try {
    return dispatch(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "vmseal: out of memory (an input beyond what this machine can hold?)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmseal: internal error: %s\n", e.what());
  }
  return launcher ? vmseal::cli::kRunFailed : vmseal::cli::kIoError;
}

namespace {

// `vmseal run|predict [OPTIONS] -- PROGRAM ARGS...`: the program's part is
// cut off before parsing, so none of its arguments is taken for an option.
std::vector<std::string> cut_program(int& argc, char** argv) {
  std::vector<std::string> program;
  if (argc > 1 && (std::string(argv[1]) == "run" || std::string(argv[1]) == "predict")) {
    for (int i = 2; i < argc; ++i)
      if (std::string(argv[i]) == "--") {
        program.assign(argv + i + 1, argv + argc);
        argc = i;
        break;
      }
  }
  return program;
}

// `vmseal bogus`: CLI11 would say "the following argument was not expected".
bool unknown_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  const std::string_view name = argv[1];
  const auto& commands = app.get_subcommands({});
  if (std::any_of(commands.begin(), commands.end(),
                  [&](const CLI::App* c) { return c->get_name() == name; }))
    return false;
  std::string list;
  for (const CLI::App* c : commands) list += (list.empty() ? "" : ", ") + c->get_name();
  std::fprintf(stderr, "vmseal: '%s' is not a command; the commands are %s (vmseal --help)\n",
               argv[1], list.c_str());
  return true;
}

// --help and --version exit 0; every command-line error is kUsage (CLI11
// would use its own codes, 105 for a failed validator), 125 for run.
int parse_error_status(CLI::App& app, const CLI::ParseError& e, int argc, char** argv,
                       const std::vector<std::string>& program) {
  int rc = app.exit(e) == 0 ? 0 : vmseal::cli::kUsage;
  const std::string command = argc > 1 ? argv[1] : "";
  if (rc != 0 && command == "run") rc = vmseal::cli::kRunFailed;
  // `vmseal run ls -l`: the program's options were read as vmseal's.
  if (rc != 0 && program.empty() && (command == "run" || command == "predict") &&
      dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr)
    std::fprintf(stderr,
                 "hint: put -- before the program, so that its options are not read as vmseal's:\n"
                 "  vmseal %s [OPTIONS] -- PROGRAM [ARGS...]\n",
                 argv[1]);
  return rc;
}

// The hidden options the build uses: --man COMMAND, --completion SHELL.
int print_manual_or_completion(CLI::App& app, const std::string& man,
                               const std::string& completion) {
  if (!man.empty()) {
    const auto& known = vmseal::cli::manual_commands();
    if (std::find(known.begin(), known.end(), man) == known.end()) {
      std::fprintf(stderr, "vmseal: no manual page for '%s'\n", man.c_str());
      return vmseal::cli::kUsage;
    }
    std::fputs(vmseal::cli::man_page(app, man).c_str(), stdout);
    return 0;
  }
  const std::string script = vmseal::cli::completion_script(app, completion);
  if (script.empty()) {
    std::fprintf(stderr, "vmseal: no completion for '%s' (bash, zsh or fish)\n",
                 completion.c_str());
    return vmseal::cli::kUsage;
  }
  std::fputs(script.c_str(), stdout);
  return 0;
}

int dispatch(int argc, char** argv) {
  CLI::App app{"vmseal: Linux memory sealing (mseal) modelled, applied and analysed"};
  app.set_version_flag("--version", std::string("vmseal ") + vmseal::kVersion);
  app.require_subcommand(0, 1);
  app.footer(vmseal::cli::exit_status_footer("vmseal"));
  std::string man;
  app.add_option("--man", man, "print the man page of COMMAND ('vmseal' for the overview) in roff")
      ->group("");  // hidden: the build makes the installed man pages with it
  std::string completion;
  app.add_option("--completion", completion,
                 "print the completion script for SHELL: bash, zsh or fish")
      ->group("");  // hidden: the build makes the installed completions with it
  // `vmseal run` is a launcher: every microsecond it spends is added to the
  // start of the program it runs, so for `run` only its own subcommand is
  // built (each of the others costs its options' construction).
  const bool launcher = argc > 1 && std::string(argv[1]) == "run";
  auto add = [&app, launcher](auto adder, auto& options, bool is_run = false) -> CLI::App* {
    return launcher && !is_run ? nullptr : adder(app, options);
  };
  vmseal::cli::SimOptions sim;
  CLI::App* sim_cmd = add(vmseal::cli::add_sim, sim);
  vmseal::cli::CompareOptions compare;
  CLI::App* compare_cmd = add(vmseal::cli::add_compare, compare);
  vmseal::cli::DifftestOptions difftest;
  CLI::App* difftest_cmd = add(vmseal::cli::add_difftest, difftest);
  vmseal::cli::InspectOptions inspect;
  CLI::App* inspect_cmd = add(vmseal::cli::add_inspect, inspect);
  vmseal::cli::CheckOptions check;
  CLI::App* check_cmd = add(vmseal::cli::add_check, check);
  vmseal::cli::AuditOptions audit;
  CLI::App* audit_cmd = add(vmseal::cli::add_audit, audit);
  vmseal::cli::RunOptions run;
  add(vmseal::cli::add_run, run, true);
  vmseal::cli::PredictOptions predict;
  CLI::App* predict_cmd = add(vmseal::cli::add_predict, predict);
  vmseal::cli::SealOptions seal;
  CLI::App* seal_cmd = add(vmseal::cli::add_seal, seal);
  const std::vector<std::string> program = cut_program(argc, argv);
  if (unknown_command(app, argc, argv)) return vmseal::cli::kUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_error_status(app, e, argc, argv, program);
  }
  if (!man.empty() || !completion.empty()) return print_manual_or_completion(app, man, completion);
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stderr);
    return vmseal::cli::kUsage;
  }
  if (launcher) return vmseal::cli::run_run(run, program);
  if (sim_cmd->parsed()) return vmseal::cli::run_sim(sim);
  if (compare_cmd->parsed()) return vmseal::cli::run_compare(compare);
  if (difftest_cmd->parsed()) return vmseal::cli::run_difftest(difftest);
  if (inspect_cmd->parsed()) return vmseal::cli::run_inspect(inspect);
  if (check_cmd->parsed()) return vmseal::cli::run_check(check);
  if (audit_cmd->parsed()) return vmseal::cli::run_audit(audit);
  if (predict_cmd->parsed()) return vmseal::cli::run_predict(predict, program);
  if (seal_cmd->parsed()) return vmseal::cli::run_seal(seal);
  return 0;
}

}  // namespace
