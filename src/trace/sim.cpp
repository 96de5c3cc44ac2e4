#include "vmseal/trace/sim.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>
#include <utility>

#include "sim_history.hpp"
#include "vmseal/engine/syscall.hpp"
#include "vmseal/kernel/abi.hpp"
#include "vmseal/trace/exec_layout.hpp"
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
    case Verdict::Explained:
      return "explained";
    case Verdict::Reordered:
      return "reordered";
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

void RangeSet::remove(Addr start, Addr end) {
  if (start >= end) return;
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin()) --it;
  while (it != ranges_.end() && it->first < end) {
    const Addr s = it->first;
    const Addr e = it->second;
    if (e <= start) {
      ++it;
      continue;
    }
    it = ranges_.erase(it);
    if (s < start) ranges_[s] = start;
    if (e > end) {
      ranges_[end] = e;
      break;
    }
  }
}

bool RangeSet::disjoint(Addr start, Addr end) const {
  if (start >= end) return true;
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin() && std::prev(it)->second > start) return false;
  return it == ranges_.end() || it->first >= end;
}

Addr RangeSet::covered_until(Addr at) const {
  auto it = ranges_.upper_bound(at);
  if (it == ranges_.begin()) return at;
  --it;
  return it->second > at ? it->second : at;
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
      if (!note.empty()) out += ": " + note;
      break;
    case Verdict::Explained:
    case Verdict::Reordered:
      out += "  # ";
      out += note;
      break;
    default:
      if (ran_before_line != 0 && !note.empty()) {
        out += "  # ";
        out += note;
      }
      break;
  }
  return out;
}

// ---- the simulator -----------------------------------------------------------

// Simulator::Mm: sim_history.hpp.

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
  if (it->second != nullptr) --it->second->tasks;
  if (mm != nullptr) ++mm->tasks;
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
  if (it == procs_.end() || !it->second) return nullptr;
  // The caller may change it behind the history's back.
  if (it->second->history) it->second->history->stale = true;
  return &it->second->as;
}

void Simulator::adopt_layout(int pid, AddressSpace layout) {
  auto mm = mm_of(pid);
  layout.fds() = mm->as.fds();
  mm->as = std::move(layout);
  mm->known.clear();
  mm->known.add(0, ~Addr{0});
  mm->brk_known = mm->as.brk_value() != 0;
  mm->adopted = true;
  mm->history.reset();
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
  if (path == "/secretmem") return FileKind::Secretmem;
  if (path == "/anon_hugepage") return FileKind::Hugetlb;
  return FileKind::Regular;
}

// A file descriptor argument, parsed, or -1.
int fd_arg(const TraceCall& c, std::size_t i) {
  FdArg f;
  return i < c.args.size() && parse_fd_arg(c.args[i], f) ? f.fd : -1;
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

// File descriptors: open, dup and close keep the engine's fd table in step
// with the traced process so mmap can find its files (memfd_create,
// memfd_secret and userfaultfd are memory calls: run_call(), apply_uffd());
// FD_CLOEXEC follows O_CLOEXEC, dup3, F_DUPFD_CLOEXEC and F_SETFD, for execve
// to close. The last close of a userfaultfd releases it (drop_file()).
void Simulator::track_files(int pid, const TraceCall& c) {
  if (c.outcome != Outcome::Value) return;
  auto mm = mm_of(pid);
  FdTable& fds = mm->as.fds();
  const int result = static_cast<int>(c.signed_value());
  std::string all;
  for (const auto& a : c.args) all += a + ",";
  if (c.name == "close") {
    const int fd = fd_arg(c, 0);
    const FileId id = fds.lookup(fd);
    fds.close(fd);
    if (id != 0) drop_file(mm->as.files(), id);
    return;
  }
  if (c.name == "fcntl" && c.args.size() >= 3 && c.args[1] == "F_SETFD") {
    fds.set_cloexec(fd_arg(c, 0), has_word(c.args[2], "FD_CLOEXEC"));
    return;
  }
  if (c.name == "fcntl" && c.args.size() >= 2 && c.args[1] == "F_GETFL") {
    // A descriptor the trace never opened (inherited, or received over a
    // socket): F_GETFL shows how its file was opened, -y which file it is.
    FdArg f;
    if (!parse_fd_arg(c.args[0], f) || !f.has_path || fds.lookup(f.fd) != 0) return;
    const std::uint64_t mode = c.value & 3;  // O_ACCMODE
    FileInfo fi;
    fi.path = f.path + (f.deleted ? " (deleted)" : "");
    fi.kind = kind_of_path(f.path);
    fi.readable = mode == 0 || mode == 2;
    fi.writable = mode == 1 || mode == 2;
    fi.append_only = (c.value & 02000) != 0;  // O_APPEND
    fi.seals_known = false;  // a memfd's seals were set where the trace does not show
    fds.install_at(f.fd, mm->as.files().add(fi));
    return;
  }
  if (c.name == "dup" || c.name == "dup2" || c.name == "dup3" ||
      (c.name == "fcntl" && c.args.size() >= 2 && c.args[1].starts_with("F_DUPFD"))) {
    if (const FileId id = fds.lookup(fd_arg(c, 0)); id != 0) {
      const FileId replaced = fds.lookup(result);  // dup2/dup3 close what was there
      fds.install_at(result, id, has_word(all, "O_CLOEXEC") || has_word(all, "F_DUPFD_CLOEXEC"));
      if (replaced != 0 && replaced != id) drop_file(mm->as.files(), replaced);
    }
    return;
  }
  if (c.name == "openat" || c.name == "open" || c.name == "creat" || c.name == "openat2") {
    FileInfo fi;
    fi.path = c.has_result_path ? c.result_path : std::string();
    if (c.result_deleted) fi.path += " (deleted)";
    fi.kind = kind_of_path(c.has_result_path ? c.result_path : std::string());
    if (const FileId same = reopened_file(pid, c); same != 0) {
      // /proc/PID/fd/N opens the inode of that fd again: the same seals and size.
      FileTable& files = mm->as.files();
      files.set_inode(same, files.next_shmem_inode() | (1ULL << 62));
      fi = files.get(same);
    }
    if (c.name == "creat" || has_word(all, "O_WRONLY")) {
      fi.readable = false;
      fi.writable = true;
    } else {
      fi.readable = true;
      fi.writable = has_word(all, "O_RDWR");
    }
    fi.append_only = false;
    const FileId replaced = fds.lookup(result);  // an fd closed behind the trace's back
    fds.install_at(result, mm->as.files().add(fi), has_word(all, "O_CLOEXEC"));
    if (replaced != 0) drop_file(mm->as.files(), replaced);
    return;
  }
  track_size_changes(mm->as, c);
}

// The file an open(2) of "/proc/self/fd/N", "/proc/PID/fd/N" or "/dev/fd/N"
// reopens, when the simulator knows fd N of that process; 0 otherwise.
FileId Simulator::reopened_file(int pid, const TraceCall& c) {
  StringArg path;
  const std::size_t at = c.name == "open" || c.name == "creat" ? 0 : 1;
  if (at >= c.args.size() || !parse_string_arg(c.args[at], path) || path.truncated) return 0;
  std::string_view p = path.bytes;
  int owner = pid;
  if (p.starts_with("/dev/fd/")) {
    p.remove_prefix(8);
  } else if (p.starts_with("/proc/")) {
    p.remove_prefix(6);
    const std::size_t slash = p.find('/');
    std::uint64_t n = 0;
    if (slash == std::string_view::npos) return 0;
    if (p.substr(0, slash) != "self" && p.substr(0, slash) != "thread-self") {
      if (!parse_int_arg(p.substr(0, slash), n) || n == 0 || n > 0x7fffffff) return 0;
      owner = static_cast<int>(n);
    }
    p.remove_prefix(slash);
    if (!p.starts_with("/fd/")) return 0;
    p.remove_prefix(4);
  } else {
    return 0;
  }
  std::uint64_t fd = 0;
  if (!parse_int_arg(p, fd) || fd > 0x7fffffff) return 0;
  const auto it = procs_.find(owner);
  if (it == procs_.end() || it->second == nullptr ||
      it->second->as.shared_files() != mm_of(pid)->as.shared_files())
    return 0;
  return it->second->as.fds().lookup(static_cast<int>(fd));
}

// Writes can grow a shmem file behind the engine's back: pwrite64 to a size
// it can tell, anything else to a size it no longer knows (faults beyond the
// old end then count as inside, as for any file of unknown size).
void Simulator::track_size_changes(AddressSpace& as, const TraceCall& c) {
  const bool pwrite = c.name == "pwrite64";
  if (!pwrite && c.name != "write" && c.name != "writev" && c.name != "pwritev" &&
      c.name != "pwritev2" && c.name != "fallocate")
    return;
  const FileId id = as.fds().lookup(fd_arg(c, 0));
  if (id == 0) return;
  const FileInfo& f = as.files().get(id);
  if (f.kind != FileKind::Shmem && f.kind != FileKind::Hugetlb) return;
  if (c.name == "fallocate" && c.args.size() >= 2 &&
      c.args[1].find("KEEP_SIZE") != std::string::npos)
    return;
  if (c.name != "fallocate" && c.value == 0) return;
  std::uint64_t off = 0;
  if (pwrite && f.size_known && c.args.size() == 4 && parse_int_arg(c.args[3], off) &&
      off + c.value >= off) {
    if (off + c.value > f.size) as.files().set_size(id, off + c.value, true);
    return;
  }
  as.files().set_size(id, 0, false);
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
  if (!release_if_unheld(files, file, live)) return;
  // The release unregistered VMAs behind the histories' back (SimOptions::infer).
  for (auto& [pid, mm] : procs_)
    if (mm != nullptr && mm->history) mm->history->stale = true;
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
  Mm& mm = *mm_of(pid);
  Capabilities& caps = mm.as.config().caps;
  caps.effective = sets[0];
  caps.permitted = sets[1];
  caps.inheritable = sets[2];
  remember_config(mm);
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
  mm->unseen_total_max = parent->unseen_total_max;
  mm->unseen_data_max = parent->unseen_data_max;
  mm->exec = parent->exec;
  if (options_.infer && options_.check && *histories_ < detail::kMaxHistories) {
    // Writes the parent made before the fork are inferred in the child too.
    mm->fork_parent = std::make_unique<detail::KeptSpace>(parent->as, histories_);
    mm->fork_parent_pid = pid;
    mm->fork_line = event_line_;
  }
  set_proc(t.child, mm);
  return std::nullopt;
}

// A task exits or is killed: the layout it died with is kept for the final
// report, and its fds close unless a thread of its mm lives on.
void Simulator::end_task(int pid) {
  std::shared_ptr<Mm> mm;
  if (auto it = procs_.find(pid); it != procs_.end()) mm = it->second;
  if (mm != nullptr) keep_exited(pid, mm);
  set_proc(pid, nullptr);
  if (mm == nullptr) return;
  drop_files(*mm);
  // No thread left to make calls on it: its history is of no use.
  if (mm.use_count() <= 2) mm->history.reset();
}

std::optional<SimRecord> Simulator::apply(const TraceEvent& ev, std::string* error) {
  event_line_ = ev.line;
  switch (ev.kind) {
    case EventKind::Exit:
    case EventKind::Killed:
      end_task(ev.pid);
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
  if (creates_task(n) || n == "execve" || n == "execveat") {
    ++summary_.other_events;
    const TaskChange t = task_change(c);
    std::string old_exe;
    if (const auto it = procs_.find(ev.pid); it != procs_.end() && it->second && it->second->exec)
      old_exe = it->second->exec->exe();
    auto rec = change_tasks(ev.pid, t, error);
    if (t.kind == TaskChange::Kind::Exec && options_.exec_files != nullptr)
      start_exec_layout(ev, old_exe);
    return rec;
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
      std::uint64_t shmflg = 0;
      if (c.args.size() >= 3 && parse_flags(c.args[2], FlagSet::Shmget, shmflg) &&
          (shmflg & abi::SHM_HUGETLB) != 0)
        fi.kind = FileKind::Hugetlb;  // shmat() of it is not modelled (bind_call())
      fi.readable = fi.writable = true;
      fi.size = size;
      shm_segments_[c.value] = fi;
    }
    return std::nullopt;
  }
  if (!is_memory_call(c)) {
    if (std::string what; maps_behind_the_trace(c, &what)) {
      auto mm = mm_of(ev.pid);
      if (mm->exec) mm->exec->lose(what + " (line " + std::to_string(ev.line) + ")");
    }
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
  bool deferred = false;  // an exec layout's call, made again later (exec_layout_step)
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
  CallTiming timing;
  timing.line = ev.line;
  timing.end_line = ev.call.end_line != 0 ? ev.call.end_line : ev.line;
  timing.start = detail::parse_time(ev.timestamp);
  const double duration = detail::parse_duration(ev.call.duration);
  if (timing.start >= 0 && duration >= 0) timing.end = timing.start + duration;
  return apply_call_timed(pid, ev.line, std::move(call), join_args(ev.call), recorded, timing);
}

SimRecord Simulator::apply_call(int pid, std::size_t line, MemoryCall call, std::string shown,
                                const std::optional<SysResult>& recorded) {
  CallTiming timing;
  timing.line = timing.end_line = line;
  return apply_call_timed(pid, line, std::move(call), std::move(shown), recorded, timing);
}

SimRecord Simulator::apply_call_timed(int pid, std::size_t line, MemoryCall call, std::string shown,
                                      const std::optional<SysResult>& recorded,
                                      const CallTiming& timing) {
  Mm& mm = *mm_of(pid);
  prepare_history(mm);
  SimRecord rec;
  rec.line = line;
  rec.end_line = timing.end_line;
  rec.pid = pid;
  rec.call = std::move(shown);
  rec.has_recorded = recorded.has_value();
  if (recorded) rec.recorded = *recorded;
  Judgement j;
  bool placed = false;
  bool brk_init = false;
  if (call.call.kind == SyscallKind::Brk && call.form == MemoryCall::Form::Syscall &&
      !mm.brk_known && rec.has_recorded && rec.recorded.is_ok()) {
    // The first brk of a process image tells where its heap starts.
    mm.as.set_brk(rec.recorded.value(), rec.recorded.value());
    mm.brk_known = true;
    brk_init = true;
  }
  const bool revealed = mm.exec && exec_layout_step(call, mm, rec, j);
  const Addr brk_before = mm.as.brk_value();
  if (call.call.kind == SyscallKind::Prlimit && call.call.a[0] != 0 &&
      call.call.a[0] != static_cast<std::uint64_t>(pid)) {
    // prlimit64 on another process: its limits, this one's capabilities.
    const auto& a = call.call.a;
    Mm& target = *mm_of(static_cast<int>(a[0]));
    rec.engine = target.as.setrlimit(static_cast<int>(a[1]), a[2], a[3], mm.as.config().caps);
    remember_config(target);
  } else if (call.form == MemoryCall::Form::Syscall &&
             (call.call.kind == SyscallKind::Userfaultfd ||
              call.call.kind == SyscallKind::UffdioApi ||
              call.call.kind == SyscallKind::UffdioRegister ||
              call.call.kind == SyscallKind::UffdioUnregister)) {
    apply_uffd(call, mm, j, rec);
  } else if (bind_call(call, mm, j)) {
    need_known_ranges(call, mm, j, rec);
    std::optional<AddressSpace> worst = with_unseen_pages(call, mm, j);
    const MmCounters before = mm.as.counters();
    placed = run_call(call, mm, rec);
    if (worst) judge_unseen_pages(call, mm, std::move(*worst), before, j, rec);
    remember_call(mm, call, rec, timing, brk_init,
                  options_.check && rec.has_recorded && j.verifiable);
    if (j.verifiable) explain(mm, rec);
    learn_known_ranges(call, mm, rec, brk_before);
  } else {
    rec.engine = SysResult(Errno::INVAL);  // a segment the trace never made
  }
  judge(rec, j, placed || revealed);
  if (mm.exec && !rec.verifiable && !j.deferred)
    for (const auto& [s, e] : rec.ranges) mm.exec->blind(s, e);
  keep_record(mm, rec);
  return rec;
}

// What the registers name but the engine must be told: a file opened before
// the trace began, the file of a System V segment. False when the call
// cannot run at all.
bool Simulator::bind_call(MemoryCall& c, Mm& mm, Judgement& j) {
  if (c.form != MemoryCall::Form::Syscall) return true;
  AddressSpace& as = mm.as;
  const bool file_call = c.call.kind == SyscallKind::Fcntl || c.call.kind == SyscallKind::Ftruncate;
  const int fd = static_cast<int>(c.call.a[c.call.kind == SyscallKind::Mmap ? 4 : 0]);
  if ((file_call ||
       (c.call.kind == SyscallKind::Mmap && (c.call.a[3] & abi::MAP_ANONYMOUS) == 0)) &&
      fd >= 0 && as.fds().lookup(fd) == 0) {
    // A file opened before the trace began: described from the -y path.
    FileInfo fi;
    fi.path = c.fd.has_path ? c.fd.path + (c.fd.deleted ? " (deleted)" : "") : std::string();
    fi.kind = kind_of_path(c.fd.path);
    fi.readable = true;
    fi.writable = true;
    fi.seals_known = false;
    as.fds().install_at(fd, as.files().add(fi));
    j.unknown("fd " + std::to_string(fd) + " was opened before the trace began");
  }
  if (file_call) return bind_file(c, mm, j);
  if (c.call.kind == SyscallKind::Shmat) {
    const std::uint64_t shmid = c.call.a[0];
    const auto seg = shm_segments_.find(shmid);
    if (seg == shm_segments_.end()) {
      j.unknown("shm segment " + std::to_string(shmid) + " was not created by the trace");
      return false;
    }
    if (seg->second.kind == FileKind::Hugetlb) {
      j.unknown("shm segment " + std::to_string(shmid) + " is SHM_HUGETLB: not modelled");
      return false;
    }
    // Found by vmseal's fuzzer: a FileId from the creator's table used in
    // an unrelated process's read past that table's end.
    c.call.a[0] = mm.as.files().add(seg->second);
  }
  return true;
}

// fcntl(F_ADD_SEALS/F_GET_SEALS) and ftruncate(2): verifiable when the file
// is one whose rules the engine has and whose state (seals, size) it saw made.
bool Simulator::bind_file(MemoryCall& c, Mm& mm, Judgement& j) {
  const FileId id = mm.as.fds().lookup(static_cast<int>(c.call.a[0]));
  if (id == 0 || !j.verifiable) return true;
  const FileInfo& f = mm.as.files().get(id);
  const std::string fd = "fd " + std::to_string(c.call.a[0]);
  if (f.kind == FileKind::Regular) {
    j.unknown(fd + " is a file on disk: its size and seals are the file system's");
  } else if (!f.seals_known) {
    j.unknown(fd + " was made before the trace showed it: its seals are not known");
  } else if (c.call.kind == SyscallKind::Ftruncate && !f.size_known && f.size == 0 &&
             (f.kind == FileKind::Secretmem ||
              (f.seals & (abi::SEAL_SHRINK | abi::SEAL_GROW)) != 0)) {
    j.unknown(fd + ": the file's size is not known, and its rules depend on it");
  }
  return true;
}

// A shared writable mmap of a memfd whose seals the trace never showed (a
// received descriptor): memfd_check_seals_mmap() refuses it when the file is
// write-sealed. A success shows it is not; a refusal is taken as the seal,
// and that call is unverifiable.
void Simulator::learn_write_seal(const MemoryCall& c, Mm& mm, Judgement& j, const SimRecord& rec) {
  const auto& a = c.call.a;
  if ((a[3] & abi::MAP_ANONYMOUS) != 0 || (a[3] & abi::MAP_TYPE) != abi::MAP_SHARED ||
      (a[2] & abi::PROT_WRITE) == 0 || !rec.has_recorded || rec.recorded != SysResult(Errno::PERM))
    return;
  const FileId id = mm.as.fds().lookup(static_cast<int>(a[4]));
  if (id == 0) return;
  const FileInfo& f = mm.as.files().get(id);
  if (f.seals_known || f.kind != FileKind::Shmem) return;
  mm.as.files().add_seals(id, abi::SEAL_WRITE);
  j.unknown("fd " + std::to_string(a[4]) +
            " was made before the trace showed it: its seals are not known");
}

// Another live mm on this simulator's file table maps the inode of `file`
// VM_SHARED|VM_MAYWRITE (a fork child's copy, say): F_SEAL_WRITE is EBUSY.
bool Simulator::writably_mapped_elsewhere(const Mm& mm, FileId file) const {
  for (const auto& [pid, other] : procs_) {
    (void)pid;
    if (other == nullptr || other.get() == &mm || other->as.shared_files() != mm.as.shared_files())
      continue;
    if (other->as.maps_inode_writably(file)) return true;
  }
  return false;
}

// A new fd's number is the lowest free one in the kernel's table, which the
// engine does not see whole: the fd goes where the log says it went (and an
// fd the kernel did not make is closed again).
void Simulator::follow_recorded_fd(const MemoryCall& c, Mm& mm, SimRecord& rec) {
  if (c.form != MemoryCall::Form::Syscall ||
      (c.call.kind != SyscallKind::MemfdCreate && c.call.kind != SyscallKind::MemfdSecret) ||
      !rec.engine.is_ok() || !rec.has_recorded)
    return;
  FdTable& fds = mm.as.fds();
  const int mine = static_cast<int>(rec.engine.value());
  if (rec.recorded.is_error() || rec.recorded.value() > 0x7fffffff) {
    fds.close(mine);
    return;
  }
  const int theirs = static_cast<int>(rec.recorded.value());
  if (theirs != mine) {
    const FileId id = fds.lookup(mine);
    const bool cloexec = fds.cloexec(mine);
    fds.close(mine);
    fds.install_at(theirs, id);
    fds.set_cloexec(theirs, cloexec);
  }
  rec.engine = rec.recorded;
}

// The ranges whose state decides the outcome, and whether the trace made them.
void Simulator::need_known_ranges(const MemoryCall& c, Mm& mm, Judgement& j, SimRecord& rec) {
  if (c.form == MemoryCall::Form::Syscall && c.call.kind == SyscallKind::Mmap)
    learn_write_seal(c, mm, j, rec);
  auto need = [&](Addr s, Addr e) {
    if (e == kWrapped) return;  // refused on its arguments alone
    if (page_align_down(s) < e) rec.ranges.emplace_back(page_align_down(s), e);
    if (!known_range(mm, page_align_down(s), e)) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%#" PRIx64 "-%#" PRIx64 " was not created by the trace",
                    page_align_down(s), e);
      j.unknown(mm.exec ? buf + ("; " + mm.exec->why_unknown()) : std::string(buf));
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
    case SyscallKind::MemfdCreate:  // files: no range (bind_call() judges their files)
    case SyscallKind::MemfdSecret:
    case SyscallKind::Fcntl:
    case SyscallKind::Ftruncate:
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
// the parent's when the fd came with a fork (docs/kernel-rules.md 6f.5).
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
  // Not a call the inference's history replays: it starts again from here.
  if (rec.engine.is_ok() && on->history) on->history->stale = true;
}

// The engine runs the call; a call that chooses its address goes where the
// kernel put it when the trace says (the engine cannot see ASLR, nor what
// was mapped before the trace began). True when it did.
bool Simulator::run_call(const MemoryCall& c, Mm& mm, SimRecord& rec) {
  const auto& a = c.call.a;
  if (c.form == MemoryCall::Form::Syscall &&
      c.call.kind == SyscallKind::MemfdCreate) {  // with its name, which no register holds
    rec.engine = mm.as.memfd_create(a[1], c.name);
    follow_recorded_fd(c, mm, rec);
    return false;
  }
  if (c.form == MemoryCall::Form::Syscall && c.call.kind == SyscallKind::Fcntl) {
    // Only a seal the engine would otherwise add can be EBUSY: ask the other
    // processes then (each walk is over their VMAs).
    const FileId file = mm.as.fds().lookup(static_cast<int>(a[0]));
    const FileInfo* f = file != 0 ? &mm.as.files().get(file) : nullptr;
    const bool may_busy = f != nullptr && (a[1] & 0xffffffffU) == abi::ADD_SEALS &&
                          (a[2] & (abi::SEAL_WRITE | abi::SEAL_EXEC)) != 0 && f->writable &&
                          (f->seals & (abi::SEAL_SEAL | abi::SEAL_WRITE)) == 0 &&
                          (f->kind == FileKind::Shmem || f->kind == FileKind::Hugetlb);
    rec.engine = mm.as.fcntl(static_cast<int>(a[0]), a[1], a[2],
                             may_busy && writably_mapped_elsewhere(mm, file));
    return false;
  }
  const Applied done = run_on(c, mm.as, rec);
  rec.engine = done.result;
  follow_recorded_fd(c, mm, rec);
  return done.placed;
}

Applied Simulator::run_on(const MemoryCall& c, AddressSpace& as, const SimRecord& rec) const {
  std::optional<RecordedPlacement> recorded;
  if (options_.check && rec.has_recorded && rec.recorded.is_ok() &&
      c.form == MemoryCall::Form::Syscall)
    recorded = RecordedPlacement{rec.recorded.value(), 0, 0};
  return detail::run_memory_call(as, c, recorded);
}

// ---- pages mapped before the trace began, against RLIMIT_AS and RLIMIT_DATA --

namespace {

// More pages than any finite limit of this many bytes allows.
constexpr std::uint64_t kUnbounded = std::uint64_t{1} << 44;
// A copy of an address space this big per call would make a hostile trace slow.
constexpr std::size_t kMaxWorstCaseVmas = 4096;

bool charges_pages(SyscallKind k) {
  switch (k) {
    case SyscallKind::Mmap:
    case SyscallKind::Mremap:
    case SyscallKind::Brk:
    case SyscallKind::Mprotect:
    case SyscallKind::PkeyMprotect:
    case SyscallKind::Shmat:
      return true;
    default:
      return false;
  }
}

// The unseen pages of total_vm: the last bound, plus what the stack may have
// grown since, unseen (at most RLIMIT_STACK in all).
std::uint64_t unseen_total(const std::optional<std::uint64_t>& bound, const Config& cfg) {
  if (!bound || cfg.rlimit_stack == ~0ULL) return kUnbounded;
  return *bound + (cfg.rlimit_stack >> kPageShift);
}

}  // namespace

// When RLIMIT_AS or RLIMIT_DATA is finite and the process has pages the
// engine cannot see, the call also runs on a copy that holds as many of them
// as there can be: if both runs agree, the unseen pages cannot change the
// result (more pages only make may_expand_vm() refuse more).
std::optional<AddressSpace> Simulator::with_unseen_pages(const MemoryCall& c, const Mm& mm,
                                                         Judgement& j) const {
  const Config& cfg = mm.as.config();
  if (mm.adopted || c.form != MemoryCall::Form::Syscall || !charges_pages(c.call.kind) ||
      (cfg.rlimit_as == ~0ULL && cfg.rlimit_data == ~0ULL))
    return std::nullopt;
  if (mm.as.map_count() > kMaxWorstCaseVmas) {
    j.unknown("RLIMIT_AS or RLIMIT_DATA counts pages mapped before the trace began");
    return std::nullopt;
  }
  AddressSpace worst = mm.as;
  const std::uint64_t data = mm.unseen_data_max.value_or(kUnbounded);
  worst.account_unseen(static_cast<std::int64_t>(unseen_total(mm.unseen_total_max, cfg)),
                       static_cast<std::int64_t>(data));
  if (worst.start_data() == worst.end_data()) worst.set_data_segment(0, data << kPageShift);
  return worst;
}

void Simulator::judge_unseen_pages(const MemoryCall& c, Mm& mm, AddressSpace worst,
                                   const MmCounters& before, Judgement& j, SimRecord& rec) {
  const Config& cfg = mm.as.config();
  const SysResult at_worst = run_on(c, worst, rec).result;
  if (at_worst != rec.engine) {
    j.unknown("RLIMIT_AS or RLIMIT_DATA counts pages mapped before the trace began");
    if (rec.has_recorded && rec.recorded == at_worst) {
      // The kernel refused: go on with its state, the unseen pages taken out.
      const Addr sd = mm.as.start_data();
      const Addr ed = mm.as.end_data();
      worst.account_unseen(-static_cast<std::int64_t>(unseen_total(mm.unseen_total_max, cfg)),
                           -static_cast<std::int64_t>(mm.unseen_data_max.value_or(kUnbounded)));
      worst.set_data_segment(sd, ed);
      mm.as = std::move(worst);
      rec.engine = at_worst;
      return;
    }
  }
  if (!rec.has_recorded || rec.recorded != rec.engine) return;
  // A call the limits let through bounds the unseen pages.
  const MmCounters& now = mm.as.counters();
  if (now.total_vm > before.total_vm && cfg.rlimit_as != ~0ULL &&
      (cfg.rlimit_as >> kPageShift) >= now.total_vm) {
    const std::uint64_t bound = (cfg.rlimit_as >> kPageShift) - now.total_vm;
    // The stack grows by at most RLIMIT_STACK over any stretch of the trace,
    // so the smallest bound ever shown, plus that, holds from then on.
    mm.unseen_total_max = std::min(mm.unseen_total_max.value_or(kUnbounded), bound);
  }
  const std::uint64_t data_limit = cfg.rlimit_data == 0 ? cfg.rlimit_data_max : cfg.rlimit_data;
  if (now.data_vm > before.data_vm && data_limit != ~0ULL &&
      (data_limit >> kPageShift) >= now.data_vm) {
    const std::uint64_t bound = (data_limit >> kPageShift) - now.data_vm;
    mm.unseen_data_max = std::min(mm.unseen_data_max.value_or(kUnbounded), bound);
  }
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

// Whether the trace, or the exec layout inferred from the files, made all of
// [start, end).
bool Simulator::known_range(const Mm& mm, Addr start, Addr end) {
  if (!mm.exec) return mm.known.contains(start, end);
  for (Addr at = start; at < end;) {
    const Addr next = std::max(mm.known.covered_until(at), mm.exec->covered_until(at));
    if (next == at) return false;
    at = next;
  }
  return true;
}

// ---- the exec layout (SimOptions::exec_files, exec_layout.hpp) -----------------

// A successful execve: the layout of the files it ran, pending until calls
// show where it is. "/proc/self/exe" is the file the process ran before.
void Simulator::start_exec_layout(const TraceEvent& ev, const std::string& old_exe) {
  ++summary_.execs;
  std::string path = exec_path(ev.call);
  if (path == "/proc/self/exe") path = old_exe;
  auto mm = mm_of(ev.pid);
  mm->exec = ExecInference::start(*options_.exec_files, path);
  if (!mm->exec->problem().empty())
    note_exec(ev.line, ev.pid, "the exec layout is not inferred: " + mm->exec->problem());
}

void Simulator::note_exec(std::size_t line, int pid, std::string text) {
  if (exec_notes_.size() >= kMaxExecNotes) return;
  exec_notes_.push_back("line " + std::to_string(line) + ", pid " + std::to_string(pid) + ": " +
                        std::move(text));
}

// Before a memory call: whether it shows where an image of the exec layout is
// (then the image is mapped and the call is judged on it, "placed"), and
// whether the kernel put a mapping where the layout says an image lies (then
// the layout is wrong: it is dropped and the call is unverifiable).
bool Simulator::exec_layout_step(const MemoryCall& c, Mm& mm, SimRecord& rec, Judgement& j) {
  if (c.form != MemoryCall::Form::Syscall || !rec.has_recorded) return false;
  ExecInference& ex = *mm.exec;
  const auto& a = c.call.a;
  if (options_.check && chooses_its_address(c.call) && rec.recorded.is_ok()) {
    const std::uint64_t len = c.call.kind == SyscallKind::Mremap ? a[2] : a[1];
    const Addr at = rec.recorded.value();
    const Addr end = range_end(at, len);
    if (end != kWrapped && (c.call.kind == SyscallKind::Mremap || a[0] == 0)) ex.saw_placement(end);
    if (end != kWrapped && ex.collides(mm.as, at, end)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%#" PRIx64, at);
      ex.lose(std::string("the kernel put a mapping at ") + buf +
              " where the layout has an image: the files differ from the traced ones");
      j.unknown("the inferred exec layout was wrong here");
      note_exec(rec.line, rec.pid, ex.problem());
    }
    return false;
  }
  const bool was_complete = ex.complete();
  const auto shown = ex.reveal(c.call, rec.recorded, mm.as, mm.brk_known ? mm.as.start_brk() : 0);
  if (!was_complete && ex.complete()) ++summary_.exec_layouts_placed;
  if (shown == ExecInference::Reveal::Deferred) {
    // Unverifiable, but not a blind spot: the engine makes it again once it
    // knows which image it was of.
    j.unknown("the RELRO of either image of the exec; kept until a later call tells which");
    j.deferred = true;
    return false;
  }
  if (shown != ExecInference::Reveal::Placed) return false;
  rec.note = "the call shows where the kernel mapped an image of the exec";
  return true;
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
  } else if (rec.engine == rec.recorded && rec.verdict == Verdict::Explained) {
    ++summary_.explained;
  } else if (rec.engine == rec.recorded && rec.verdict == Verdict::Reordered) {
    ++summary_.reordered;
  } else if (rec.engine == rec.recorded) {
    rec.verdict = placed ? Verdict::Placed : Verdict::Match;
    ++(placed ? summary_.placed : summary_.matched);
  } else {
    rec.verdict = Verdict::Mismatch;
    ++summary_.mismatched;
  }
}

namespace {
// Documented limits (docs/limits.md): records held for a revision.
constexpr std::size_t kMaxHeldRecords = 4096;
constexpr std::size_t kHeldTimedRecords = 64;
}  // namespace

SimStream simulate(std::istream& in, Simulator& sim, bool keep_going,
                   const std::function<void(const SimRecord&)>& record,
                   const std::function<void(const std::string&)>& problem,
                   const std::function<void(std::size_t)>& progress) {
  SimStream out;
  StraceParser parser;
  // Records wait while a call that started before them has not ended: if the
  // kernel ran it first, it may explain them (Simulator::take_revisions), and
  // the caller gets each record once, final. In a trace with -T times, calls
  // may overlap without "<unfinished ...>": a few records always wait.
  std::deque<SimRecord> held;
  bool timed = false;
  auto flush = [&](bool all) {
    const std::size_t keep = all                           ? 0
                             : parser.pending_calls() != 0 ? kMaxHeldRecords
                             : timed                       ? kHeldTimedRecords
                                                           : 0;
    while (held.size() > keep) {
      record(held.front());
      held.pop_front();
    }
  };
  auto revise = [&] {
    for (SimRecord& r : sim.take_revisions()) {
      auto it = std::find_if(held.begin(), held.end(), [&](const SimRecord& h) {
        return h.line == r.line && h.pid == r.pid;
      });
      if (it != held.end())
        *it = std::move(r);
      else
        record(r);  // given before: given again, revised
    }
  };
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
      timed = timed || !ev.call.duration.empty();
      std::string error;
      std::optional<SimRecord> rec = sim.apply(ev, &error);
      if (!error.empty())
        bad("line " + std::to_string(ev.line) + ": " + error);
      else if (rec)
        held.push_back(std::move(*rec));
      revise();
    }
    flush(false);
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
  flush(true);
  out.lines = parser.lines_read();
  return out;
}

}  // namespace vmseal::trace
