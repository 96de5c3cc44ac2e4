#include "support/probe_replay.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal::test {

Config probe_config() {
  Config cfg;
  cfg.set_privileged(true);  // the probes ran as root
  return cfg;
}

void Recorder::anon(std::int64_t from, std::int64_t to, std::uint64_t prot) {
  const SysResult r = as_->mmap(P(from), static_cast<std::uint64_t>(to - from) * PS, prot,
                                abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0);
  EXPECT_TRUE(r.is_ok() && r.value() == P(from))
      << id_ << ": anon(" << from << ", " << to << ") returned " << ret_str(r);
}

void Recorder::ok(const SysResult& r, const char* what) {
  EXPECT_TRUE(r.is_ok() && r.value() == 0)
      << id_ << ": setup " << what << " returned " << ret_str(r);
}

void Recorder::mapped_at(const SysResult& r, std::int64_t page, const char* what) {
  EXPECT_TRUE(r.is_ok() && r.value() == P(page))
      << id_ << ": setup " << what << " returned " << addr_str(r, w_.base);
}

void Recorder::obs(const std::string& ret) {
  ++step_;
  std::string line = id_ + "." + std::to_string(step_) + ": ret=" + ret +
                     " layout=" + draw_layout(*as_, w_.base, w_.npages);
  if (guards_) line += " guards=" + w_.draw_guards();
  lines_.push_back(std::move(line));
}

void Recorder::fork_and(const std::function<void(Recorder&)>& in_child) {
  AddressSpace& parent = *as_;
  AddressSpace child = parent.fork();
  const int step = step_;
  switch_to(child);
  if (in_child)
    in_child(*this);
  else
    obs("0");
  switch_to(parent);
  step_ = step + 1;
}

std::vector<std::string> expected_probe_lines(const std::string& probe, const std::string& id) {
  const std::string path = std::string(VMSEAL_TEST_DATA_DIR "/") + probe + ".expected";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::string> out;
  const std::string prefix = id + ".";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    if (line.find(": data=") != std::string::npos) continue;
    out.push_back(line);
  }
  return out;
}

std::string diff_lines(const std::vector<std::string>& kernel,
                       const std::vector<std::string>& engine) {
  std::ostringstream o;
  o << "--- kernel\n+++ engine\n";
  const std::size_t n = std::max(kernel.size(), engine.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::string* k = i < kernel.size() ? &kernel[i] : nullptr;
    const std::string* e = i < engine.size() ? &engine[i] : nullptr;
    if (k != nullptr && e != nullptr && *k == *e) {
      o << "  " << *k << '\n';
      continue;
    }
    if (k != nullptr) o << "- " << *k << '\n';
    if (e != nullptr) o << "+ " << *e << '\n';
  }
  return o.str();
}

void run_probe_case(const std::string& probe, const std::string& id,
                    const std::function<void(Recorder&)>& body, bool guards) {
  AddressSpace as(probe_config());
  install_probe_files(as);
  Recorder rec(id, as, guards);
  body(rec);
  const std::vector<std::string> want = expected_probe_lines(probe, id);
  ASSERT_FALSE(want.empty()) << "no expected lines for " << id << " in " << probe << ".expected";
  EXPECT_EQ(want, rec.lines()) << diff_lines(want, rec.lines());
}

}  // namespace vmseal::test
