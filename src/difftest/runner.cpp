#include "vmseal/difftest/runner.hpp"

#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/kernel/abi.hpp"
#include "vmseal/kernel/process_state.hpp"
#include "vmseal/kernel/smaps_import.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::difftest {

namespace {

constexpr std::uint64_t P = kPageSize;
constexpr std::uint64_t kGuardPages = 16;
constexpr Addr kWindowBase = 0x600000000000ULL;
constexpr Addr kJobStride = 0x10000000000ULL;  // 1 TiB between jobs' windows
// The seals of Fds::memfd_sealed, and memfd_secret's number (x86-64).
constexpr std::uint32_t kSealedWith =
    abi::SEAL_SEAL | abi::SEAL_SHRINK | abi::SEAL_GROW | abi::SEAL_WRITE;
constexpr long kNrMemfdSecret = 447;

// Brk ops store a target relative to the child's initial break when a[1] is 1.
Op resolve(const Op& op, Addr initial_brk) {
  Op r = op;
  if (op.kind == OpKind::Brk && op.a[1] == 1) {
    r.a[0] = initial_brk + op.a[0];
    r.a[1] = 0;
  }
  return r;
}

bool overlaps(Addr s, Addr e, Addr lo, Addr hi) { return s < hi && lo < e; }

// A mapping the kernel put outside the window (a non-fixed mmap or a mremap
// move): the munmap that removes it again, on both sides.
std::optional<Op> outside_window_cleanup(const Op& op, const SysResult& native, const Window& w) {
  if (!native.is_ok() || (op.kind != OpKind::Mmap && op.kind != OpKind::Mremap))
    return std::nullopt;
  const Addr at = native.value();
  if (at >= w.base && at < w.end()) return std::nullopt;
  Op cleanup;
  cleanup.kind = OpKind::Munmap;
  cleanup.a = {at, page_align_up(op.kind == OpKind::Mmap ? op.a[1] : op.a[2]), 0, 0, 0, 0};
  return cleanup;
}

// The runs of `g` clipped to `ranges`.
GuardPages guards_within(const GuardPages& g, std::initializer_list<std::pair<Addr, Addr>> ranges) {
  GuardPages out;
  if (g.empty()) return out;
  g.for_each([&](Addr s, Addr e) {
    for (const auto& [lo, hi] : ranges)
      if (s < hi && lo < e) out.install(std::max(s, lo), std::min(e, hi));
  });
  return out;
}

std::string guards_text(const GuardPages& g) {
  if (g.empty()) return "none";
  std::string out;
  g.for_each([&](Addr s, Addr e) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%llx-%llx", out.empty() ? "" : " ",
                  static_cast<unsigned long long>(s), static_cast<unsigned long long>(e));
    out += buf;
  });
  return out;
}

}  // namespace

std::uint64_t sequence_seed(std::uint64_t seed, std::uint64_t index) noexcept {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A zygote (native.hpp) and what each of its children starts with: read and
// imported from the first child, copied for the next ones once their layout
// is shown to be the same.
struct Job::Template {
  Zygote zygote;
  bool known = false;                     // base holds the children's layout
  AddressSpace base;                      // imported, the job's files installed, the break set
  FileTable files;                        // base's file table as imported
  AddressSpace as;                        // the running sequence's (assignment reuses its nodes)
  std::vector<kernel::SmapsEntry> below;  // the children's smaps below the filler area
  std::vector<VmaBrief> above;            // their VMAs from the filler area up (vmas_above())
  Addr start_brk = 0;
  Addr brk = 0;
};

Job::Job(unsigned index, const Options& options)
    : options_(options), plain_(std::make_unique<Template>()), near_(std::make_unique<Template>()) {
  // The child's capabilities and limits are this process's (fork keeps them).
  config_.caps = kernel::read_capabilities();
  kernel::read_rlimits(config_);
  config_.max_map_count = kernel::read_vm_sysctl("max_map_count", 65530);
  config_.dac_mmap_min_addr = kernel::read_vm_sysctl("mmap_min_addr", 4096);
  config_.mmap_min_addr = std::max<Addr>(config_.dac_mmap_min_addr, 0x10000);
  config_.pku = kernel::have_pku();
  config_.read_fault_zero_page = kernel::read_fault_maps_zero_page();
  config_.overcommit_never = kernel::read_vm_sysctl("overcommit_memory", 0) == 2;
  config_.unprivileged_userfaultfd = kernel::read_vm_sysctl("unprivileged_userfaultfd", 0) != 0;
  // A kernel without userfaultfd, or a filter that refuses it: no such calls.
  const long uffd = syscall(abi::NR_userfaultfd, abi::UFFD_CLOEXEC | abi::UFFD_USER_MODE_ONLY);
  ctx_.uffd = uffd >= 0;
  if (uffd >= 0) close(static_cast<int>(uffd));
  compare_guards_ = kernel::pagemap_reports_guards();
  if (options.adjust_engine_config) options.adjust_engine_config(config_);

  Window& w = ctx_.window;
  w.pages = options.window_pages;
  w.guard_pages = kGuardPages;
  w.filler_pages = std::min<std::uint64_t>(2 * config_.max_map_count + 64, std::uint64_t{1} << 22);
  const std::uint64_t total = (kGuardPages * 2 + w.pages + w.filler_pages) * P;
  // A fixed place keeps a seed's sequence the same from run to run.
  void* want = reinterpret_cast<void*>(kWindowBase + index * kJobStride);
  // <sys/mman.h> clashes with abi.hpp's constants: raw system calls here.
  const std::uint64_t reserve = abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_NORESERVE;
  long r =
      syscall(SYS_mmap, want, total, abi::PROT_NONE, reserve | abi::MAP_FIXED_NOREPLACE, -1, 0);
  if (r == -1) r = syscall(SYS_mmap, nullptr, total, abi::PROT_NONE, reserve, -1, 0);
  void* got = r == -1 ? nullptr : reinterpret_cast<void*>(r);
  if (got == nullptr) {
    error_ = std::string("cannot reserve a window: ") + std::strerror(errno);
    return;
  }
  reservation_ = got;
  reservation_len_ = total;
  w.base = reinterpret_cast<Addr>(got) + kGuardPages * P;
  w.filler = w.end() + kGuardPages * P;

  Fds& f = ctx_.fds;
  const off_t size = static_cast<off_t>((w.pages * 2 + 64) * P);
  f.memfd_a = static_cast<int>(syscall(SYS_memfd_create, "vmseal-a", 0));
  f.memfd_b = static_cast<int>(syscall(SYS_memfd_create, "vmseal-b", 0));
  if (f.memfd_a < 0 || f.memfd_b < 0 || ftruncate(f.memfd_a, size) != 0 ||
      ftruncate(f.memfd_b, size) != 0) {
    error_ = std::string("memfd_create: ") + std::strerror(errno);
    return;
  }
  // The sealed memfd and the secretmem file (docs/kernel-rules.md 6e).
  f.memfd_sealed = static_cast<int>(syscall(SYS_memfd_create, "vmseal-s", abi::MFD_ALLOW_SEALING));
  if (f.memfd_sealed < 0 || ftruncate(f.memfd_sealed, size) != 0 ||
      fcntl(f.memfd_sealed, static_cast<int>(abi::ADD_SEALS), kSealedWith) != 0) {
    error_ = std::string("memfd_create (sealed): ") + std::strerror(errno);
    return;
  }
  f.secret = static_cast<int>(syscall(kNrMemfdSecret, 0));
  if (f.secret >= 0 && ftruncate(f.secret, size) != 0) {
    close(f.secret);
    f.secret = -1;
  }
  const std::string self = "/proc/self/fd/" + std::to_string(f.memfd_a);
  f.memfd_a2 = open(self.c_str(), O_RDWR);
  f.memfd_a_ro = open(self.c_str(), O_RDONLY);
  f.dev_zero = open("/dev/zero", O_RDWR);
  if (f.memfd_a2 < 0 || f.memfd_a_ro < 0 || f.dev_zero < 0) {
    error_ = std::string("open: ") + std::strerror(errno);
    return;
  }
  ctx_.pku = config_.pku;
#if defined(__SANITIZE_ADDRESS__)
  ctx_.no_populating_mlockall = true;
#endif
}

Job::~Job() {
  const Fds& f = ctx_.fds;
  for (int fd :
       {f.memfd_a, f.memfd_a2, f.memfd_a_ro, f.memfd_b, f.dev_zero, f.memfd_sealed, f.secret})
    if (fd >= 0) close(fd);
  if (reservation_ != nullptr) syscall(SYS_munmap, reservation_, reservation_len_);
}

bool Job::ready(std::string* error) const {
  if (!error_.empty() && error != nullptr) *error = error_;
  return error_.empty();
}

namespace {

void install_files(AddressSpace& as, const Fds& f) {
  auto describe = [&](int fd, const char* path, FileKind kind, bool writable) {
    struct stat st {};
    fstat(fd, &st);
    FileInfo fi;
    fi.path = path;
    fi.dev_major = major(st.st_dev);
    fi.dev_minor = minor(st.st_dev);
    fi.inode = st.st_ino;
    fi.readable = true;
    fi.writable = writable;
    fi.kind = kind;
    fi.size = static_cast<std::uint64_t>(st.st_size);
    as.fds().install_at(fd, as.files().add(fi));
  };
  describe(f.memfd_a, "/memfd:vmseal-a (deleted)", FileKind::Shmem, true);
  describe(f.memfd_a2, "/memfd:vmseal-a (deleted)", FileKind::Shmem, true);
  describe(f.memfd_a_ro, "/memfd:vmseal-a (deleted)", FileKind::Shmem, false);
  describe(f.memfd_b, "/memfd:vmseal-b (deleted)", FileKind::Shmem, true);
  describe(f.dev_zero, "/dev/zero", FileKind::DevZero, true);
  describe(f.memfd_sealed, "/memfd:vmseal-s (deleted)", FileKind::Shmem, true);
  as.files().get(as.fds().lookup(f.memfd_sealed)).seals = kSealedWith;
  if (f.secret >= 0) {
    describe(f.secret, "/secretmem (deleted)", FileKind::Secretmem, true);
    FileInfo& s = as.files().get(as.fds().lookup(f.secret));
    s.noexec_mount = true;
    s.size_known = true;
  }
}

// userfaultfd(2), and the dup3() that moves its fd where the op says
// (Userfaultfd's a[1]); an fd there before is closed by it.
SysResult engine_userfaultfd(AddressSpace& as, const Op& op) {
  const SysResult r = as.userfaultfd(op.a[0]);
  const int to = static_cast<int>(op.a[1]);
  if (r.is_error() || static_cast<int>(r.value()) == to) return r;
  FdTable& fds = as.fds();
  const int own = static_cast<int>(r.value());
  const FileId file = fds.lookup(own);
  const FileId replaced = fds.lookup(to);
  fds.install_at(to, file, (op.a[0] & abi::UFFD_CLOEXEC) != 0);
  fds.close(own);
  AddressSpace* self = &as;
  if (replaced != 0)
    release_if_unheld(as.files(), replaced, std::span<AddressSpace* const>(&self, 1));
  return SysResult::ok(static_cast<std::uint64_t>(to));
}

// The engine's side of one call. Non-fixed placement is the kernel's choice
// where the engine cannot know the rest of the address space: when the engine
// would not put the mapping inside the window, it is placed where the kernel
// put it (`placed`).
SysResult apply_engine(AddressSpace& as, const Op& op, const SysResult& native, const Window& w,
                       bool& placed) {
  placed = false;
  if (const std::optional<Syscall> call = as_syscall(op)) {
    // Where the engine's own choice lies outside the window it cannot be
    // exact (the rest of the process is the kernel's business): a call that
    // chooses its address follows the kernel there, with its own limits.
    std::optional<RecordedPlacement> recorded;
    if (native.is_ok()) recorded = RecordedPlacement{native.value(), w.base, w.end()};
    const Applied done = apply(as, *call, recorded);
    placed = done.placed;
    return done.result;
  }
  switch (op.kind) {
    case OpKind::WriteFault:
      return as.fault(op.a[0], Access::Write) == FaultResult::Ok ? SysResult::ok(0)
                                                                 : SysResult(Errno::FAULT);
    case OpKind::Fork:
      if (native.is_ok()) as = as.fork();
      return native;
    case OpKind::Userfaultfd:
      return engine_userfaultfd(as, op);
    case OpKind::Close:
      return as.close(static_cast<int>(op.a[0]));
    default:
      return SysResult(Errno::NOSYS);
  }
}

// The VMAs of the child that PROCMAP_QUERY shows without a walk of the
// filler area: its first, then every one from its last page up (thread
// stacks, libraries, other jobs' reservations, [stack]).
bool vmas_above(NativeProcess& np, const Window& w, std::vector<VmaBrief>& out, std::string& err) {
  out.clear();
  VmaBrief v;
  bool found = false;
  if (!np.query_vma(w.filler, v, found, &err)) return false;
  if (found) out.push_back(v);
  for (Addr at = w.reservation_end() - P;; at = v.end) {
    if (!np.query_vma(at, v, found, &err)) return false;
    if (!found) return true;
    out.push_back(v);
  }
}

// Entries that import_layout() makes the same VMAs of: the same maps line,
// VmFlags, and anonymous pages or none.
bool same_entries(const std::vector<kernel::SmapsEntry>& a,
                  const std::vector<kernel::SmapsEntry>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.header == y.header && x.vmflags_text == y.vmflags_text &&
           (x.anonymous_kb == 0) == (y.anonymous_kb == 0);
  });
}

}  // namespace

// Starts the zygote; near the limit, it then fills the filler range until
// only a few VMAs are left under vm.max_map_count.
bool Job::start_zygote(Template& t, bool near_limit, std::string& err) {
  t.known = false;
  const Window& w = ctx_.window;
  if (!t.zygote.start(w, ctx_.fds, &err) || !near_limit) return t.zygote.running();
  // Its children have its VMAs (dup_mmap() copies all but VM_DONTCOPY ones,
  // which would only leave them more headroom), so its count is theirs.
  std::vector<kernel::SmapsEntry> entries;
  kernel::SmapsReader smaps;
  smaps.set_lean(true);
  if (!smaps.open(t.zygote.pid(), &err) || !smaps.read(entries, &err)) return false;
  // Leave a few VMAs of headroom.
  const std::uint64_t slack = 3;
  const std::uint64_t have = entries.size() + 1;  // the filler split adds one at its end
  const std::uint64_t max = config_.max_map_count;
  if (max > have + slack + 2 && max - have - slack < w.filler_pages)
    return t.zygote.make_filler(w.filler, max - have - slack, &err);
  return true;
}

// Forks the sequence's child from the zygote and gives t.as its layout. The
// first child's is read whole and imported. A later child's is checked
// where it is cheap to read: smaps below the filler area (the heap and the
// window included), the program break, and the VMAs above it. When all are
// the same, t.as is a copy of the first import: with 65,000 filler VMAs
// that saves reading 47 MB of smaps and importing it.
bool Job::start_child(Template& t, bool near_limit, NativeProcess& np,
                      std::vector<kernel::SmapsEntry>& entries, std::string& err) {
  const Window& w = ctx_.window;
  // A zygote that is not running (first use, or it died) is started again.
  if (!t.zygote.spawn(np, &err) && (!start_zygote(t, near_limit, err) || !t.zygote.spawn(np, &err)))
    return false;
  Addr start_brk = 0;
  Addr brk = 0;
  std::vector<VmaBrief> above;
  if (!np.start_brk(start_brk, &err) || !np.current_brk(brk, &err) ||
      !np.read_layout(entries, &err, w.filler))
    return false;
  // Without PROCMAP_QUERY (before Linux 6.11) each child is read whole.
  const bool queried = vmas_above(np, w, above, err);
  if (t.known && queried && start_brk == t.start_brk && brk == t.brk &&
      same_entries(entries, t.below) && above == t.above) {
    t.base.files() = t.files;  // what the last sequence's mappings added is not this one's
    t.as = t.base;
    return true;
  }
  t.below = entries;
  if (!np.read_layout(entries, &err)) return false;
  AddressSpace fresh(config_);
  kernel::import_layout(entries, fresh, /*forked_child=*/true);
  install_files(fresh, ctx_.fds);
  fresh.set_brk(start_brk, brk);
  t.files = fresh.files();
  t.base = std::move(fresh);
  t.as = t.base;
  t.above = std::move(above);
  t.start_brk = start_brk;
  t.brk = brk;
  t.known = queried;
  return true;
}

namespace {

// The generator's next call; a brk target near the initial break is stored
// relative to it (a replay's child may start with its break elsewhere).
Op generated(Generator& g, const AddressSpace& as, Addr initial_brk) {
  Op next = g.next(as);
  if (next.kind == OpKind::Brk && next.a[0] >= initial_brk && next.a[0] <= initial_brk + 64 * P) {
    next.a[0] -= initial_brk;
    next.a[1] = 1;
  }
  return next;
}

void diverge(Job::Result& res, std::size_t index, std::string what) {
  res.diverged = true;
  res.index = index;
  res.what = std::move(what);
}

// A call whose result differs: both results, and the engine's counters.
std::string result_difference(const Op& op, const SysResult& native, const SysResult& engine,
                              const AddressSpace& as, const Fds& fds) {
  return strace_line(op, native, fds) + "\n  kernel: " + result_text(op.kind, native) +
         "\n  engine: " + result_text(op.kind, engine) +
         " (engine: " + std::to_string(as.map_count()) + " VMAs, total_vm " +
         std::to_string(as.counters().total_vm) + " pages, locked_vm " +
         std::to_string(as.counters().locked_vm) + " pages)";
}

// What a replay compares after each call (the window and the heap), and what
// it keeps from one comparison to the next.
struct Comparison {
  const Window& w;
  Addr heap_lo = 0;
  Addr heap_hi = 0;
  bool guards = false;                        // compare the guard markers too
  std::vector<kernel::SmapsEntry> entries{};  // the child's layout, as last read
  std::set<FileId> learned{};                 // shmem files given the kernel's inode
};

std::string kernel_layout(const Comparison& c) {
  std::string text;
  for (const auto& e : c.entries) {
    if (!overlaps(e.start, e.end, c.w.base, c.w.end()) &&
        !overlaps(e.start, e.end, c.heap_lo, c.heap_hi))
      continue;
    text += e.header + "\nVmFlags: " + e.vmflags_text + "\n";
  }
  return text;
}

void render_engine_layout(AddressSpace& as, Comparison& c, Addr lo, Addr hi, std::string& text) {
  for (const Vma* v = as.vmas().lower(lo); v != nullptr && v->start < hi;
       v = as.vmas().next_of(*v)) {
    if (v->end <= lo) continue;
    if (v->file != 0 && c.learned.count(v->file) == 0 &&
        as.files().get(v->file).path == "/dev/zero (deleted)") {
      // The kernel numbers the shmem file of a shared anonymous mapping.
      for (const auto& e : c.entries)
        if (e.start == v->start && e.name == "/dev/zero (deleted)") {
          as.files().get(v->file).inode = e.inode;
          c.learned.insert(v->file);
        }
    }
    text += maps_line(as, *v) + "\nVmFlags: " + smaps_vmflags(v->flags) + "\n";
  }
}

std::string engine_layout(AddressSpace& as, Comparison& c) {
  std::string text;
  if (c.heap_hi <= c.w.base) render_engine_layout(as, c, c.heap_lo, c.heap_hi, text);
  render_engine_layout(as, c, c.w.base, c.w.end(), text);
  return text;
}

// The child's layout and guard pages against the engine's after a call.
// False when the child could not be read; `difference` says what differs,
// "" when nothing does.
bool compare_state(NativeProcess& np, AddressSpace& as, Comparison& c, std::string& difference,
                   std::string& err) {
  if (!np.read_layout(c.entries, &err, c.w.end())) return false;
  const std::string kernel_text = kernel_layout(c);
  const std::string engine_text = engine_layout(as, c);
  if (kernel_text != engine_text) {
    difference =
        "\n  the layouts differ after it.\n  kernel:\n" + kernel_text + "  engine:\n" + engine_text;
    return true;
  }
  // The guard markers (page-table state the layout does not show).
  if (!c.guards) return true;
  GuardPages kernel_guards;
  if (!np.read_guards(c.w.base, c.w.end(), kernel_guards, &err) ||
      !np.read_guards(c.heap_lo, c.heap_hi, kernel_guards, &err))
    return false;
  const GuardPages engine_guards =
      guards_within(as.guard_pages(), {{c.w.base, c.w.end()}, {c.heap_lo, c.heap_hi}});
  if (!(kernel_guards == engine_guards))
    difference = "\n  the guard pages differ after it.\n  kernel: " + guards_text(kernel_guards) +
                 "\n  engine: " + guards_text(engine_guards);
  return true;
}

}  // namespace

Job::Result Job::replay(std::vector<Op>& ops, bool near_limit,
                        std::optional<std::uint64_t> generate_seed, Progress* progress) {
  Result res;
  NativeProcess np;
  std::string err;
  const Window& w = ctx_.window;
  Comparison cmp{.w = w, .guards = compare_guards_};
  Template& t = near_limit ? *near_ : *plain_;
  if (!start_child(t, near_limit, np, cmp.entries, err)) {
    res.error = err;
    return res;
  }
  AddressSpace& as = t.as;
  const Addr start_brk = t.start_brk;
  const Addr brk = t.brk;
  GenContext ctx = ctx_;
  ctx.start_brk = start_brk;
  ctx.initial_brk = brk;
  cmp.heap_lo = start_brk & kPageMask;
  cmp.heap_hi = page_align_up(brk) + 80 * P;
  std::optional<Generator> local;
  if (generate_seed) local.emplace(ctx, options_.mix, *generate_seed);

  const std::size_t total = generate_seed ? options_.ops_per_sequence : ops.size();
  for (std::size_t i = 0; i < total; ++i) {
    if (i >= ops.size()) ops.push_back(generated(*local, as, ctx.initial_brk));
    const Op op = resolve(ops[i], brk);
    if (!is_confined(op, ctx)) continue;  // a replayed op that would leave the window here
    if (touches_armed(op, as)) continue;  // ...or fault in registered memory (generator.hpp)
    SysResult native;
    if (!np.call(op, native, &err)) {
      diverge(res, i,
              "call " + std::to_string(i) + " (" + strace_line(op, SysResult(), ctx_.fds) +
                  "): " + err);
      return res;
    }
    bool placed = false;
    const SysResult engine = apply_engine(as, op, native, w, placed);
    ++res.compared;
    if (progress != nullptr) progress->ops.fetch_add(1, std::memory_order_relaxed);
    if (placed) ++res.placed;
    const bool same = op.kind == OpKind::Fork ? native.is_ok() == engine.is_ok() : native == engine;
    if (!same) {
      diverge(res, i, result_difference(op, native, engine, as, ctx_.fds));
      return res;
    }
    if (const auto cleanup = outside_window_cleanup(op, native, w)) {
      SysResult n2;
      if (!np.call(*cleanup, n2, &err)) {
        res.error = err;
        return res;
      }
      as.munmap(cleanup->a[0], cleanup->a[1]);
    }
    std::string difference;
    if (!compare_state(np, as, cmp, difference, err)) {
      res.error = err;
      return res;
    }
    if (!difference.empty()) {
      diverge(res, i, strace_line(op, native, ctx_.fds) + difference);
      return res;
    }
  }
  return res;
}

std::vector<Op> Job::shrink(std::vector<Op> ops, bool near_limit, std::string& what) {
  if (ops.empty()) return ops;
  const OpKind kind = ops.back().kind;
  const auto start = std::chrono::steady_clock::now();
  auto still_fails = [&](std::vector<Op> cand, std::string& w) {
    if (cand.empty() || cand.back().kind != kind) return false;
    Result r = replay(cand, near_limit, std::nullopt, nullptr);
    if (!r.diverged || cand[r.index].kind != kind) return false;
    w = r.what;
    return true;
  };
  std::size_t chunk = ops.size() / 2;
  int replays = 0;
  while (chunk >= 1) {
    bool changed = false;
    for (std::size_t i = 0; i + 1 < ops.size();) {
      if (std::chrono::steady_clock::now() - start > std::chrono::seconds(120) || replays > 3000)
        return ops;
      const std::size_t n =
          std::min(chunk, ops.size() - 1 - i);  // never drop the last (divergent) op
      if (n == 0) break;
      std::vector<Op> cand(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(i));
      cand.insert(cand.end(), ops.begin() + static_cast<std::ptrdiff_t>(i + n), ops.end());
      ++replays;
      std::string w;
      if (still_fails(cand, w)) {
        ops = std::move(cand);
        what = w;
        changed = true;
      } else {
        i += n;
      }
    }
    if (!changed) chunk /= 2;
  }
  return ops;
}

std::string Job::sim_input(const std::vector<Op>& ops, const std::string& what) const {
  // Replays once more to record what the kernel returned for each call.
  std::vector<Op> copy = ops;
  NativeProcess np;
  std::string err;
  std::string out = "# vmseal difftest divergence; run: vmseal sim --check";
  out += config_.privileged() ? " --privileged" : "";
  out += config_.read_fault_zero_page ? "" : " --read-fault-allocates";
  out += " THIS_FILE\n";
  for (std::size_t pos = 0; pos < what.size();) {
    const std::size_t nl = what.find('\n', pos);
    out += "# " + what.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  const Fds& f = ctx_.fds;
  int pid = 1000;
  auto line = [&](const std::string& text) { out += std::to_string(pid) + " " + text + "\n"; };
  // The files as the job made them: their sizes and seals decide calls.
  const std::string size = std::to_string((ctx_.window.pages * 2 + 64) * P);
  auto memfd = [&](int fd, const char* name, const char* flags) {
    const std::string path = std::to_string(fd) + "</memfd:" + name + ">(deleted)";
    line("memfd_create(\"" + std::string(name) + "\", " + flags + ") = " + path);
    line("ftruncate(" + path + ", " + size + ") = 0");
    return path;
  };
  memfd(f.memfd_a, "vmseal-a", "0");
  memfd(f.memfd_b, "vmseal-b", "0");
  line("fcntl(" + memfd(f.memfd_sealed, "vmseal-s", "MFD_ALLOW_SEALING") +
       ", F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE) = 0");
  if (f.secret >= 0) {
    line("memfd_secret(0) = " + std::to_string(f.secret) + "</secretmem>(deleted)");
    line("ftruncate(" + std::to_string(f.secret) + "</secretmem>(deleted), " + size + ") = 0");
  }
  line("openat(AT_FDCWD, \"/proc/self/fd/" + std::to_string(f.memfd_a) +
       "\", O_RDWR) = " + std::to_string(f.memfd_a2) + "</memfd:vmseal-a (deleted)>");
  line("openat(AT_FDCWD, \"/proc/self/fd/" + std::to_string(f.memfd_a) +
       "\", O_RDONLY) = " + std::to_string(f.memfd_a_ro) + "</memfd:vmseal-a (deleted)>");
  line("openat(AT_FDCWD, \"/dev/zero\", O_RDWR) = " + std::to_string(f.dev_zero) + "</dev/zero>");
  if (!np.start(ctx_.window, f, &err)) return out + "# could not start a child: " + err + "\n";
  Addr brk = 0;
  np.current_brk(brk, &err);
  line("brk(NULL) = " + result_text(OpKind::Brk, SysResult::ok(brk)));
  for (const Op& o : copy) {
    const Op op = resolve(o, brk);
    SysResult r;
    if (!np.call(op, r, &err)) {
      out += "# the child died: " + err + "\n";
      break;
    }
    line(strace_line(op, r, f));
    if (op.kind == OpKind::Fork && r.is_ok()) {
      line("+++ exited with 0 +++");
      pid = static_cast<int>(r.value());
    }
    if (const auto cleanup = outside_window_cleanup(op, r, ctx_.window)) {
      SysResult r2;
      if (np.call(*cleanup, r2, &err)) line(strace_line(*cleanup, r2, f));
    }
  }
  return out;
}

namespace {

// `what` as comment lines, each after `prefix`.
void append_comment(std::string& out, const char* prefix, const std::string& what) {
  for (std::size_t pos = 0; pos < what.size();) {
    const std::size_t nl = what.find('\n', pos);
    out += prefix + what.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
}

// The C program's includes and helpers, up to main's opening brace. `span`:
// the bytes of the window's reservation, its guards included.
std::string c_prelude(std::uint64_t span) {
  return " */\n#define _GNU_SOURCE\n#include <errno.h>\n#include <fcntl.h>\n#include <stdio.h>\n"
         "#include <stdlib.h>\n#include <string.h>\n#include <sys/mman.h>\n"
         "#include <sys/syscall.h>\n#include <sys/wait.h>\n#include <unistd.h>\n"
         "#include <sys/resource.h>\n#include <linux/capability.h>\n\n"
         "static unsigned long W; /* the window's reservation, as in the run */\n"
         "static unsigned long B; /* the program break at the start */\n\n"
         "static void show(const char *call, long r) {\n"
         "  if (r == -1) printf(\"%s = -1 %s\\n\", call, strerrorname_np(errno));\n"
         "  else printf(\"%s = %#lx\\n\", call, (unsigned long)r);\n}\n\n"
         "static void layout(void) {\n"
         "  FILE *f = fopen(\"/proc/self/smaps\", \"r\");\n  char line[512];\n  int in = 0;\n"
         "  while (f && fgets(line, sizeof line, f)) {\n    unsigned long s, e;\n"
         "    if (sscanf(line, \"%lx-%lx \", &s, &e) == 2) { in = s >= W && e <= W + " +
         std::to_string(span) +
         "UL; if (in) fputs(line, stdout); }\n"
         "    else if (in && strncmp(line, \"VmFlags:\", 8) == 0) fputs(line, stdout);\n  }\n"
         "  if (f) fclose(f);\n"
         "  /* Guard markers (MADV_GUARD_INSTALL): /proc/self/pagemap bit 58, Linux 6.14+. */\n"
         "  int pm = open(\"/proc/self/pagemap\", O_RDONLY);\n"
         "  unsigned long long e;\n  int any = 0;\n"
         "  for (unsigned long a = W; pm >= 0 && a < W + " +
         std::to_string(span) +
         "UL; a += 4096)\n"
         "    if (pread(pm, &e, 8, (off_t)(a / 4096 * 8)) == 8 && (e >> 58 & 1)) {\n"
         "      printf(\"%s%#lx\", any ? \" \" : \"guard pages: \", a);\n      any = 1;\n    }\n"
         "  if (any) putchar('\\n');\n  if (pm >= 0) close(pm);\n}\n\n"
         "static void dupto(int fd, int want) {"
         " if (fd != want) { dup2(fd, want); close(fd); } }\n\n"
         "int main(void) {\n";
}

// main's first steps: the reservation again (W), then the job's files at the
// numbers they had in the run.
std::string c_setup(Addr lo, std::uint64_t span, const Fds& f, std::uint64_t size) {
  std::string out;
  char b[512];
  std::snprintf(b, sizeof b,
                "  void *r = mmap((void *)0x%" PRIx64 "UL, %" PRIu64
                ", PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);\n"
                "  if (r == MAP_FAILED) return 1;\n  W = (unsigned long)r;\n  munmap(r, %" PRIu64
                ");\n",
                lo, span, span);
  out += b;
  out += "  int a = memfd_create(\"vmseal-a\", 0), bb = memfd_create(\"vmseal-b\", 0);\n";
  out += "  ftruncate(a, " + std::to_string(size) + "); ftruncate(bb, " + std::to_string(size) +
         ");\n";
  out += "  char path[64];\n  snprintf(path, sizeof path, \"/proc/self/fd/%d\", a);\n";
  out +=
      "  int a2 = open(path, O_RDWR), ro = open(path, O_RDONLY), z = open(\"/dev/zero\", "
      "O_RDWR);\n";
  // vmseal-s: MFD_ALLOW_SEALING, then F_ADD_SEALS (1033) of SEAL|SHRINK|GROW|WRITE;
  // memfd_secret is system call 447.
  out += "  int s = memfd_create(\"vmseal-s\", 2);\n  ftruncate(s, " + std::to_string(size) +
         "); fcntl(s, 1033, " + std::to_string(kSealedWith) + ");\n";
  out += "  int sec = (int)syscall(447, 0);\n  if (sec >= 0) ftruncate(sec, " +
         std::to_string(size) + ");\n";
  out += "  dupto(a, 100); dupto(bb, 101); dupto(a2, 102); dupto(ro, 103); dupto(z, 104);\n";
  out += "  dupto(s, 105); if (sec >= 0) dupto(sec, 106);\n";
  out += "  dupto(100, " + std::to_string(f.memfd_a) + "); dupto(101, " +
         std::to_string(f.memfd_b) + "); dupto(102, " + std::to_string(f.memfd_a2) +
         "); dupto(103, " + std::to_string(f.memfd_a_ro) + "); dupto(104, " +
         std::to_string(f.dev_zero) + "); dupto(105, " + std::to_string(f.memfd_sealed) + ");\n";
  if (f.secret >= 0) out += "  dupto(106, " + std::to_string(f.secret) + ");\n";
  out += "  B = syscall(SYS_brk, 0);\n  long v;\n";
  return out;
}

// An address in the C program: relative to W when it lies in the
// reservation, which may be elsewhere when the program runs.
std::string c_address(Addr a, Addr lo, Addr hi) {
  char b[64];
  if (a >= lo && a < hi)
    std::snprintf(b, sizeof b, "W + 0x%" PRIx64 "UL", a - lo);
  else
    std::snprintf(b, sizeof b, "0x%" PRIx64 "UL", a);
  return std::string(b);
}

// The C expression of a userfaultfd op (c_call()): the structures as arrays
// of their 64-bit fields, the new fd moved where the run had it.
std::string c_uffd_call(const Op& op, Addr lo, Addr hi) {
  const auto& a = op.a;
  auto addr = [&](Addr x) { return c_address(x, lo, hi); };
  switch (op.kind) {
    case OpKind::Userfaultfd:  // then moved where the run had it
      return "({ long u = syscall(323, " + std::to_string(a[0]) +
             "UL); if (u >= 0 && u != " + std::to_string(a[1]) + ") { long m = dup3(u, " +
             std::to_string(a[1]) + ", " + std::to_string(a[0] & abi::UFFD_CLOEXEC) +
             "); close(u); u = m; } u; })";
    case OpKind::UffdioApi:  // the structures as arrays of their 64-bit fields
      return "({ unsigned long long s[3] = {" + std::to_string(a[1]) + "ULL, " +
             std::to_string(a[2]) + "ULL, 0}; syscall(SYS_ioctl, " + std::to_string(a[0]) +
             ", 0xc018aa3fUL, s); })";
    case OpKind::UffdioRegister:
      return "({ unsigned long long s[4] = {" + addr(a[1]) + ", " + std::to_string(a[2]) + "ULL, " +
             std::to_string(a[3]) + "ULL, 0}; syscall(SYS_ioctl, " + std::to_string(a[0]) +
             ", 0xc020aa00UL, s); })";
    case OpKind::UffdioUnregister:
      return "({ unsigned long long s[2] = {" + addr(a[1]) + ", " + std::to_string(a[2]) +
             "ULL}; syscall(SYS_ioctl, " + std::to_string(a[0]) + ", 0x8010aa01UL, s); })";
    case OpKind::Close:
      return "close(" + std::to_string(static_cast<int>(a[0])) + ")";
    default:
      return "";
  }
}

// The C expression that makes `op`'s system call (fork aside).
std::string c_call(const Op& op, const Fds& f, Addr lo, Addr hi) {
  auto addr = [&](Addr a) { return c_address(a, lo, hi); };
  std::string call;
  const auto& a = op.a;
  switch (op.kind) {
    case OpKind::Mmap:
      call = "syscall(SYS_mmap, " + addr(a[0]) + ", " + std::to_string(a[1]) + "UL, " +
             std::to_string(a[2]) + "UL, " + std::to_string(a[3]) + "UL, " +
             std::to_string(static_cast<std::int64_t>(a[4])) + "L, " + std::to_string(a[5]) + "UL)";
      break;
    case OpKind::Mremap:
      call = "syscall(SYS_mremap, " + addr(a[0]) + ", " + std::to_string(a[1]) + "UL, " +
             std::to_string(a[2]) + "UL, " + std::to_string(a[3]) + "UL, " + addr(a[4]) + ")";
      break;
    case OpKind::WriteFault:
      call = "read(" + std::to_string(f.dev_zero) + ", (void *)(" + addr(a[0]) + "), 1)";
      break;
    case OpKind::Fork:  // c_statement() writes its own lines
      call = "fork()";
      break;
    case OpKind::Brk:
      call = a[1] == 1 ? "syscall(SYS_brk, B + " + std::to_string(a[0]) + "UL)"
                       : "syscall(SYS_brk, " + addr(a[0]) + ")";
      break;
    case OpKind::Munlockall:
      call = "syscall(SYS_munlockall)";
      break;
    case OpKind::Mlockall:
      call = "syscall(SYS_mlockall, " + std::to_string(a[0]) + "UL)";
      break;
    case OpKind::Prctl:
      call = "syscall(SYS_prctl, " + std::to_string(a[0]) + "UL, " + std::to_string(a[1]) + "UL, " +
             std::to_string(a[2]) + "UL, 0UL, 0UL)";
      break;
    case OpKind::Setrlimit:  // a GNU statement expression: the structure, then the call
      call = "({ struct rlimit r = {" + std::to_string(a[1]) + "UL, " + std::to_string(a[2]) +
             "UL}; syscall(SYS_prlimit64, 0, " + std::to_string(a[0]) + ", &r, NULL); })";
      break;
    case OpKind::Userfaultfd:
    case OpKind::UffdioApi:
    case OpKind::UffdioRegister:
    case OpKind::UffdioUnregister:
    case OpKind::Close:
      call = c_uffd_call(op, lo, hi);
      break;
    case OpKind::Capset:
      call =
          "({ struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0}; "
          "struct __user_cap_data_struct d[2] = {{" +
          std::to_string(a[0] & 0xffffffffU) + "U, " + std::to_string(a[1] & 0xffffffffU) + "U, " +
          std::to_string(a[2] & 0xffffffffU) + "U}, {" + std::to_string(a[0] >> 32) + "U, " +
          std::to_string(a[1] >> 32) + "U, " + std::to_string(a[2] >> 32) +
          "U}}; syscall(SYS_capset, &h, d); })";
      break;
    default: {  // the calls on [addr, addr + len) and their flags
      static constexpr const char* kNr[] = {
          "",          "SYS_munmap", "SYS_mprotect", "SYS_pkey_mprotect", "", "SYS_madvise",
          "SYS_mlock", "SYS_mlock2", "SYS_munlock"};
      const std::size_t k = static_cast<std::size_t>(op.kind);
      const std::string nr = op.kind == OpKind::Mseal ? "462" : kNr[k];
      call = "syscall(" + nr + ", " + addr(a[0]);
      for (std::size_t i = 1; i < arg_count(op.kind); ++i)
        call += ", " + std::to_string(a[i]) + "UL";
      call += ")";
    }
  }
  return call;
}

// The C statements for `op`: the call, then its result shown as the strace
// line would show it.
std::string c_statement(const Op& op, const Fds& f, Addr lo, Addr hi) {
  if (op.kind == OpKind::Fork)
    return "  v = fork();\n  if (v > 0) { waitpid(v, 0, 0); return 0; }\n"
           "  show(\"fork()\", v == 0 ? 0 : v);\n";
  std::string text = strace_line(resolve(op, 0), SysResult::ok(0), f);
  text = text.substr(0, text.rfind(" = "));
  for (char& c : text)
    if (c == '"') c = '\'';
  return "  v = " + c_call(op, f, lo, hi) + ";\n  show(\"" + text + "\", v);\n";
}

}  // namespace

std::string Job::c_program(const std::vector<Op>& ops, const std::string& what) const {
  const Window& w = ctx_.window;
  const Addr lo = w.reservation_start();
  const Addr hi = w.end() + kGuardPages * P;
  std::string out =
      "/* A vmseal difftest divergence: what the kernel does. Build: cc -o repro repro.c\n";
  append_comment(out, " * ", what);
  out += c_prelude(hi - lo);
  out += c_setup(lo, hi - lo, ctx_.fds, (w.pages * 2 + 64) * P);
  for (const Op& op : ops) out += c_statement(op, ctx_.fds, lo, hi);
  out += "  layout();\n  return 0;\n}\n";
  return out;
}

void pin_job(unsigned job) noexcept {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return;
  unsigned skip = job % static_cast<unsigned>(CPU_COUNT(&allowed));
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed) || skip-- != 0) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof one, &one);
    return;
  }
}

Summary run(const Options& options, Progress& progress) {
  Summary sum;
  become_subreaper();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  const unsigned jobs = std::max(1U, options.jobs);
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j) {
    threads.emplace_back([&, j] {
      if (options.pin_jobs) pin_job(j);
      Job job(j, options);
      std::string err;
      if (!job.ready(&err)) {
        std::lock_guard<std::mutex> lock(mu);
        sum.error = err;
        stop = true;
        return;
      }
      for (;;) {
        if (stop) return;
        if (options.time_limit_s > 0 && elapsed() > options.time_limit_s) {
          std::lock_guard<std::mutex> lock(mu);
          sum.timed_out = true;
          return;
        }
        const std::uint64_t index = next.fetch_add(1);
        if (index >= options.sequences) return;
        const std::uint64_t seed = sequence_seed(options.seed, index);
        const bool near = options.near_limit_every != 0 &&
                          index % options.near_limit_every == options.near_limit_every - 1;
        std::vector<Op> ops;
        Job::Result r = job.replay(ops, near, seed, &progress);
        {
          std::lock_guard<std::mutex> lock(mu);
          sum.ops_compared += r.compared;
          sum.placed += r.placed;
          ++sum.sequences;
        }
        progress.sequences.fetch_add(1);
        if (!r.error.empty()) {
          std::lock_guard<std::mutex> lock(mu);
          sum.error = "sequence " + std::to_string(index) + ": " + r.error;
          stop = true;
          return;
        }
        if (!r.diverged) continue;
        progress.divergences.fetch_add(1);
        Divergence d;
        d.sequence = index;
        d.sequence_seed = seed;
        d.near_limit = near;
        ops.resize(r.index + 1);
        d.original_length = ops.size();
        d.what = r.what;
        if (options.shrink) {
          progress.shrinking = true;
          ops = job.shrink(std::move(ops), near, d.what);
          progress.shrinking = false;
        }
        d.ops = ops;
        d.sim_input = job.sim_input(ops, d.what);
        d.c_program = job.c_program(ops, d.what);
        std::lock_guard<std::mutex> lock(mu);
        sum.divergences.push_back(std::move(d));
        if (options.max_divergences != 0 && sum.divergences.size() >= options.max_divergences)
          stop = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  sum.seconds = elapsed();
  return sum;
}

std::vector<std::string> write_reproductions(const Summary& summary, std::uint64_t seed,
                                             const std::string& dir) {
  std::vector<std::string> written;
  if (summary.divergences.empty()) return written;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (const auto& d : summary.divergences) {
    const std::string base =
        dir + "/seed" + std::to_string(seed) + "-seq" + std::to_string(d.sequence);
    std::ofstream(base + ".strace") << d.sim_input;
    std::ofstream(base + ".c") << d.c_program;
    written.push_back(base);
  }
  return written;
}

}  // namespace vmseal::difftest
