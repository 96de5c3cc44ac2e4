// The native side of a difftest: a forked child that makes each call through
// raw system calls, confined to a window of the address space, and whose
// layout is read back from /proc/PID/smaps after every call.
//
// The child runs only system calls after fork (no allocation, no stdio), so it
// is safe to fork it from a multithreaded process and to let calls discard or
// unmap anything inside the window.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vmseal/difftest/op.hpp"
#include "vmseal/engine/types.hpp"
#include "vmseal/kernel/pagemap.hpp"
#include "vmseal/kernel/smaps.hpp"

namespace vmseal::difftest {

// Where a job's child may make changes: [base, base + pages) with a hole of
// guard pages on each side, and above them a reserved area for filler VMAs
// (used to bring the process near vm.max_map_count).
struct Window {
  Addr base = 0;
  std::uint64_t pages = 0;
  std::uint64_t guard_pages = 0;
  Addr filler = 0;  // start of the filler reservation (PROT_NONE in the parent)
  std::uint64_t filler_pages = 0;
  Addr end() const noexcept { return base + pages * kPageSize; }
  Addr reservation_start() const noexcept { return base - guard_pages * kPageSize; }
  Addr reservation_end() const noexcept { return filler + filler_pages * kPageSize; }
};

// One VMA as PROCMAP_QUERY tells it: where it lies, its protections and
// whether shared (PROCMAP_QUERY_VMA_*), its offset and file.
struct VmaBrief {
  Addr start = 0;
  Addr end = 0;
  std::uint64_t flags = 0;
  std::uint64_t offset = 0;
  std::uint64_t inode = 0;
  std::uint32_t dev_major = 0;
  std::uint32_t dev_minor = 0;
  friend bool operator==(const VmaBrief&, const VmaBrief&) = default;
};

class Zygote;

class NativeProcess {
 public:
  NativeProcess() = default;
  ~NativeProcess();
  NativeProcess(const NativeProcess&) = delete;
  NativeProcess& operator=(const NativeProcess&) = delete;

  // Forks the child; it unmaps the window and its guard holes and waits for
  // calls. False with a message on failure.
  bool start(const Window& w, const Fds& fds, std::string* error);
  // Makes the call in the child. For Fork, the child forks, the parent side
  // exits, and this object follows the new process (its pid is returned).
  // False when the child died or the pipe broke.
  bool call(const Op& op, SysResult& result, std::string* error);
  // The program break, read with brk(0).
  bool current_brk(Addr& out, std::string* error);
  // start_brk from /proc/PID/stat.
  bool start_brk(Addr& out, std::string* error);
  // The child's smaps entries below `stop_at`.
  bool read_layout(std::vector<kernel::SmapsEntry>& out, std::string* error,
                   Addr stop_at = ~Addr{0});
  // Adds the child's guard pages in [start, end) (from its pagemap) to `out`.
  bool read_guards(Addr start, Addr end, GuardPages& out, std::string* error);
  // The VMA covering `at` or the next one above (PROCMAP_QUERY on
  // /proc/PID/maps, Linux 6.11+: no walk of the VMAs below). `found` is false
  // when there is none. False with a message when the query fails.
  bool query_vma(Addr at, VmaBrief& out, bool& found, std::string* error);
  void stop() noexcept;
  pid_t pid() const noexcept { return pid_; }

 private:
  friend class Zygote;
  // Follows a child the zygote forked, ready and serving on these pipe ends.
  bool adopt(pid_t pid, int req_fd, int resp_fd, std::string* error);
  bool await_ready(std::string* error);
  bool roundtrip(const void* req, std::int64_t& ret, std::int64_t& err, std::string* error);
  pid_t pid_ = -1;
  int req_fd_ = -1;
  int resp_fd_ = -1;
  int maps_fd_ = -1;  // /proc/PID/maps, opened by the first query_vma()
  bool open_proc_files(std::string* error);
  kernel::SmapsReader smaps_;
  kernel::PagemapReader pagemap_;
};

// A job's template child: forked once, it clears the window (and near the
// limit splits the filler area), then forks a child for each sequence. Fork
// copies its VMAs (all but VM_DONTCOPY ones), so each child starts with the
// same layout, for the zygote's does not change: the job reads and imports it once instead of once
// a sequence, and a zygote with 65,000 VMAs forks faster than a fresh child splits them. The zygote
// dies with the thread that started it (PR_SET_PDEATHSIG), as its children do.
class Zygote {
 public:
  Zygote() = default;
  ~Zygote();
  Zygote(const Zygote&) = delete;
  Zygote& operator=(const Zygote&) = delete;

  // Forks the zygote; it clears the window and waits. False with a message.
  bool start(const Window& w, const Fds& fds, std::string* error);
  // Splits the filler area at `at` into about `vmas` VMAs (alternating
  // protections), in the zygote.
  bool make_filler(Addr at, std::uint64_t vmas, std::string* error);
  // Forks a child of the zygote, this process's own child (CLONE_PARENT),
  // and makes `np` follow it. False with a message; a zygote that stopped
  // answering is stopped.
  bool spawn(NativeProcess& np, std::string* error);
  void stop() noexcept;
  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }

 private:
  // A request (with the descriptors `fds`, two, when not null), then its
  // answer. Both stop the zygote on failure.
  bool send(const void* q, const int* fds, std::string* error);
  bool answer(std::int64_t& ret, std::int64_t& err, std::string* error);
  pid_t pid_ = -1;
  int ctl_fd_ = -1;
};

// Makes this process a child subreaper so forks of a child come back to it.
void become_subreaper() noexcept;

}  // namespace vmseal::difftest
