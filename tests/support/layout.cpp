#include "support/layout.hpp"

#include <cctype>
#include <cstdio>
#include <sstream>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/engine/vm_flags.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal::test {

std::string Window::draw() const { return draw_layout(*as, base, npages); }

std::string Window::draw_guards() const {
  std::string out(npages, '.');
  for (std::uint64_t i = 0; i < npages; ++i)
    if (as->guard_pages().contains(base + i * PS)) out[i] = 'G';
  return out;
}

void install_probe_files(AddressSpace& as) {
  FileInfo ext4;
  ext4.path = "/tmp/probes/f";
  ext4.dev_major = 254;
  ext4.dev_minor = 1;
  ext4.inode = 1234;
  ext4.kind = FileKind::Regular;
  ext4.size = 64 * PS;
  FileInfo ro = ext4;
  ro.writable = false;
  as.fds().install_at(kFdRdonly, as.files().add(ro));
  FileInfo rw = ext4;
  rw.writable = true;
  as.fds().install_at(kFdRdwr, as.files().add(rw));
  FileInfo memfd;
  memfd.path = "/memfd:m (deleted)";
  memfd.inode = 2;
  memfd.writable = true;
  memfd.kind = FileKind::Shmem;
  memfd.size = 64 * PS;
  as.fds().install_at(kFdMemfd, as.files().add(memfd));
  FileInfo wo = ext4;
  wo.readable = false;
  wo.writable = true;
  as.fds().install_at(kFdWronly, as.files().add(wo));
  FileInfo zero;
  zero.path = "/dev/zero";
  zero.dev_minor = 5;
  zero.inode = 4;
  zero.writable = true;
  zero.kind = FileKind::DevZero;
  as.fds().install_at(kFdDevZero, as.files().add(zero));
}

std::string Window::at(const SysResult& r) const { return addr_str(r, base); }

Window make_window(AddressSpace& as, std::uint64_t npages, Addr base) {
  Window w;
  w.as = &as;
  w.npages = npages;
  const Addr hint = base == 0 ? 0 : base - PS;
  SysResult r = as.mmap(hint, (npages + 2) * PS, abi::PROT_NONE,
                        abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_NORESERVE, -1, 0);
  if (r.is_error()) {
    ADD_FAILURE() << "reserve: " << errno_name(r.error());
    return w;
  }
  w.base = r.value() + PS;
  const std::uint64_t fixed = abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_FIXED;
  if (SysResult g = as.mmap(w.base - PS, PS, abi::PROT_EXEC, fixed, -1, 0);
      !(g.is_ok() && g.value() == w.base - PS))
    ADD_FAILURE() << "lower guard: " << ret_str(g);
  if (SysResult g =
          as.mmap(w.P(static_cast<std::int64_t>(npages)), PS, abi::PROT_EXEC, fixed, -1, 0);
      !(g.is_ok() && g.value() == w.P(static_cast<std::int64_t>(npages))))
    ADD_FAILURE() << "upper guard: " << ret_str(g);
  if (SysResult u = as.munmap(w.base, npages * PS); !u.is_ok())
    ADD_FAILURE() << "unmap interior: " << ret_str(u);
  return w;
}

std::string ret_str(const SysResult& r) {
  if (r.is_error()) return std::string(errno_name(r.error()));
  return std::to_string(r.value());
}

std::string addr_str(const SysResult& r, Addr base) {
  if (r.is_error()) return std::string(errno_name(r.error()));
  const auto d = static_cast<std::int64_t>(r.value() - base);
  const auto ps = static_cast<std::int64_t>(PS);
  std::string s = "@" + std::to_string(d / ps);
  if (d % ps != 0) s += "+" + std::to_string(d % ps);
  return s;
}

namespace {

bool is_builder_token(std::string_view t) {
  return t == "F" || t == "K" || t.rfind("fd=", 0) == 0 || t.rfind("off=", 0) == 0;
}

bool has(const Segment& s, std::string_view tok) {
  for (const auto& t : s.tokens)
    if (t == tok) return true;
  return false;
}

long token_value(const Segment& s, std::string_view prefix, long dflt) {
  for (const auto& t : s.tokens)
    if (t.rfind(prefix, 0) == 0) return std::stol(t.substr(prefix.size()));
  return dflt;
}

std::string render(const std::vector<Segment>& segs) {
  std::string out;
  for (const Segment& s : segs) {
    out += '[' + std::to_string(s.from) + '-' + std::to_string(s.to) + ' ' + s.perms;
    std::string mnems;
    std::string unknown_tokens;
    for (const auto& t : s.tokens) {
      if (is_builder_token(t)) continue;
      VmFlags f = 0;
      if (parse_smaps_vmflags(t, f)) {
        mnems += t + ' ';
      } else {
        unknown_tokens += ' ' + t;
      }
    }
    VmFlags flags = 0;
    parse_smaps_vmflags(mnems, flags);
    std::string ordered = smaps_vmflags(flags);
    if (!ordered.empty()) {
      ordered.pop_back();
      out += ' ' + ordered;
    }
    out += unknown_tokens;
    out += ']';
  }
  return out;
}

}  // namespace

bool parse_drawing(std::string_view d, std::vector<Segment>& out, std::string* error) {
  out.clear();
  std::size_t i = 0;
  auto fail = [&](const std::string& why) {
    if (error != nullptr)
      *error = why + " at offset " + std::to_string(i) + " of \"" + std::string(d) + "\"";
    return false;
  };
  while (i < d.size()) {
    if (d[i] == ' ') {
      ++i;
      continue;
    }
    if (d[i] != '[') return fail("expected '['");
    const std::size_t close = d.find(']', i);
    if (close == std::string_view::npos) return fail("missing ']'");
    std::istringstream in(std::string(d.substr(i + 1, close - i - 1)));
    Segment s;
    std::string range;
    in >> range >> s.perms;
    const std::size_t dash = range.find('-', 1);
    if (dash == std::string::npos || s.perms.size() != 4) return fail("bad segment");
    try {
      s.from = std::stoll(range.substr(0, dash));
      s.to = std::stoll(range.substr(dash + 1));
    } catch (...) {
      return fail("bad range");
    }
    for (std::string t; in >> t;) s.tokens.push_back(t);
    out.push_back(std::move(s));
    i = close + 1;
  }
  return true;
}

std::string canonical(std::string_view drawing) {
  std::vector<Segment> segs;
  std::string err;
  if (!parse_drawing(drawing, segs, &err)) return "<bad drawing: " + err + ">";
  return render(segs);
}

::testing::AssertionResult build(const Window& w, std::string_view drawing) {
  std::vector<Segment> segs;
  std::string err;
  if (!parse_drawing(drawing, segs, &err)) return ::testing::AssertionFailure() << err;
  AddressSpace& as = *w.as;
  for (const Segment& s : segs) {
    const Addr a = w.P(s.from);
    const std::uint64_t len = static_cast<std::uint64_t>(s.to - s.from) * PS;
    auto step_failed = [&](const char* what, const SysResult& r) {
      return ::testing::AssertionFailure()
             << "building [" << s.from << "-" << s.to << " " << s.perms << "]: " << what
             << " returned " << ret_str(r) << "; window is now " << w.draw();
    };
    std::uint64_t prot = 0;
    if (s.perms[0] == 'r') prot |= abi::PROT_READ;
    if (s.perms[1] == 'w') prot |= abi::PROT_WRITE;
    if (s.perms[2] == 'x') prot |= abi::PROT_EXEC;
    const bool shared = s.perms[3] == 's';
    const long fd = token_value(s, "fd=", -1);
    std::uint64_t flags = abi::MAP_FIXED | (shared ? abi::MAP_SHARED : abi::MAP_PRIVATE);
    if (fd < 0) flags |= abi::MAP_ANONYMOUS;
    if (has(s, "gd")) flags |= abi::MAP_GROWSDOWN;
    if (has(s, "nr")) flags |= abi::MAP_NORESERVE;
    std::uint64_t map_prot = prot;
    // VM_ACCOUNT on a read-only private VMA: map it writable, fault it (an
    // unfaulted anonymous VMA loses VM_ACCOUNT when made read-only), then mprotect.
    const bool ac_readonly = has(s, "ac") && !shared && (prot & abi::PROT_WRITE) == 0;
    if (ac_readonly) map_prot |= abi::PROT_WRITE;
    const auto off = static_cast<std::uint64_t>(token_value(s, "off=", 0)) * PS;
    if (SysResult r = as.mmap(a, len, map_prot, flags, static_cast<int>(fd), off);
        !(r.is_ok() && r.value() == a))
      return step_failed("mmap", r);
    if (has(s, "F") || ac_readonly) {
      const Access acc = (map_prot & abi::PROT_WRITE) != 0 ? Access::Write : Access::Read;
      if (as.fault(a, acc) != FaultResult::Ok)
        return ::testing::AssertionFailure() << "building: fault at page " << s.from << " failed";
    }
    if (map_prot != prot) {
      if (SysResult r = as.mprotect(a, len, prot); !r.is_ok()) return step_failed("mprotect", r);
    }
    static constexpr std::pair<const char*, int> kAdvice[] = {
        {"dc", abi::MADV_DONTFORK},   {"dd", abi::MADV_DONTDUMP},   {"wf", abi::MADV_WIPEONFORK},
        {"rr", abi::MADV_RANDOM},     {"sr", abi::MADV_SEQUENTIAL}, {"hg", abi::MADV_HUGEPAGE},
        {"nh", abi::MADV_NOHUGEPAGE}, {"mg", abi::MADV_MERGEABLE},  {"gu", abi::MADV_GUARD_INSTALL},
    };
    for (const auto& [tok, advice] : kAdvice) {
      if (!has(s, tok)) continue;
      if (SysResult r = as.madvise(a, len, advice); !r.is_ok()) return step_failed(tok, r);
    }
    if (has(s, "lo")) {
      SysResult r = has(s, "lf") ? as.mlock2(a, len, abi::MLOCK_ONFAULT) : as.mlock(a, len);
      // mlock of PROT_NONE locks and then fails to populate (ENOMEM).
      if (!r.is_ok() && !(prot == abi::PROT_NONE && r.error() == Errno::NOMEM))
        return step_failed("mlock", r);
    }
    if (has(s, "sl")) {
      const bool kernel = has(s, "K");
      if (SysResult r = kernel ? as.kernel_seal(a, len) : as.mseal(a, len, 0); !r.is_ok())
        return step_failed(kernel ? "kernel_seal" : "mseal", r);
    }
  }
  const std::string want = canonical(drawing);
  const std::string got = w.draw();
  if (got != want)
    return ::testing::AssertionFailure()
           << "setup drawing not reproduced:\n  wanted " << want << "\n  built  " << got;
  return ::testing::AssertionSuccess();
}

std::string test_name_of(std::string_view description) {
  std::string out;
  for (const char ch : description) {
    if (std::isalnum(static_cast<unsigned char>(ch)) != 0)
      out += ch;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

}  // namespace vmseal::test
