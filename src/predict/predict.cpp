// vmseal predict: the replay (include/vmseal/predict/predict.hpp, docs/predict.md).
#include "vmseal/predict/predict.hpp"
#include "vmseal/kernel/smaps_import.hpp"
#include "vmseal/trace/memory_call.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>
#include <utility>

#include "vmseal/kernel/abi.hpp"
#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/image_sealer.hpp"

namespace vmseal::predict {

using namespace vmseal::trace;  // the simulator, the seal points, the events

std::string_view diagnostic_kind_name(DiagnosticKind k) noexcept {
  switch (k) {
    case DiagnosticKind::Malformed:
      return "malformed";
    case DiagnosticKind::BadMarker:
      return "bad-marker";
    case DiagnosticKind::NoLayout:
      return "no-layout";
    case DiagnosticKind::Truncated:
      return "truncated";
    case DiagnosticKind::UnknownSyscall:
      return "unknown-syscall";
    case DiagnosticKind::Unmodelled:
      return "unmodelled";
    case DiagnosticKind::UnknownPid:
      return "unknown-pid";
    case DiagnosticKind::EngineMismatch:
      return "engine-mismatch";
    case DiagnosticKind::NoSealPoint:
      return "no-seal-point";
    case DiagnosticKind::Anomaly:
      return "anomaly";
  }
  return "?";
}

std::vector<std::string> avoiding_options(const SealedRange& hit, sealing::Profile profile) {
  std::vector<std::string> out;
  if (hit.role == "kernel") {
    if (profile == sealing::Profile::Strict) out.push_back("--profile default");
    return out;
  }
  out.push_back("--opt-out " + hit.object);
  if (hit.kind == "data" || hit.kind == "bss") {
    if (profile == sealing::Profile::Strict) out.push_back("--profile default");
  } else if (hit.kind == "rodata" || hit.kind == "relro" || hit.kind == "gap") {
    if (profile != sealing::Profile::Minimal) out.push_back("--profile minimal");
  }
  return out;
}

std::string failure_key(std::string_view name, const SealedRange& hit, Addr addr,
                        std::uint64_t len) {
  char buf[64];
  std::snprintf(buf, sizeof buf, " +%#" PRIx64 " %" PRIu64,
                addr >= hit.start ? addr - hit.start : 0, len);
  return std::string(name) + " " + hit.object + " " + hit.kind + buf;
}

namespace {

std::string hex(Addr a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, a);
  return buf;
}

// Memory calls the engine does not model but that a seal can stop or that
// change the layout.
bool is_unmodelled_mm_call(std::string_view n) {
  return n == "remap_file_pages" || n == "process_madvise" || n == "map_shadow_stack";
}

// Whether a raw line is worth keeping a -k stack for (a memory call, or the
// end of one that was split).
bool may_be_mm_line(std::string_view l) {
  static constexpr std::string_view kHints[] = {
      "mmap(",          "munmap(", "mprotect(", "mremap(", "madvise(", "brk(",    "mseal(",
      "syscall_0x1ce(", "mlock",   "munlock",   "shmat(",  "shmdt(",   "resumed>"};
  for (std::string_view h : kHints)
    if (l.find(h) != std::string_view::npos) return true;
  return false;
}

// The -i instruction pointer of a raw line ("1234  [00007f2c1a2b3c4d] mmap(..."), 0 when none.
Addr instruction_pointer(std::string_view l) {
  const std::size_t paren = l.find('(');
  const std::size_t lim = paren == std::string_view::npos ? l.size() : paren;
  for (std::size_t pos = l.find('['); pos != std::string_view::npos && pos < lim;
       pos = l.find('[', pos + 1)) {
    std::size_t e = pos + 1;
    while (e < l.size() && std::isxdigit(static_cast<unsigned char>(l[e])) != 0) ++e;
    if (e - pos - 1 == 16 && e < l.size() && l[e] == ']') {
      std::uint64_t v = 0;
      for (std::size_t i = pos + 1; i < e; ++i) {
        const char c = l[i];
        v = v * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      }
      return v;
    }
  }
  return 0;
}

bool system_frame(std::string_view f) {
  return f.find("/libc.so") != std::string_view::npos ||
         f.find("/ld-linux") != std::string_view::npos ||
         f.find("/libpthread") != std::string_view::npos ||
         f.find("libvmseal_preload") != std::string_view::npos;
}

// A plain trace's candidate object: a file ld.so mapped whole at offset 0.
struct PlainObject {
  std::string path;
  Addr base = 0;
  std::uint64_t len = 0;
  std::size_t line = 0;
};

}  // namespace

// What the plan sealed in one mm (threads share it, fork copies it, exec
// starts a new one).
struct SealState {
  bool sealed = false;  // a seal point has been applied
  bool layout = false;  // the engine holds the whole layout (a snapshot was adopted)
  bool failed = false;  // a failure was predicted in it
  bool estimated = false;
  std::map<Addr, SealedRange> ranges;  // by start
  RangeSet uncertain;                  // plain traces: objects dlopen may or may not seal
  std::vector<std::pair<Addr, Addr>> uncertain_list;
  // Plain traces.
  std::vector<PlainObject> candidates;
  Addr cache_start = 0, cache_end = 0;
};

// A range of a seal point as predict reports it (SealedRange), from the
// assembler's: the object's path and role, or a kernel mapping's name.
SealedRange sealed_range(const SealCall& call, const SealPointRange& r) {
  SealedRange s;
  s.start = r.start;
  s.end = r.end;
  s.line = r.line;
  s.copy = r.copy;
  if (call.object != nullptr) {
    s.kind = r.kind;
    s.object = call.object->path;
    s.role = call.object->role;
  } else {
    s.object = r.kind;  // "[vdso]"
    s.kind = r.kind.size() > 2 ? r.kind.substr(1, r.kind.size() - 2) : r.kind;
    s.role = "kernel";
  }
  return s;
}

struct Predictor::Impl {
  PredictOptions opt;
  SnapshotSource snapshots;
  PredictResult res;
  StraceParser parser;
  Simulator control;
  Simulator sealed;
  std::vector<std::size_t> line_map;  // parser line -> file line (index: parser line - 1)
  std::map<std::size_t, std::vector<std::string>> stacks;  // parser line -> frames
  std::map<std::size_t, Addr> ips;                         // parser line -> -i pointer
  std::size_t file_lines = 0;
  std::size_t last_parser_line = 0;
  bool keep_stack = false;
  std::map<int, std::shared_ptr<SealState>> states;
  SealPointAssembler assembler;
  std::set<int> known_pids, unknown_pids, running;
  int first_pid = -1;
  std::map<DiagnosticKind, std::size_t> diag_counts;
  std::map<std::string, sealing::ElfImage> elf_cache;
  std::string opt_out_globs;

  Impl(PredictOptions o, SnapshotSource s)
      : opt(std::move(o)), snapshots(std::move(s)), control(sim_options()), sealed(sim_options()) {
    res.plain = opt.plain;
    for (const std::string& g : opt.opt_out)
      opt_out_globs += (opt_out_globs.empty() ? "" : ":") + g;
  }
  SimOptions sim_options() const {
    SimOptions so;
    so.check = true;
    so.config = opt.config;
    return so;
  }

  std::size_t file_line(std::size_t parser_line) const {
    return parser_line >= 1 && parser_line <= line_map.size() ? line_map[parser_line - 1]
                                                              : parser_line;
  }

  void diag(DiagnosticKind k, std::size_t line, int pid, std::string msg) {
    if (k == DiagnosticKind::Malformed || k == DiagnosticKind::BadMarker) ++res.summary.malformed;
    if (++diag_counts[k] > opt.max_diagnostics_per_kind) return;
    res.diagnostics.push_back({k, line, pid, std::move(msg)});
  }

  std::shared_ptr<SealState>& state(int pid) {
    auto& s = states[pid];
    if (!s) s = std::make_shared<SealState>();
    return s;
  }

  // ---- input ------------------------------------------------------------------

  void feed(std::string_view l) {
    ++file_lines;
    if (l.starts_with(" > ")) {
      if (keep_stack) {
        auto& frames = stacks[last_parser_line];
        if (frames.size() < 32) frames.emplace_back(l.substr(3));
      }
      return;
    }
    // What earlier lines completed is processed now that their -k stacks,
    // which follow them, have been read.
    drain();
    line_map.push_back(file_lines);
    last_parser_line = line_map.size();
    keep_stack = may_be_mm_line(l);
    if (keep_stack) {
      if (const Addr ip = instruction_pointer(l); ip != 0) ips[last_parser_line] = ip;
    }
    // Keep the side tables bounded: calls waiting to be resumed are few.
    while (stacks.size() > 4096) stacks.erase(stacks.begin());
    while (ips.size() > 4096) ips.erase(ips.begin());
    parser.feed(l);
  }

  void drain() {
    while (auto item = parser.next()) {
      if (const auto* err = std::get_if<ParseError>(&*item)) {
        diag(DiagnosticKind::Malformed, file_line(err->line), 0,
             err->message + ": " + err->shown_text());
        continue;
      }
      process(std::get<TraceEvent>(*item));
    }
  }

  void finish(bool cut) {
    parser.finish();
    drain();
    if (cut)
      diag(DiagnosticKind::Truncated, file_lines, 0,
           "the last line has no newline: the trace was cut");
    for (const auto& [pid, p] : assembler.open())
      diag(DiagnosticKind::Truncated, p.line, pid,
           "the trace ends inside the seal point that began here: its seals were not applied");
    for (int pid : running)
      diag(DiagnosticKind::Truncated, file_lines, pid,
           "the trace ends while pid " + std::to_string(pid) +
               " is still running: it may be truncated");
    if (!opt.plain && res.seal_points.empty())
      diag(DiagnosticKind::NoSealPoint, 0, 0,
           "no seal point in the trace: the program never reached main with the preload (static, "
           "set-user-ID, "
           "or it exited or exec'd before main), so `vmseal run` would seal nothing here");
    if (opt.plain && res.seal_points.empty())
      diag(DiagnosticKind::NoSealPoint, 0, 0,
           "no seal point could be estimated: the trace does not show ld.so finishing start-up (it "
           "unmaps "
           "/etc/ld.so.cache then)");
    for (const auto& [k, n] : diag_counts)
      if (n > opt.max_diagnostics_per_kind)
        res.diagnostics.push_back({k, 0, 0,
                                   std::to_string(n - opt.max_diagnostics_per_kind) + " more " +
                                       std::string(diagnostic_kind_name(k)) +
                                       " diagnostics not shown"});
  }

  // ---- events -------------------------------------------------------------------

  void process(TraceEvent ev) {
    const std::size_t parser_start = ev.line;
    ev.line = file_line(ev.line);
    const std::size_t parser_end = ev.call.end_line;
    if (ev.call.end_line != 0) ev.call.end_line = file_line(ev.call.end_line);
    switch (ev.kind) {
      case EventKind::Attached:
        known_pids.insert(ev.pid);
        running.insert(ev.pid);
        return;
      case EventKind::Exit:
      case EventKind::Killed:
        control.apply(ev, nullptr);
        sealed.apply(ev, nullptr);
        running.erase(ev.pid);
        assembler.drop(ev.pid);
        return;
      case EventKind::Detached:
        running.erase(ev.pid);
        return;
      case EventKind::Superseded:
        running.erase(ev.other_pid);
        return;
      case EventKind::Call:
        break;
      default:
        return;
    }
    const TraceCall& c = ev.call;
    if (first_pid < 0) {
      first_pid = ev.pid;
      known_pids.insert(ev.pid);
    }
    running.insert(ev.pid);
    if (known_pids.count(ev.pid) == 0) {
      known_pids.insert(ev.pid);
      unknown_pids.insert(ev.pid);
      diag(DiagnosticKind::UnknownPid, ev.line, ev.pid,
           "pid " + std::to_string(ev.pid) +
               " appears without a traced clone, fork or attach (interleaved or spliced traces?): "
               "which address "
               "space it uses is unknown, so its calls after any seal point are unverifiable");
    }
    if (is_seal_point_marker(ev)) {
      marker(ev);
      return;
    }
    if (c.raw_name.starts_with("syscall_") && c.name == c.raw_name)
      diag(DiagnosticKind::UnknownSyscall, ev.line, ev.pid,
           c.raw_name +
               ": a system call strace could not name and vmseal does not know; if it changes "
               "memory "
               "the prediction may miss it");

    const bool sealed_mm = state(ev.pid)->sealed;
    if (is_unmodelled_mm_call(c.name) && sealed_mm) {
      diag(DiagnosticKind::Unmodelled, ev.line, ev.pid,
           c.name +
               " is not modelled by the engine: a seal may stop it, and its effect on the layout "
               "is not "
               "replayed");
      PredictedCall u = base_record(ev, nullptr);
      u.note = c.name + " is not modelled";
      res.unverifiable.push_back(std::move(u));
      ++res.summary.unverifiable;
    }

    std::string err1, err2;
    const std::optional<SimRecord> rc = control.apply(ev, &err1);
    const std::optional<SimRecord> rs = sealed.apply(ev, &err2);
    if (!err1.empty()) {
      diag(DiagnosticKind::Malformed, ev.line, ev.pid, err1);
      return;
    }
    track_processes(ev);
    if (opt.plain) plain_after(ev, rc);
    if (!rc) return;
    ++res.summary.calls;
    classify(ev, parser_start, parser_end, *rc, rs);
  }

  // The seals of each task follow the process tree as task_change() reads it
  // (the rules sim follows for the mm).
  void track_processes(const TraceEvent& ev) {
    const TaskChange t = task_change(ev.call);
    switch (t.kind) {
      case TaskChange::Kind::None:
        return;
      case TaskChange::Kind::SharesMm:
        known_pids.insert(t.child);
        states[t.child] = state(ev.pid);
        return;
      case TaskChange::Kind::CopiesMm:
        known_pids.insert(t.child);
        states[t.child] = std::make_shared<SealState>(*state(ev.pid));
        return;
      case TaskChange::Kind::Exec:
        states[ev.pid] = std::make_shared<SealState>();
        assembler.drop(ev.pid);
        return;
    }
  }

  // ---- markers ------------------------------------------------------------------

  void marker(const TraceEvent& ev) {
    SealPointMarker m;
    std::string why;
    if (!read_seal_point_marker(ev, m, &why)) {
      diag(DiagnosticKind::BadMarker, ev.line, ev.pid, why);
      return;
    }
    std::string problem;
    const SealPointAssembler::Step step = assembler.feed(ev.pid, ev.line, m, &problem);
    if (!problem.empty()) diag(DiagnosticKind::BadMarker, ev.line, ev.pid, problem);
    if (step == SealPointAssembler::Step::Begun) {
      auto& st = state(ev.pid);
      if (!st->sealed && !st->layout) adopt(ev, m.snapshot);
    } else if (step == SealPointAssembler::Step::Completed) {
      apply_seal_point(ev, assembler.take(ev.pid));
    }
  }

  // The layout at the seal point becomes both engines' layout.
  void adopt(const TraceEvent& ev, const std::string& snapshot) {
    std::optional<std::string> text;
    if (snapshot != "-" && snapshots) text = snapshots(snapshot);
    if (!text) {
      diag(DiagnosticKind::NoLayout, ev.line, ev.pid,
           "no layout snapshot for this seal point (" + snapshot.substr(0, 100) +
               "): calls on mappings the trace did not make are unverifiable");
      return;
    }
    for (Simulator* sim : {&control, &sealed}) {
      AddressSpace as(opt.config);
      std::string err;
      if (!kernel::layout_from_snapshot(*text, opt.config, sim->address_space(ev.pid), as, &err)) {
        diag(DiagnosticKind::NoLayout, ev.line, ev.pid,
             "the layout snapshot " + snapshot + " is malformed: " + err);
        return;
      }
      sim->adopt_layout(ev.pid, std::move(as));
    }
    state(ev.pid)->layout = true;
  }

  // RELRO (or text and rodata under --text anon) as the preload leaves it
  // before the seal: a read-only anonymous copy moved over the range with one
  // mremap (sealing/relro.hpp). A memfd copy is a private file mapping like
  // the original, so nothing the replay checks changes for it.
  static void anonymise(AddressSpace& as, const SealedRange& r) {
    const std::uint64_t len = r.end - r.start;
    const std::uint64_t prot =
        r.kind == "text" ? (abi::PROT_READ | abi::PROT_EXEC) : abi::PROT_READ;
    // The preload's steps: a writable copy, written (an anon_vma), then
    // made read-only and moved.
    const SysResult copy = as.mmap(0, len, abi::PROT_READ | abi::PROT_WRITE,
                                   abi::MAP_PRIVATE | abi::MAP_ANONYMOUS, -1, 0);
    if (copy.is_error()) return;
    as.fault(copy.value(), Access::Write);
    as.mprotect(copy.value(), len, prot);
    const SysResult moved =
        as.mremap(copy.value(), len, len, abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED, r.start);
    if (moved.is_error()) as.munmap(copy.value(), len);
  }

  // Seals as ImageSealer does: one mseal per run of adjacent ranges of an
  // object, each gap alone (an unmapped gap fails with ENOMEM and is no
  // failure); each kernel mapping alone.
  void apply_seal_point(const TraceEvent& ev, const AssembledSealPoint& p) {
    auto& st = state(ev.pid);
    AddressSpace* as = sealed.mutable_address_space(ev.pid);
    const bool layout = st->layout && as != nullptr;
    SealPoint sp{ev.line, ev.pid, p.point, 0, layout};
    auto seal_run = [&](const std::vector<SealedRange>& rs, bool gap) {
      const Addr start = rs.front().start;
      const Addr end = rs.back().end;
      Errno e = Errno::OK;
      if (layout)
        for (const SealedRange& r : rs)
          if (r.copy == "anon") anonymise(*as, r);
      if (layout) {
        const SysResult r = as->mseal(start, end - start, 0);
        e = r.is_error() ? r.error() : Errno::OK;
      }
      if (gap && e == Errno::NOMEM) return;  // nothing mapped there: not sealed, not a failure
      if (e != Errno::OK) {
        SealedRange whole = rs.front();
        whole.end = end;
        res.seal_failures.push_back({ev.line, ev.pid, whole, e});
        ++res.summary.seal_failures;
        return;
      }
      for (SealedRange r : rs) {
        r.applied = layout;
        st->ranges[r.start] = r;
        ++sp.ranges;
      }
    };
    for (const SealCall& call : seal_calls(p, SealGranularity::PerRun)) {
      std::vector<SealedRange> rs;
      for (const SealPointRange& r : call.ranges) rs.push_back(sealed_range(call, r));
      seal_run(rs, call.gap);
    }
    st->sealed = true;
    res.seal_points.push_back(sp);
  }

  // ---- plain traces ---------------------------------------------------------------

  const sealing::ElfImage* elf(const std::string& path) {
    auto it = elf_cache.find(path);
    if (it == elf_cache.end()) {
      sealing::ElfImage img;
      std::string err;
      if (!sealing::read_elf_image(path, img, &err) || img.loads.empty()) img.loads.clear();
      it = elf_cache.emplace(path, std::move(img)).first;
    }
    return it->second.loads.empty() ? nullptr : &it->second;
  }

  void plain_after(const TraceEvent& ev, const std::optional<SimRecord>& rc) {
    const TraceCall& c = ev.call;
    auto& st = state(ev.pid);
    MemoryCall m;
    if (c.name == "mmap" && c.outcome == Outcome::Value && decode_memory_call(c, m)) {
      const FdArg& fd = m.fd;
      const std::uint64_t len = m.call.a[1];
      if (!fd.has_path) return;
      if ((m.call.a[3] & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE)) != 0 || m.call.a[5] != 0)
        return;
      if (fd.path == "/etc/ld.so.cache") {
        if (!st->sealed) {
          st->cache_start = c.value;
          st->cache_end = page_align_up(c.value + len);
        }
        return;
      }
      if (elf(fd.path) == nullptr) return;
      if (!st->sealed) {
        st->candidates.push_back({fd.path, c.value, len, ev.line});
      } else {
        // Opened by dlopen: sealed when dlopen returns if it is NODELETE or
        // opened with RTLD_NODELETE, which a plain trace does not show.
        st->uncertain.add(c.value, page_align_up(c.value + len));
        st->uncertain_list.emplace_back(c.value, page_align_up(c.value + len));
      }
      return;
    }
    if (c.name == "munmap" && !st->sealed && st->cache_end != 0 && c.outcome == Outcome::Value &&
        rc) {
      if (decode_memory_call(c, m) && m.call.a[0] == st->cache_start) plain_seal(ev);
    }
  }

  // The estimated start-up seal point of a plain trace: ld.so has mapped and
  // relocated every start-up object (it unmaps /etc/ld.so.cache last).
  void plain_seal(const TraceEvent& ev) {
    auto& st = state(ev.pid);
    AssembledSealPoint p;
    p.point = "estimated";
    p.line = ev.line;
    p.pid = ev.pid;
    for (const PlainObject& o : st->candidates) {
      const sealing::ElfImage* img = elf(o.path);
      if (img == nullptr) continue;
      if (sealing::matches_opt_out(opt_out_globs.c_str(), o.path.c_str())) continue;
      const Addr bias = o.base - page_align_down(img->span().start);
      AssembledSealPoint::Object po{"library", "planned", o.path, {}};
      for (const sealing::PlannedRange& r : sealing::plan_object(*img, bias, opt.profile))
        if (r.seal)
          po.ranges.push_back(
              {r.start, r.end, std::string(sealing::segment_kind_name(r.kind)), "", ev.line});
      p.objects.push_back(std::move(po));
    }
    // The libraries' mappings are in the trace, so the engine holds them.
    st->layout = true;
    st->estimated = true;
    apply_seal_point(ev, p);
  }

  // ---- classification ---------------------------------------------------------------

  // The ranges a call works on, and its address and length for the report,
  // from the call as the one decoder reads it (trace/memory_call.hpp).
  void call_ranges(int pid, const TraceCall& c, std::vector<std::pair<Addr, Addr>>& out, Addr& addr,
                   std::uint64_t& len) const {
    MemoryCall m;
    if (!decode_memory_call(c, m)) return;
    const auto& a = m.call.a;
    auto add = [&](Addr s, std::uint64_t l) {
      const Addr e = s + l;
      if (l == 0) return;
      out.emplace_back(page_align_down(s), e < s ? ~Addr{0} : page_align_up(e));
    };
    if (m.form == MemoryCall::Form::ZeroFill) {  // read(2) into [buffer, buffer + length)
      addr = a[1];
      len = a[2];
      return add(addr, len);
    }
    switch (m.call.kind) {
      case SyscallKind::Mlockall:
      case SyscallKind::Munlockall:
      case SyscallKind::Brk:
      case SyscallKind::Prctl:
      case SyscallKind::Setrlimit:
      case SyscallKind::Prlimit:
      case SyscallKind::Capset:
      case SyscallKind::MemfdCreate:
      case SyscallKind::MemfdSecret:
      case SyscallKind::Fcntl:
      case SyscallKind::Ftruncate:
      case SyscallKind::Userfaultfd:
      case SyscallKind::UffdioApi:
        return;
      case SyscallKind::UffdioRegister:  // fd, start, len
      case SyscallKind::UffdioUnregister:
        addr = a[1];
        len = a[2];
        add(addr, len);
        return;
      case SyscallKind::Mmap:
        addr = a[0];
        len = a[1];
        if ((a[3] & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE)) != 0) add(addr, len);
        return;
      case SyscallKind::Mremap:
        addr = a[0];
        len = a[1];
        add(addr, std::max(a[1], a[2]));
        if ((a[3] & abi::MREMAP_FIXED) != 0) add(a[4], a[2]);
        return;
      case SyscallKind::Shmat:
        addr = a[1];
        return;
      case SyscallKind::Shmdt:
        addr = a[0];
        if (const AddressSpace* as = control.address_space(pid))
          if (const Vma* v = as->vmas().find(addr)) out.emplace_back(v->start, v->end);
        return;
      default:
        addr = a[0];
        len = a[1];
        add(addr, len);
    }
  }

  PredictedCall base_record(const TraceEvent& ev, const SimRecord* rc) {
    PredictedCall p;
    p.line = ev.line;
    p.pid = ev.pid;
    p.name = ev.call.name;
    if (rc != nullptr) {
      p.call = rc->call;
      p.has_recorded = rc->has_recorded;
      p.recorded = rc->recorded;
    } else {
      p.call = ev.call.name + "(...)";
    }
    return p;
  }

  CallSite site_of(std::size_t parser_start, std::size_t parser_end, int pid) {
    CallSite s;
    // A -k stack follows the line where the call ended (its resumption).
    if (auto it = stacks.find(parser_end); parser_end != 0 && it != stacks.end()) {
      s.stack = it->second;
      for (const std::string& f : s.stack)
        if (!system_frame(f)) {
          s.site = f;
          break;
        }
      if (s.site.empty() && !s.stack.empty()) s.site = s.stack.front();
      return s;
    }
    // -i: resolve the pointer (on the line where the call began) against the layout.
    auto ip_it = ips.find(parser_start);
    if (ip_it == ips.end()) return s;
    const Addr ip = ip_it->second;
    s.site = hex(ip);
    if (const AddressSpace* as = control.address_space(pid))
      if (const Vma* v = as->vmas().find(ip);
          v != nullptr && v->file != 0 && as->files().valid(v->file))
        s.site = as->files().get(v->file).path + "+" +
                 hex(ip - v->start + static_cast<Addr>(v->pgoff) * kPageSize) + " (" + hex(ip) +
                 ")";
    return s;
  }

  // What a call's ranges touch of the seals in its mm.
  struct Touched {
    std::vector<SealedRange> hits;
    bool uncertain = false;  // an object dlopen loaded (a plain trace)
    bool unapplied = false;  // a sealed range whose layout the engine does not hold
  };
  static Touched touched(const SealState& st, const std::vector<std::pair<Addr, Addr>>& ranges) {
    Touched t;
    for (const auto& [s, e] : ranges) {
      auto it = st.ranges.upper_bound(s);
      if (it != st.ranges.begin()) --it;
      for (; it != st.ranges.end() && it->second.start < e; ++it)
        if (it->second.end > s) {
          t.hits.push_back(it->second);
          if (!it->second.applied) t.unapplied = true;
        }
      for (const auto& [us, ue] : st.uncertain_list)
        if (us < e && ue > s) t.uncertain = true;
    }
    return t;
  }

  // The options that leave every hit range unsealed, each once.
  static std::vector<std::string> options_avoiding_all(const std::vector<SealedRange>& hits,
                                                       sealing::Profile profile) {
    std::vector<std::string> avoid;
    for (const SealedRange& h : hits)
      for (std::string& a : avoiding_options(h, profile))
        if (std::find(avoid.begin(), avoid.end(), a) == avoid.end()) avoid.push_back(std::move(a));
    return avoid;
  }

  // A result as the diagnostics show it: the errno's name, or the value.
  static std::string result_text(const SysResult& r) {
    return r.is_error() ? std::string(errno_name(r.error())) : hex(r.value());
  }

  void classify(const TraceEvent& ev, std::size_t parser_start, std::size_t parser_end,
                const SimRecord& rc, const std::optional<SimRecord>& rs) {
    auto& st = state(ev.pid);
    const bool unknown_pid = unknown_pids.count(ev.pid) != 0 && !res.seal_points.empty();
    if (!st->sealed && !unknown_pid) {
      ++res.summary.before_seal;
      return;
    }
    // No plan seals the heap, and brk only grows into free space: a seal
    // cannot change what brk returns.
    if (ev.call.name == "brk") {
      ++res.summary.unaffected;
      return;
    }
    std::vector<std::pair<Addr, Addr>> ranges;
    Addr addr = 0;
    std::uint64_t len = 0;
    call_ranges(ev.pid, ev.call, ranges, addr, len);
    const Touched t = touched(*st, ranges);
    const std::vector<SealedRange>& hits = t.hits;
    PredictedCall p = base_record(ev, &rc);
    p.addr = addr;
    p.len = len;
    p.hits = hits;
    p.sealed = rs ? rs->engine : rc.engine;
    p.estimated = st->estimated;
    p.after_failure = st->failed;
    p.avoid = options_avoiding_all(hits, opt.profile);
    auto unverifiable = [&](std::string why) {
      p.note = std::move(why);
      p.site = site_of(parser_start, parser_end, ev.pid);
      res.unverifiable.push_back(std::move(p));
      ++res.summary.unverifiable;
    };
    if (unknown_pid)
      return unverifiable("pid " + std::to_string(ev.pid) + " was never created in the trace");
    if (!rc.has_recorded)
      return unverifiable(
          "the trace has no result for this call (unfinished or interrupted: truncated trace?)");
    if (rc.verdict == Verdict::Unverifiable) return unverifiable(rc.note);
    if (t.unapplied)
      return unverifiable("it touches a range the plan seals, but the layout there is unknown");
    if (t.uncertain)
      return unverifiable(
          "it touches an object dlopen loaded: sealed if it is NODELETE or was opened with "
          "RTLD_NODELETE, which a plain trace does not show");
    if (rc.verdict == Verdict::Mismatch) {
      diag(DiagnosticKind::EngineMismatch, ev.line, ev.pid,
           rc.call + ": the kernel returned " + result_text(rc.recorded) + ", the engine " +
               result_text(rc.engine));
      if (!hits.empty() || (rs && rs->engine != rc.engine))
        return unverifiable("the engine does not reproduce the unsealed result of this call");
      ++res.summary.unaffected;
      return;
    }
    const SysResult sealed_result = rs ? rs->engine : rc.engine;
    if (sealed_result == rc.recorded) {
      ++res.summary.unaffected;
      return;
    }
    if (sealed_result.is_ok()) {
      diag(DiagnosticKind::Anomaly, ev.line, ev.pid,
           rc.call + ": succeeds in the sealed engine but failed in the kernel's unsealed run");
      ++res.summary.unaffected;
      return;
    }
    p.site = site_of(parser_start, parser_end, ev.pid);
    if (hits.empty())
      p.note = "the sealed engine fails it, yet it touches no range the plan sealed";
    st->failed = true;
    res.failures.push_back(std::move(p));
    ++res.summary.would_fail;
  }
};

Predictor::Predictor(PredictOptions options, SnapshotSource snapshots)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(snapshots))) {}
Predictor::~Predictor() = default;

void Predictor::feed(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  impl_->feed(line);
}

void Predictor::finish(bool cut) {
  impl_->finish(cut);
  impl_->res.summary.lines = impl_->file_lines;
}

const PredictResult& Predictor::result() const noexcept { return impl_->res; }

}  // namespace vmseal::predict
