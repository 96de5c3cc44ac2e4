// Test support: replaying a kernel probe of tests/kernel (reference_cases.c,
// guard_markers.c) in the engine. A Recorder mirrors the C program's helpers
// (region, anon, obs) and prints the same observation lines; run_probe_case()
// compares them with the lines the real kernel printed, kept in
// tests/data/<probe>.expected.
#pragma once

#include "support/layout.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vmseal::test {

// The configuration the probes ran with (root).
Config probe_config();

// One case's output, in the C program's notation.
class Recorder {
 public:
  // With `guards`, each observation ends with " guards=" and the window's
  // guard strip (Window::draw_guards()), as guard_markers.c prints it.
  Recorder(std::string id, AddressSpace& as, bool guards = false)
      : id_(std::move(id)), as_(&as), guards_(guards) {}

  // region(n)
  void region(std::uint64_t n) { w_ = make_window(*as_, n); }
  // anon(from, to, prot)
  void anon(std::int64_t from, std::int64_t to, std::uint64_t prot);
  // OK(expr)
  void ok(const SysResult& r, const char* what);
  // CHECK(x_mmap(P(page), ...), r_ == P(page)): an address result at `page`.
  void mapped_at(const SysResult& r, std::int64_t page, const char* what);

  void obs(const std::string& ret);
  void obs_ret(const SysResult& r) { obs(ret_str(r)); }
  void obs_addr(const SysResult& r) { obs(addr_str(r, w_.base)); }
  // A line the C program prints that the engine cannot model: counted only.
  void skip_data_line() { ++step_; }

  Addr P(std::int64_t page) const { return w_.P(page); }
  AddressSpace& as() { return *as_; }
  // Observations from now on are of `as` (a forked child).
  void switch_to(AddressSpace& as) {
    as_ = &as;
    w_.as = &as;
  }
  // probe.h-style fork: `in_child` runs in a fork of the current address
  // space (nullptr: one observation "0"), then the parent goes on with its
  // step counter one higher, as the C program's does.
  void fork_and(const std::function<void(Recorder&)>& in_child);
  Window& window() { return w_; }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::string id_;
  AddressSpace* as_;
  bool guards_;
  Window w_;
  int step_ = 0;
  std::vector<std::string> lines_;
};

// The expected lines of case `id` in tests/data/<probe>.expected, data lines
// (": data=") left out.
std::vector<std::string> expected_probe_lines(const std::string& probe, const std::string& id);

// A line-by-line diff: "  " same, "- " kernel only, "+ " engine only.
std::string diff_lines(const std::vector<std::string>& kernel,
                       const std::vector<std::string>& engine);

// Runs `body` on a fresh AddressSpace (probe_config(), probe files installed)
// and expects the recorded lines to equal the kernel's.
void run_probe_case(const std::string& probe, const std::string& id,
                    const std::function<void(Recorder&)>& body, bool guards = false);

}  // namespace vmseal::test
