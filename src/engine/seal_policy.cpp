#include "vmseal/engine/seal_policy.hpp"

#include <array>

namespace vmseal {

VmFlags seal_flags_of_types(std::uint64_t types) noexcept {
  VmFlags f = 0;
  if ((types & seal_type::BASE) != 0) f |= vm::SEALED;
  if ((types & seal_type::PROT_PKEY) != 0) f |= vm::SEAL_PROT_PKEY;
  if ((types & seal_type::SEAL) != 0) f |= vm::SEAL_SEAL;
  return f;
}

std::uint64_t seal_types_of_flags(VmFlags flags) noexcept {
  std::uint64_t t = 0;
  if ((flags & vm::SEALED) != 0) t |= seal_type::BASE;
  if ((flags & vm::SEAL_PROT_PKEY) != 0) t |= seal_type::PROT_PKEY;
  if ((flags & vm::SEAL_SEAL) != 0) t |= seal_type::SEAL;
  return t;
}

namespace {

struct TypeName {
  std::uint64_t type;
  std::string_view name;
};
constexpr std::array<TypeName, 3> kTypeNames{{
    {seal_type::BASE, "base"},
    {seal_type::PROT_PKEY, "prot_pkey"},
    {seal_type::SEAL, "seal"},
}};

SealPolicy make(std::string_view name, std::string_view title) {
  SealPolicy p;
  p.name = name;
  p.title = title;
  return p;
}

std::array<SealPolicy, 7> make_policies() {
  std::array<SealPolicy, 7> a;
  a[0] = make("linux-6.18", "Linux 6.18 mseal(2): checks in the walks, partial failures");

  a[1] = make("linux-6.12", "Linux 6.12-6.16: as 6.18, madvise rule on vm_file");
  a[1].discard_scope = DiscardScope::NoFileReadOnly;

  a[2] = make("linux-6.11", "Linux 6.11: up-front checks (can_modify_mm), all-or-nothing");
  a[2].timing = SealTiming::UpFront;
  a[2].discard_scope = DiscardScope::NoFileReadOnly;

  a[3] = make("linux-6.10", "Linux 6.10 as released: up-front checks, is_madv_discard() bitmask");
  a[3].timing = SealTiming::UpFront;
  a[3].discard_scope = DiscardScope::NoFileReadOnly;
  a[3].discard_advice = DiscardAdvice::Bitmask;

  a[4] = make("openbsd",
              "OpenBSD mimmutable(2): holes ignored, all-or-nothing, EPERM for destruction");
  a[4].timing = SealTiming::UpFront;
  a[4].discard_advice = DiscardAdvice::Destructive;
  a[4].discard_scope = DiscardScope::Any;
  a[4].msync_invalidate_sealed = true;
  a[4].seal_like_mimmutable = true;

  a[5] = make("rfc-v3", "typed-seal RFC v3: MM_SEAL_BASE / PROT_PKEY / SEAL, up front, EACCES");
  a[5].timing = SealTiming::UpFront;
  a[5].refused = Errno::ACCES;
  a[5].base_seal = vm::SEALED;
  a[5].prot_seal = vm::SEAL_PROT_PKEY;
  a[5].discard_scope = DiscardScope::None;
  a[5].fixed_mmap_checked_early = true;
  a[5].typed = true;
  a[5].untyped_types = seal_type::ALL;

  a[6] = make("kernel-seal",
              "kernel-internal seal (seed 003): only the kernel releases it, past the seal");
  a[6].kernel_release = KernelRelease::Bypass;
  return a;
}

const std::array<SealPolicy, 7> kPolicies = make_policies();

struct Alias {
  std::string_view alias;
  std::string_view name;
};
constexpr std::array<Alias, 9> kAliases{{
    {"6.18", "linux-6.18"},
    {"linux", "linux-6.18"},
    {"6.12", "linux-6.12"},
    {"6.11", "linux-6.11"},
    {"6.10", "linux-6.10"},
    {"mimmutable", "openbsd"},
    {"typed", "rfc-v3"},
    {"rfc", "rfc-v3"},
    {"kseal", "kernel-seal"},
}};

// The kernel seal's ways past itself, as "kernel-seal:RELEASE" names them.
struct ReleaseName {
  KernelRelease release;
  std::string_view name;
};
constexpr std::array<ReleaseName, 3> kReleaseNames{{
    {KernelRelease::Bypass, "bypass"},
    {KernelRelease::Unseal, "unseal"},
    {KernelRelease::Flag, "flag"},
}};

std::string_view release_name(KernelRelease r) {
  for (const ReleaseName& n : kReleaseNames)
    if (n.release == r) return n.name;
  return "none";
}

bool parse_release(std::string_view text, KernelRelease& out, std::string* error) {
  for (const ReleaseName& n : kReleaseNames) {
    if (text != n.name) continue;
    out = n.release;
    return true;
  }
  if (error != nullptr)
    *error =
        "unknown kernel release \"" + std::string(text) + "\" (choose from bypass, unseal, flag)";
  return false;
}

bool parse_types(std::string_view text, std::uint64_t& out, std::string* error) {
  out = 0;
  if (text == "none") return true;
  while (!text.empty()) {
    const std::size_t plus = text.find('+');
    const std::string_view word = text.substr(0, plus);
    bool found = false;
    for (const TypeName& t : kTypeNames) {
      if (word == t.name || (t.type == seal_type::PROT_PKEY && word == "prot")) {
        out |= t.type;
        found = true;
      }
    }
    if (!found) {
      if (error != nullptr)
        *error = "unknown seal type \"" + std::string(word) +
                 "\" (choose from base, prot_pkey, seal, joined with '+', or none)";
      return false;
    }
    if (plus == std::string_view::npos) break;
    text.remove_prefix(plus + 1);
    if (text.empty()) {
      if (error != nullptr) *error = "a '+' with no seal type after it";
      return false;
    }
  }
  return true;
}

}  // namespace

std::string seal_types_name(std::uint64_t types) {
  std::string out;
  for (const TypeName& t : kTypeNames) {
    if ((types & t.type) == 0) continue;
    if (!out.empty()) out += '+';
    out += t.name;
  }
  return out.empty() ? std::string("none") : out;
}

std::string SealPolicy::spec() const {
  std::string s(name);
  if (typed && untyped_types != seal_type::ALL) s += ":" + seal_types_name(untyped_types);
  if (kernel_release != KernelRelease::None && kernel_release != KernelRelease::Bypass)
    s += ":" + std::string(release_name(kernel_release));
  return s;
}

VmFlags SealPolicy::seal_mask() const noexcept {
  return base_seal | prot_seal | (typed ? vm::ANY_SEAL : VmFlags{0});
}

namespace seal_policy {

std::span<const SealPolicy> all() noexcept { return kPolicies; }

const SealPolicy& linux_6_18() noexcept { return kPolicies[0]; }

bool parse(std::string_view spec, SealPolicy& out, std::string* error) {
  std::string_view name = spec;
  std::string_view types;
  bool has_types = false;
  if (const std::size_t colon = spec.find(':'); colon != std::string_view::npos) {
    name = spec.substr(0, colon);
    types = spec.substr(colon + 1);
    has_types = true;
  }
  for (const Alias& a : kAliases)
    if (name == a.alias) name = a.name;
  for (const SealPolicy& p : kPolicies) {
    if (p.name != name) continue;
    out = p;
    if (!has_types) return true;
    if (p.kernel_release != KernelRelease::None)
      return parse_release(types, out.kernel_release, error);
    if (!p.typed) {
      if (error != nullptr)
        *error = "policy " + std::string(p.name) +
                 " takes no \":\" choice (only rfc-v3:TYPES and kernel-seal:RELEASE)";
      return false;
    }
    return parse_types(types, out.untyped_types, error);
  }
  if (error != nullptr) {
    std::string names;
    for (const SealPolicy& p : kPolicies) {
      if (!names.empty()) names += ", ";
      names += p.name;
    }
    *error = "unknown seal policy \"" + std::string(spec) + "\" (choose from " + names + ")";
  }
  return false;
}

}  // namespace seal_policy
}  // namespace vmseal
