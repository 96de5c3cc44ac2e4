// vmseal audit BINARY: a static look at an ELF file, and what a sealing loader
// would do with it.
#include <elf.h>

#include <cerrno>
#include <cstring>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/stat.h>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/plan.hpp"

namespace vmseal::cli {
namespace {

std::string flags_text(const sealing::LoadSegment& l) {
  std::string f;
  f += l.r ? 'R' : ' ';
  f += l.w ? 'W' : ' ';
  f += l.x ? 'E' : ' ';
  if (l.openbsd_mutable_flag) f += " MUTABLE";
  return f;
}

const char* type_name(std::uint16_t t) {
  switch (t) {
    case ET_EXEC: return "executable (ET_EXEC, not position-independent)";
    case ET_DYN: return "shared object or PIE (ET_DYN)";
    case ET_REL: return "relocatable object (ET_REL): not loadable";
    case ET_CORE: return "core file";
    default: return "unknown type";
  }
}

}  // namespace

CLI::App* add_audit(CLI::App& app, AuditOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "audit",
      "A static look at an ELF file: segments, RELRO, BIND_NOW, text relocations, W+X segments,\n"
      "the GNU_PROPERTY_MEMORY_SEAL marker, PT_GNU_MUTABLE / PT_OPENBSD_MUTABLE escape hatches,\n"
      "and what a sealing loader would seal.");
  cmd->footer(exit_status_footer("audit"));
  cmd->add_option("binary", opts.binary, "the ELF file")->required();
  cmd->add_option("--profile", opts.profile, "what the loader seals: minimal, default, strict")
      ->check(CLI::IsMember({"minimal", "default", "strict"}));
  cmd->add_flag("--json", opts.json, "print the findings as JSON");
  return cmd;
}

int run_audit(const AuditOptions& o) {
  sealing::Profile profile = sealing::Profile::Default;
  sealing::profile_from_name(o.profile, profile);
  struct stat st{};
  if (stat(o.binary.c_str(), &st) != 0) {
    std::fprintf(stderr, "vmseal audit: %s: %s\n", o.binary.c_str(), std::strerror(errno));
    return kIoError;
  }
  if (!S_ISREG(st.st_mode)) {
    std::fprintf(stderr, "vmseal audit: %s is not a regular file\n", o.binary.c_str());
    return kBadInput;
  }
  sealing::ElfImage img;
  std::string err;
  if (!sealing::read_elf_image(o.binary, img, &err)) {
    std::fprintf(stderr, "vmseal audit: %s\n", err.c_str());
    return err.find("not an ELF") != std::string::npos || err.find("bad") != std::string::npos ||
                   err.find("no loadable") != std::string::npos
               ? kBadInput
               : kIoError;
  }
  // The plan at bias 0: addresses are the object's own virtual addresses.
  const auto plan = sealing::plan_object(img, 0, profile);

  std::vector<std::string> findings;
  if (!img.relro) findings.push_back("no PT_GNU_RELRO: relocated data stays writable (and unsealable)");
  else if (img.dynamic && !img.bind_now)
    findings.push_back("partial RELRO: not linked with -z now, so the GOT stays writable for lazy binding");
  if (img.textrel) findings.push_back("text relocations: the loader must write to text before sealing it");
  if (img.has_wx_segment()) findings.push_back("a writable and executable segment: never sealed");
  if (img.stack_executable.value_or(false)) findings.push_back("executable stack requested (PT_GNU_STACK RWE)");
  if (!img.stack_executable) findings.push_back("no PT_GNU_STACK: the kernel may make the stack executable");
  if (img.memory_seal)
    findings.push_back("marked GNU_PROPERTY_MEMORY_SEAL (-z memory-seal): a sealing glibc would seal it");
  for (const auto& m : img.mutable_ranges)
    if ((m.range.start & (kPageSize - 1)) != 0 || (m.range.end & (kPageSize - 1)) != 0)
      findings.push_back("a mutable range is not page-aligned: the pages around it stay mutable too");

  if (o.json) {
    nlohmann::json j;
    j["path"] = o.binary;
    j["type"] = img.type;
    j["interp"] = img.interp ? nlohmann::json(*img.interp) : nlohmann::json(nullptr);
    j["soname"] = img.soname;
    j["bind_now"] = img.bind_now;
    j["textrel"] = img.textrel;
    j["nodelete"] = img.nodelete;
    j["memory_seal_property"] = img.memory_seal;
    j["wx_segment"] = img.has_wx_segment();
    j["stack_executable"] = img.stack_executable ? nlohmann::json(*img.stack_executable) : nlohmann::json(nullptr);
    if (img.relro) j["relro"] = {{"start", img.relro->start}, {"end", img.relro->end}};
    for (const auto& l : img.loads)
      j["loads"].push_back({{"offset", l.offset}, {"vaddr", l.vaddr}, {"filesz", l.filesz}, {"memsz", l.memsz},
                            {"flags", flags_text(l)}});
    j["mutable_ranges"] = nlohmann::json::array();
    for (const auto& m : img.mutable_ranges)
      j["mutable_ranges"].push_back({{"start", m.range.start}, {"end", m.range.end},
                                     {"type", m.type == sealing::kPtGnuMutable ? "PT_GNU_MUTABLE" : "PT_OPENBSD_MUTABLE"}});
    j["profile"] = sealing::profile_name(profile);
    for (const auto& r : plan) {
      nlohmann::json rj{{"start", r.start}, {"end", r.end}, {"kind", sealing::segment_kind_name(r.kind)}, {"seal", r.seal}};
      if (!r.seal) rj["why_not"] = r.why_not;
      j["plan"].push_back(std::move(rj));
    }
    j["findings"] = findings;
    std::printf("%s\n", j.dump(2).c_str());
    return kOk;
  }

  std::printf("%s: %s, %s\n", o.binary.c_str(), img.is_64 ? "64-bit" : "32-bit", type_name(img.type));
  if (img.interp) std::printf("interpreter  %s\n", img.interp->c_str());
  if (!img.soname.empty()) std::printf("soname       %s\n", img.soname.c_str());
  std::printf("RELRO        %s\n", !img.relro ? "none" : img.bind_now || !img.dynamic ? "full" : "partial");
  std::printf("BIND_NOW     %s   TEXTREL %s   NODELETE %s   memory-seal property %s\n", img.bind_now ? "yes" : "no",
              img.textrel ? "yes" : "no", img.nodelete ? "yes" : "no", img.memory_seal ? "yes" : "no");
  std::printf("\nloadable segments:\n  %-10s %-18s %-10s %-10s %s\n", "OFFSET", "VADDR", "FILESZ", "MEMSZ", "FLAGS");
  for (const auto& l : img.loads)
    std::printf("  0x%-8" PRIx64 " 0x%-16" PRIx64 " 0x%-8" PRIx64 " 0x%-8" PRIx64 " %s\n", l.offset, l.vaddr,
                l.filesz, l.memsz, flags_text(l).c_str());
  if (img.relro) std::printf("  PT_GNU_RELRO       0x%" PRIx64 "-0x%" PRIx64 "\n", img.relro->start, img.relro->end);
  for (const auto& m : img.mutable_ranges)
    std::printf("  %-18s 0x%" PRIx64 "-0x%" PRIx64 "\n",
                m.type == sealing::kPtGnuMutable ? "PT_GNU_MUTABLE" : "PT_OPENBSD_MUTABLE", m.range.start,
                m.range.end);
  std::printf("\nwhat a sealing loader does (profile %s; addresses before the load bias):\n",
              std::string(sealing::profile_name(profile)).c_str());
  for (const auto& r : plan)
    std::printf("  0x%-8" PRIx64 "-0x%-8" PRIx64 " %-8s %s\n", r.start, r.end,
                std::string(sealing::segment_kind_name(r.kind)).c_str(),
                r.seal ? "sealed" : ("left mutable: " + std::string(r.why_not)).c_str());
  if (!findings.empty()) {
    std::printf("\nfindings:\n");
    for (const auto& f : findings) std::printf("  %s\n", f.c_str());
  }
  return kOk;
}

}  // namespace vmseal::cli
