// libFuzzer target: `vmseal compare`'s reader of traces and .vms scripts,
// every built-in seal design (and each way the kernel seal's release gets
// past it) replaying what it reads. Seeds: examples/designs/*.vms,
// tests/data/scripts/*.vms, examples/sealing.strace.
#include "fuzz_lines.hpp"
#include "vmseal/compare/compare.hpp"
#include "vmseal/engine/seal_policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vmseal;
  compare::CompareOptions options;
  for (const SealPolicy& p : seal_policy::all()) options.policies.push_back(p);
  for (const char* spec : {"kernel-seal:unseal", "kernel-seal:flag"}) {
    SealPolicy p;
    if (seal_policy::parse(spec, p)) options.policies.push_back(p);
  }
  options.stop_on_bad_line = false;
  compare::PolicyComparison cmp(options);
  const compare::PolicyComparison::Report ignore = [](const compare::CallComparison&) {};
  fuzz::for_each_line(fuzz::as_text(data, size),
                      [&](std::string_view line) { (void)cmp.feed(line, ignore); });
  cmp.finish(ignore);
  return 0;
}
