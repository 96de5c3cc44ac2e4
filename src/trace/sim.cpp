#include "vmseal/trace/sim.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "vmseal/kernel/abi.hpp"

namespace vmseal::trace {

std::string_view verdict_name(Verdict v) noexcept {
  switch (v) {
    case Verdict::Match:
      return "match";
    case Verdict::Mismatch:
      return "MISMATCH";
    case Verdict::Unverifiable:
      return "unverifiable";
    case Verdict::Placed:
      return "placed";
    case Verdict::NoRecord:
      return "no-record";
  }
  return "?";
}

// ---- RangeSet ----------------------------------------------------------------

void RangeSet::add(Addr start, Addr end) {
  if (start >= end) return;
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin()) {
    auto p = std::prev(it);
    if (p->second >= start) {
      start = p->first;
      end = std::max(end, p->second);
      it = ranges_.erase(p);
    }
  }
  while (it != ranges_.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_[start] = end;
}

bool RangeSet::contains(Addr start, Addr end) const {
  if (start >= end) return true;
  auto it = ranges_.upper_bound(start);
  if (it == ranges_.begin()) return false;
  --it;
  return it->first <= start && it->second >= end;
}

// ---- rendering -----------------------------------------------------------------

namespace {

std::string_view errno_message(Errno e) {
  switch (e) {
    case Errno::PERM:
      return "Operation not permitted";
    case Errno::NOENT:
      return "No such file or directory";
    case Errno::INTR:
      return "Interrupted system call";
    case Errno::BADF:
      return "Bad file descriptor";
    case Errno::AGAIN:
      return "Resource temporarily unavailable";
    case Errno::NOMEM:
      return "Cannot allocate memory";
    case Errno::ACCES:
      return "Permission denied";
    case Errno::FAULT:
      return "Bad address";
    case Errno::BUSY:
      return "Device or resource busy";
    case Errno::EXIST:
      return "File exists";
    case Errno::NODEV:
      return "No such device";
    case Errno::INVAL:
      return "Invalid argument";
    case Errno::NOSPC:
      return "No space left on device";
    case Errno::NOSYS:
      return "Function not implemented";
    case Errno::OVERFLOW:
      return "Value too large for defined data type";
    case Errno::OPNOTSUPP:
      return "Operation not supported";
    default:
      return "";
  }
}

bool returns_address(std::string_view name) {
  return name == "mmap" || name == "mremap" || name == "shmat" || name == "brk";
}

std::string format_result(std::string_view name, const SysResult& r) {
  char buf[96];
  if (r.is_error()) {
    const int n =
        std::snprintf(buf, sizeof buf, "-1 %s (%s)", std::string(errno_name(r.error())).c_str(),
                      std::string(errno_message(r.error())).c_str());
    return std::string(buf, static_cast<std::size_t>(n));
  }
  const int n = returns_address(name) ? std::snprintf(buf, sizeof buf, "%#" PRIx64, r.value())
                                      : std::snprintf(buf, sizeof buf, "%" PRId64,
                                                      static_cast<std::int64_t>(r.value()));
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::string format_sys_result(std::string_view name, const SysResult& r) {
  return format_result(name, r);
}

std::string SimRecord::render() const {
  std::string out;
  if (pid != 0) {
    out += std::to_string(pid);
    out.append(pid < 10000 ? 6 - std::min<std::size_t>(5, std::to_string(pid).size()) : 1, ' ');
  }
  out += call;
  out += " = ";
  const std::string_view name = std::string_view(call).substr(0, call.find('('));
  out += format_result(name, engine);
  switch (verdict) {
    case Verdict::Mismatch:
      out += "  # MISMATCH: the kernel returned ";
      out += format_result(name, recorded);
      break;
    case Verdict::Unverifiable:
      out += "  # unverifiable: ";
      out += note;
      break;
    case Verdict::Placed:
      out += "  # placed as recorded";
      break;
    default:
      break;
  }
  return out;
}

// ---- the simulator -----------------------------------------------------------

struct Simulator::Mm {
  AddressSpace as;
  RangeSet known;
  bool brk_known = false;
  bool adopted = false;  // adopt_layout() gave it a whole layout
  explicit Mm(AddressSpace a) : as(std::move(a)) {}
};

Simulator::Simulator(SimOptions options) : options_(std::move(options)) {}
Simulator::~Simulator() = default;

std::shared_ptr<Simulator::Mm> Simulator::mm_of(int pid) {
  auto it = procs_.find(pid);
  if (it != procs_.end() && it->second) return it->second;
  auto mm = std::make_shared<Mm>(AddressSpace(options_.config));
  set_proc(pid, mm);
  return mm;
}

// Every change of a pid's mm goes through here: the report's order, and the
// count of live processes that bounds memory (SimOptions::max_live_processes).
void Simulator::set_proc(int pid, std::shared_ptr<Mm> mm) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) {
    order_.push_back(pid);
    it = procs_.emplace(pid, nullptr).first;
  }
  if (it->second == nullptr && mm != nullptr) ++live_;
  if (it->second != nullptr && mm == nullptr) --live_;
  it->second = std::move(mm);
}

// A process that exited keeps its last layout for the final report, but only
// the last kMaxExitedLayouts of them: a trace of a million short-lived
// processes must not keep a million address spaces.
void Simulator::keep_exited(int pid, std::shared_ptr<Mm> mm) {
  if (exited_.emplace(pid, std::move(mm)).second) exited_order_.push_back(pid);
  while (exited_order_.size() > kMaxExitedLayouts) {
    exited_.erase(exited_order_.front());
    exited_order_.pop_front();
    ++summary_.exited_layouts_dropped;
  }
}

std::vector<int> Simulator::pids() const { return order_; }

const AddressSpace* Simulator::address_space(int pid) const {
  auto it = procs_.find(pid);
  if (it != procs_.end() && it->second) return &it->second->as;
  auto ex = exited_.find(pid);
  return ex == exited_.end() ? nullptr : &ex->second->as;
}

AddressSpace* Simulator::mutable_address_space(int pid) {
  auto it = procs_.find(pid);
  return it != procs_.end() && it->second ? &it->second->as : nullptr;
}

void Simulator::adopt_layout(int pid, AddressSpace layout) {
  auto mm = mm_of(pid);
  layout.fds() = mm->as.fds();
  mm->as = std::move(layout);
  mm->known.clear();
  mm->known.add(0, ~Addr{0});
  mm->brk_known = mm->as.brk_value() != 0;
  mm->adopted = true;
}

bool Simulator::layout_adopted(int pid) const {
  auto it = procs_.find(pid);
  return it != procs_.end() && it->second && it->second->adopted;
}

namespace {

FileKind kind_of_path(std::string_view path) {
  if (path == "/dev/zero") return FileKind::DevZero;
  if (path.starts_with("/memfd:") || path.starts_with("/dev/shm/")) return FileKind::Shmem;
  if (path.starts_with("/SYSV")) return FileKind::SysvShm;
  return FileKind::Regular;
}

bool has_word(std::string_view text, std::string_view word) {
  for (std::size_t pos = text.find(word); pos != std::string_view::npos;
       pos = text.find(word, pos + 1)) {
    const std::size_t after = pos + word.size();
    const bool end_ok =
        after >= text.size() ||
        !(std::isalnum(static_cast<unsigned char>(text[after])) != 0 || text[after] == '_');
    if (end_ok) return true;
  }
  return false;
}

std::string join_args(const TraceCall& c) {
  std::string s = c.name + "(";
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    if (i != 0) s += ", ";
    s += c.args[i];
  }
  s += ")";
  return s;
}

// Argument decoding with one error message for the whole call.
class Args {
 public:
  explicit Args(const TraceCall& c) : c_(c) {}
  bool count(std::size_t min) {
    if (c_.args.size() >= min) return true;
    fail("expected at least " + std::to_string(min) + " arguments");
    return false;
  }
  std::uint64_t u(std::size_t i) {
    std::uint64_t v = 0;
    std::string err;
    if (ok_ && !parse_int_arg(c_.args[i], v, &err))
      fail("argument " + std::to_string(i + 1) + ": " + err);
    return v;
  }
  std::uint64_t flags(std::size_t i, FlagSet set) {
    std::uint64_t v = 0;
    std::string err;
    if (ok_ && !parse_flags(c_.args[i], set, v, &err))
      fail("argument " + std::to_string(i + 1) + ": " + err);
    return v;
  }
  FdArg fd(std::size_t i) {
    FdArg f;
    std::string err;
    if (ok_ && !parse_fd_arg(c_.args[i], f, &err))
      fail("argument " + std::to_string(i + 1) + ": " + err);
    return f;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  void fail(std::string m) {
    if (ok_) error_ = c_.name + ": " + m;
    ok_ = false;
  }
  const TraceCall& c_;
  bool ok_ = true;
  std::string error_;
};

// The end of [start, start+len) rounded to a page, or kWrapped when it passes 2^64.
constexpr Addr kWrapped = ~Addr{0};
Addr range_end(Addr start, std::uint64_t len) {
  const Addr e = start + len;
  if (e < start || page_align_up(e) < e) return kWrapped;
  return page_align_up(e);
}

}  // namespace

// File descriptors: open, memfd_create, dup and close keep the engine's fd table
// in step with the traced process so mmap can find its files.
void Simulator::track_files(int pid, const TraceCall& c) {
  if (c.outcome != Outcome::Value) return;
  auto mm = mm_of(pid);
  FdTable& fds = mm->as.fds();
  const int result = static_cast<int>(c.signed_value());
  if (c.name == "close") {
    FdArg f;
    if (!c.args.empty() && parse_fd_arg(c.args[0], f)) fds.close(f.fd);
    return;
  }
  if (c.name == "dup" || c.name == "dup2" || c.name == "dup3" ||
      (c.name == "fcntl" && c.args.size() >= 2 && c.args[1].starts_with("F_DUPFD"))) {
    FdArg f;
    if (!c.args.empty() && parse_fd_arg(c.args[0], f)) {
      if (FileId id = fds.lookup(f.fd); id != 0) fds.install_at(result, id);
    }
    return;
  }
  if (c.name == "openat" || c.name == "open" || c.name == "creat" || c.name == "memfd_create" ||
      c.name == "openat2") {
    FileInfo fi;
    fi.path = c.has_result_path ? c.result_path : std::string();
    if (c.result_deleted) fi.path += " (deleted)";
    fi.kind = kind_of_path(c.has_result_path ? c.result_path : std::string());
    std::string all;
    for (const auto& a : c.args) all += a + ",";
    if (c.name == "memfd_create") {
      fi.readable = fi.writable = true;
      fi.kind = FileKind::Shmem;
    } else if (c.name == "creat" || has_word(all, "O_WRONLY")) {
      fi.readable = false;
      fi.writable = true;
    } else {
      fi.readable = true;
      fi.writable = has_word(all, "O_RDWR");
    }
    fi.append_only = false;
    fds.install_at(result, mm->as.files().add(fi));
  }
}

std::optional<SimRecord> Simulator::apply(const TraceEvent& ev, std::string* error) {
  switch (ev.kind) {
    case EventKind::Exit:
    case EventKind::Killed:
      // Keep the layout the process died with, for the final report.
      if (auto it = procs_.find(ev.pid); it != procs_.end() && it->second)
        keep_exited(ev.pid, it->second);
      set_proc(ev.pid, nullptr);
      ++summary_.other_events;
      return std::nullopt;
    case EventKind::Call:
      break;
    default:
      ++summary_.other_events;
      return std::nullopt;
  }
  if (live_ >= options_.max_live_processes) {
    const auto it = procs_.find(ev.pid);
    if (it == procs_.end() || it->second == nullptr) {
      if (error != nullptr)
        *error = "more than " + std::to_string(options_.max_live_processes) +
                 " processes alive at once (a documented limit)";
      return std::nullopt;
    }
  }
  const TraceCall& c = ev.call;
  const std::string& n = c.name;
  if (creates_task(n)) {
    ++summary_.other_events;
    if (c.outcome != Outcome::Value || c.signed_value() <= 0) return std::nullopt;
    const int child = static_cast<int>(c.signed_value());
    if (live_ >= options_.max_live_processes &&
        (procs_.count(child) == 0 || procs_[child] == nullptr)) {
      if (error != nullptr)
        *error = "more than " + std::to_string(options_.max_live_processes) +
                 " processes alive at once (a documented limit)";
      return std::nullopt;
    }
    auto parent = mm_of(ev.pid);
    std::string all;
    for (const auto& a : c.args) all += a + ",";
    if (n == "vfork" || has_word(all, "CLONE_VM")) {
      set_proc(child, parent);  // threads and vfork children share the mm
    } else {
      auto mm = std::make_shared<Mm>(parent->as.fork());
      mm->known = parent->known;
      mm->brk_known = parent->brk_known;
      mm->adopted = parent->adopted;
      set_proc(child, mm);
    }
    return std::nullopt;
  }
  if (n == "execve" || n == "execveat") {
    ++summary_.other_events;
    if (c.outcome == Outcome::Value && c.value == 0) {
      auto old = mm_of(ev.pid);
      auto mm = std::make_shared<Mm>(AddressSpace(options_.config, old->as.shared_files()));
      mm->as.fds() = old->as.fds();
      set_proc(ev.pid, mm);
    }
    return std::nullopt;
  }
  if (n == "shmget") {
    ++summary_.other_events;
    if (c.outcome == Outcome::Value && c.args.size() >= 2) {
      std::uint64_t key = 0;
      std::uint64_t size = 0;
      parse_int_arg(c.args[0], key);
      parse_int_arg(c.args[1], size);
      auto mm = mm_of(ev.pid);
      FileInfo fi;
      char path[64];
      std::snprintf(path, sizeof path, "/SYSV%08" PRIx64 " (deleted)",
                    static_cast<std::uint64_t>(key & 0xffffffffU));
      fi.path = path;
      fi.kind = FileKind::SysvShm;
      fi.readable = fi.writable = true;
      fi.size = size;
      shm_segments_[c.value] = {mm->as.files().add(fi), size};
    }
    return std::nullopt;
  }
  static const char* const kMm[] = {
      "mmap",    "munmap",   "mprotect",   "pkey_mprotect", "mremap", "madvise", "mlock", "mlock2",
      "munlock", "mlockall", "munlockall", "brk",           "mseal",  "shmat",   "shmdt", "msync"};
  // A read(2) from /dev/zero whose buffer is printed as an address (strace
  // does that when the read fails; vmseal difftest writes it so) is a write
  // fault on each page of the buffer.
  const bool zero_fill = n == "read" && c.args.size() == 3 && !c.args[1].empty() &&
                         c.args[1][0] != '"' && c.args[0].find("</dev/zero>") != std::string::npos;
  if (!zero_fill && std::find(std::begin(kMm), std::end(kMm), n) == std::end(kMm)) {
    track_files(ev.pid, c);
    ++summary_.other_events;
    return std::nullopt;
  }
  return apply_mm_call(ev.pid, ev, error);
}

std::optional<SimRecord> Simulator::apply_mm_call(int pid, const TraceEvent& ev,
                                                  std::string* error) {
  const TraceCall& c = ev.call;
  const std::string& n = c.name;
  auto mm = mm_of(pid);
  AddressSpace& as = mm->as;
  SimRecord rec;
  rec.line = ev.line;
  rec.pid = pid;
  rec.call = join_args(c);
  if (c.outcome == Outcome::Value) {
    rec.has_recorded = true;
    rec.recorded = SysResult::ok(c.value);
  } else if (c.outcome == Outcome::Error && c.err != Errno::OK) {
    rec.has_recorded = true;
    rec.recorded = SysResult(c.err);
  }
  const bool check = options_.check && rec.has_recorded;
  const bool recorded_ok = rec.has_recorded && rec.recorded.is_ok();

  Args a(c);
  // The ranges whose state decides the outcome, and whether the trace knows them.
  bool verifiable = true;
  std::string why;
  auto need_known = [&](Addr s, Addr e) {
    // A range that wraps past 2^64 is refused on its arguments alone.
    if (e == kWrapped) return;
    if (page_align_down(s) < e) rec.ranges.emplace_back(page_align_down(s), e);
    if (!mm->known.contains(page_align_down(s), e)) {
      verifiable = false;
      char buf[96];
      std::snprintf(buf, sizeof buf, "%#" PRIx64 "-%#" PRIx64 " was not created by the trace",
                    page_align_down(s), e);
      why = buf;
    }
  };
  bool placed = false;
  // A non-fixed placement goes where the kernel put it: the engine cannot see
  // ASLR nor what was mapped before the trace began (RecordedPlacement).
  auto follow_kernel_placement = [&] {
    if (check && recorded_ok) as.set_recorded_placement({rec.recorded.value(), 0, 0});
  };
  auto placement_followed = [&] {
    const bool used = as.recorded_placement_used();
    as.clear_recorded_placement();
    return used;
  };

  if (n == "mmap") {
    if (!a.count(6)) goto bad;
    Addr addr = a.u(0);
    const std::uint64_t len = a.u(1);
    const std::uint64_t prot = a.flags(2, FlagSet::Prot);
    std::uint64_t flags = a.flags(3, FlagSet::Map);
    const FdArg fd = a.fd(4);
    const std::uint64_t off = a.u(5);
    if (!a.ok()) goto bad;
    if ((flags & abi::MAP_ANONYMOUS) == 0 && as.fds().lookup(fd.fd) == 0 && fd.fd >= 0) {
      // A file opened before the trace began: describe it from the -y path.
      FileInfo fi;
      fi.path = fd.has_path ? fd.path + (fd.deleted ? " (deleted)" : "") : std::string();
      fi.kind = kind_of_path(fd.path);
      fi.readable = true;
      fi.writable = true;
      as.fds().install_at(fd.fd, as.files().add(fi));
      verifiable = false;
      why = "fd " + std::to_string(fd.fd) + " was opened before the trace began";
    }
    const bool fixed = (flags & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE)) != 0;
    if (fixed) need_known(addr, range_end(addr, len));
    follow_kernel_placement();
    rec.engine = as.mmap(addr, len, prot, flags, fd.fd, off);
    placed = placement_followed();
    const SysResult& done = check ? rec.recorded : rec.engine;
    if (done.is_ok()) mm->known.add(done.value(), range_end(done.value(), len));
    if (!fixed && rec.engine.is_ok() && range_end(rec.engine.value(), len) != kWrapped)
      rec.ranges.emplace_back(rec.engine.value(), range_end(rec.engine.value(), len));
  } else if (n == "munmap") {
    if (!a.count(2)) goto bad;
    const Addr addr = a.u(0);
    const std::uint64_t len = a.u(1);
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, len));
    rec.engine = as.munmap(addr, len);
    if ((check ? rec.recorded : rec.engine).is_ok()) mm->known.add(addr, range_end(addr, len));
  } else if (n == "mprotect" || n == "pkey_mprotect") {
    if (!a.count(n == "mprotect" ? 3 : 4)) goto bad;
    const Addr addr = a.u(0);
    const std::uint64_t len = a.u(1);
    const std::uint64_t prot = a.flags(2, FlagSet::Prot);
    const std::int64_t pkey = n == "mprotect" ? -1 : static_cast<std::int64_t>(a.u(3));
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, len));
    rec.engine = n == "mprotect" ? as.mprotect(addr, len, prot)
                                 : as.pkey_mprotect(addr, len, prot, static_cast<int>(pkey));
  } else if (n == "madvise") {
    if (!a.count(3)) goto bad;
    const Addr addr = a.u(0);
    const std::uint64_t len = a.u(1);
    const std::uint64_t adv = a.flags(2, FlagSet::Madvise);
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, len));
    rec.engine = as.madvise(addr, len, static_cast<int>(adv));
  } else if (n == "mlock" || n == "munlock" || n == "mlock2") {
    if (!a.count(n == "mlock2" ? 3 : 2)) goto bad;
    const Addr addr = a.u(0);
    const std::uint64_t len = a.u(1);
    const std::uint64_t fl = n == "mlock2" ? a.flags(2, FlagSet::Mlock2) : 0;
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, len));
    rec.engine = n == "mlock"    ? as.mlock(addr, len)
                 : n == "mlock2" ? as.mlock2(addr, len, fl)
                                 : as.munlock(addr, len);
  } else if (n == "msync") {
    if (!a.count(3)) goto bad;
    const Addr addr = a.u(0);
    const std::uint64_t len = a.u(1);
    const std::uint64_t fl = a.flags(2, FlagSet::Msync);
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, len));
    rec.engine = as.msync(addr, len, fl);
  } else if (n == "mlockall") {
    if (!a.count(1)) goto bad;
    const std::uint64_t fl = a.flags(0, FlagSet::Mlockall);
    if (!a.ok()) goto bad;
    rec.engine = as.mlockall(fl);
  } else if (n == "munlockall") {
    rec.engine = as.munlockall();
  } else if (n == "mseal") {
    if (!a.count(3)) goto bad;
    const Addr addr = a.u(0);
    const std::uint64_t len = a.u(1);
    const std::uint64_t fl = a.u(2);
    // Four arguments: the typed-seal RFC's mseal(addr, len, types, flags) (a
    // script's); strace prints the kernel's three.
    const bool typed = c.args.size() == 4;
    const std::uint64_t fl2 = typed ? a.u(3) : 0;
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, len));
    rec.engine = typed ? as.mseal_typed(addr, len, fl, fl2) : as.mseal(addr, len, fl);
  } else if (n == "mremap") {
    if (!a.count(4)) goto bad;
    const Addr addr = a.u(0);
    const std::uint64_t old_len = a.u(1);
    const std::uint64_t new_len = a.u(2);
    std::uint64_t fl = a.flags(3, FlagSet::Mremap);
    Addr new_addr = c.args.size() >= 5 ? a.u(4) : 0;
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, std::max(old_len, new_len)));
    if ((fl & abi::MREMAP_FIXED) != 0) need_known(new_addr, range_end(new_addr, new_len));
    follow_kernel_placement();
    rec.engine = as.mremap(addr, old_len, new_len, fl, new_addr);
    placed = placement_followed();
    const SysResult& done = check ? rec.recorded : rec.engine;
    if (done.is_ok()) {
      mm->known.add(addr, range_end(addr, old_len));
      mm->known.add(done.value(), range_end(done.value(), new_len));
    }
    if (rec.engine.is_ok() && rec.engine.value() != addr && (fl & abi::MREMAP_FIXED) == 0 &&
        range_end(rec.engine.value(), new_len) != kWrapped)
      rec.ranges.emplace_back(rec.engine.value(), range_end(rec.engine.value(), new_len));
  } else if (n == "brk") {
    if (!a.count(1)) goto bad;
    const Addr want = a.u(0);
    if (!a.ok()) goto bad;
    if (!mm->brk_known && recorded_ok) {
      // The first brk of a process image tells where its heap starts.
      const Addr cur = rec.recorded.value();
      as.set_brk(cur, cur);
      mm->brk_known = true;
    }
    const Addr old = as.brk_value();
    if (want > old) need_known(page_align_up(old), page_align_up(want));
    rec.engine = as.brk(want);
    const SysResult& done = check ? rec.recorded : rec.engine;
    if (done.is_ok() && done.value() != old)
      mm->known.add(page_align_up(std::min(old, done.value())),
                    page_align_up(std::max(old, done.value())));
  } else if (n == "shmat") {
    if (!a.count(3)) goto bad;
    const std::uint64_t id = a.u(0);
    Addr addr = a.u(1);
    const std::uint64_t fl = a.flags(2, FlagSet::Shmat);
    if (!a.ok()) goto bad;
    auto seg = shm_segments_.find(id);
    if (seg == shm_segments_.end()) {
      verifiable = false;
      why = "shm segment " + std::to_string(id) + " was not created by the trace";
      rec.engine = SysResult(Errno::INVAL);
    } else {
      if (addr != 0) need_known(addr, range_end(addr, seg->second.second));
      follow_kernel_placement();
      rec.engine = as.shmat(seg->second.first, addr, fl);
      placed = placement_followed();
      const SysResult& done = check ? rec.recorded : rec.engine;
      if (done.is_ok()) mm->known.add(done.value(), range_end(done.value(), seg->second.second));
    }
  } else if (n == "read") {
    const Addr addr = a.u(1);
    const std::uint64_t len = a.u(2);
    if (!a.ok()) goto bad;
    need_known(addr, range_end(addr, len));
    // Bytes written before the first page the kernel could not fault in.
    std::uint64_t done = 0;
    while (done < len) {
      const Addr at = addr + done;
      if (as.fault(at, Access::Write) != FaultResult::Ok) break;
      done += std::min<std::uint64_t>(len - done, kPageSize - (at & (kPageSize - 1)));
    }
    rec.engine = done == 0 && len != 0 ? SysResult(Errno::FAULT) : SysResult::ok(done);
  } else if (n == "shmdt") {
    if (!a.count(1)) goto bad;
    const Addr addr = a.u(0);
    if (!a.ok()) goto bad;
    const Vma* v = as.vmas().find(addr);
    need_known(addr, v != nullptr ? v->end : addr + kPageSize);
    rec.engine = as.shmdt(addr);
  }

  ++summary_.calls;
  rec.verifiable = verifiable;
  if (!verifiable && rec.note.empty()) rec.note = why;
  if (!options_.check || !rec.has_recorded) {
    rec.verdict = Verdict::NoRecord;
    ++summary_.no_record;
  } else if (!verifiable) {
    rec.verdict = Verdict::Unverifiable;
    rec.note = why;
    ++summary_.unverifiable;
  } else if (rec.engine == rec.recorded) {
    rec.verdict = placed ? Verdict::Placed : Verdict::Match;
    ++(placed ? summary_.placed : summary_.matched);
  } else {
    rec.verdict = Verdict::Mismatch;
    ++summary_.mismatched;
  }
  return rec;

bad:
  if (error != nullptr) *error = a.error();
  return std::nullopt;
}

}  // namespace vmseal::trace
