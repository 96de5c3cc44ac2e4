// VmaTree: a B+tree of VMAs keyed by start address, augmented with free-gap
// maxima so that gap() / gap_rev() (get_unmapped_area) run in O(log n).
//
// ---------------------------------------------------------------------------
// Node layout
// ---------------------------------------------------------------------------
//   Leaf (680 bytes, 704 with the arena's 64-byte alignment): header {parent,
//     count, level = 0, prev, next, max_gap} followed by `Vma v[16]` (40
//     bytes each), stored BY VALUE and sorted by start. Slots
//     [count, 16) are padding whose `start` is kPad (2^64-1), so the rank
//     search scans all 16 slots branch-free without reading `count`.
//     Leaves form a doubly linked list in address order (prev/next): O(1)
//     next/prev, and the predecessor's end for the first gap of a leaf.
//     Starts/ends are not duplicated into separate key arrays: callers hold
//     Vma* into the leaves, so start/end must live inside the Vma, and a
//     second copy would cost 8 bytes per VMA against the 64-byte budget. The
//     scan's 16 loads are independent, so the leaf's lines arrive in parallel
//     (one miss latency per leaf, not four as in a binary search).
//   Inner (448 bytes, 64-byte aligned): the header {parent, count, level >= 1}
//     on the first cache line, then three arrays of 16, two lines each:
//     key[i]   the smallest VMA start in child i's subtree (exact),
//     child[i] the child,
//     gap[i]   the largest gap owned by child i's subtree (see below).
//     Padding slots have key kPad, gap 0, child nullptr. A lookup reads key[]
//     and child[] only (prefetching child[] while it scans key[]).
//   All leaves are at the same depth; root->level is the height.
//
// ---------------------------------------------------------------------------
// The gap invariant
// ---------------------------------------------------------------------------
// Every VMA v owns the gap just below it: G(v) = v.start - pred_end, where
// pred_end is the end of the previous VMA in address order, or 0 for the
// first VMA (so G(first) is [0, first.start)). Neighbours that touch own a
// zero gap. The top gap [last.end, 2^64) belongs to no VMA; it is computed
// from `tail` when needed (2^64 itself is never represented: results are
// clipped to `high` <= 2^64-1 first).
//   leaf->max_gap  == max G(v) over the leaf's VMAs,
//   inner->gap[i]  == leaf->max_gap of a leaf child, or the max of an inner
//                     child's gap[],
//   inner->key[i]  == smallest start in child i's subtree.
// G(first VMA of a leaf) depends on the LAST VMA of the previous leaf, so
// changing the end of a leaf's last VMA, or inserting/erasing at a leaf's end,
// also updates the next leaf's max_gap: that is how a gap spanning two leaves
// is kept right.
//
// Maintenance: simple edits (insert into a leaf with room, erase that leaves
// the leaf at least kLeafMin full, set_bounds) update the affected leaf's
// max_gap incrementally and propagate upward, stopping at the first level
// whose value did not change. Structural edits (split, shift to a sibling,
// merge, borrow) recompute the touched nodes and refresh all the way up.
//
// Filling policy (the 64-bytes-per-VMA budget): a full leaf first shifts VMAs
// into a sibling with room; if both siblings are full, two full leaves become
// three 2/3-full ones (B*-tree). An insert past the very last VMA (or before
// the very first) into a full leaf starts a new leaf instead, so ascending or
// descending insertion leaves leaves 100% full. Erase keeps leaves at least
// kLeafMin (10 of 16) full: merge with a sibling if both fit, else borrow from
// a sibling above the minimum, else turn three leaves into two (B*-tree
// deletion); an inner node below kInnerMin merges or borrows.
//
// Finger search: descend() first tries the leaf of the last answer (`hint`);
// see Impl::holds(). Memory: a NodeArena per tree (node_arena.hpp).
//
// Gap search: see Impl::gap().
#include "vmseal/engine/vma_tree.hpp"

#include "node_arena.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <utility>

namespace vmseal {

namespace {

constexpr unsigned kLeafCap = 16;
constexpr unsigned kInnerCap = 16;
constexpr unsigned kLeafMin = 10;  // erase rebalances a non-root leaf below this
constexpr unsigned kInnerMin = 4;  // ... and an inner node below this
constexpr Addr kPad = ~Addr{0};

struct Inner;

struct Node {
  Inner* parent = nullptr;
  std::uint32_t count = 0;  // VMAs in a leaf, children in an inner node
  std::uint32_t level = 0;  // 0 for leaves, child level + 1 for inner nodes
};

struct Leaf final : Node {
  Leaf* prev = nullptr;
  Leaf* next = nullptr;
  Addr max_gap = 0;
  Vma v[kLeafCap];
  Leaf() noexcept {
    for (Vma& x : v) x.start = kPad;
  }
};

// Cache-line aligned so that key[] and child[] each fill exactly two lines
// (the header gets the first line to itself): a descent step touches those
// four lines only, and prefetches child[] while it scans key[].
struct alignas(64) Inner final : Node {
  alignas(64) Addr key[kInnerCap];
  Node* child[kInnerCap];
  Addr gap[kInnerCap];
  Inner() noexcept {
    std::fill(key, key + kInnerCap, kPad);
    std::fill(gap, gap + kInnerCap, Addr{0});
    std::fill(child, child + kInnerCap, nullptr);
  }
};

inline Leaf* as_leaf(Node* n) noexcept { return static_cast<Leaf*>(n); }
inline const Leaf* as_leaf(const Node* n) noexcept { return static_cast<const Leaf*>(n); }
inline Inner* as_inner(Node* n) noexcept { return static_cast<Inner*>(n); }
inline const Inner* as_inner(const Node* n) noexcept { return static_cast<const Inner*>(n); }

// No VMA starts at 2^64-1 (start < end <= 2^64-1), so searching for
// min(a, kPad - 1) finds the same slot as searching for a, and the padding
// (key kPad) then never counts: the scans need not read `count`.
inline Addr search_key(Addr a) noexcept { return std::min(a, kPad - 1); }

// Number of VMAs in the leaf with start <= a. Scans all 16 slots branch-free.
inline unsigned leaf_rank(const Leaf* l, Addr a) noexcept {
  const Addr k = search_key(a);
  unsigned c = 0;
  for (unsigned i = 0; i < kLeafCap; ++i) c += static_cast<unsigned>(l->v[i].start <= k);
  return c;
}

// Number of children with key <= a (same trick).
inline unsigned inner_rank(const Inner* n, Addr a) noexcept {
  const Addr k = search_key(a);
  unsigned c = 0;
  for (unsigned i = 0; i < kInnerCap; ++i) c += static_cast<unsigned>(n->key[i] <= k);
  return c;
}

// Number of children with key < a (padding never counts since a <= kPad).
// The gap searches below likewise avoid reading `count` (the header line):
// a padding slot has key kPad (> low, >= high, and no real key is kPad).
inline unsigned inner_rank_lt(const Inner* n, Addr a) noexcept {
  unsigned c = 0;
  for (unsigned i = 0; i < kInnerCap; ++i) c += static_cast<unsigned>(n->key[i] < a);
  return c;
}

inline unsigned index_of(const Inner* p, const Node* c) noexcept {
  unsigned i = 0;
  while (p->child[i] != c) ++i;
  assert(i < p->count);
  return i;
}

inline Addr min_key(const Node* n) noexcept {
  return n->level == 0 ? as_leaf(n)->v[0].start : as_inner(n)->key[0];
}

inline Addr inner_max_gap(const Inner* n) noexcept {
  Addr m = 0;
  for (unsigned i = 0; i < n->count; ++i) m = std::max(m, n->gap[i]);
  return m;
}

inline Addr max_gap(const Node* n) noexcept {
  return n->level == 0 ? as_leaf(n)->max_gap : inner_max_gap(as_inner(n));
}

// End of the VMA just before the leaf's first one (0 if none).
inline Addr prev_end(const Leaf* l) noexcept {
  return l->prev != nullptr ? l->prev->v[l->prev->count - 1].end : 0;
}

// Recomputes max G(v) over a leaf from scratch.
inline Addr leaf_max_gap(const Leaf* l) noexcept {
  Addr pe = prev_end(l);
  Addr m = 0;
  for (unsigned i = 0; i < l->count; ++i) {
    m = std::max(m, l->v[i].start - pe);
    pe = l->v[i].end;
  }
  return m;
}

// Subtree gap searches, used after the gap straddling the window's edge has
// been dealt with. They return Hit with `out` set, Miss (nothing here, keep
// looking) or Stop (nothing here nor in any later subtree in the search
// direction). `size` >= 1. Pruning uses the exact subtree minima in key[]:
//  * child i's gaps all end at a start < key[i+1], so if key[i+1] <= low they
//    are empty after clipping (and so are all gaps before them);
//  * child i's gaps other than its first one start at ends > key[i], so if
//    key[i] >= high only its first gap can reach below high.

enum class Scan { Miss, Hit, Stop };

// Lowest qualifying gap among those owned by VMAs with start > low.
Scan gap_lowest(const Node* n, Addr low, Addr high, Addr size, Range& out) noexcept {
  if (n->level == 0) {
    const Leaf* l = as_leaf(n);
    Addr pe = prev_end(l);
    for (unsigned j = 0; j < l->count; ++j) {
      if (pe >= high) return Scan::Stop;  // this gap and all later ones start >= high
      const Addr s = l->v[j].start;
      if (s > low && s - pe >= size) {
        const Addr cs = std::max(pe, low);
        const Addr ce = std::min(s, high);
        if (ce > cs && ce - cs >= size) {
          out = Range{cs, ce};
          return Scan::Hit;
        }
      }
      pe = l->v[j].end;
    }
    return Scan::Miss;
  }
  const Inner* in = as_inner(n);
  for (unsigned i = 0; i < kInnerCap && in->key[i] != kPad; ++i) {
    if (i + 1 < kInnerCap && in->key[i + 1] <= low) continue;
    if (in->gap[i] >= size) {
      const Scan r = gap_lowest(in->child[i], low, high, size, out);
      if (r != Scan::Miss) return r;
    }
    if (in->key[i] >= high) return Scan::Stop;
  }
  return Scan::Miss;
}

// Highest qualifying gap among those owned by VMAs with start < high (the
// gap straddling high is the caller's). Such gaps are never clipped by high.
Scan gap_highest(const Node* n, Addr low, Addr high, Addr size, Range& out) noexcept {
  if (n->level == 0) {
    const Leaf* l = as_leaf(n);
    for (unsigned j = leaf_rank(l, high - 1); j-- > 0;) {
      const Addr s = l->v[j].start;
      if (s <= low) return Scan::Stop;  // this gap and all earlier ones end <= low
      const Addr pe = j > 0 ? l->v[j - 1].end : prev_end(l);
      const Addr cs = std::max(pe, low);
      if (s - pe >= size && s - cs >= size) {
        out = Range{cs, s};
        return Scan::Hit;
      }
    }
    return Scan::Miss;
  }
  const Inner* in = as_inner(n);
  for (unsigned i = inner_rank_lt(in, high); i-- > 0;) {
    if (i + 1 < kInnerCap && in->key[i + 1] <= low) return Scan::Stop;
    if (in->gap[i] >= size) {
      const Scan r = gap_highest(in->child[i], low, high, size, out);
      if (r != Scan::Miss) return r;
    }
  }
  return Scan::Miss;
}

// Node memory (node_arena.hpp): class 0 for inner nodes, 1 for leaves.
constexpr unsigned kInnerClass = 0;
constexpr unsigned kLeafClass = 1;
using detail::NodeArena;

// Spare nodes allocated before a structural insert so that the insert itself
// cannot fail half-way (strong exception guarantee). Unused ones go back.
struct Reserve {
  NodeArena& arena;
  Leaf* leaf = nullptr;
  Inner* inners = nullptr;  // singly linked through `parent`
  explicit Reserve(NodeArena& a) noexcept : arena(a) {}
  Reserve(const Reserve&) = delete;
  Reserve& operator=(const Reserve&) = delete;
  ~Reserve() {
    if (leaf != nullptr) arena.give(kLeafClass, leaf);
    while (inners != nullptr) {
      Inner* n = inners;
      inners = n->parent;
      arena.give(kInnerClass, n);
    }
  }
  void get(bool need_leaf, unsigned n_inner) {
    if (need_leaf) leaf = new (arena.take(kLeafClass)) Leaf;
    for (unsigned i = 0; i < n_inner; ++i) {
      Inner* n = new (arena.take(kInnerClass)) Inner;
      n->parent = inners;
      inners = n;
    }
  }
};

}  // namespace

struct VmaTree::Impl {
  NodeArena arena{sizeof(Inner), sizeof(Leaf)};
  Node* root = nullptr;
  Leaf* head = nullptr;  // leftmost leaf
  Leaf* tail = nullptr;  // rightmost leaf
  std::size_t n_vmas = 0;
  std::size_t n_leaves = 0;
  std::size_t n_inners = 0;
  // The leaf of the last next_of/prev_of/lower/before answer: makes iteration
  // O(1) per step. Only ever compared and dereferenced while it is a live
  // leaf (free_leaf clears it). Atomic so that concurrent const calls are not
  // a data race.
  mutable std::atomic<Leaf*> hint{nullptr};

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { destroy(root); }

  // ---- allocation ---------------------------------------------------------
  Leaf* take_leaf(Reserve& rs) noexcept {
    Leaf* l = rs.leaf;
    assert(l != nullptr);
    rs.leaf = nullptr;
    ++n_leaves;
    return l;
  }
  Inner* take_inner(Reserve& rs, std::uint32_t level) noexcept {
    Inner* n = rs.inners;
    assert(n != nullptr);
    rs.inners = n->parent;
    n->parent = nullptr;
    n->level = level;
    ++n_inners;
    return n;
  }
  void free_leaf(Leaf* l) noexcept {
    if (hint.load(std::memory_order_relaxed) == l) hint.store(nullptr, std::memory_order_relaxed);
    arena.give(kLeafClass, l);
    --n_leaves;
  }
  void free_inner(Inner* n) noexcept {
    arena.give(kInnerClass, n);
    --n_inners;
  }
  // Frees a subtree (also a partially built clone).
  void destroy(Node* n) noexcept {
    if (n == nullptr) return;
    if (n->level == 0) {
      free_leaf(as_leaf(n));
      return;
    }
    Inner* in = as_inner(n);
    for (unsigned i = 0; i < in->count; ++i) destroy(in->child[i]);
    free_inner(in);
  }
  void clear() noexcept {
    destroy(root);
    root = nullptr;
    head = tail = nullptr;
    n_vmas = 0;
    hint.store(nullptr, std::memory_order_relaxed);
  }

  // ---- copying --------------------------------------------------------------
  // Every node is linked into its parent (or becomes the root) before its
  // children are cloned, so that if an allocation throws, the partial copy is
  // a well-formed tree for destroy() (run by ~Impl of the half-built copy).
  void clone_into(const Node* src, Inner* parent, Leaf*& last_leaf) {
    Node* n = nullptr;
    if (src->level == 0) {
      const Leaf* s = as_leaf(src);
      Leaf* l = new (arena.take(kLeafClass)) Leaf;
      ++n_leaves;
      l->count = s->count;
      l->max_gap = s->max_gap;
      std::copy(s->v, s->v + kLeafCap, l->v);
      l->prev = last_leaf;
      if (last_leaf != nullptr) {
        last_leaf->next = l;
      } else {
        head = l;
      }
      last_leaf = tail = l;
      n = l;
    } else {
      Inner* in = new (arena.take(kInnerClass)) Inner;
      ++n_inners;
      in->level = src->level;
      std::copy(as_inner(src)->key, as_inner(src)->key + kInnerCap, in->key);
      std::copy(as_inner(src)->gap, as_inner(src)->gap + kInnerCap, in->gap);
      n = in;  // count stays 0 until its children exist
    }
    n->parent = parent;
    if (parent != nullptr) {
      parent->child[parent->count++] = n;
    } else {
      root = n;
    }
    if (src->level > 0) {
      const Inner* s = as_inner(src);
      for (unsigned i = 0; i < s->count; ++i) clone_into(s->child[i], as_inner(n), last_leaf);
    }
  }
  void copy_from(const Impl& o) {
    if (o.root == nullptr) return;
    Leaf* last_leaf = nullptr;
    clone_into(o.root, nullptr, last_leaf);
    n_vmas = o.n_vmas;
  }

  // ---- search -------------------------------------------------------------
  // The leaf whose key range holds a. Finger search first: one system call
  // looks up, splits, inserts and merges around one address, so the leaf of the
  // previous answer (the hint) usually holds the next key too, and a descent
  // from the root (a cache and TLB miss per level on a large tree) is skipped.
  // The hinted leaf is taken when `a` lies in [its first start, its last
  // VMA's end); the leftmost leaf also takes everything below it, the
  // rightmost everything above. (An address in the gap after a leaf's last VMA
  // belongs to it too, but proving that needs the next leaf's first line, a
  // miss of its own on a large tree: such an address descends from the root.)
  // One unsigned range compare decides, so the only branch is "the hint holds
  // or not", which a run of calls predicts well whichever way it goes (a
  // branch per bound mispredicted half the time on random lookups, and cost
  // them a third of their time).
  static bool holds(const Leaf* l, Addr a) noexcept {
    if (l->count == 0) return false;
    const Addr lo = l->prev != nullptr ? l->v[0].start : 0;
    const Addr hi = l->next != nullptr ? l->v[l->count - 1].end : kPad;
    return search_key(a) - lo < hi - lo;  // lo <= a < hi; wraps when a < lo
  }
  Leaf* descend(Addr a) const noexcept {
    if (Leaf* h = hint.load(std::memory_order_relaxed); h != nullptr && holds(h, a)) return h;
    Leaf* l = descend_from_root(a);
    hint.store(l, std::memory_order_relaxed);
    return l;
  }
  // At each level the last child with key <= a (or the first child). Reads
  // no node headers below the root.
  Leaf* descend_from_root(Addr a) const noexcept {
    Node* n = root;
    for (std::uint32_t h = root->level; h > 0; --h) {
      const Inner* in = as_inner(n);
      __builtin_prefetch(&in->child[0]);
      __builtin_prefetch(&in->child[kInnerCap / 2]);
      const unsigned r = inner_rank(in, a);
      n = in->child[r > 0 ? r - 1 : 0];
    }
    return as_leaf(n);
  }

  // Index of `p` in `l` if it points at one of its live VMAs.
  static bool locate(const Leaf* l, const Vma* p, unsigned& idx) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const auto b = reinterpret_cast<std::uintptr_t>(l->v);
    const std::uintptr_t off = a - b;  // wraps if a < b, then fails the bound
    if (off >= std::uintptr_t{l->count} * sizeof(Vma) || off % sizeof(Vma) != 0) return false;
    idx = static_cast<unsigned>(off / sizeof(Vma));
    return true;
  }

  const Vma* lower(Addr a) const noexcept {
    if (root == nullptr) return nullptr;
    const Leaf* l = descend(a);
    const unsigned r = leaf_rank(l, a);
    if (r > 0 && l->v[r - 1].end > a) return remember(l, &l->v[r - 1]);
    if (r < l->count) return remember(l, &l->v[r]);
    return l->next != nullptr ? remember(l->next, &l->next->v[0]) : nullptr;
  }
  const Vma* find(Addr a) const noexcept {
    if (root == nullptr) return nullptr;
    const Leaf* l = descend(a);
    const unsigned r = leaf_rank(l, a);
    // Branch-free: whether `a` is mapped is data, not control. On lookups that
    // land in holes half the time, a branch here mispredicts half the time and
    // throws away the work already started on the caller's next lookup.
    const Vma* c = &l->v[r > 0 ? r - 1 : 0];
    const std::uintptr_t hit = -static_cast<std::uintptr_t>((r > 0) & (c->end > a));
    return reinterpret_cast<const Vma*>(reinterpret_cast<std::uintptr_t>(c) & hit);
  }
  const Vma* before(Addr a) const noexcept {
    if (root == nullptr) return nullptr;
    const Leaf* l = descend(a);
    unsigned r = leaf_rank(l, a);
    // v[r-1] is the only VMA that may contain a; skip it if it does.
    if (r > 0 && l->v[r - 1].end > a) --r;
    if (r > 0) return remember(l, &l->v[r - 1]);
    const Leaf* p = l->prev;
    return p != nullptr ? remember(p, &p->v[p->count - 1]) : nullptr;
  }
  const Vma* remember(const Leaf* l, const Vma* v) const noexcept {
    hint.store(const_cast<Leaf*>(l), std::memory_order_relaxed);
    return v;
  }

  const Vma* next_of(const Vma& v) const noexcept {
    if (root == nullptr) return nullptr;
    const Leaf* l = hint.load(std::memory_order_relaxed);
    unsigned idx = 0;
    if (l == nullptr || !locate(l, &v, idx)) {
      // Not in the hinted leaf (or a copy): the first VMA with start > v.start.
      l = descend(v.start);
      const unsigned r = leaf_rank(l, v.start);
      if (r < l->count) return remember(l, &l->v[r]);
      return l->next != nullptr ? remember(l->next, &l->next->v[0]) : nullptr;
    }
    if (idx + 1 < l->count) return &l->v[idx + 1];
    return l->next != nullptr ? remember(l->next, &l->next->v[0]) : nullptr;
  }
  const Vma* prev_of(const Vma& v) const noexcept {
    if (root == nullptr) return nullptr;
    const Leaf* l = hint.load(std::memory_order_relaxed);
    unsigned idx = 0;
    if (l == nullptr || !locate(l, &v, idx)) {
      // The last VMA with start < v.start.
      if (v.start == 0) return nullptr;
      l = descend(v.start - 1);
      const unsigned r = leaf_rank(l, v.start - 1);
      if (r > 0) return remember(l, &l->v[r - 1]);
      const Leaf* p = l->prev;
      return p != nullptr ? remember(p, &p->v[p->count - 1]) : nullptr;
    }
    if (idx > 0) return &l->v[idx - 1];
    const Leaf* p = l->prev;
    return p != nullptr ? remember(p, &p->v[p->count - 1]) : nullptr;
  }

  // Gap search:
  //  1. One descent finds the gap straddling the window's edge (the gap
  //     holding high - 1 for gap_rev, the one holding low for gap). If it
  //     qualifies it is the answer. It is the only gap clipped on that side.
  //  2. The rest of that leaf is scanned (it is in cache), away from the edge.
  //  3. Otherwise a top-down search over the remaining VMAs, pruned by the
  //     gap[] maxima: one path in the usual case, O(log n) in all cases, since
  //     only gaps clipped at the far edge can make a descent fail and the
  //     search stops right after such a gap.
  std::optional<Range> gap(Addr low, Addr high, Addr want, bool highest) const noexcept {
    if (low >= high) return std::nullopt;
    const Addr size = std::max<Addr>(want, 1);
    if (root == nullptr) {
      if (high - low >= size) return Range{low, high};
      return std::nullopt;
    }
    return highest ? gap_rev_impl(low, high, size) : gap_fwd_impl(low, high, size);
  }

  static std::optional<Range> fits(Addr gap_start, Addr gap_end, Addr low, Addr high,
                                   Addr size) noexcept {
    const Addr cs = std::max(gap_start, low);
    const Addr ce = std::min(gap_end, high);
    if (ce > cs && ce - cs >= size) return Range{cs, ce};
    return std::nullopt;
  }

  std::optional<Range> gap_rev_impl(Addr low, Addr high, Addr size) const noexcept {
    // r = number of VMAs in l with start < high; the first VMA with
    // start >= high (l->v[r], or the next leaf's first, or none) owns the gap
    // holding high - 1.
    const Leaf* l = descend(high - 1);
    const unsigned r = leaf_rank(l, high - 1);
    const Addr pe = r > 0 ? l->v[r - 1].end : prev_end(l);
    if (pe < high) {
      // That gap ends at or above high (at 2^64 for the top gap).
      if (auto g = fits(pe, high, low, high, size)) return g;
    }
    if (r == 0) return std::nullopt;  // l is the head leaf: nothing below
    // The rest of this leaf; these gaps end at starts < high. (Skipped when
    // max_gap says nothing fits: saves reading the previous leaf for j = 0.)
    for (unsigned j = l->max_gap >= size ? r : 0; j-- > 0;) {
      const Addr s = l->v[j].start;
      if (s <= low) return std::nullopt;
      const Addr p = j > 0 ? l->v[j - 1].end : prev_end(l);
      if (s - p >= size) {
        if (auto g = fits(p, s, low, high, size)) return g;
      }
    }
    if (l->prev == nullptr || max_gap(root) < size) return std::nullopt;
    Range out;
    if (gap_highest(root, low, l->v[0].start, size, out) == Scan::Hit) return out;
    return std::nullopt;
  }

  std::optional<Range> gap_fwd_impl(Addr low, Addr high, Addr size) const noexcept {
    const Addr last_end = tail->v[tail->count - 1].end;
    // The top gap [last.end, 2^64), the last candidate.
    const std::optional<Range> top =
        last_end < high ? fits(last_end, high, low, high, size) : std::nullopt;
    // r = number of VMAs in l with start <= low; the first VMA with
    // start > low owns the gap holding low (or the top gap does).
    const Leaf* l = descend(low);
    const unsigned r = leaf_rank(l, low);
    const Addr pe = r > 0 ? l->v[r - 1].end : prev_end(l);
    const Leaf* ol = l;  // the owner's leaf and index
    unsigned oi = r;
    if (oi == ol->count) {
      ol = ol->next;
      oi = 0;
    }
    if (ol == nullptr) return top;  // no VMA starts above low
    if (pe >= high) return std::nullopt;
    if (auto g = fits(pe, ol->v[oi].start, low, high, size)) return g;
    // The rest of this leaf; these gaps start at ends > low.
    for (unsigned j = oi + 1; j < ol->count && ol->max_gap >= size; ++j) {
      const Addr p = ol->v[j - 1].end;
      if (p >= high) return std::nullopt;
      const Addr s = ol->v[j].start;
      if (s - p >= size) {
        if (auto g = fits(p, s, low, high, size)) return g;
      }
    }
    if (ol->next == nullptr || max_gap(root) < size) return top;
    // VMAs in later leaves: those with start > the last start here.
    Range out;
    if (gap_lowest(root, ol->v[ol->count - 1].start, high, size, out) == Scan::Hit) return out;
    return top;
  }

  // ---- augmentation maintenance --------------------------------------------

  // Sets the key of the leaf's ancestors after its first start changed.
  static void update_key_up(Leaf* l) noexcept {
    const Addr k = l->v[0].start;
    Node* c = l;
    while (Inner* p = c->parent) {
      const unsigned i = index_of(p, c);
      p->key[i] = k;
      if (i != 0) break;
      c = p;
    }
  }

  // Propagates a changed leaf max_gap upward, stopping once a level's slot
  // already holds the value. Valid when every other slot is up to date.
  static void propagate_gap(Leaf* l) noexcept {
    Addr g = l->max_gap;
    Node* c = l;
    while (Inner* p = c->parent) {
      const unsigned i = index_of(p, c);
      if (p->gap[i] == g) return;
      p->gap[i] = g;
      g = inner_max_gap(p);
      c = p;
    }
  }

  // Recomputes key and gap slots from `n` to the root, without early exit.
  // Used after structural changes.
  static void refresh_up(Node* n) noexcept {
    for (Node* c = n; Inner* p = c->parent; c = p) {
      const unsigned i = index_of(p, c);
      p->key[i] = min_key(c);
      p->gap[i] = max_gap(c);
    }
  }

  // Incremental max_gap update for one leaf: report gaps that disappeared
  // (removed) and gaps that appeared (added), then finish().
  struct GapEdit {
    Leaf* leaf;
    Addr added_max = 0;
    bool rescan = false;
    void removed(Addr g) noexcept {
      if (g >= leaf->max_gap) rescan = true;
    }
    void added(Addr g) noexcept { added_max = std::max(added_max, g); }
    void finish() noexcept {
      const Addr m = rescan ? leaf_max_gap(leaf) : std::max(leaf->max_gap, added_max);
      if (m != leaf->max_gap) {
        leaf->max_gap = m;
        propagate_gap(leaf);
      }
    }
  };

  // ---- structural helpers ---------------------------------------------------
  static void link_after(Leaf* l, Leaf* n, Leaf*& tail_ref) noexcept {
    n->prev = l;
    n->next = l->next;
    if (l->next != nullptr) {
      l->next->prev = n;
    } else {
      tail_ref = n;
    }
    l->next = n;
  }
  void unlink(Leaf* l) noexcept {
    if (l->prev != nullptr) {
      l->prev->next = l->next;
    } else {
      head = l->next;
    }
    if (l->next != nullptr) {
      l->next->prev = l->prev;
    } else {
      tail = l->prev;
    }
  }

  // Number of inner nodes a split cascade from a child of `p` may need.
  static unsigned inner_needed(const Inner* p) noexcept {
    unsigned n = 0;
    const Inner* c = p;
    while (c != nullptr && c->count == kInnerCap) {
      ++n;
      c = c->parent;
    }
    if (c == nullptr) ++n;  // a new root
    return n;
  }

  static bool is_rightmost(const Node* n) noexcept {
    for (const Node* c = n; const Inner* p = c->parent; c = p) {
      if (index_of(p, c) + 1 != p->count) return false;
    }
    return true;
  }
  static bool is_leftmost(const Node* n) noexcept {
    for (const Node* c = n; const Inner* p = c->parent; c = p) {
      if (index_of(p, c) != 0) return false;
    }
    return true;
  }

  // Inserts child `c` at slot i of p, splitting p (and ancestors) if full.
  // Leaves the augmentation consistent up to the root.
  void insert_child(Inner* p, unsigned i, Node* c, Reserve& rs) noexcept {
    if (p->count < kInnerCap) {
      std::copy_backward(p->key + i, p->key + p->count, p->key + p->count + 1);
      std::copy_backward(p->gap + i, p->gap + p->count, p->gap + p->count + 1);
      std::copy_backward(p->child + i, p->child + p->count, p->child + p->count + 1);
      p->key[i] = min_key(c);
      p->gap[i] = max_gap(c);
      p->child[i] = c;
      c->parent = p;
      ++p->count;
      refresh_up(p);
      return;
    }
    // Split p: 17 entries go to p (first m) and a new right sibling q.
    constexpr unsigned kTotal = kInnerCap + 1;
    Addr keys[kTotal];
    Addr gaps[kTotal];
    Node* kids[kTotal];
    std::copy(p->key, p->key + i, keys);
    std::copy(p->gap, p->gap + i, gaps);
    std::copy(p->child, p->child + i, kids);
    keys[i] = min_key(c);
    gaps[i] = max_gap(c);
    kids[i] = c;
    std::copy(p->key + i, p->key + kInnerCap, keys + i + 1);
    std::copy(p->gap + i, p->gap + kInnerCap, gaps + i + 1);
    std::copy(p->child + i, p->child + kInnerCap, kids + i + 1);
    unsigned m = kTotal / 2 + 1;
    if (i == kInnerCap && is_rightmost(p)) m = kInnerCap;  // appending: keep p full
    if (i == 0 && is_leftmost(p)) m = 1;                   // prepending
    Inner* q = take_inner(rs, p->level);
    for (unsigned j = 0; j < kInnerCap; ++j) {
      if (j < m) {
        p->key[j] = keys[j];
        p->gap[j] = gaps[j];
        p->child[j] = kids[j];
        kids[j]->parent = p;
      } else {
        p->key[j] = kPad;
        p->gap[j] = 0;
        p->child[j] = nullptr;
      }
    }
    p->count = m;
    for (unsigned j = m; j < kTotal; ++j) {
      q->key[j - m] = keys[j];
      q->gap[j - m] = gaps[j];
      q->child[j - m] = kids[j];
      kids[j]->parent = q;
    }
    q->count = kTotal - m;
    attach_right(p, q, rs);
  }

  // Makes `n` (new, already filled) the right sibling of `l` in the tree.
  void attach_right(Node* l, Node* n, Reserve& rs) noexcept {
    if (Inner* p = l->parent) {
      const unsigned i = index_of(p, l);
      p->key[i] = min_key(l);
      p->gap[i] = max_gap(l);
      insert_child(p, i + 1, n, rs);
    } else {
      new_root(l, n, rs);
    }
  }
  // Makes `n` (new, already filled) the left sibling of `r`.
  void attach_left(Node* r, Node* n, Reserve& rs) noexcept {
    if (Inner* p = r->parent) {
      const unsigned i = index_of(p, r);
      p->key[i] = min_key(r);
      p->gap[i] = max_gap(r);
      insert_child(p, i, n, rs);
    } else {
      new_root(n, r, rs);
    }
  }
  void new_root(Node* a, Node* b, Reserve& rs) noexcept {
    Inner* r = take_inner(rs, a->level + 1);
    r->count = 2;
    r->child[0] = a;
    r->child[1] = b;
    r->key[0] = min_key(a);
    r->key[1] = min_key(b);
    r->gap[0] = max_gap(a);
    r->gap[1] = max_gap(b);
    a->parent = b->parent = r;
    root = r;
  }

  static void remove_child(Inner* p, unsigned i) noexcept {
    std::copy(p->key + i + 1, p->key + p->count, p->key + i);
    std::copy(p->gap + i + 1, p->gap + p->count, p->gap + i);
    std::copy(p->child + i + 1, p->child + p->count, p->child + i);
    --p->count;
    p->key[p->count] = kPad;
    p->gap[p->count] = 0;
    p->child[p->count] = nullptr;
  }

  // Moves the first k VMAs of leaf b to the end of its left sibling a (same
  // parent), or the last k of a to the front of b. Refreshes everything.
  void leaf_shift_left(Leaf* a, Leaf* b, unsigned k) noexcept {
    std::copy(b->v, b->v + k, a->v + a->count);
    a->count += k;
    std::copy(b->v + k, b->v + b->count, b->v);
    for (unsigned j = b->count - k; j < b->count; ++j) b->v[j].start = kPad;
    b->count -= k;
    after_leaf_shift(a, b);
  }
  void leaf_shift_right(Leaf* a, Leaf* b, unsigned k) noexcept {
    std::copy_backward(b->v, b->v + b->count, b->v + b->count + k);
    std::copy(a->v + a->count - k, a->v + a->count, b->v);
    b->count += k;
    for (unsigned j = a->count - k; j < a->count; ++j) a->v[j].start = kPad;
    a->count -= k;
    after_leaf_shift(a, b);
  }
  void after_leaf_shift(Leaf* a, Leaf* b) noexcept {
    a->max_gap = leaf_max_gap(a);
    b->max_gap = leaf_max_gap(b);
    Inner* p = a->parent;
    const unsigned ia = index_of(p, a);
    assert(p->child[ia + 1] == b);
    p->key[ia] = a->v[0].start;
    p->key[ia + 1] = b->v[0].start;
    p->gap[ia] = a->max_gap;
    p->gap[ia + 1] = b->max_gap;
    refresh_up(p);
  }

  // Same for inner siblings.
  void inner_shift_left(Inner* a, Inner* b, unsigned k) noexcept {
    for (unsigned j = 0; j < k; ++j) {
      a->key[a->count + j] = b->key[j];
      a->gap[a->count + j] = b->gap[j];
      a->child[a->count + j] = b->child[j];
      b->child[j]->parent = a;
    }
    a->count += k;
    for (unsigned j = 0; j < k; ++j) remove_child(b, 0);
    after_inner_shift(a, b);
  }
  void inner_shift_right(Inner* a, Inner* b, unsigned k) noexcept {
    std::copy_backward(b->key, b->key + b->count, b->key + b->count + k);
    std::copy_backward(b->gap, b->gap + b->count, b->gap + b->count + k);
    std::copy_backward(b->child, b->child + b->count, b->child + b->count + k);
    for (unsigned j = 0; j < k; ++j) {
      const unsigned s = a->count - k + j;
      b->key[j] = a->key[s];
      b->gap[j] = a->gap[s];
      b->child[j] = a->child[s];
      b->child[j]->parent = b;
      a->key[s] = kPad;
      a->gap[s] = 0;
      a->child[s] = nullptr;
    }
    b->count += k;
    a->count -= k;
    after_inner_shift(a, b);
  }
  void after_inner_shift(Inner* a, Inner* b) noexcept {
    Inner* p = a->parent;
    const unsigned ia = index_of(p, a);
    p->key[ia] = a->key[0];
    p->key[ia + 1] = b->key[0];
    p->gap[ia] = inner_max_gap(a);
    p->gap[ia + 1] = inner_max_gap(b);
    refresh_up(p);
  }

  // ---- insert ---------------------------------------------------------------
  Vma& insert(const Vma& x) {
    assert(x.start < x.end);
    if (root == nullptr) {
      Reserve rs(arena);
      rs.get(true, 0);
      Leaf* l = take_leaf(rs);
      l->v[0] = x;
      l->count = 1;
      l->max_gap = x.start;
      root = head = tail = l;
      n_vmas = 1;
      return l->v[0];
    }
    Leaf* l = descend(x.start);
    const unsigned pos = leaf_rank(l, x.start);
    assert(pos == 0 || l->v[pos - 1].end <= x.start);
    assert(pos == l->count || x.end <= l->v[pos].start);
    if (l->count < kLeafCap) return insert_into(l, pos, x);
    return insert_full(l, pos, x);
  }

  // Inserts into a leaf with room; incremental augmentation update.
  Vma& insert_into(Leaf* l, unsigned pos, const Vma& x) noexcept {
    assert(l->count < kLeafCap);
    const Addr pe = pos > 0 ? l->v[pos - 1].end : prev_end(l);
    std::copy_backward(l->v + pos, l->v + l->count, l->v + l->count + 1);
    l->v[pos] = x;
    ++l->count;
    ++n_vmas;
    if (pos == 0) update_key_up(l);
    GapEdit e{l};
    e.added(x.start - pe);
    if (pos + 1 < l->count) {
      const Addr s = l->v[pos + 1].start;
      e.removed(s - pe);
      e.added(s - x.end);
    } else if (l->next != nullptr) {
      const Addr s = l->next->v[0].start;
      GapEdit e2{l->next};
      e2.removed(s - pe);
      e2.added(s - x.end);
      e2.finish();
    }
    e.finish();
    return l->v[pos];
  }

  Vma& insert_full(Leaf* l, unsigned pos, const Vma& x) {
    if (pos == kLeafCap && l == tail) return append_leaf(l, x);
    if (pos == 0 && l == head) return prepend_leaf(l, x);
    if (Inner* p = l->parent) {
      const unsigned i = index_of(p, l);
      if (i > 0) {
        Leaf* s = as_leaf(p->child[i - 1]);
        if (s->count < kLeafCap) {
          // Move k VMAs to the left sibling. pos >= 1 here (only the head
          // leaf can get pos 0), which guarantees the target leaf has room.
          const unsigned k = (kLeafCap - s->count + 1) / 2;
          const unsigned sc = s->count;
          leaf_shift_left(s, l, k);
          if (pos < k) return insert_into(s, sc + pos, x);
          return insert_into(l, pos - k, x);
        }
      }
      if (i + 1 < p->count) {
        Leaf* s = as_leaf(p->child[i + 1]);
        if (s->count < kLeafCap) {
          if (pos == kLeafCap) return insert_into(s, 0, x);
          const unsigned k = (kLeafCap - s->count + 1) / 2;
          leaf_shift_right(l, s, k);
          if (pos <= kLeafCap - k) return insert_into(l, pos, x);
          return insert_into(s, pos - (kLeafCap - k), x);
        }
      }
    }
    // Both siblings are full too: split two full leaves into three.
    if (Inner* p = l->parent) {
      const unsigned i = index_of(p, l);
      if (i + 1 < p->count) return split_two_into_three(l, as_leaf(p->child[i + 1]), x);
      if (i > 0) return split_two_into_three(as_leaf(p->child[i - 1]), l, x);
    }
    // A root leaf: split in half.
    Reserve rs(arena);
    rs.get(true, inner_needed(l->parent));
    Leaf* b = take_leaf(rs);
    constexpr unsigned kKeep = kLeafCap / 2;
    std::copy(l->v + kKeep, l->v + kLeafCap, b->v);
    for (unsigned j = kKeep; j < kLeafCap; ++j) l->v[j].start = kPad;
    b->count = kLeafCap - kKeep;
    l->count = kKeep;
    link_after(l, b, tail);
    l->max_gap = leaf_max_gap(l);
    b->max_gap = leaf_max_gap(b);
    attach_right(l, b, rs);
    if (pos <= kKeep) return insert_into(l, pos, x);
    return insert_into(b, pos - kKeep, x);
  }

  // a and c are full adjacent siblings: a new leaf b between them takes the
  // end of a and the start of c, leaving 11 / 10 / 11 VMAs, then x goes where
  // it belongs. Keeps leaves at least 2/3 full after a split (B*-tree).
  Vma& split_two_into_three(Leaf* a, Leaf* c, const Vma& x) {
    assert(a->count == kLeafCap && c->count == kLeafCap && a->next == c);
    Reserve rs(arena);
    rs.get(true, inner_needed(a->parent));
    Leaf* b = take_leaf(rs);
    constexpr unsigned kA = (2 * kLeafCap + 2) / 3;                    // 11 stay in a
    constexpr unsigned kFromC = (2 * kLeafCap) / 3 - (kLeafCap - kA);  // 6 leave c
    std::copy(a->v + kA, a->v + kLeafCap, b->v);
    std::copy(c->v, c->v + kFromC, b->v + (kLeafCap - kA));
    b->count = kLeafCap - kA + kFromC;
    for (unsigned j = kA; j < kLeafCap; ++j) a->v[j].start = kPad;
    a->count = kA;
    std::copy(c->v + kFromC, c->v + kLeafCap, c->v);
    for (unsigned j = kLeafCap - kFromC; j < kLeafCap; ++j) c->v[j].start = kPad;
    c->count = kLeafCap - kFromC;
    link_after(a, b, tail);
    a->max_gap = leaf_max_gap(a);
    b->max_gap = leaf_max_gap(b);
    c->max_gap = leaf_max_gap(c);
    attach_right(a, b, rs);
    refresh_up(c);  // its key and max_gap changed
    Leaf* t = x.start < b->v[0].start ? a : x.start < c->v[0].start ? b : c;
    return insert_into(t, leaf_rank(t, x.start), x);
  }

  Vma& append_leaf(Leaf* l, const Vma& x) {
    Reserve rs(arena);
    rs.get(true, inner_needed(l->parent));
    Leaf* b = take_leaf(rs);
    b->v[0] = x;
    b->count = 1;
    link_after(l, b, tail);
    b->max_gap = leaf_max_gap(b);
    ++n_vmas;
    attach_right(l, b, rs);
    return b->v[0];
  }

  Vma& prepend_leaf(Leaf* l, const Vma& x) {
    Reserve rs(arena);
    rs.get(true, inner_needed(l->parent));
    Leaf* a = take_leaf(rs);
    a->v[0] = x;
    a->count = 1;
    a->next = l;
    l->prev = a;
    head = a;
    a->max_gap = x.start;
    l->max_gap = leaf_max_gap(l);  // its first gap now starts at x.end
    ++n_vmas;
    attach_left(l, a, rs);
    return a->v[0];
  }

  // ---- erase ------------------------------------------------------------------
  void erase(Addr start) noexcept {
    assert(root != nullptr);
    Leaf* l = descend(start);
    const unsigned r = leaf_rank(l, start);
    assert(r > 0 && l->v[r - 1].start == start);
    if (n_vmas == 1) {
      clear();
      return;
    }
    if (l->count == 1) {
      remove_single_leaf(l);
      return;
    }
    erase_at(l, r - 1);
    if (l->count < kLeafMin && l->parent != nullptr) rebalance_leaf(l);
  }

  void erase_at(Leaf* l, unsigned j) noexcept {
    const Addr pe = j > 0 ? l->v[j - 1].end : prev_end(l);
    const Addr old_start = l->v[j].start;
    const Addr old_end = l->v[j].end;
    std::copy(l->v + j + 1, l->v + l->count, l->v + j);
    --l->count;
    l->v[l->count].start = kPad;
    --n_vmas;
    if (j == 0) update_key_up(l);
    GapEdit e{l};
    e.removed(old_start - pe);
    if (j < l->count) {
      const Addr s = l->v[j].start;
      e.removed(s - old_end);
      e.added(s - pe);
    } else if (l->next != nullptr) {
      const Addr s = l->next->v[0].start;
      GapEdit e2{l->next};
      e2.removed(s - old_end);
      e2.added(s - pe);
      e2.finish();
    }
    e.finish();
  }

  // Erases the only VMA of a non-root leaf: the leaf goes away.
  void remove_single_leaf(Leaf* l) noexcept {
    --n_vmas;
    Leaf* n = l->next;
    unlink(l);
    Inner* p = l->parent;
    remove_child(p, index_of(p, l));
    free_leaf(l);
    if (n != nullptr) n->max_gap = leaf_max_gap(n);  // its first gap grew
    fix_inner(p);
    if (n != nullptr) refresh_up(n);
  }

  // A leaf fell below kLeafMin. In order of preference: merge with a sibling
  // when both fit in one leaf; borrow from a sibling above the minimum; or,
  // when the siblings are at the minimum themselves, turn three adjacent
  // leaves into two (the B*-tree deletion), which keeps every leaf at least
  // 5/8 full. Only a leaf whose parent has two children may stay below.
  void rebalance_leaf(Leaf* l) noexcept {
    Inner* p = l->parent;
    const unsigned i = index_of(p, l);
    Leaf* s = i > 0 ? as_leaf(p->child[i - 1]) : nullptr;
    Leaf* r = i + 1 < p->count ? as_leaf(p->child[i + 1]) : nullptr;
    if (s != nullptr && s->count + l->count <= kLeafCap) {
      merge_leaves(s, l);
    } else if (r != nullptr && r->count + l->count <= kLeafCap) {
      merge_leaves(l, r);
    } else if (s != nullptr && s->count > kLeafMin) {
      leaf_shift_right(s, l, (s->count - l->count + 1) / 2);
    } else if (r != nullptr && r->count > kLeafMin) {
      leaf_shift_left(l, r, (r->count - l->count + 1) / 2);
    } else if (p->count >= 3) {
      // Three adjacent leaves a, b, c around l, all in p.
      const unsigned first = i == 0 ? 0 : i + 1 == p->count ? i - 2 : i - 1;
      Leaf* a = as_leaf(p->child[first]);
      Leaf* b = as_leaf(p->child[first + 1]);
      Leaf* c = as_leaf(p->child[first + 2]);
      if (a->count + b->count + c->count > 2 * kLeafCap) return;
      // a fills up from b; then what is left of b and all of c fit in b.
      leaf_shift_left(a, b, std::min(kLeafCap - a->count, b->count - 1));
      if (b->count + c->count <= kLeafCap) {
        merge_leaves(b, c);
      } else {
        leaf_shift_left(b, c, kLeafCap - b->count);
      }
    }
  }

  // Moves all of b into its left sibling a and frees b.
  void merge_leaves(Leaf* a, Leaf* b) noexcept {
    std::copy(b->v, b->v + b->count, a->v + a->count);
    a->count += b->count;
    unlink(b);
    Inner* p = a->parent;
    remove_child(p, index_of(p, b));
    free_leaf(b);
    a->max_gap = leaf_max_gap(a);
    const unsigned ia = index_of(p, a);
    p->key[ia] = a->v[0].start;
    p->gap[ia] = a->max_gap;
    fix_inner(p);
  }

  // Restores the shape after p lost a child; refreshes the augmentation.
  void fix_inner(Inner* p) noexcept {
    for (;;) {
      Inner* g = p->parent;
      if (g == nullptr) {
        // Root: collapse while it has a single child.
        while (root->level > 0 && root->count == 1) {
          Inner* old = as_inner(root);
          root = old->child[0];
          root->parent = nullptr;
          free_inner(old);
        }
        return;
      }
      if (p->count >= kInnerMin) {
        refresh_up(p);
        return;
      }
      const unsigned i = index_of(g, p);
      Inner* s = i > 0 ? as_inner(g->child[i - 1]) : nullptr;
      Inner* r = i + 1 < g->count ? as_inner(g->child[i + 1]) : nullptr;
      if (s != nullptr && s->count + p->count <= kInnerCap) {
        merge_inners(s, p);
      } else if (r != nullptr && r->count + p->count <= kInnerCap) {
        merge_inners(p, r);
      } else if (s != nullptr) {
        inner_shift_right(s, p, (s->count - p->count) / 2);
        return;
      } else if (r != nullptr) {
        inner_shift_left(p, r, (r->count - p->count) / 2);
        return;
      } else if (p->count == 0) {
        remove_child(g, i);
        free_inner(p);
      } else {
        refresh_up(p);
        return;
      }
      p = g;  // g lost a child
    }
  }

  void merge_inners(Inner* a, Inner* b) noexcept {
    for (unsigned j = 0; j < b->count; ++j) {
      a->key[a->count + j] = b->key[j];
      a->gap[a->count + j] = b->gap[j];
      a->child[a->count + j] = b->child[j];
      b->child[j]->parent = a;
    }
    a->count += b->count;
    Inner* g = a->parent;
    remove_child(g, index_of(g, b));
    free_inner(b);
    const unsigned ia = index_of(g, a);
    g->key[ia] = a->key[0];
    g->gap[ia] = inner_max_gap(a);
  }

  // ---- set_bounds ---------------------------------------------------------------
  Vma& set_bounds(Addr start, Addr new_start, Addr new_end) noexcept {
    assert(new_start < new_end);
    Leaf* l = descend(start);
    const unsigned r = leaf_rank(l, start);
    assert(r > 0 && l->v[r - 1].start == start);
    const unsigned j = r - 1;
    Vma& v = l->v[j];
    const Addr pe = j > 0 ? l->v[j - 1].end : prev_end(l);
    const Addr old_end = v.end;
    assert(new_start >= pe);
    v.start = new_start;
    v.end = new_end;
    if (j == 0 && new_start != start) update_key_up(l);
    GapEdit e{l};
    if (new_start != start) {
      e.removed(start - pe);
      e.added(new_start - pe);
    }
    if (new_end != old_end) {
      if (j + 1 < l->count) {
        const Addr s = l->v[j + 1].start;
        assert(new_end <= s);
        e.removed(s - old_end);
        e.added(s - new_end);
      } else if (l->next != nullptr) {
        const Addr s = l->next->v[0].start;
        assert(new_end <= s);
        GapEdit e2{l->next};
        e2.removed(s - old_end);
        e2.added(s - new_end);
        e2.finish();
      }
    }
    e.finish();
    return v;
  }

  // Splits *p at `at`. The new boundary owns a zero gap and every other gap
  // stays, so with room in the leaf nothing but the slots moves: no key, gap
  // or ancestor changes. A full leaf makes room the way insert() does.
  Vma& split(Vma* p, Addr at) {
    assert(p->start < at && at < p->end);
    Vma upper = *p;
    upper.start = at;
    upper.set_pgoff(p->pgoff_at(at));
    Leaf* l = hint.load(std::memory_order_relaxed);
    unsigned j = 0;
    if (l == nullptr || !locate(l, p, j)) {
      l = descend(p->start);
      j = leaf_rank(l, p->start) - 1;
      assert(&l->v[j] == p);
    }
    if (l->count == kLeafCap) {
      // The stored gaps are already those of the result (the new boundary's
      // gap is zero), so shortening v in place and inserting the upper part
      // keeps them right: insert_full() only ever recomputes or raises them.
      l->v[j].end = at;
      return insert_full(l, j + 1, upper);
    }
    std::copy_backward(l->v + j + 1, l->v + l->count, l->v + l->count + 1);
    l->v[j].end = at;
    l->v[j + 1] = upper;
    ++l->count;
    ++n_vmas;
    hint.store(l, std::memory_order_relaxed);
    return l->v[j + 1];
  }

  // ---- invariants -------------------------------------------------------------
  struct Checker {
    const Impl& t;
    const Leaf* prev_leaf = nullptr;
    Addr pred_end = 0;
    std::size_t vmas = 0;
    std::size_t leaves = 0;
    std::size_t inners = 0;

    // Returns false on a violation; sets min key and max gap of the subtree.
    bool node(const Node* n, const Inner* parent, Addr& min_out, Addr& gap_out) {
      if (n == nullptr || n->parent != parent) return false;
      if (n->level == 0) return leaf(as_leaf(n), min_out, gap_out);
      const Inner* in = as_inner(n);
      ++inners;
      if (in->count < 1 || in->count > kInnerCap) return false;
      if (parent == nullptr && in->count < 2) return false;  // root collapses
      Addr g = 0;
      for (unsigned i = 0; i < kInnerCap; ++i) {
        if (i >= in->count) {
          if (in->key[i] != kPad || in->gap[i] != 0 || in->child[i] != nullptr) return false;
          continue;
        }
        const Node* c = in->child[i];
        if (c == nullptr || c->level + 1 != in->level) return false;
        Addr cmin = 0;
        Addr cgap = 0;
        if (!node(c, in, cmin, cgap)) return false;
        if (in->key[i] != cmin || in->gap[i] != cgap) return false;
        g = std::max(g, cgap);
      }
      min_out = in->key[0];
      gap_out = g;
      return true;
    }

    bool leaf(const Leaf* l, Addr& min_out, Addr& gap_out) {
      ++leaves;
      if (l->count < 1 || l->count > kLeafCap) return false;
      if (l->prev != prev_leaf) return false;
      if (prev_leaf != nullptr ? prev_leaf->next != l : t.head != l) return false;
      Addr g = 0;
      for (unsigned i = 0; i < kLeafCap; ++i) {
        const Vma& v = l->v[i];
        if (i >= l->count) {
          if (v.start != kPad) return false;
          continue;
        }
        if (v.start >= v.end) return false;
        if (vmas > 0 && v.start < pred_end) return false;  // order + overlap
        g = std::max(g, v.start - pred_end);
        pred_end = v.end;
        ++vmas;
      }
      if (g != l->max_gap) return false;
      prev_leaf = l;
      min_out = l->v[0].start;
      gap_out = g;
      return true;
    }
  };

  bool check() const {
    if (root == nullptr) {
      return n_vmas == 0 && head == nullptr && tail == nullptr && n_leaves == 0 && n_inners == 0;
    }
    Checker c{*this};
    Addr mn = 0;
    Addr g = 0;
    if (!c.node(root, nullptr, mn, g)) return false;
    if (c.prev_leaf != tail || tail->next != nullptr) return false;
    if (c.vmas != n_vmas || c.leaves != n_leaves || c.inners != n_inners) return false;
    const Leaf* h = hint.load(std::memory_order_relaxed);
    if (h != nullptr) {
      // The hint must be a live leaf.
      bool found = false;
      for (const Leaf* l = head; l != nullptr && !found; l = l->next) found = (l == h);
      if (!found) return false;
    }
    return true;
  }
};

// ---- public interface ------------------------------------------------------------
// A null impl_ is an empty tree (default-constructed or moved-from).

VmaTree::VmaTree() = default;
VmaTree::~VmaTree() = default;

VmaTree::VmaTree(const VmaTree& other) {
  if (other.impl_ != nullptr && other.impl_->root != nullptr) {
    auto copy = std::make_unique<Impl>();
    copy->copy_from(*other.impl_);
    impl_ = std::move(copy);
  }
}

// Assignment reuses this tree's node memory (as std::vector reuses its
// capacity): the nodes go back to this arena's free lists and the copy takes
// them again, so memory that is already faulted in, cached and in the TLB
// holds the copy. Basic guarantee: if an allocation throws, the tree is empty.
VmaTree& VmaTree::operator=(const VmaTree& other) {
  if (this == &other) return *this;
  if (impl_ == nullptr) {
    VmaTree copy(other);
    impl_.swap(copy.impl_);
    return *this;
  }
  impl_->clear();
  if (other.impl_ == nullptr) return *this;
  try {
    impl_->copy_from(*other.impl_);
  } catch (...) {
    impl_->clear();
    throw;
  }
  return *this;
}

VmaTree::VmaTree(VmaTree&&) noexcept = default;
VmaTree& VmaTree::operator=(VmaTree&&) noexcept = default;

std::size_t VmaTree::size() const noexcept { return impl_ != nullptr ? impl_->n_vmas : 0; }

void VmaTree::clear() noexcept {
  if (impl_ != nullptr) impl_->clear();
}

const Vma* VmaTree::find(Addr addr) const noexcept {
  return impl_ != nullptr ? impl_->find(addr) : nullptr;
}
Vma* VmaTree::find(Addr addr) noexcept { return const_cast<Vma*>(std::as_const(*this).find(addr)); }

const Vma* VmaTree::lower(Addr addr) const noexcept {
  return impl_ != nullptr ? impl_->lower(addr) : nullptr;
}
Vma* VmaTree::lower(Addr addr) noexcept {
  return const_cast<Vma*>(std::as_const(*this).lower(addr));
}

const Vma* VmaTree::before(Addr addr) const noexcept {
  return impl_ != nullptr ? impl_->before(addr) : nullptr;
}
Vma* VmaTree::before(Addr addr) noexcept {
  return const_cast<Vma*>(std::as_const(*this).before(addr));
}

const Vma* VmaTree::first() const noexcept {
  return impl_ != nullptr && impl_->head != nullptr ? &impl_->head->v[0] : nullptr;
}
const Vma* VmaTree::last() const noexcept {
  if (impl_ == nullptr || impl_->tail == nullptr) return nullptr;
  return &impl_->tail->v[impl_->tail->count - 1];
}
Vma* VmaTree::first() noexcept { return const_cast<Vma*>(std::as_const(*this).first()); }
Vma* VmaTree::last() noexcept { return const_cast<Vma*>(std::as_const(*this).last()); }

Vma& VmaTree::insert(const Vma& vma) {
  if (impl_ == nullptr) impl_ = std::make_unique<Impl>();
  return impl_->insert(vma);
}

void VmaTree::erase(Addr start) noexcept {
  assert(impl_ != nullptr);
  impl_->erase(start);
}

Vma& VmaTree::set_bounds(Addr start, Addr new_start, Addr new_end) {
  assert(impl_ != nullptr);
  return impl_->set_bounds(start, new_start, new_end);
}

Vma& VmaTree::split(Vma& v, Addr at) { return impl_->split(&v, at); }

std::optional<Range> VmaTree::gap_rev(Addr low, Addr high, Addr size) const noexcept {
  if (impl_ == nullptr) {
    if (low < high && high - low >= std::max<Addr>(size, 1)) return Range{low, high};
    return std::nullopt;
  }
  return impl_->gap(low, high, size, true);
}

std::optional<Range> VmaTree::gap(Addr low, Addr high, Addr size) const noexcept {
  if (impl_ == nullptr) {
    if (low < high && high - low >= std::max<Addr>(size, 1)) return Range{low, high};
    return std::nullopt;
  }
  return impl_->gap(low, high, size, false);
}

const Vma* VmaTree::next_of(const Vma& v) const noexcept {
  return impl_ != nullptr ? impl_->next_of(v) : nullptr;
}
const Vma* VmaTree::prev_of(const Vma& v) const noexcept {
  return impl_ != nullptr ? impl_->prev_of(v) : nullptr;
}
Vma* VmaTree::next_of(const Vma& v) noexcept {
  return const_cast<Vma*>(std::as_const(*this).next_of(v));
}
Vma* VmaTree::prev_of(const Vma& v) noexcept {
  return const_cast<Vma*>(std::as_const(*this).prev_of(v));
}

std::size_t VmaTree::memory_bytes() const noexcept {
  if (impl_ == nullptr) return 0;
  return sizeof(Impl) + impl_->arena.reserved_bytes();
}

std::size_t VmaTree::live_bytes() const noexcept {
  if (impl_ == nullptr) return 0;
  return sizeof(Impl) + impl_->n_leaves * sizeof(Leaf) + impl_->n_inners * sizeof(Inner);
}

bool VmaTree::check_invariants() const { return impl_ == nullptr || impl_->check(); }

}  // namespace vmseal
