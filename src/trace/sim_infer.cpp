// What a trace cannot show, inferred (SimOptions::infer): unseen page faults,
// and the true order of calls that threads of one mm made at once. See
// sim_history.hpp for the model and docs/engine.md, "What a trace hides".
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>

#include "sim_history.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal::trace::detail {

Applied run_memory_call(AddressSpace& as, const MemoryCall& c,
                        const std::optional<RecordedPlacement>& recorded) {
  if (c.form == MemoryCall::Form::ZeroFill) {
    // A read(2) from /dev/zero: the bytes written before the first page the
    // kernel could not fault in.
    const Addr addr = c.call.a[1];
    const std::uint64_t len = c.call.a[2];
    std::uint64_t done = 0;
    while (done < len) {
      const Addr at = addr + done;
      if (as.fault(at, Access::Write) != FaultResult::Ok) break;
      done += std::min<std::uint64_t>(len - done, kPageSize - (at & (kPageSize - 1)));
    }
    Applied out;
    out.result = done == 0 && len != 0 ? SysResult(Errno::FAULT) : SysResult::ok(done);
    return out;
  }
  return vmseal::apply(as, c.call, recorded);
}

// ---- timing --------------------------------------------------------------------

bool overlap(const Timing& a, const Timing& b) noexcept {
  if (a.line != 0 && b.line != 0 && a.line < b.end_line && b.line < a.end_line) return true;
  return a.start >= 0 && b.start >= 0 && a.end >= 0 && b.end >= 0 && a.start < b.end &&
         b.start < a.end;
}

namespace {

// "123.456": the value, or -1 unless digits, one '.', digits.
double decimal(std::string_view t) noexcept {
  const std::size_t dot = t.find('.');
  if (t.empty() || t.size() > 32 || dot == std::string_view::npos || dot == 0 ||
      dot + 1 == t.size())
    return -1;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (i != dot && (t[i] < '0' || t[i] > '9')) return -1;
  const std::string s(t);
  return std::strtod(s.c_str(), nullptr);
}

}  // namespace

double parse_time(std::string_view text) noexcept {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text.size() > 9 && text[2] == ':' && text[5] == ':') {  // -tt: 12:34:56.123456
    const auto num = [&](std::size_t at) {
      const char a = text[at];
      const char b = text[at + 1];
      return a >= '0' && a <= '9' && b >= '0' && b <= '9' ? (a - '0') * 10 + (b - '0') : -1;
    };
    const int h = num(0);
    const int m = num(3);
    const double s = decimal(text.substr(6));
    if (h < 0 || m < 0 || s < 0) return -1;
    return h * 3600.0 + m * 60.0 + s;
  }
  // -ttt: seconds since the epoch. -r prints small relative times in the same
  // form; those say nothing about overlap.
  const double t = decimal(text);
  return t >= 1e8 ? t : -1;
}

double parse_duration(std::string_view text) noexcept { return decimal(text); }

// ---- replay ----------------------------------------------------------------------

SysResult replay_call(AddressSpace& as, const Entry& e, bool* placed) {
  const MemoryCall& c = e.call;
  if (e.brk_init) as.set_brk(e.brk_value, e.brk_value);
  if (c.form == MemoryCall::Form::Syscall && c.call.kind == SyscallKind::Mmap &&
      (c.call.a[3] & abi::MAP_ANONYMOUS) == 0) {
    // The file the fd named when the call was made.
    const int fd = static_cast<int>(c.call.a[4]);
    if (e.file != 0)
      as.fds().install_at(fd, e.file);
    else
      as.fds().close(fd);
  }
  std::optional<RecordedPlacement> rp;
  if (e.placement) rp = RecordedPlacement{e.recorded.value(), 0, 0};
  const Applied done = run_memory_call(as, c, rp);
  if (placed != nullptr) *placed = done.placed;
  return done.result;
}

bool replay_fault(AddressSpace& as, const Entry& e) {
  const Vma* v = as.vmas().find(e.addr);
  if (v == nullptr || v->anon_vma != 0) return false;
  if (as.fault(e.addr, e.access) != FaultResult::Ok) return false;
  v = as.vmas().find(e.addr);
  return v != nullptr && v->anon_vma != 0;
}

void replay(AddressSpace& as, const Entry& e) {
  switch (e.kind) {
    case Entry::Kind::Call:
      (void)replay_call(as, e);
      return;
    case Entry::Kind::Fault:
      (void)replay_fault(as, e);
      return;
    case Entry::Kind::Config:
      as.config() = *e.config;
      return;
  }
}

bool roll(History& h) {
  if (h.entries.size() < 2 * kWindow) return true;
  const std::size_t drop = h.entries.size() - kWindow;
  for (std::size_t i = 0; i < drop; ++i) {
    const Entry& e = h.entries[i];
    if (e.kind == Entry::Kind::Call) {
      if (replay_call(h.base, e) != e.engine) return false;
    } else {
      replay(h.base, e);
    }
  }
  h.entries.erase(h.entries.begin(), h.entries.begin() + static_cast<std::ptrdiff_t>(drop));
  h.fork_parent.reset();  // the base is no longer the fork's
  return true;
}

// ---- unseen faults -----------------------------------------------------------------

namespace {

constexpr std::size_t kMaxPoints = 8;       // moments a fault may have happened at
constexpr std::size_t kMaxCandidates = 16;  // (moment, VMA) pairs tried
constexpr std::size_t kMaxFaults = 3;       // in one explanation
constexpr std::size_t kMaxRegion = 64;      // ranges followed back

// The neighbourhood of a call: the ranges it acted on, a page wider on each
// side (a merge looks at the neighbours), grown backwards through the calls
// that acted on it.
class Region {
 public:
  void add(Addr s, Addr e) {
    if (ranges_.size() >= kMaxRegion || s >= e) return;
    s = s >= kPageSize ? s - kPageSize : 0;
    e = e <= ~Addr{0} - kPageSize ? e + kPageSize : ~Addr{0};
    ranges_.emplace_back(s, e);
  }
  void add(const std::vector<std::pair<Addr, Addr>>& rs) {
    for (const auto& [s, e] : rs) add(s, e);
  }
  bool touches(const std::vector<std::pair<Addr, Addr>>& rs) const {
    for (const auto& [s, e] : rs)
      for (const auto& [rs0, re0] : ranges_)
        if (s < re0 && rs0 < e) return true;
    return false;
  }
  bool contains(Addr a) const { return touches({{a, a + 1}}); }
  bool empty() const { return ranges_.empty(); }
  const std::vector<std::pair<Addr, Addr>>& ranges() const { return ranges_; }

 private:
  std::vector<std::pair<Addr, Addr>> ranges_;
};

struct Candidate {
  std::size_t point = 0;  // before entries[point]
  std::size_t state = 0;  // index into the states
  Addr addr = 0;
  Addr vma_start = 0;
  Addr vma_end = 0;
  Access access = Access::Write;
  bool parent = false;  // in the parent, before it forked this mm (point 0)
};

// The moments whose states differ around the call: just before it, and just
// before each earlier call (or fault) that acted on its neighbourhood.
std::vector<std::size_t> fault_points(const History& h, std::size_t n, Region& region) {
  region.add(h.entries[n].ranges);
  std::vector<std::size_t> points;
  if (region.empty()) return points;
  points.push_back(n);
  for (std::size_t i = n; i-- > 0 && points.size() < kMaxPoints;) {
    const Entry& e = h.entries[i];
    if (e.kind == Entry::Kind::Config) continue;
    const bool acts =
        e.kind == Entry::Kind::Fault ? region.contains(e.addr) : region.touches(e.ranges);
    if (!acts) continue;
    if (e.kind == Entry::Kind::Call) region.add(e.ranges);
    points.push_back(i);
  }
  std::reverse(points.begin(), points.end());
  return points;
}

// A fault at `v` that would give it an anon_vma: a write to a private
// writable mapping, or where read faults allocate, a read of private
// anonymous memory.
std::optional<Access> assigning_access(const AddressSpace& as, const Vma& v) {
  if (v.anon_vma != 0 || (v.flags & (vm::SHARED | vm::IO | vm::PFNMAP)) != 0 ||
      v.special != SpecialKind::None)
    return std::nullopt;
  if ((v.flags & vm::WRITE) != 0) return Access::Write;
  const bool anonymous = v.file == 0 || as.files().get(v.file).kind == FileKind::DevZero;
  if ((v.flags & vm::READ) != 0 && anonymous && !as.config().read_fault_zero_page)
    return Access::Read;
  return std::nullopt;
}

// The first page of `v` a fault can touch (not a guard page).
Addr touchable_page(const AddressSpace& as, const Vma& v) {
  for (Addr a = v.start; a < v.end && a - v.start < 16 * kPageSize; a += kPageSize)
    if (!as.guard_pages().contains(a)) return a;
  return v.start;
}

// The VMAs of `as` on `region` that a fault would give an anon_vma.
void candidates_in(const AddressSpace& as, const Region& region, Candidate proto, std::size_t cap,
                   std::vector<Candidate>& out) {
  std::vector<Addr> seen;
  for (const auto& [s, e] : region.ranges()) {
    for (const Vma* v = as.vmas().lower(s); v != nullptr && v->start < e && out.size() < cap;
         v = as.vmas().next_of(*v)) {
      if (std::find(seen.begin(), seen.end(), v->start) != seen.end()) continue;
      seen.push_back(v->start);
      const std::optional<Access> acc = assigning_access(as, *v);
      if (!acc) continue;
      proto.addr = touchable_page(as, *v);
      proto.vma_start = v->start;
      proto.vma_end = v->end;
      proto.access = *acc;
      out.push_back(proto);
    }
  }
}

// Nearest moments first; then, in a fork child's first calls, the parent's
// VMAs before the fork (a quarter of the places are kept for them).
std::vector<Candidate> fault_candidates(
    const std::vector<std::pair<std::size_t, AddressSpace>>& states, const Region& region,
    const AddressSpace* fork_parent) {
  std::vector<Candidate> out;
  const std::size_t own = fork_parent != nullptr ? kMaxCandidates * 3 / 4 : kMaxCandidates;
  for (std::size_t k = states.size(); k-- > 0 && out.size() < own;)
    candidates_in(states[k].second, region, Candidate{states[k].first, k}, own, out);
  if (fork_parent != nullptr) {
    Candidate proto;
    proto.parent = true;
    candidates_in(*fork_parent, region, proto, kMaxCandidates, out);
  }
  return out;
}

std::size_t copy_cost(const AddressSpace& as) { return 1 + as.map_count() / 32; }

struct FaultSearch {
  const History& h;
  std::size_t n;
  std::size_t& work;
  std::size_t limit;
  std::vector<std::pair<std::size_t, AddressSpace>> states;
  std::vector<Candidate> candidates;

  // The state the replay of `set` starts from, and where: the earliest
  // moment's, or with faults in the parent, fork()'s child of the parent
  // with them.
  std::optional<std::size_t> start(const std::vector<std::size_t>& set, Found& f) {
    const Candidate& first = candidates[set.front()];
    if (!first.parent) {
      work += copy_cost(states[first.state].second);
      f.state = states[first.state].second;
      return first.point;
    }
    auto parent = std::make_unique<AddressSpace>(h.fork_parent->as);
    work += 2 * copy_cost(*parent);
    for (const std::size_t i : set) {
      const Candidate& c = candidates[i];
      if (!c.parent) break;
      Entry fault;
      fault.kind = Entry::Kind::Fault;
      fault.addr = c.addr;
      fault.access = c.access;
      fault.ranges = {{c.vma_start, c.vma_end}};
      if (!replay_fault(*parent, fault)) return std::nullopt;
      f.parent_faults.push_back(std::move(fault));
    }
    f.state = parent->fork();
    f.state.fds() = h.base.fds();
    f.state.config() = h.base.config();
    f.new_base = std::make_unique<AddressSpace>(f.state);
    f.new_parent = std::move(parent);
    return 0;
  }

  // Replays from the earliest fault's moment with the faults of `set`.
  std::optional<Found> attempt(std::vector<std::size_t> set) {
    std::stable_sort(set.begin(), set.end(), [&](std::size_t a, std::size_t b) {
      const Candidate& x = candidates[a];
      const Candidate& y = candidates[b];
      return x.parent != y.parent ? x.parent : x.point < y.point;
    });
    Found f;
    const std::optional<std::size_t> from = start(set, f);
    if (!from) return std::nullopt;
    std::size_t next = f.parent_faults.size();
    for (std::size_t i = *from; i <= n; ++i) {
      for (; next < set.size() && candidates[set[next]].point == i; ++next) {
        const Candidate& c = candidates[set[next]];
        Entry fault;
        fault.kind = Entry::Kind::Fault;
        fault.addr = c.addr;
        fault.access = c.access;
        if (const Vma* v = f.state.vmas().find(c.addr)) fault.ranges = {{v->start, v->end}};
        if (!replay_fault(f.state, fault)) return std::nullopt;  // no effect: not minimal
        f.faults.emplace_back(i, std::move(fault));
      }
      const Entry& e = h.entries[i];
      ++work;
      if (e.kind != Entry::Kind::Call) {
        replay(f.state, e);
        continue;
      }
      const SysResult r = replay_call(f.state, e, &f.placed);
      if (i == n) {
        if (r != e.recorded) return std::nullopt;
        f.result = r;
        return f;
      }
      if (e.judged && e.agreed && r != e.recorded) return std::nullopt;
    }
    return std::nullopt;
  }

  bool distinct(const std::vector<std::size_t>& set) const {
    for (std::size_t i = 0; i < set.size(); ++i)
      for (std::size_t j = i + 1; j < set.size(); ++j)
        if (candidates[set[i]].vma_start == candidates[set[j]].vma_start &&
            candidates[set[i]].parent == candidates[set[j]].parent)
          return false;
    return true;
  }

  // Every set of `size` candidates, in order, until one explains the call.
  std::optional<Found> sets_of(std::size_t size) {
    std::vector<std::size_t> idx(size);
    for (std::size_t i = 0; i < size; ++i) idx[i] = i;
    const std::size_t m = candidates.size();
    if (size > m) return std::nullopt;
    while (work < limit) {
      if (distinct(idx))
        if (auto f = attempt(idx)) return f;
      std::size_t i = size;
      while (i > 0 && idx[i - 1] == m - size + i - 1) --i;
      if (i == 0) return std::nullopt;
      ++idx[i - 1];
      for (std::size_t j = i; j < size; ++j) idx[j] = idx[j - 1] + 1;
    }
    return std::nullopt;
  }
};

}  // namespace

std::optional<Found> infer_faults(const History& h, std::size_t n, std::size_t& work,
                                  std::size_t limit) {
  if (n >= h.entries.size() || h.entries[n].kind != Entry::Kind::Call) return std::nullopt;
  Region region;
  const std::vector<std::size_t> points = fault_points(h, n, region);
  if (points.empty()) return std::nullopt;
  FaultSearch search{h, n, work, limit, {}, {}};
  // The state at each moment, by one replay from the base.
  AddressSpace cur = h.base;
  work += copy_cost(cur);
  std::size_t p = 0;
  for (std::size_t i = 0; i <= n && p < points.size(); ++i) {
    if (points[p] == i) {
      search.states.emplace_back(i, cur);
      work += copy_cost(cur);
      ++p;
    }
    if (i < n) replay(cur, h.entries[i]);
    ++work;
  }
  search.candidates =
      fault_candidates(search.states, region, h.fork_parent ? &h.fork_parent->as : nullptr);
  for (std::size_t size = 1; size <= kMaxFaults && work < limit; ++size)
    if (auto f = search.sets_of(size)) return f;
  return std::nullopt;
}

// ---- the order of concurrent calls ----------------------------------------------------

namespace {
constexpr std::size_t kMaxJump = 16;  // calls one call may have overtaken
}  // namespace

std::optional<Found> infer_order(const History& h, std::size_t n, std::size_t& work,
                                 std::size_t limit) {
  if (n >= h.entries.size() || h.entries[n].kind != Entry::Kind::Call) return std::nullopt;
  const Entry& k = h.entries[n];
  std::size_t s = n;
  for (std::size_t i = n; i-- > 0 && n - i <= kMaxJump;) {
    const Entry& e = h.entries[i];
    if (e.kind != Entry::Kind::Call || e.pid == k.pid || !overlap(e.timing, k.timing)) break;
    s = i;
  }
  if (s == n) return std::nullopt;
  std::size_t before = 0;
  for (std::size_t i = s; i <= n; ++i)
    if (h.entries[i].judged && !h.entries[i].agreed) ++before;
  if (before == 0) return std::nullopt;
  AddressSpace at_s = h.base;
  work += copy_cost(at_s) + s;
  for (std::size_t i = 0; i < s; ++i) replay(at_s, h.entries[i]);
  std::optional<Found> best;
  std::size_t best_left = before;
  for (std::size_t p = n; p-- > s && work < limit;) {  // k before entries[p]
    Found f;
    f.state = at_s;
    f.before = p;
    work += copy_cost(at_s);
    std::size_t left = 0;
    bool ok = true;
    auto run = [&](const Entry& e, bool* placed) {
      const SysResult r = replay_call(f.state, e, placed);
      ++work;
      if (e.judged && e.agreed && r != e.recorded) ok = false;
      if (e.judged && r != e.recorded) ++left;
      f.results.push_back(r);
    };
    for (std::size_t i = s; i < p; ++i) run(h.entries[i], nullptr);
    run(k, &f.placed);
    for (std::size_t i = p; i < n && ok; ++i) run(h.entries[i], nullptr);
    if (!ok || left >= best_left) continue;
    f.results.erase(f.results.begin(), f.results.begin() + static_cast<std::ptrdiff_t>(p - s));
    best_left = left;
    best = std::move(f);
    if (left == 0) break;
  }
  return best;
}

}  // namespace vmseal::trace::detail

// ---- the simulator's side --------------------------------------------------------------

namespace vmseal::trace {

namespace {

std::string_view access_name(Access a) {
  switch (a) {
    case Access::Read:
      return "read";
    case Access::Write:
      return "write";
    case Access::Exec:
      return "exec";
  }
  return "?";
}

// What a call acted on: the ranges that decided it, and where it put a
// mapping.
std::vector<std::pair<Addr, Addr>> call_ranges(const MemoryCall& c, const SimRecord& rec) {
  std::vector<std::pair<Addr, Addr>> out = rec.ranges;
  if (c.form != MemoryCall::Form::Syscall || !rec.engine.is_ok()) return out;
  auto add = [&](Addr s, std::uint64_t len) {
    const Addr e = s + len;
    if (e > s && e <= ~Addr{0} - kPageSize) out.emplace_back(page_align_down(s), page_align_up(e));
  };
  if (c.call.kind == SyscallKind::Mmap) add(rec.engine.value(), c.call.a[1]);
  if (c.call.kind == SyscallKind::Mremap) add(rec.engine.value(), c.call.a[2]);
  return out;
}

// The kernel's state found by a search becomes the mm's; what the history
// does not replay (the fd table, the process state) stays the mm's.
void adopt(AddressSpace& as, AddressSpace&& found) {
  found.fds() = as.fds();
  found.config() = as.config();
  as = std::move(found);
}

std::string line_and_pid(const detail::Entry& e) {
  return "line " + std::to_string(e.timing.line) + " (pid " + std::to_string(e.pid) + ")";
}

}  // namespace

std::string InferredFault::describe() const {
  char buf[224];
  const std::string a(access_name(access));
  const int n = parent_pid != 0
                    ? std::snprintf(buf, sizeof buf,
                                    "an unseen %s fault at %#" PRIx64 " (in %#" PRIx64 "-%#" PRIx64
                                    ") in pid %d before it forked this process (line %zu)",
                                    a.c_str(), addr, vma_start, vma_end, parent_pid, before_line)
                    : std::snprintf(buf, sizeof buf,
                                    "an unseen %s fault at %#" PRIx64 " (in %#" PRIx64 "-%#" PRIx64
                                    ") before line %zu",
                                    a.c_str(), addr, vma_start, vma_end, before_line);
  return std::string(buf, static_cast<std::size_t>(std::max(n, 0)));
}

std::vector<SimRecord> Simulator::take_revisions() { return std::exchange(revisions_, {}); }

// A history for the mm (while fewer than kMaxHistories exist), its base
// moved forward when it is long.
void Simulator::prepare_history(Mm& mm) {
  ++seq_;
  if (!options_.infer || !options_.check) return;
  if (mm.history && (mm.history->stale || !detail::roll(*mm.history))) mm.history.reset();
  if (!mm.history && *histories_ < detail::kMaxHistories) {
    mm.history = std::make_unique<detail::History>(mm.as, histories_);
    // The child's first call: its mm is still the one fork() made.
    mm.history->fork_parent = std::move(mm.fork_parent);
    mm.history->fork_parent_pid = mm.fork_parent_pid;
    mm.history->fork_line = mm.fork_line;
  }
  mm.fork_parent.reset();
}

void Simulator::remember_call(Mm& mm, const MemoryCall& call, const SimRecord& rec,
                              const CallTiming& timing, bool brk_init, bool judged) {
  if (!mm.history) return;
  detail::Entry e;
  e.seq = seq_;
  e.call = call;
  e.call.fd = FdArg{};  // the -y path: the replay needs only the file (below)
  if (call.form == MemoryCall::Form::Syscall && call.call.kind == SyscallKind::Mmap &&
      (call.call.a[3] & abi::MAP_ANONYMOUS) == 0)
    e.file = mm.as.fds().lookup(static_cast<int>(call.call.a[4]));
  e.placement = options_.check && rec.has_recorded && rec.recorded.is_ok() &&
                call.form == MemoryCall::Form::Syscall;
  e.brk_init = brk_init;
  if (brk_init) e.brk_value = rec.recorded.value();
  e.pid = rec.pid;
  e.timing = timing;
  e.judged = judged;
  e.recorded = rec.recorded;
  e.engine = rec.engine;
  e.agreed = rec.has_recorded && rec.engine == rec.recorded;
  e.ranges = call_ranges(call, rec);
  mm.history->entries.push_back(std::move(e));
}

void Simulator::remember_config(Mm& mm) {
  if (!mm.history) return;
  detail::Entry e;
  e.kind = detail::Entry::Kind::Config;
  e.config = std::make_unique<Config>(mm.as.config());
  mm.history->entries.push_back(std::move(e));
}

// A disagreeing call keeps its record: a call strace prints later may
// explain it (apply_order).
void Simulator::keep_record(Mm& mm, const SimRecord& rec) {
  if (!mm.history || rec.verdict != Verdict::Mismatch) return;
  auto& entries = mm.history->entries;
  for (std::size_t i = entries.size(); i-- > 0;)
    if (entries[i].seq == seq_ && entries[i].kind == detail::Entry::Kind::Call) {
      entries[i].record = std::make_unique<SimRecord>(rec);
      return;
    }
}

// The call just run (the history's last entry): another order of the calls it
// overlapped, else unseen faults, when either makes the kernel's results the
// engine's.
void Simulator::explain(Mm& mm, SimRecord& rec) {
  if (!mm.history || mm.history->entries.empty()) return;
  detail::History& h = *mm.history;
  const std::size_t n = h.entries.size() - 1;
  if (h.entries[n].seq != seq_ || inference_work_ >= detail::kWorkPerTrace) return;
  const std::size_t limit = std::min(detail::kWorkPerCall, detail::kWorkPerTrace - inference_work_);
  std::size_t work = 0;
  if (auto order = detail::infer_order(h, n, work, limit)) {
    apply_order(mm, rec, n, *order);
  } else if (h.entries[n].judged && !h.entries[n].agreed) {
    if (auto faults = detail::infer_faults(h, n, work, limit)) apply_faults(mm, rec, n, *faults);
  }
  inference_work_ += work;
}

void Simulator::apply_faults(Mm& mm, SimRecord& rec, std::size_t n, detail::Found& found) {
  auto& entries = mm.history->entries;
  std::vector<InferredFault> faults;
  for (const auto& [at, f] : found.faults) {
    InferredFault inf;
    inf.addr = f.addr;
    inf.access = f.access;
    if (!f.ranges.empty()) std::tie(inf.vma_start, inf.vma_end) = f.ranges.front();
    for (std::size_t i = at; i <= n; ++i)
      if (entries[i].kind == detail::Entry::Kind::Call) {
        inf.before_line = entries[i].timing.line;
        break;
      }
    faults.push_back(inf);
  }
  detail::History& h = *mm.history;
  std::vector<InferredFault> before_fork;
  for (const detail::Entry& f : found.parent_faults) {
    InferredFault inf;
    inf.addr = f.addr;
    inf.access = f.access;
    std::tie(inf.vma_start, inf.vma_end) = f.ranges.front();
    inf.before_line = h.fork_line;
    inf.parent_pid = h.fork_parent_pid;
    before_fork.push_back(inf);
  }
  faults.insert(faults.begin(), before_fork.begin(), before_fork.end());
  if (found.new_base) {
    h.base = std::move(*found.new_base);
    if (h.fork_parent) h.fork_parent->as = std::move(*found.new_parent);
  }
  for (std::size_t i = found.faults.size(); i-- > 0;) {
    auto& [at, f] = found.faults[i];
    entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(at), std::move(f));
  }
  detail::Entry& k = entries.back();
  k.engine = found.result;
  k.agreed = true;
  adopt(mm.as, std::move(found.state));
  rec.engine = found.result;
  rec.verdict = Verdict::Explained;
  rec.note = "explained by ";
  for (std::size_t i = 0; i < faults.size(); ++i) {
    if (i != 0) rec.note += i + 1 == faults.size() ? " and " : ", ";
    rec.note += faults[i].describe();
  }
  rec.note += ", which the trace cannot show";
  rec.faults = std::move(faults);
}

void Simulator::apply_order(Mm& mm, SimRecord& rec, std::size_t n, detail::Found& found) {
  auto& entries = mm.history->entries;
  const std::size_t p = found.before;
  detail::Entry moved = std::move(entries[n]);
  entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(n));
  entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(p), std::move(moved));
  const detail::Entry& k = entries[p];
  const std::string name = rec.call.substr(0, rec.call.find('('));
  for (std::size_t i = 1; i < found.results.size(); ++i) {
    detail::Entry& e = entries[p + i];
    const bool was = e.agreed;
    e.engine = found.results[i];
    e.agreed = e.engine == e.recorded;
    if (!e.judged || was || !e.agreed || !e.record) continue;
    SimRecord r = std::move(*e.record);
    e.record.reset();
    r.engine = e.engine;
    r.verdict = Verdict::Reordered;
    r.note = "reordered: the kernel ran the " + name + " of " + line_and_pid(k) +
             " first; strace printed it later";
    revisions_.push_back(std::move(r));
    if (summary_.mismatched != 0) --summary_.mismatched;
    ++summary_.reordered;
  }
  entries[p].engine = found.results[0];
  const bool was = entries[p].agreed;
  entries[p].agreed = entries[p].engine == entries[p].recorded;
  adopt(mm.as, std::move(found.state));
  rec.engine = found.results[0];
  rec.ran_before_line = entries[p + 1].timing.line;
  const std::string where = line_and_pid(entries[p + 1]);
  if (entries[p].judged && !was && entries[p].agreed) {
    rec.verdict = Verdict::Reordered;
    rec.note = "reordered: the kernel ran it before " + where + ", which strace printed first";
  } else {
    rec.note = "the kernel ran it before " + where + ", which strace printed first";
  }
}

}  // namespace vmseal::trace
