// vmseal sim: read strace output, apply its memory-management calls to the
// engine, print each call with the engine's result and the final layout.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "input.hpp"
#include "manual.hpp"
#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/sealing/exec_files.hpp"
#include "vmseal/trace/line_reader.hpp"
#include "vmseal/trace/sim.hpp"
#include "vmseal/trace/strace.hpp"

namespace vmseal::cli {

CLI::App* add_sim(CLI::App& app, SimOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "sim",
      "Apply the memory-management calls of an strace log (strace -f -y output) to the engine,\n"
      "print each call with the engine's result, then the final /proc/PID/maps of each process.");
  cmd->footer(exit_status_footer("sim"));
  cmd->add_option("input", opts.input, "strace output to read ('-' for standard input)")
      ->required();
  cmd->add_flag("--check", opts.check,
                "compare with the results recorded in the log; place non-fixed mappings where\n"
                "the log says the kernel put them; exit 1 on any mismatch. A result that an\n"
                "unseen page fault, or another order of calls threads made at once, explains\n"
                "is not one: it is shown as explained or reordered, with what was inferred");
  cmd->add_flag("--strict", opts.strict,
                "with --check, infer neither unseen faults nor another order of concurrent\n"
                "calls: every result the engine disagrees with is a mismatch");
  cmd->add_flag("--smaps", opts.smaps, "print the smaps VmFlags line under each mapping");
  cmd->add_flag(
      "-q,--quiet", opts.quiet,
      "print only the calls that disagree or were explained, the layouts and the summary");
  cmd->add_flag("--json", opts.json, "print the records and summary as JSON instead");
  cmd->add_flag("--privileged", opts.privileged,
                "model processes that start as root with every capability (default: a user with\n"
                "none); capset, capget and execve in the trace change them");
  cmd->add_flag("--read-fault-allocates", opts.read_fault_allocates,
                "model a kernel whose read faults on private anonymous memory allocate a page\n"
                "and an anon_vma instead of mapping the zero page (see `vmseal check`)");
  cmd->add_flag("--keep-going", opts.keep_going, "report malformed lines and continue");
  cmd->add_flag("--exec-files", opts.exec_files,
                "read the files each execve ran (the program, its #! and PT_INTERP interpreters)\n"
                "from this machine and infer what the kernel mapped, so that calls on it can be\n"
                "verified; off by default: the trace names the files (docs/engine.md)");
  cmd->add_option("--exec-root", opts.exec_root,
                  "with --exec-files, read them under DIR instead of / (names and symlinks are\n"
                  "resolved inside DIR)")
      ->type_name("DIR");
  cmd->add_option("--policy", opts.policy,
                  "the seal design to model (default linux-6.18; see `vmseal compare`):\n"
                  "linux-6.18, linux-6.12, linux-6.11, linux-6.10, openbsd, rfc-v3[:TYPES],\n"
                  "kernel-seal[:bypass|unseal|flag]");
  return cmd;
}

namespace {

nlohmann::json result_json(const SysResult& r) {
  return r.is_error() ? nlohmann::json(std::string(errno_name(r.error())))
                      : nlohmann::json(r.value());
}

nlohmann::json record_json(const trace::SimRecord& rec) {
  nlohmann::json j = {{"line", rec.line},
                      {"pid", rec.pid},
                      {"call", rec.call},
                      {"engine", result_json(rec.engine)},
                      {"verdict", std::string(trace::verdict_name(rec.verdict))},
                      {"note", rec.note}};
  if (rec.has_recorded) j["recorded"] = result_json(rec.recorded);
  if (rec.end_line != rec.line && rec.end_line != 0) j["end_line"] = rec.end_line;
  if (!rec.faults.empty()) {
    nlohmann::json faults = nlohmann::json::array();
    for (const trace::InferredFault& f : rec.faults)
      faults.push_back({{"addr", f.addr},
                        {"access", f.access == Access::Write  ? "write"
                                   : f.access == Access::Read ? "read"
                                                              : "exec"},
                        {"vma_start", f.vma_start},
                        {"vma_end", f.vma_end},
                        {"before_line", f.before_line}});
    for (std::size_t i = 0; i < rec.faults.size(); ++i)
      if (rec.faults[i].parent_pid != 0) faults[i]["parent_pid"] = rec.faults[i].parent_pid;
    j["inferred_faults"] = std::move(faults);
  }
  if (rec.ran_before_line != 0) j["ran_before_line"] = rec.ran_before_line;
  return j;
}

void print_json(const SimOptions& opts, const trace::Simulator& sim, const trace::SimStream& run,
                nlohmann::json records) {
  const trace::SimSummary& s = sim.summary();
  nlohmann::json out;
  out["records"] = std::move(records);
  out["summary"] = {{"calls", s.calls},
                    {"matched", s.matched},
                    {"mismatched", s.mismatched},
                    {"unverifiable", s.unverifiable},
                    {"placed", s.placed},
                    {"no_record", s.no_record},
                    {"explained", s.explained},
                    {"reordered", s.reordered},
                    {"malformed_lines", run.bad_lines},
                    {"exited_layouts_dropped", s.exited_layouts_dropped}};
  if (opts.exec_files || !opts.exec_root.empty()) {
    out["summary"]["execs"] = s.execs;
    out["summary"]["exec_layouts_placed"] = s.exec_layouts_placed;
    out["exec_notes"] = sim.exec_notes();
  }
  nlohmann::json layouts = nlohmann::json::object();
  for (int pid : sim.pids())
    if (const AddressSpace* as = sim.address_space(pid))
      layouts[std::to_string(pid)] = opts.smaps ? render_smaps_vmflags(*as) : render_maps(*as);
  out["layouts"] = layouts;
  std::printf("%s\n", out.dump(2).c_str());
}

void print_text(const SimOptions& opts, const trace::Simulator& sim, const trace::SimStream& run) {
  for (int pid : sim.pids()) {
    const AddressSpace* as = sim.address_space(pid);
    if (as == nullptr) continue;
    std::printf("\n# final layout of pid %d (%zu mappings)\n%s", pid, as->map_count(),
                (opts.smaps ? render_smaps_vmflags(*as) : render_maps(*as)).c_str());
  }
  const trace::SimSummary& s = sim.summary();
  std::string inferred;
  if (s.explained != 0)
    inferred += ", " + std::to_string(s.explained) + " explained by unseen faults";
  if (s.reordered != 0)
    inferred += ", " + std::to_string(s.reordered) + " explained by the order of concurrent calls";
  std::fprintf(
      stderr,
      "vmseal sim: %zu calls: %zu matched, %zu mismatched, %zu unverifiable, "
      "%zu placed as recorded, %zu without a recorded result%s%s\n",
      s.calls, s.matched, s.mismatched, s.unverifiable, s.placed, s.no_record, inferred.c_str(),
      run.bad_lines != 0 ? (", " + std::to_string(run.bad_lines) + " malformed lines").c_str()
                         : "");
  if (opts.exec_files || !opts.exec_root.empty()) {
    for (const std::string& n : sim.exec_notes())
      std::fprintf(stderr, "vmseal sim: %s\n", n.c_str());
    std::fprintf(stderr, "vmseal sim: %zu of %zu exec layouts inferred and placed\n",
                 s.exec_layouts_placed, s.execs);
  }
  if (s.exited_layouts_dropped != 0)
    std::fprintf(stderr,
                 "vmseal sim: the final layouts of %zu exited processes are not shown (the last "
                 "4096 are)\n",
                 s.exited_layouts_dropped);
}

}  // namespace

int run_sim(const SimOptions& opts) {
  InputFile input;
  if (!input.open(opts.input, "sim")) return kIoError;
  trace::SimOptions so;
  so.check = opts.check;
  so.infer = !opts.strict;
  so.config.set_privileged(opts.privileged);
  so.config.read_fault_zero_page = !opts.read_fault_allocates;
  std::string error;
  if (!opts.policy.empty() && !seal_policy::parse(opts.policy, so.config.seal, &error)) {
    std::fprintf(stderr, "vmseal sim: --policy: %s\n", error.c_str());
    return kUsage;
  }
  std::unique_ptr<sealing::RootExecFiles> exec_files;
  if (opts.exec_files || !opts.exec_root.empty()) {
    exec_files =
        sealing::RootExecFiles::open(opts.exec_root.empty() ? "/" : opts.exec_root, &error);
    if (!exec_files) {
      std::fprintf(stderr, "vmseal sim: --exec-root: %s\n", error.c_str());
      return kIoError;
    }
    so.exec_files = exec_files.get();
  }
  trace::Simulator sim(so);
  nlohmann::json records = nlohmann::json::array();
  std::map<std::pair<int, std::size_t>, std::size_t> record_index;  // (pid, line) -> records[i]
  const bool tty = isatty(STDERR_FILENO) != 0;
  const trace::SimStream run = trace::simulate(
      input.stream(), sim, opts.keep_going,
      [&](const trace::SimRecord& rec) {
        const bool noted = rec.verdict == trace::Verdict::Mismatch ||
                           rec.verdict == trace::Verdict::Explained ||
                           rec.verdict == trace::Verdict::Reordered;
        if (opts.json) {
          // A record given again was revised by a later call: it replaces the first.
          const auto [it, fresh] = record_index.try_emplace({rec.pid, rec.line}, records.size());
          if (fresh)
            records.push_back(record_json(rec));
          else
            records[it->second] = record_json(rec);
        } else if (!opts.quiet || noted) {
          std::printf("%s\n", rec.render().c_str());
        }
      },
      [](const std::string& message) { std::fprintf(stderr, "vmseal sim: %s\n", message.c_str()); },
      [tty](std::size_t lines) {
        if (tty) std::fprintf(stderr, "\rvmseal sim: %zu lines", lines);
      });
  if (tty && run.lines >= 100000) std::fprintf(stderr, "\n");
  if (run.lines == 0) {
    std::fprintf(stderr, "vmseal sim: %s is empty: no trace to read\n", opts.input.c_str());
    return kBadInput;
  }
  if (opts.json)
    print_json(opts, sim, run, std::move(records));
  else
    print_text(opts, sim, run);
  if (run.bad_lines != 0) return kBadInput;
  return opts.check && sim.summary().mismatched != 0 ? kMismatch : kOk;
}

}  // namespace vmseal::cli
