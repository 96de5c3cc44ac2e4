// vmseal check, inspect and audit as a user runs them: output formats and
// exit codes.
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/cli_run.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace {

using vmseal::test::CliRun;
using vmseal::test::have_mseal;
using vmseal::test::slurp;
CliRun vmseal(const std::string& args) { return vmseal::test::run_cli(args); }

TEST(CheckCli, ReportsWhatThisKernelCanDo) {
  const CliRun r = vmseal("check --json");
  ASSERT_EQ(r.code, have_mseal() ? 0 : 5) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mseal"], have_mseal() ? "available" : j["mseal"]);
  if (have_mseal()) {
    EXPECT_EQ(j["smaps_shows_sl"], true);
  }
  EXPECT_TRUE(j["system_mappings_sealed"].contains("[vdso]"));
  EXPECT_GT(j["max_map_count"].get<std::uint64_t>(), 0U);
  const CliRun human = vmseal("check");
  EXPECT_NE(human.out.find("system mappings"), std::string::npos) << human.out;
}

// The settings that let someone around a seal, each read the way the kernel
// decides it, and a finding for each that weakens seals here.
TEST(CheckCli, ReportsTheSettingsThatGetAroundASeal) {
  const CliRun r = vmseal("check --json");
  ASSERT_TRUE(r.code == 0 || r.code == 5) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const std::string force = j["proc_mem_force_override"];
  EXPECT_TRUE(force == "always" || force == "ptrace" || force == "never" || force == "unknown")
      << force;
  std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  if (yama) yama >> scope;
  EXPECT_EQ(j["yama_ptrace_scope"].get<int>(), scope);
  const std::string cfg = j["config_mseal_system_mappings"];
  EXPECT_TRUE(cfg == "y" || cfg == "n" || cfg == "unknown") << cfg;
  bool names_force = false, names_yama = false;
  for (const auto& f : j["seal_bypasses"]) {
    names_force =
        names_force || f.get<std::string>().find("proc_mem.force_override") != std::string::npos;
    names_yama = names_yama || f.get<std::string>().find("ptrace") != std::string::npos;
  }
  EXPECT_EQ(names_force, force == "always" || force == "ptrace");
  EXPECT_EQ(names_yama, scope <= 0);
  const CliRun human = vmseal("check");
  EXPECT_NE(human.out.find("Yama ptrace_scope"), std::string::npos) << human.out;
}

CliRun under_filter(int error, const std::string& args) {
  return vmseal::test::run_cli_under_mseal_filter(error, args);
}

TEST(CheckCli, SeccompFilterThatDeniesMseal) {
  if (!have_mseal()) GTEST_SKIP() << "needs a kernel with mseal, to tell a filter from its absence";
  CliRun r = under_filter(EPERM, "check --json");
  ASSERT_NE(r.code, 99) << "could not install the seccomp filter";
  EXPECT_EQ(r.code, 5) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mseal"], "denied");
  EXPECT_EQ(j["seccomp"], "filter");
  // A filter that pretends the call does not exist: ENOSYS, with the filter noted.
  r = under_filter(ENOSYS, "check --json");
  EXPECT_EQ(r.code, 5) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mseal"], "missing-or-filtered");
  // inspect reads the kernel's own report: a filter in the inspecting
  // process is no reason to fail, but the ambiguity is said.
  r = under_filter(ENOSYS, "inspect self");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("seccomp filter"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("objects:"), std::string::npos);
  r = under_filter(EPERM, "inspect self");
  EXPECT_EQ(r.code, 0) << r.err;
}

// The rows of an `inspect --svg` picture: label and drawn length (from the
// first rect's left edge to the last one's right edge), read back from the
// SVG text.
std::map<std::string, double> svg_row_lengths(const std::string& svg) {
  std::map<int, std::string> label_at;                 // row y -> label
  std::map<int, std::pair<double, double>> extent_at;  // row y -> [left, right)
  std::istringstream in(svg);
  for (std::string line; std::getline(in, line);) {
    int y = 0;
    double w = 0;
    char label[256] = {};
    if (std::sscanf(line.c_str(), "<text x=\"10\" y=\"%d\">%255[^<]</text>", &y, label) == 2)
      label_at[y - 16] = label;
    double x = 0;
    if (std::sscanf(line.c_str(), "<rect x=\"%lf\" y=\"%d\" width=\"%lf\" height=\"20\"", &x, &y,
                    &w) == 3) {
      auto [it, fresh] = extent_at.try_emplace(y, x, x + w);
      if (!fresh) {
        it->second.first = std::min(it->second.first, x);
        it->second.second = std::max(it->second.second, x + w);
      }
    }
  }
  std::map<std::string, double> out;
  for (const auto& [y, label] : label_at)
    if (const auto it = extent_at.find(y); it != extent_at.end())
      out[label] = it->second.second - it->second.first;
  return out;
}

TEST(InspectCli, SvgRowsAreToOneScaleWithSizesAndALegend) {
  const std::string svg = vmseal::test::temp_path("scale.svg");
  const CliRun r = vmseal("inspect self --svg " + svg);
  ASSERT_EQ(r.code, have_mseal() ? 0 : 5) << r.err;
  const std::string picture = slurp(svg);
  const CliRun j = vmseal("inspect self --json");
  const auto report = nlohmann::json::parse(j.out);
  // Each object's bytes against its drawn length: a bigger object is never
  // drawn shorter (the old picture drew every object at full width).
  const auto lengths = svg_row_lengths(picture);
  std::vector<std::pair<double, double>> bytes_and_length;
  for (const auto& o : report["objects"]) {
    const std::string path = o["path"];
    const std::string name = path.substr(path.rfind('/') + 1);
    if (lengths.count(name) != 0)
      bytes_and_length.emplace_back(o["coverage"]["bytes"].get<double>(), lengths.at(name));
  }
  ASSERT_GE(bytes_and_length.size(), 3U) << picture.substr(0, 2000);
  std::sort(bytes_and_length.begin(), bytes_and_length.end());
  EXPECT_LT(bytes_and_length.front().second, bytes_and_length.back().second * 0.95)
      << "the smallest and the largest object drawn alike";
  for (std::size_t i = 1; i < bytes_and_length.size(); ++i)
    EXPECT_LE(bytes_and_length[i - 1].second, bytes_and_length[i].second + 0.5);
  EXPECT_NE(picture.find("log scale"), std::string::npos) << "the scale is labelled";
  std::size_t swatches = 0;
  for (std::size_t at = picture.find("width=\"12\" height=\"12\""); at != std::string::npos;
       at = picture.find("width=\"12\" height=\"12\"", at + 1))
    ++swatches;
  EXPECT_EQ(swatches, 3U) << "a swatch for each colour";
  EXPECT_NE(picture.find("text-anchor=\"end\">"), std::string::npos)
      << "sizes as text, not only on hover";
}

TEST(InspectCli, SelfAsTableJsonAndSvg) {
  const std::string svg = vmseal::test::temp_path("inspect.svg");
  const CliRun r = vmseal("inspect self --width 120 --svg " + svg);
  ASSERT_EQ(r.code, have_mseal() ? 0 : 5) << r.err;
  EXPECT_NE(r.out.find("objects:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("libc.so.6"), std::string::npos) << r.out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 120U) << line;
  const std::string picture = slurp(svg);
  EXPECT_EQ(picture.rfind("<svg", 0), 0U);
  EXPECT_NE(picture.find("libc.so.6"), std::string::npos);
  EXPECT_NE(picture.find("</svg>"), std::string::npos);

  const CliRun j = vmseal("inspect self --json");
  const auto rep = nlohmann::json::parse(j.out);
  EXPECT_GT(rep["mappings"].size(), 10U);
  EXPECT_GT(rep["objects"].size(), 2U);
  EXPECT_EQ(rep["profile"], "default");
}

TEST(InspectCli, ErrorsHaveTheirOwnExitCodes) {
  CliRun r = vmseal("inspect 1073741800");
  EXPECT_EQ(r.code, 6) << r.err;
  EXPECT_NE(r.err.find("no such process"), std::string::npos) << r.err;
  r = vmseal("inspect notapid");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not a process id"), std::string::npos) << r.err;
  r = vmseal("inspect");
  EXPECT_EQ(r.code, 2);
  r = vmseal("inspect self --all");
  EXPECT_EQ(r.code, 2);
  r = vmseal("inspect self --profile lax");
  EXPECT_EQ(r.code, 2);
}

// Runs of whitespace made one space: a wrapped note reads as one again.
std::string squeeze(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const bool space = c == ' ' || c == '\n';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

TEST(InspectCli, TheTableFitsEveryWidthWithNotesWhole) {
  const CliRun j = vmseal("inspect self --json");
  ASSERT_EQ(j.code, have_mseal() ? 0 : 5) << j.err;
  std::vector<std::string> notes;
  const auto report = nlohmann::json::parse(j.out);
  for (const auto& m : report["mappings"])
    if (m.contains("note")) notes.push_back(m["note"].get<std::string>());
  ASSERT_FALSE(notes.empty());
  for (const std::size_t width : {80U, 120U, 200U}) {
    const CliRun r = vmseal("inspect self --width " + std::to_string(width));
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      EXPECT_LE(line.size(), width) << "at " << width << " columns: " << line;
    const std::string flat = squeeze(r.out);
    for (const std::string& note : notes)
      EXPECT_NE(flat.find(squeeze(note)), std::string::npos)
          << "at " << width << " columns, cut: " << note;
  }
}

TEST(InspectCli, AZombieHasNoAddressSpace) {
  // A child that exits and is not reaped: a process without mappings.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  usleep(100000);
  const CliRun r = vmseal("inspect " + std::to_string(child));
  EXPECT_EQ(r.code, 6) << r.out << r.err;
  EXPECT_NE(r.err.find("has no address space"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "no empty table: " << r.out;
  waitpid(child, nullptr, 0);
}

TEST(Cli, UnknownCommandsAndConflictingArgumentsSayWhat) {
  CliRun r = vmseal("bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'bogus' is not a command; the commands are sim, compare"),
            std::string::npos)
      << r.err;
  r = vmseal("inspect --all 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
}

TEST(InspectCli, AllProcesses) {
  // The scanner leaves itself out; this test, its parent, is in.
  const std::string me = std::to_string(getpid());
  const CliRun r = vmseal("inspect --all");
  ASSERT_EQ(r.code, have_mseal() ? 0 : 5) << r.err;
  EXPECT_NE(r.out.find("\n" + std::string(7 - me.size(), ' ') + me + " "), std::string::npos)
      << r.out;
  // The scanner's own pid, known because a shell writes it and execs it:
  // other vmseal processes (a test running beside this one) may be listed.
  const std::string pidfile = vmseal::test::temp_path("scanner.pid");
  const std::string out = vmseal::test::temp_path("all.json");
  const std::string cmd = "sh -c 'echo $$ >" + pidfile +
                          "; exec " VMSEAL_CLI_PATH " inspect --all --json' >" + out +
                          " 2>/dev/null </dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), have_mseal() ? 0 : 5 << 8);
  const int scanner = std::stoi(vmseal::test::slurp(pidfile));
  const auto all = nlohmann::json::parse(vmseal::test::slurp(out));
  ASSERT_TRUE(all.is_array());
  ASSERT_FALSE(all.empty());
  bool parent_seen = false;
  for (const auto& p : all) {
    EXPECT_TRUE(p.contains("total"));
    EXPECT_TRUE(p.contains("sealable"));
    EXPECT_FALSE(p.contains("mappings"));  // summaries only
    EXPECT_NE(p["pid"], scanner) << "the scanner itself is not part of the fleet";
    parent_seen = parent_seen || p["pid"] == getpid();
  }
  EXPECT_TRUE(parent_seen);
}

TEST(InspectCli, OpenMetricsFileIsWrittenAtomicallyAndReadable) {
  const std::string out = vmseal::test::temp_path("vmseal-fleet.prom");
  unlink(out.c_str());
  const CliRun r = vmseal("inspect --all --format openmetrics --max-groups 2 --output " + out);
  ASSERT_EQ(r.code, have_mseal() ? 0 : 5) << r.err;
  EXPECT_TRUE(r.out.empty()) << "--output: nothing on stdout";
  struct stat st {};
  ASSERT_EQ(stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644U) << "the textfile collector runs as another user";
  const std::string text = slurp(out);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  EXPECT_NE(text.find("vmseal_mseal_available " + std::string(have_mseal() ? "1" : "0") + "\n"),
            std::string::npos);
  // At most 2 executables and "(other)" per family.
  std::size_t series = 0;
  for (std::size_t at = text.find("\nvmseal_processes{exe="); at != std::string::npos;
       at = text.find("\nvmseal_processes{exe=", at + 1))
    ++series;
  EXPECT_GE(series, 1U);
  EXPECT_LE(series, 3U);
  // A symlink in its place is never written through.
  const std::string link = vmseal::test::temp_path("vmseal-fleet-link.prom");
  unlink(link.c_str());
  ASSERT_EQ(symlink(out.c_str(), link.c_str()), 0);
  const CliRun refused = vmseal("inspect --all --format openmetrics --output " + link);
  EXPECT_EQ(refused.code, 4) << refused.err;
  unlink(link.c_str());
  unlink(out.c_str());
  // openmetrics is for --all; the table is not written to a file.
  EXPECT_EQ(vmseal("inspect self --format openmetrics").code, 2);
  EXPECT_EQ(vmseal("inspect self --output " + out).code, 2);
}

TEST(AuditCli, ShellAndBadInput) {
  CliRun r = vmseal("audit --json /bin/sh");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["interp"].is_string());
  EXPECT_GE(j["loads"].size(), 2U);
  bool text_sealed = false;
  for (const auto& p : j["plan"])
    if (p["kind"] == "text") text_sealed = p["seal"].get<bool>();
  EXPECT_TRUE(text_sealed);
  r = vmseal("audit /bin/sh");
  EXPECT_NE(r.out.find("what a sealing loader does"), std::string::npos);
  r = vmseal("audit /proc/self/status");
  EXPECT_EQ(r.code, 3) << r.err;  // not a regular file
  const std::string junk = vmseal::test::temp_path("junk.bin");
  std::ofstream(junk) << "not an ELF file at all";
  r = vmseal("audit " + junk);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("not an ELF"), std::string::npos) << r.err;
  r = vmseal("audit /nonexistent/binary");
  EXPECT_EQ(r.code, 4) << r.err;
}

// Every command's exit statuses are the same in its --help, its man page and
// the README (issue 16: one source, cli/manual.cpp; nothing may drift).
std::vector<std::pair<std::string, std::string>> help_statuses(const std::string& out) {
  std::vector<std::pair<std::string, std::string>> rows;
  const std::size_t at = out.find("Exit status:\n");
  if (at == std::string::npos) return rows;
  std::istringstream in(out.substr(at + 13));
  for (std::string l; std::getline(in, l) && l.rfind("  ", 0) == 0;) {
    std::istringstream w(l);
    std::string code;
    w >> code;
    std::string meaning;
    std::getline(w >> std::ws, meaning);
    rows.emplace_back(code, meaning);
  }
  return rows;
}

std::vector<std::pair<std::string, std::string>> man_statuses(const std::string& roff) {
  std::vector<std::pair<std::string, std::string>> rows;
  std::istringstream in(roff.substr(roff.find(".SH EXIT STATUS")));
  std::string l;
  std::getline(in, l);
  auto plain = [](std::string t) {
    for (std::size_t p; (p = t.find("\\-")) != std::string::npos;) t.replace(p, 2, "-");
    for (std::size_t p; (p = t.find("\\e")) != std::string::npos;) t.replace(p, 2, "\\");
    return t;
  };
  while (std::getline(in, l) && l == ".TP") {
    std::string code, meaning;
    std::getline(in, code);
    std::getline(in, meaning);
    rows.emplace_back(plain(code.substr(3)), plain(meaning));
  }
  return rows;
}

std::vector<std::pair<std::string, std::string>> readme_statuses(const std::string& readme,
                                                                 const std::string& cmd) {
  std::vector<std::pair<std::string, std::string>> rows;
  const std::size_t at = readme.find("Exit status of `" + cmd + "`");
  if (at == std::string::npos) return rows;
  std::istringstream in(readme.substr(at));
  std::string l;
  while (std::getline(in, l) && l.rfind("|---", 0) != 0) {
  }
  while (std::getline(in, l) && l.rfind("| ", 0) == 0) {
    const std::size_t bar = l.find(" | ", 2);
    rows.emplace_back(l.substr(2, bar - 2), l.substr(bar + 3, l.size() - bar - 5));
  }
  return rows;
}

TEST(ManualCli, ExitStatusesAgreeInHelpManPageAndReadme) {
  const std::string readme = slurp(std::string(VMSEAL_SOURCE_DIR) + "/README.md");
  for (const std::string cmd : {"vmseal", "sim", "compare", "difftest", "inspect", "check", "audit",
                                "run", "seal", "predict"}) {
    const CliRun help = vmseal(cmd == "vmseal" ? "--help" : cmd + " --help");
    ASSERT_EQ(help.code, 0) << cmd;
    const CliRun man = vmseal("--man " + cmd);
    ASSERT_EQ(man.code, 0) << cmd << man.err;
    const auto from_help = help_statuses(help.out);
    EXPECT_GE(from_help.size(), 3u) << cmd << ": --help lists no exit statuses:\n" << help.out;
    EXPECT_EQ(man_statuses(man.out), from_help) << cmd << ": the man page differs from --help";
    if (cmd != "vmseal") {
      EXPECT_EQ(readme_statuses(readme, "vmseal " + cmd), from_help)
          << cmd << ": the README differs from --help";
    }
  }
  EXPECT_EQ(vmseal("--man nosuchcommand").code, 2);
}

}  // namespace
