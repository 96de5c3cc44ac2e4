// NodeArena: the memory under one VmaTree's nodes.
//
// A tree of 65,530 VMAs is about 4 MB of nodes, and a lookup touches one node
// per level at random places in it. Allocated one by one with operator new,
// those nodes are spread over thousands of 4 KiB pages, and every level of
// every cold lookup also misses the TLB; under a hypervisor's nested paging a
// TLB miss costs a two-dimensional page walk, and a kernel with page-table
// isolation and no PCID flushes the TLB on every system call, so a program
// that alternates system calls with engine calls pays those walks each time.
//
// The arena carves fixed-size blocks from chunks that double in size from
// 4 KiB up to 2 MiB, so the unused tail of the newest chunk is at most about
// as large as everything before it, and at most 2 MiB. Chunks of 2 MiB are
// mapped 2 MiB-aligned and advised as transparent huge pages (MADV_HUGEPAGE),
// so all but the first 2 MiB of a large tree sit in a few TLB entries. Small
// trees (most address spaces in tests, a fork of a small process) stay in
// small chunks. Freed blocks go to a free list per size and are reused; chunks
// are returned only when the arena is destroyed, so an arena holds the memory
// of the largest tree it has held.
//
// Two size classes, both multiples of 64 bytes and 64-byte aligned, so that a
// node never straddles more cache lines than its size needs.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace vmseal::detail {

class NodeArena {
 public:
  static constexpr std::size_t kLine = 64;
  static constexpr std::size_t kFirstChunk = 4096;
  static constexpr std::size_t kHugeChunk = std::size_t{2} << 20;

  // `small` and `large`: the two block sizes (rounded up to 64 bytes).
  NodeArena(std::size_t small, std::size_t large) noexcept : size_{round(small), round(large)} {}
  NodeArena(const NodeArena&) = delete;
  NodeArena& operator=(const NodeArena&) = delete;
  ~NodeArena() {
    for (const Chunk& c : chunks_) {
      if (c.bytes >= kHugeChunk) {
        (void)::syscall(SYS_munmap, c.base, c.bytes);
      } else {
        ::operator delete (c.base, std::align_val_t{kLine});
      }
    }
  }

  // A block of size class `k` (0 small, 1 large). Throws std::bad_alloc.
  void* take(unsigned k) {
    if (Free* f = free_[k]; f != nullptr) {
      free_[k] = f->next;
      return f;
    }
    if (static_cast<std::size_t>(end_ - bump_) < size_[k]) grow();
    void* p = bump_;
    bump_ += size_[k];
    carved_ += size_[k];
    return p;
  }
  // Returns a block taken from class `k`.
  void give(unsigned k, void* p) noexcept {
    Free* f = static_cast<Free*>(p);
    f->next = free_[k];
    free_[k] = f;
  }

  // Bytes of blocks handed out so far, live or on a free list.
  std::size_t carved_bytes() const noexcept { return carved_; }
  // Bytes of all chunks, the unused tail of the newest included.
  std::size_t reserved_bytes() const noexcept { return reserved_; }

 private:
  struct Free {
    Free* next;
  };
  struct Chunk {
    void* base;
    std::size_t bytes;
  };

  static constexpr std::size_t round(std::size_t n) noexcept {
    return (n + kLine - 1) / kLine * kLine;
  }

  void grow() {
    const std::size_t bytes = std::max(next_chunk_, size_[1]);
    chunks_.reserve(chunks_.size() + 1);  // so that push_back below cannot throw
    void* base =
        bytes >= kHugeChunk ? map_huge_chunk() : ::operator new (bytes, std::align_val_t{kLine});
    chunks_.push_back(Chunk{base, bytes});
    bump_ = static_cast<char*>(base);
    end_ = bump_ + bytes;
    reserved_ += bytes;
    next_chunk_ = std::min(next_chunk_ * 2, kHugeChunk);
  }

  // A fresh 2 MiB-aligned mapping of kHugeChunk bytes, advised as a huge page
  // before anything touches it (memory from malloc may already be faulted in
  // 4 KiB pages, and then only khugepaged could collapse it, later). Raw
  // system calls: <sys/mman.h>'s macros would clash with kernel/abi.hpp.
  static void* map_huge_chunk() {
    constexpr long kProtRw = 0x3, kMapPrivateAnon = 0x22, kMadvHugepage = 14;
    const long got = ::syscall(SYS_mmap, nullptr, 2 * kHugeChunk, kProtRw, kMapPrivateAnon, -1, 0);
    if (got == -1) throw std::bad_alloc();
    const auto raw = static_cast<std::uintptr_t>(got);
    const std::uintptr_t base = (raw + kHugeChunk - 1) & ~(std::uintptr_t{kHugeChunk} - 1);
    if (base > raw) (void)::syscall(SYS_munmap, raw, base - raw);
    if (const std::uintptr_t end = raw + 2 * kHugeChunk; end > base + kHugeChunk)
      (void)::syscall(SYS_munmap, base + kHugeChunk, end - base - kHugeChunk);
    (void)::syscall(SYS_madvise, base, kHugeChunk, kMadvHugepage);
    return reinterpret_cast<void*>(base);
  }

  std::size_t size_[2];
  Free* free_[2] = {nullptr, nullptr};
  char* bump_ = nullptr;
  char* end_ = nullptr;
  std::size_t next_chunk_ = kFirstChunk;
  std::size_t carved_ = 0;
  std::size_t reserved_ = 0;
  std::vector<Chunk> chunks_;
};

}  // namespace vmseal::detail
