#include "vmseal/trace/sim.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "vmseal/engine/syscall.hpp"
#include "vmseal/kernel/abi.hpp"
#include "vmseal/trace/line_reader.hpp"

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

// The end of [start, start+len) rounded to a page, or kWrapped when it passes 2^64.
constexpr Addr kWrapped = ~Addr{0};
Addr range_end(Addr start, std::uint64_t len) {
  const Addr e = start + len;
  if (e < start || page_align_up(e) < e) return kWrapped;
  return page_align_up(e);
}

}  // namespace

// File descriptors: open, memfd_create, dup and close keep the engine's fd table
// in step with the traced process so mmap can find its files, with their
// close-on-exec flags; the last close of a userfaultfd releases it.
void Simulator::track_files(int pid, const TraceCall& c) {
  if (c.outcome != Outcome::Value) return;
  auto mm = mm_of(pid);
  const std::string& n = c.name;
  const bool opens =
      n == "openat" || n == "open" || n == "creat" || n == "memfd_create" || n == "openat2";
  if (!opens && n != "close" && n != "fcntl" && n != "dup" && n != "dup2" && n != "dup3") return;
  FdTable& fds = mm->as.fds();
  const int result = static_cast<int>(c.signed_value());
  FdArg f;
  const bool has_fd = !opens && !c.args.empty() && parse_fd_arg(c.args[0], f);
  if (c.name == "close") {
    if (!has_fd) return;
    const FileId id = fds.lookup(f.fd);
    fds.close(f.fd);
    if (id != 0) drop_file(mm->as.files(), id);
    return;
  }
  if (c.name == "fcntl" && has_fd && c.args.size() >= 3 && c.args[1] == "F_SETFD") {
    fds.set_cloexec(f.fd, has_word(c.args[2], "FD_CLOEXEC"));
    return;
  }
  if (c.name == "dup" || c.name == "dup2" || c.name == "dup3" ||
      (c.name == "fcntl" && c.args.size() >= 2 && c.args[1].starts_with("F_DUPFD"))) {
    const bool cloexec =
        (c.name == "dup3" && c.args.size() >= 3 && has_word(c.args[2], "O_CLOEXEC")) ||
        (c.name == "fcntl" && c.args[1] == "F_DUPFD_CLOEXEC");
    if (const FileId id = has_fd ? fds.lookup(f.fd) : 0; id != 0) {
      const FileId replaced = fds.lookup(result);  // dup2/dup3 close what was there
      fds.install_at(result, id, cloexec);
      if (replaced != 0 && replaced != id) drop_file(mm->as.files(), replaced);
    }
    return;
  }
  if (opens) {
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
    const bool cloexec = has_word(all, "O_CLOEXEC") || has_word(all, "MFD_CLOEXEC");
    const FileId replaced = fds.lookup(result);  // an fd closed behind the trace's back
    fds.install_at(result, mm->as.files().add(fi), cloexec);
    if (replaced != 0) drop_file(mm->as.files(), replaced);
  }
}

Simulator::Mm* Simulator::mm_with_id(const FileTable& files, std::uint32_t mm_id) {
  for (auto& [pid, mm] : procs_)
    if (mm != nullptr && &mm->as.files() == &files && mm->as.mm_id() == mm_id) return mm.get();
  return nullptr;
}

void Simulator::drop_file(FileTable& files, FileId file) {
  if (!files.valid(file) || files.get(file).uffd == 0) return;
  std::vector<AddressSpace*> live;
  for (auto& [pid, mm] : procs_)
    if (mm != nullptr && std::find(live.begin(), live.end(), &mm->as) == live.end())
      live.push_back(&mm->as);
  release_if_unheld(files, file, live);
}

// The fds of an mm no live process uses any more (an exit, an exec's old
// mm): each of its files has one holder fewer.
void Simulator::drop_files(Mm& mm) {
  for (auto& [pid, other] : procs_)
    if (other.get() == &mm) return;  // a thread of it lives on
  for (const FileId f : mm.as.fds().files()) drop_file(mm.as.files(), f);
}

// capget(2) shows the caller's capability sets: from then on the engine
// has them, whatever the simulator was started with (--privileged or not).
void Simulator::learn_capabilities(int pid, const TraceCall& c) {
  if (c.name != "capget" || c.outcome != Outcome::Value || c.args.size() != 2) return;
  if (!c.args[0].ends_with("pid=0}")) return;  // another process's
  std::uint64_t sets[3] = {};
  if (!decode_capability_sets(c.args[1], sets)) return;
  Capabilities& caps = mm_of(pid)->as.config().caps;
  caps.effective = sets[0];
  caps.permitted = sets[1];
  caps.inheritable = sets[2];
}

// The process tree as task_change() reads it: a thread or vfork child shares
// its parent's mm, a forked one gets a copy, an exec a new one.
std::optional<SimRecord> Simulator::change_tasks(int pid, const TaskChange& t, std::string* error) {
  if (t.kind == TaskChange::Kind::Exec) {
    // A new mm with what it inherits from the old one (MDWE), and the fds
    // not closed on exec.
    const auto old = mm_of(pid);
    auto mm = std::make_shared<Mm>(old->as.successor_for_exec());
    set_proc(pid, mm);
    for (const FileId f : old->as.fds().files()) drop_file(old->as.files(), f);
    return std::nullopt;
  }
  if (t.kind == TaskChange::Kind::None) return std::nullopt;  // a clone that made nothing
  if (live_ >= options_.max_live_processes &&
      (procs_.count(t.child) == 0 || procs_[t.child] == nullptr)) {
    if (error != nullptr)
      *error = "more than " + std::to_string(options_.max_live_processes) +
               " processes alive at once (a documented limit)";
    return std::nullopt;
  }
  auto parent = mm_of(pid);
  if (t.kind == TaskChange::Kind::SharesMm) {
    set_proc(t.child, parent);
    return std::nullopt;
  }
  auto mm = std::make_shared<Mm>(parent->as.fork());
  mm->known = parent->known;
  mm->brk_known = parent->brk_known;
  mm->adopted = parent->adopted;
  set_proc(t.child, mm);
  return std::nullopt;
}

std::optional<SimRecord> Simulator::apply(const TraceEvent& ev, std::string* error) {
  switch (ev.kind) {
    case EventKind::Exit:
    case EventKind::Killed: {
      // Keep the layout the process died with, for the final report.
      std::shared_ptr<Mm> mm;
      if (auto it = procs_.find(ev.pid); it != procs_.end()) mm = it->second;
      if (mm != nullptr) keep_exited(ev.pid, mm);
      set_proc(ev.pid, nullptr);
      if (mm != nullptr) drop_files(*mm);  // its fds close, unless a thread of it lives on
      ++summary_.other_events;
      return std::nullopt;
    }
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
  if (creates_task(n) || n == "execve" || n == "execveat") {
    ++summary_.other_events;
    return change_tasks(ev.pid, task_change(c), error);
  }
  if (n == "shmget") {
    ++summary_.other_events;
    if (c.outcome == Outcome::Value && c.args.size() >= 2) {
      std::uint64_t key = 0;
      std::uint64_t size = 0;
      parse_int_arg(c.args[0], key);
      parse_int_arg(c.args[1], size);
      mm_of(ev.pid);  // the creator is a process of the trace
      FileInfo fi;
      char path[64];
      std::snprintf(path, sizeof path, "/SYSV%08" PRIx64 " (deleted)",
                    static_cast<std::uint64_t>(key & 0xffffffffU));
      fi.path = path;
      fi.kind = FileKind::SysvShm;
      fi.readable = fi.writable = true;
      fi.size = size;
      shm_segments_[c.value] = fi;
    }
    return std::nullopt;
  }
  if (!is_memory_call(c)) {
    track_files(ev.pid, c);
    learn_capabilities(ev.pid, c);
    ++summary_.other_events;
    return std::nullopt;
  }
  return apply_traced_call(ev.pid, ev, error);
}

// ---- memory calls: decode, the ranges that decide them, the engine, the verdict --

// Whether the trace made every range the outcome depends on.
struct Simulator::Judgement {
  bool verifiable = true;
  std::string why;
  void unknown(std::string reason) {
    verifiable = false;
    why = std::move(reason);
  }
};

std::optional<SimRecord> Simulator::apply_traced_call(int pid, const TraceEvent& ev,
                                                      std::string* error) {
  MemoryCall call;
  if (!decode_memory_call(ev.call, call, error)) return std::nullopt;
  std::optional<SysResult> recorded;
  if (ev.call.outcome == Outcome::Value)
    recorded = SysResult::ok(ev.call.value);
  else if (ev.call.outcome == Outcome::Error && ev.call.err != Errno::OK)
    recorded = SysResult(ev.call.err);
  return apply_call(pid, ev.line, std::move(call), join_args(ev.call), recorded);
}

SimRecord Simulator::apply_call(int pid, std::size_t line, MemoryCall call, std::string shown,
                                const std::optional<SysResult>& recorded) {
  Mm& mm = *mm_of(pid);
  SimRecord rec;
  rec.line = line;
  rec.pid = pid;
  rec.call = std::move(shown);
  rec.has_recorded = recorded.has_value();
  if (recorded) rec.recorded = *recorded;
  Judgement j;
  bool placed = false;
  if (call.call.kind == SyscallKind::Brk && call.form == MemoryCall::Form::Syscall &&
      !mm.brk_known && rec.has_recorded && rec.recorded.is_ok()) {
    // The first brk of a process image tells where its heap starts.
    mm.as.set_brk(rec.recorded.value(), rec.recorded.value());
    mm.brk_known = true;
  }
  const Addr brk_before = mm.as.brk_value();
  if (call.call.kind == SyscallKind::Prlimit && call.call.a[0] != 0 &&
      call.call.a[0] != static_cast<std::uint64_t>(pid)) {
    // prlimit64 on another process: its limits, this one's capabilities.
    const auto& a = call.call.a;
    rec.engine = mm_of(static_cast<int>(a[0]))
                     ->as.setrlimit(static_cast<int>(a[1]), a[2], a[3], mm.as.config().caps);
  } else if (call.form == MemoryCall::Form::Syscall &&
             (call.call.kind == SyscallKind::Userfaultfd ||
              call.call.kind == SyscallKind::UffdioApi ||
              call.call.kind == SyscallKind::UffdioRegister ||
              call.call.kind == SyscallKind::UffdioUnregister)) {
    apply_uffd(call, mm, j, rec);
  } else if (bind_call(call, mm, j)) {
    need_known_ranges(call, mm, j, rec);
    placed = run_call(call, mm, rec);
    learn_known_ranges(call, mm, rec, brk_before);
  } else {
    rec.engine = SysResult(Errno::INVAL);  // a segment the trace never made
  }
  judge(rec, j, placed);
  return rec;
}

// What the registers name but the engine must be told: a file opened before
// the trace began, the file of a System V segment. False when the call
// cannot run at all.
bool Simulator::bind_call(MemoryCall& c, Mm& mm, Judgement& j) {
  if (c.form != MemoryCall::Form::Syscall) return true;
  AddressSpace& as = mm.as;
  if (c.call.kind == SyscallKind::Mmap) {
    const int fd = static_cast<int>(c.call.a[4]);
    if ((c.call.a[3] & abi::MAP_ANONYMOUS) == 0 && fd >= 0 && as.fds().lookup(fd) == 0) {
      // A file opened before the trace began: described from the -y path.
      FileInfo fi;
      fi.path = c.fd.has_path ? c.fd.path + (c.fd.deleted ? " (deleted)" : "") : std::string();
      fi.kind = kind_of_path(c.fd.path);
      fi.readable = true;
      fi.writable = true;
      as.fds().install_at(fd, as.files().add(fi));
      j.unknown("fd " + std::to_string(fd) + " was opened before the trace began");
    }
  }
  if (c.call.kind == SyscallKind::Shmat) {
    const std::uint64_t shmid = c.call.a[0];
    const auto seg = shm_segments_.find(shmid);
    if (seg == shm_segments_.end()) {
      j.unknown("shm segment " + std::to_string(shmid) + " was not created by the trace");
      return false;
    }
    // Found by vmseal's fuzzer: a FileId from the creator's table used in
    // an unrelated process's read past that table's end.
    c.call.a[0] = mm.as.files().add(seg->second);
  }
  return true;
}

// The ranges whose state decides the outcome, and whether the trace made them.
void Simulator::need_known_ranges(const MemoryCall& c, Mm& mm, Judgement& j, SimRecord& rec) {
  auto need = [&](Addr s, Addr e) {
    if (e == kWrapped) return;  // refused on its arguments alone
    if (page_align_down(s) < e) rec.ranges.emplace_back(page_align_down(s), e);
    if (!mm.known.contains(page_align_down(s), e)) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%#" PRIx64 "-%#" PRIx64 " was not created by the trace",
                    page_align_down(s), e);
      j.unknown(buf);
    }
  };
  const auto& a = c.call.a;
  if (c.form == MemoryCall::Form::ZeroFill) return need(a[1], range_end(a[1], a[2]));
  switch (c.call.kind) {
    case SyscallKind::Mmap:
      if (!chooses_its_address(c.call)) need(a[0], range_end(a[0], a[1]));
      return;
    case SyscallKind::Mremap:
      need(a[0], range_end(a[0], std::max(a[1], a[2])));
      if ((a[3] & abi::MREMAP_FIXED) != 0) need(a[4], range_end(a[4], a[2]));
      return;
    case SyscallKind::Brk: {
      const Addr old = mm.as.brk_value();
      if (a[0] > old) need(page_align_up(old), page_align_up(a[0]));
      return;
    }
    case SyscallKind::Shmat:
      if (a[1] != 0) need(a[1], range_end(a[1], mm.as.files().get(static_cast<FileId>(a[0])).size));
      return;
    case SyscallKind::Shmdt: {
      const Vma* v = mm.as.vmas().find(a[0]);
      need(a[0], v != nullptr ? v->end : a[0] + kPageSize);
      return;
    }
    case SyscallKind::Mlockall:
    case SyscallKind::Munlockall:
    case SyscallKind::Prctl:  // process state: no range
    case SyscallKind::Setrlimit:
    case SyscallKind::Prlimit:
    case SyscallKind::Capset:
    case SyscallKind::Userfaultfd:
    case SyscallKind::UffdioApi:
      return;
    case SyscallKind::UffdioRegister:  // fd, start, len: the VMAs of [start, start + len)
    case SyscallKind::UffdioUnregister:
      need(a[1], range_end(a[1], a[2]));
      return;
    default:
      need(a[0], range_end(a[0], a[1]));  // the calls on [addr, addr + len)
  }
}

// userfaultfd(2) gets the fd the trace shows (the engine does not see every
// fd the process has), as open(2) does. An ioctl on an fd the trace never
// opened is taken for a userfaultfd of this mm made before the trace began
// (or handed over, as a UFFD_EVENT_FORK message hands the child's):
// unverifiable. A registration runs in the mm of the fd's context, which is
// the parent's when the fd came with a fork (docs/kernel-rules.md 6c.5).
void Simulator::apply_uffd(MemoryCall& c, Mm& mm, Judgement& j, SimRecord& rec) {
  AddressSpace& as = mm.as;
  const auto& a = c.call.a;
  if (c.call.kind == SyscallKind::Userfaultfd) {
    rec.engine = as.userfaultfd(a[0]);
    if (!rec.engine.is_ok() || !rec.has_recorded || !rec.recorded.is_ok()) return;
    const int own = static_cast<int>(rec.engine.value());
    const int fd = static_cast<int>(rec.recorded.value());
    if (own == fd || fd < 0) return;
    const FileId file = as.fds().lookup(own);
    const bool cloexec = as.fds().cloexec(own);
    as.fds().close(own);
    const FileId replaced = as.fds().lookup(fd);
    as.fds().install_at(fd, file, cloexec);
    if (replaced != 0) drop_file(as.files(), replaced);
    rec.engine = SysResult::ok(static_cast<std::uint64_t>(fd));
    return;
  }
  const int fd = static_cast<int>(a[0]);
  if (fd >= 0 && as.fds().lookup(fd) == 0 &&
      (!c.fd.has_path || c.fd.path == "anon_inode:[userfaultfd]")) {
    UffdCtx ctx;
    ctx.mm = as.mm_id();
    ctx.ready = c.call.kind != SyscallKind::UffdioApi;
    FileInfo fi;
    fi.path = "anon_inode:[userfaultfd]";
    fi.uffd = as.files().add_uffd(ctx);
    if (fi.uffd != 0) as.fds().install_at(fd, as.files().add(fi));
    j.unknown("fd " + std::to_string(fd) + " was opened before the trace began");
  }
  if (c.call.kind == SyscallKind::UffdioApi) {
    rec.engine = as.uffdio_api(fd, a[1], a[2]);
    return;
  }
  const bool reg = c.call.kind == SyscallKind::UffdioRegister;
  const UffdId id = as.uffd_of(fd);
  const UffdCtx* ctx = as.files().uffd(id);
  Mm* on = ctx != nullptr ? mm_with_id(as.files(), ctx->mm) : nullptr;
  if (on == nullptr) on = &mm;  // a context whose mm is gone finds no VMA
  need_known_ranges(c, *on, j, rec);
  if (id == 0)  // no such fd, or not a userfaultfd
    rec.engine =
        reg ? as.uffdio_register(fd, a[1], a[2], a[3]) : as.uffdio_unregister(fd, a[1], a[2]);
  else
    rec.engine =
        reg ? on->as.uffd_register(id, a[1], a[2], a[3]) : on->as.uffd_unregister(id, a[1], a[2]);
}

// The engine runs the call; a call that chooses its address goes where the
// kernel put it when the trace says (the engine cannot see ASLR, nor what
// was mapped before the trace began). True when it did.
bool Simulator::run_call(const MemoryCall& c, Mm& mm, SimRecord& rec) {
  if (c.form == MemoryCall::Form::ZeroFill) {
    // Bytes written before the first page the kernel could not fault in.
    const Addr addr = c.call.a[1];
    const std::uint64_t len = c.call.a[2];
    std::uint64_t done = 0;
    while (done < len) {
      const Addr at = addr + done;
      if (mm.as.fault(at, Access::Write) != FaultResult::Ok) break;
      done += std::min<std::uint64_t>(len - done, kPageSize - (at & (kPageSize - 1)));
    }
    rec.engine = done == 0 && len != 0 ? SysResult(Errno::FAULT) : SysResult::ok(done);
    return false;
  }
  std::optional<RecordedPlacement> recorded;
  if (options_.check && rec.has_recorded && rec.recorded.is_ok())
    recorded = RecordedPlacement{rec.recorded.value(), 0, 0};
  const Applied done = vmseal::apply(mm.as, c.call, recorded);
  rec.engine = done.result;
  return done.placed;
}

// What the call made known: the ranges it mapped or unmapped (as the kernel
// did, with --check), and where a call that chose its address put it.
void Simulator::learn_known_ranges(const MemoryCall& c, Mm& mm, SimRecord& rec, Addr brk_before) {
  const SysResult& done = options_.check && rec.has_recorded ? rec.recorded : rec.engine;
  const auto& a = c.call.a;
  auto placed_at = [&](std::uint64_t len) {
    if (rec.engine.is_ok() && range_end(rec.engine.value(), len) != kWrapped)
      rec.ranges.emplace_back(rec.engine.value(), range_end(rec.engine.value(), len));
  };
  if (c.form == MemoryCall::Form::ZeroFill) return;
  switch (c.call.kind) {
    case SyscallKind::Mmap:
      if (done.is_ok()) mm.known.add(done.value(), range_end(done.value(), a[1]));
      if (chooses_its_address(c.call)) placed_at(a[1]);
      return;
    case SyscallKind::Munmap:
      if (done.is_ok()) mm.known.add(a[0], range_end(a[0], a[1]));
      return;
    case SyscallKind::Mremap:
      if (done.is_ok()) {
        mm.known.add(a[0], range_end(a[0], a[1]));
        mm.known.add(done.value(), range_end(done.value(), a[2]));
      }
      if (rec.engine.is_ok() && rec.engine.value() != a[0] && (a[3] & abi::MREMAP_FIXED) == 0)
        placed_at(a[2]);
      return;
    case SyscallKind::Brk:
      if (done.is_ok() && done.value() != brk_before)
        mm.known.add(page_align_up(std::min(brk_before, done.value())),
                     page_align_up(std::max(brk_before, done.value())));
      return;
    case SyscallKind::Shmat:
      if (done.is_ok())
        mm.known.add(done.value(),
                     range_end(done.value(), mm.as.files().get(static_cast<FileId>(a[0])).size));
      return;
    default:
      return;
  }
}

void Simulator::judge(SimRecord& rec, const Judgement& j, bool placed) {
  ++summary_.calls;
  rec.verifiable = j.verifiable;
  if (!j.verifiable && rec.note.empty()) rec.note = j.why;
  if (!options_.check || !rec.has_recorded) {
    rec.verdict = Verdict::NoRecord;
    ++summary_.no_record;
  } else if (!j.verifiable) {
    rec.verdict = Verdict::Unverifiable;
    rec.note = j.why;
    ++summary_.unverifiable;
  } else if (rec.engine == rec.recorded) {
    rec.verdict = placed ? Verdict::Placed : Verdict::Match;
    ++(placed ? summary_.placed : summary_.matched);
  } else {
    rec.verdict = Verdict::Mismatch;
    ++summary_.mismatched;
  }
}

SimStream simulate(std::istream& in, Simulator& sim, bool keep_going,
                   const std::function<void(const SimRecord&)>& record,
                   const std::function<void(const std::string&)>& problem,
                   const std::function<void(std::size_t)>& progress) {
  SimStream out;
  StraceParser parser;
  auto bad = [&](const std::string& message) {
    problem(message);
    ++out.bad_lines;
    if (!keep_going) out.stopped = true;
  };
  auto drain = [&] {
    while (auto item = parser.next()) {
      if (const auto* err = std::get_if<ParseError>(&*item)) {
        bad(err->to_string());
        continue;
      }
      const auto& ev = std::get<TraceEvent>(*item);
      std::string error;
      const std::optional<SimRecord> rec = sim.apply(ev, &error);
      if (!error.empty())
        bad("line " + std::to_string(ev.line) + ": " + error);
      else if (rec)
        record(*rec);
    }
  };
  LineReader lines(in);
  while (!out.stopped && lines.next() != LineReader::Result::End) {
    parser.feed(lines.line());
    drain();
    if (progress && parser.lines_read() % 100000 == 0) progress(parser.lines_read());
  }
  if (!out.stopped) {
    parser.finish();
    drain();
  }
  out.lines = parser.lines_read();
  return out;
}

}  // namespace vmseal::trace
