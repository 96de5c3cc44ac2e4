// AddressSpace: a Linux 6.18 x86-64 mm_struct. It knows Linux's rules: argument
// validation and errno precedence, split and merge, VM_ACCOUNT, anon_vma,
// placement, max_map_count, and where a seal stops an operation.
//
// Every system call is built from a few primitives, and the seal checks live in
// those primitives only (see docs/engine.md):
//   gather_unmap()   unmap a range          (munmap, MAP_FIXED, mremap target, brk shrink, shmdt)
//   modify_flags()   change a range's flags (mprotect, mseal, mlock, madvise flag advice)
//   discard check    destroy contents       (madvise discard advice)
//   move/resize      relocate or resize     (mremap)
//
// Methods named after system calls take the raw register values and return
// what the kernel returns. Nothing here does I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmseal/engine/files.hpp"
#include "vmseal/engine/guard_pages.hpp"
#include "vmseal/engine/seal_policy.hpp"
#include "vmseal/engine/types.hpp"
#include "vmseal/engine/vma.hpp"
#include "vmseal/engine/vma_tree.hpp"

namespace vmseal {

// A process's capability sets (bit n is capability n), as capget(2) shows
// them; mm checks CAP_IPC_LOCK, CAP_SYS_RAWIO and CAP_SYS_RESOURCE in the
// effective set. Capabilities are per thread in Linux; the engine keeps one
// set per address space (docs/engine.md).
struct Capabilities {
  std::uint64_t effective = 0;
  std::uint64_t permitted = 0;
  std::uint64_t inheritable = 0;
  std::uint64_t bounding = ~std::uint64_t{0};  // every capability
  // euid 0: execve gives back the bounding set (no file capabilities,
  // securebits or ambient set are modelled).
  bool is_root = false;
  bool has(int cap) const noexcept { return ((effective >> cap) & 1) != 0; }
  static Capabilities root() noexcept;
  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

// Machine and process parameters that decide the outcome of calls.
struct Config {
  Addr task_size = 0x7ffffffff000ULL;  // TASK_SIZE with 4-level paging
  // The kernel's mmap_min_addr: max(vm.mmap_min_addr, CONFIG_LSM_MMAP_MIN_ADDR).
  // Hints are rounded up to it and searches start above it.
  Addr mmap_min_addr = 0x10000;
  // vm.mmap_min_addr itself: MAP_FIXED below it needs CAP_SYS_RAWIO.
  Addr dac_mmap_min_addr = 0x1000;
  Addr mmap_base = 0x7ffff7fff000ULL;         // top-down start (no ASLR, 8 MiB stack rlimit)
  Addr mmap_legacy_base = 0x2aaaaaaab000ULL;  // TASK_UNMAPPED_BASE (bottom-up fallback)
  Addr stack_guard_gap = 256 * kPageSize;
  std::uint64_t max_map_count = 65530;  // vm.max_map_count
  bool overcommit_never = false;        // vm.overcommit_memory == 2
  // Heuristic overcommit refuses a single commit larger than RAM + swap.
  std::uint64_t commit_limit_pages = (24ULL << 30) >> kPageShift;
  // Resource limits (soft and hard), bytes. RLIMIT_MEMLOCK does not bind
  // CAP_IPC_LOCK; RLIMIT_STACK bounds stack growth.
  std::uint64_t rlimit_memlock = 8ULL << 20;
  std::uint64_t rlimit_memlock_max = 8ULL << 20;
  std::uint64_t rlimit_stack = 8ULL << 20;
  std::uint64_t rlimit_stack_max = ~0ULL;
  // RLIMIT_AS bounds total_vm, RLIMIT_DATA data_vm (may_expand_vm()) and the
  // heap plus data segment (brk's check_data_rlimit()); unlimited by default.
  std::uint64_t rlimit_as = ~0ULL;
  std::uint64_t rlimit_as_max = ~0ULL;
  std::uint64_t rlimit_data = ~0ULL;
  std::uint64_t rlimit_data_max = ~0ULL;
  Capabilities caps;  // a user with none; set_privileged() for root
  // Root with every capability, or a user with none (vmseal sim --privileged).
  void set_privileged(bool root) noexcept { caps = root ? Capabilities::root() : Capabilities{}; }
  // CAP_IPC_LOCK and CAP_SYS_RAWIO both.
  bool privileged() const noexcept;
  // vm.unprivileged_userfaultfd: userfaultfd(2) without UFFD_USER_MODE_ONLY
  // for a process without CAP_SYS_PTRACE (0 by default, as on the probe machine).
  bool unprivileged_userfaultfd = false;
  bool pku = false;  // the CPU has protection keys
  bool thp = true;   // CONFIG_TRANSPARENT_HUGEPAGE (2 MiB alignment of large anon maps)
  // A read fault on private anonymous memory maps the shared zero page and
  // gives the VMA no anon_vma (upstream do_anonymous_page()). Some kernel
  // builds allocate a real page instead (docs/kernel-rules.md 0.1);
  // kernel::read_fault_maps_zero_page() tells which one is running.
  bool read_fault_zero_page = true;
  // The seal design the primitives enforce (seal_policy.hpp); Linux 6.18 by
  // default. Everything else about the calls stays Linux 6.18.
  SealPolicy seal = seal_policy::linux_6_18();
  // vm.memfd_noexec (0, 1 or 2): what memfd_create(2) does without MFD_EXEC
  // or MFD_NOEXEC_SEAL (check_sysctl_memfd_noexec()).
  int memfd_noexec = 0;
  // memfd_secret(2) is there (CONFIG_SECRETMEM, secretmem.enable): ENOSYS if not.
  bool secretmem = true;
  // The huge page sizes with a hugetlb hstate, as a mask of log2 sizes (bit
  // 21: 2 MiB, bit 30: 1 GiB). The first is the default (MAP_HUGETLB with no
  // size). Every pool is empty: only MAP_NORESERVE mappings succeed
  // (docs/kernel-rules.md §6e).
  std::uint64_t huge_page_shifts = (std::uint64_t{1} << 21) | (std::uint64_t{1} << 30);
};

// Counters the kernel keeps in mm_struct, in pages. vm_stat_account() sorts a
// VMA's pages by its flags: exec (VM_EXEC without VM_WRITE), else stack
// (VM_GROWSDOWN), else data (private and writable); RLIMIT_AS bounds total_vm
// and RLIMIT_DATA data_vm.
struct MmCounters {
  std::uint64_t total_vm = 0;
  std::uint64_t locked_vm = 0;
  std::uint64_t data_vm = 0;
  std::uint64_t exec_vm = 0;
  std::uint64_t stack_vm = 0;
};

enum class Access : std::uint8_t { Read, Write, Exec };
enum class FaultResult : std::uint8_t { Ok, Segv, Bus };

// A mapping the kernel sets up at exec (used to build an initial layout).
struct ExecMapping {
  Addr start = 0;
  Addr end = 0;
  VmFlags flags = 0;
  std::uint64_t pgoff = 0;
  FileId file = 0;
  SpecialKind special = SpecialKind::None;
};
struct ExecImage {
  std::vector<ExecMapping> mappings;
  Addr start_brk = 0;    // the initial program break (no heap VMA until it grows)
  Addr start_stack = 0;  // an address inside [stack]
  // mm->start_data and mm->end_data (binfmt_elf: the highest PT_LOAD's start
  // and the end of its file contents): brk's RLIMIT_DATA check counts them.
  Addr start_data = 0;
  Addr end_data = 0;
};

// Where the kernel put a non-fixed mapping (mmap without MAP_FIXED, mremap
// with MREMAP_MAYMOVE alone), for replaying calls the real kernel made: a
// trace, a native run. The engine's allocator is exact only where it sees the
// whole address space; elsewhere (ASLR, mappings made behind a trace's back)
// the kernel's choice is taken, with the call otherwise unchanged — the same
// checks, limits and merges as a non-fixed call, nothing unmapped.
struct RecordedPlacement {
  Addr addr = 0;
  // When the engine's own choice lies in [trust_lo, trust_hi), it is kept (and
  // a disagreement with the kernel shows as a different result).
  Addr trust_lo = 0;
  Addr trust_hi = 0;
};

// The capability sets after execve of a file without capabilities.
Capabilities caps_after_exec(const Capabilities& before) noexcept;

class AddressSpace {
 public:
  explicit AddressSpace(Config cfg = {}, std::shared_ptr<FileTable> files = nullptr);

  // ---- system calls --------------------------------------------------------
  SysResult mmap(Addr addr, std::uint64_t len, std::uint64_t prot, std::uint64_t flags, int fd,
                 std::uint64_t off);
  SysResult munmap(Addr addr, std::uint64_t len);
  SysResult mprotect(Addr addr, std::uint64_t len, std::uint64_t prot);
  SysResult pkey_mprotect(Addr addr, std::uint64_t len, std::uint64_t prot, int pkey);
  SysResult mremap(Addr old_addr, std::uint64_t old_len, std::uint64_t new_len, std::uint64_t flags,
                   Addr new_addr);
  SysResult madvise(Addr addr, std::uint64_t len, int advice);
  SysResult mlock(Addr addr, std::uint64_t len);
  SysResult mlock2(Addr addr, std::uint64_t len, std::uint64_t flags);
  SysResult munlock(Addr addr, std::uint64_t len);
  SysResult mlockall(std::uint64_t flags);
  SysResult munlockall();
  SysResult brk(Addr addr);
  SysResult mseal(Addr addr, std::uint64_t len, std::uint64_t flags);
  // The typed-seal RFC's mseal(addr, len, types, flags). Under a policy that
  // is not typed the kernel reads three arguments, so `types` is the flags
  // argument and `flags` is ignored, as the kernel would.
  SysResult mseal_typed(Addr addr, std::uint64_t len, std::uint64_t types, std::uint64_t flags);
  SysResult msync(Addr addr, std::uint64_t len, std::uint64_t flags);
  // The kernel's own operations on a mapping it made in this mm (seed 003's
  // secret memory; no system call asks for them, a script's kseal, kunseal
  // and krelease do). kseal.cpp says what each does under each policy.
  //   kernel_seal     the kernel seals [addr, addr + len)
  //   kernel_unseal   the first half of kernel-seal:unseal's release alone
  //                   (as if the mmap lock were dropped after it); ENOSYS
  //                   under any other policy, which has no unseal
  //   kernel_release  the kernel unmaps the range, past its seal if the
  //                   policy has a way (SealPolicy::kernel_release)
  SysResult kernel_seal(Addr addr, std::uint64_t len);
  SysResult kernel_unseal(Addr addr, std::uint64_t len);
  SysResult kernel_release(Addr addr, std::uint64_t len);
  // SysV shm: `segment` is the open file of the segment (FileKind::SysvShm,
  // size set). Returns the attach address.
  SysResult shmat(FileId segment, Addr addr, std::uint64_t shmflg);
  SysResult shmdt(Addr addr);
  // prctl(2), the options that decide memory calls: PR_SET_MDWE and
  // PR_GET_MDWE (memory-deny-write-execute). Any other option: EINVAL.
  SysResult prctl(std::uint64_t option, std::uint64_t arg2, std::uint64_t arg3, std::uint64_t arg4,
                  std::uint64_t arg5);
  // setrlimit(2) / prlimit64(2) of this process: the limits mm reads
  // (RLIMIT_MEMLOCK, RLIMIT_STACK); other resources are EINVAL here.
  // `raiser`: the capabilities of the process that asks (itself, or the
  // caller of prlimit64 on another pid).
  SysResult setrlimit(int resource, std::uint64_t cur, std::uint64_t max,
                      const Capabilities& raiser);
  // capset(2) of this process (header pid 0): the new sets, as cap_capset() allows.
  SysResult capset(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable);
  // userfaultfd(2): a context whose mm is this one, and its fd (the lowest
  // free from 3; a caller replaying a log moves it, fds()).
  SysResult userfaultfd(std::uint64_t flags);
  // ioctl(2) on a userfaultfd of this process: UFFDIO_API, UFFDIO_REGISTER
  // (`mode`: UFFDIO_REGISTER_MODE_*) and UFFDIO_UNREGISTER. An fd that is not
  // open is EBADF, one that is no userfaultfd ENOTTY. Registration works on
  // the context's mm, which is this one unless the fd came from another
  // process (a fork): a caller that knows the processes calls uffd_register()
  // on that mm instead.
  SysResult uffdio_api(int fd, std::uint64_t api, std::uint64_t features);
  SysResult uffdio_register(int fd, Addr start, std::uint64_t len, std::uint64_t mode);
  SysResult uffdio_unregister(int fd, Addr start, std::uint64_t len);
  // close(2) in a process that shares its open files with no other: the
  // last fd of a userfaultfd releases its context (uffd_release()).
  SysResult close(int fd);
  // UFFDIO_REGISTER / UFFDIO_UNREGISTER with context `ctx` on this mm
  // (fs/userfaultfd.c). A context whose mm is another finds no VMA here, as
  // the kernel's finds none once its mm is gone: EINVAL.
  SysResult uffd_register(UffdId ctx, Addr start, std::uint64_t len, std::uint64_t mode);
  SysResult uffd_unregister(UffdId ctx, Addr start, std::uint64_t len);
  // userfaultfd_release_all(): the context's last reference is gone; every
  // VMA of this mm registered with it is unregistered (and merged where it
  // can be). The caller frees the id (FileTable::free_uffd()).
  void uffd_release(UffdId ctx);
  // The context of a userfaultfd fd of this process, 0 if it is none.
  UffdId uffd_of(int fd) const noexcept;

  // ---- the files whose state decides memory calls (memfd.cpp) -------------
  // memfd_create(2): a shmem file, or with MFD_HUGETLB a hugetlbfs one, at the
  // lowest free fd, with the seals its flags give. `name` is without "memfd:".
  SysResult memfd_create(std::uint64_t flags, std::string_view name = {});
  // memfd_secret(2): a secretmem file at the lowest free fd.
  SysResult memfd_secret(std::uint64_t flags);
  // fcntl(2) with F_ADD_SEALS or F_GET_SEALS (memfd_fcntl()); other commands
  // are EINVAL here. F_SEAL_WRITE is EBUSY while a VM_SHARED|VM_MAYWRITE VMA
  // maps the inode in any mm: this one's VMAs, or `mapped_elsewhere` (another
  // mm's, which only the caller can see: maps_inode_writably() of each).
  SysResult fcntl(int fd, std::uint64_t cmd, std::uint64_t arg, bool mapped_elsewhere = false);
  // ftruncate(2): the size rules of shmem (F_SEAL_SHRINK, F_SEAL_GROW),
  // hugetlbfs (huge page multiples) and secretmem (set once) files.
  SysResult ftruncate(int fd, std::uint64_t length);
  // Whether a VMA of this mm maps the inode of `file` VM_SHARED|VM_MAYWRITE
  // (what the kernel's i_mmap_writable counts).
  bool maps_inode_writably(FileId file) const noexcept;

  // The placement the next calls' non-fixed searches should follow (the
  // caller clears it after the call it was meant for), and whether a search
  // has used it since it was set.
  void set_recorded_placement(const RecordedPlacement& p) noexcept {
    placement_ = p;
    placement_used_ = false;
  }
  void clear_recorded_placement() noexcept {
    placement_.reset();
    placement_used_ = false;
  }
  bool recorded_placement_used() const noexcept { return placement_used_; }

  // ---- process events ------------------------------------------------------
  // A page fault at `addr`. A write fault on private memory assigns an anon_vma;
  // a fault below a VM_GROWSDOWN VMA grows it (the stack).
  FaultResult fault(Addr addr, Access access);
  // fork(): the child's address space (seals inherited, VM_DONTCOPY dropped,
  // locks cleared, userfaultfd registrations dropped unless their context
  // has UFFD_FEATURE_EVENT_FORK, anon_vmas shared with the parent's).
  AddressSpace fork() const;
  // execve(): a new mm. Nothing survives, seals included; MDWE does unless
  // it was set with PR_MDWE_NO_INHERIT (mmf_init_flags()). Close-on-exec fds
  // are closed (a userfaultfd among them is the caller's to release).
  void exec(const ExecImage& image);
  // mm_alloc() at execve: a new, empty mm on the same file table and the fds
  // not closed on exec, with what an mm inherits from the one it replaces
  // (as exec() keeps it).
  AddressSpace successor_for_exec() const;
  // exit: the mm is torn down; seals do not stop it.
  void exit();

  // ---- files ---------------------------------------------------------------
  FileTable& files() noexcept { return *files_; }
  const FileTable& files() const noexcept { return *files_; }
  std::shared_ptr<FileTable> shared_files() const noexcept { return files_; }
  FdTable& fds() noexcept { return fds_; }
  const FdTable& fds() const noexcept { return fds_; }

  // ---- state ---------------------------------------------------------------
  const VmaTree& vmas() const noexcept { return tree_; }
  // Pages holding a guard marker (MADV_GUARD_INSTALL); always inside VMAs.
  const GuardPages& guard_pages() const noexcept { return guards_; }
  std::size_t map_count() const noexcept { return tree_.size(); }
  const Config& config() const noexcept { return cfg_; }
  Config& config() noexcept { return cfg_; }
  const MmCounters& counters() const noexcept { return counters_; }
  Addr start_brk() const noexcept { return start_brk_; }
  Addr brk_value() const noexcept { return brk_; }
  Addr start_stack() const noexcept { return start_stack_; }
  VmFlags def_flags() const noexcept { return def_flags_; }
  // This mm's identity in its file table (a userfaultfd context's `mm`):
  // fork, exec and a successor for exec make a new one; a copy shares it.
  std::uint32_t mm_id() const noexcept { return mm_id_; }
  // MDWE: PR_MDWE_REFUSE_EXEC_GAIN, PR_MDWE_NO_INHERIT (what PR_GET_MDWE returns).
  std::uint64_t mdwe() const noexcept { return mdwe_; }
  // Sets the program break without a system call (an initial layout).
  Addr start_data() const noexcept { return start_data_; }
  Addr end_data() const noexcept { return end_data_; }
  void set_data_segment(Addr start_data, Addr end_data) noexcept {
    start_data_ = start_data;
    end_data_ = end_data;
  }
  // Pages the process has mapped that are not among the engine's VMAs (the
  // mappings made before a trace began): counted against RLIMIT_AS and
  // RLIMIT_DATA as the kernel counts them, never unmapped.
  // Negative counts take them back.
  void account_unseen(std::int64_t total_pages, std::int64_t data_pages) noexcept;
  void set_brk(Addr start_brk, Addr brk) noexcept {
    start_brk_ = start_brk;
    brk_ = brk;
  }
  // Inserts a VMA as it is (for building a layout read from a live process or
  // a test drawing). Precondition: it overlaps nothing.
  void insert_vma(const Vma& vma);
  // The anon_vma a write fault would give `vma` (reusing a neighbour's when the
  // kernel would), assigning it.
  AnonVmaId anon_vma_prepare(Addr vma_start);
  AnonVmaId new_anon_vma_id() noexcept { return next_anon_vma_++; }

 private:
  struct Populate;
  // Primitives.
  // can_modify_mm(): does a VMA overlapping [start, end) carry `seal`? Holes
  // are allowed. The up-front check of SealTiming::UpFront policies.
  bool range_has_seal(Addr start, Addr end, VmFlags seal) const noexcept;
  // The up-front check, when the policy has one: the policy's errno if a
  // VMA in [start, end) carries `seal`, else OK.
  // Inline: the default policy pays one predictable branch.
  Errno check_seal_up_front(Addr start, Addr end, VmFlags seal) const noexcept {
    if (cfg_.seal.timing != SealTiming::UpFront) return Errno::OK;
    return range_has_seal(start, end, seal) ? cfg_.seal.refused : Errno::OK;
  }
  // The discard rule: would `advice` be refused on this VMA?
  bool discard_refused(const Vma& v, int advice) const noexcept;
  // map_deny_write_exec(): MDWE refuses a VMA going from `old` to `neu`.
  bool map_deny_write_exec(VmFlags old, VmFlags neu) const noexcept;
  // mmf_init_flags(): the MDWE bits a new mm (fork, exec) inherits.
  std::uint64_t inherited_mdwe() const noexcept;
  // do_mseal(): `add` is what sealing adds (VM_SEALED; the kernel-seal:flag
  // policy's kernel seal adds vm::SEALED_UNMAPPABLE too).
  SysResult mseal_linux(Addr start, std::uint64_t len, std::uint64_t flags,
                        VmFlags add = vm::SEALED);
  SysResult seal_apply(Vma* first, Addr start, Addr end, VmFlags add);
  SysResult mimmutable(Addr start, std::uint64_t len, std::uint64_t flags);
  Errno gather_unmap(Addr start, Addr end);
  // What vms_gather_munmap_vmas() counts of the range it gathered.
  struct Gathered {
    std::uint64_t pages = 0;      // vms->nr_pages
    std::uint64_t accounted = 0;  // vms->nr_accounted (VM_ACCOUNT pages)
  };
  // `seal`: the flags that refuse the unmap (the policy's base_seal; none for
  // the kernel's release past its own seal).
  Errno gather_unmap(Addr start, Addr end, VmFlags seal);
  Errno gather_unmap_prepare(Addr start, Addr end, Gathered* gathered);
  Errno gather_unmap_prepare(Addr start, Addr end, Gathered* gathered, VmFlags seal);
  // A VMA carrying `seal` refuses to be unmapped, unless the policy exempts it.
  bool refuses_unmap(const Vma& v, VmFlags seal) const noexcept {
    return (v.flags & seal) != 0 && (v.flags & cfg_.seal.unmap_exempt()) == 0;
  }
  // The kernel-internal unseal of kernel-seal:unseal (kseal.cpp).
  SysResult unseal_range(Addr start, std::uint64_t len);
  void remove_range(Addr start, Addr end);
  Expected<Vma*> modify_range(Vma* prev, Vma* vma, Addr start, Addr end, VmFlags new_flags);
  Vma* merge_new_range(Vma* prev, Vma* next, Addr start, Addr end, VmFlags flags,
                       std::uint64_t pgoff, FileId file, AnonVmaId anon, bool anon_shared,
                       bool just_expand);
  // __split_vma(): the checks, then the tree's split. Gives the new upper
  // part ([at, end)); other pointers are invalidated.
  Expected<Vma*> split(Vma* vma, Addr at, bool check_limit);
  Errno populate(Addr start, Addr end, bool ignore_errors);
  Errno populate_vma(Vma& vma, Addr start, Addr end);
  Addr first_unfaultable(const Vma& vma, Addr start, Addr end) const;
  void relock_all_with(std::uint64_t mcl_flags);

  // Helpers shared by several calls.
  bool is_anonymous(const Vma& v) const noexcept;
  bool fault_assigns_anon_vma(const Vma& v, bool write) const noexcept;
  bool can_remove_by_merge(const Vma& v) const noexcept;
  bool vm_enough_memory(std::uint64_t pages) const noexcept;
  bool may_expand_vm(VmFlags flags, std::uint64_t npages) const noexcept;
  void vm_stat_account(VmFlags flags, std::int64_t npages) noexcept;
  Expected<Addr> get_unmapped_area(FileId file, Addr addr, std::uint64_t len, std::uint64_t pgoff,
                                   std::uint64_t flags, VmFlags vm_flags) const;
  Addr follow_recorded_placement(Addr own, std::uint64_t len) const;
  Expected<Addr> finish_unmapped_area(Addr result, std::uint64_t len, std::uint64_t flags) const;
  std::optional<Addr> hugetlb_unmapped_area(Addr addr, std::uint64_t len, std::uint64_t flags,
                                            std::uint64_t mask) const;
  std::optional<Addr> unmapped_area_topdown(Addr low, Addr high, std::uint64_t len,
                                            Addr start_gap) const;
  std::optional<Addr> unmapped_area_bottomup(Addr low, Addr high, std::uint64_t len,
                                             Addr start_gap) const;
  std::optional<Addr> arch_get_unmapped_area(Addr addr, std::uint64_t len, std::uint64_t flags,
                                             VmFlags vm_flags) const;
  std::optional<Addr> arch_get_unmapped_area_topdown(Addr addr, std::uint64_t len,
                                                     std::uint64_t flags, VmFlags vm_flags) const;
  Addr vm_start_gap(const Vma& v) const noexcept;
  SysResult do_mmap(FileId file, Addr addr, std::uint64_t len, std::uint64_t prot,
                    std::uint64_t flags, VmFlags vm_flags, std::uint64_t pgoff);
  SysResult mmap_region(FileId file, Addr addr, std::uint64_t len, VmFlags vm_flags,
                        std::uint64_t pgoff);
  SysResult do_mprotect_pkey(Addr start, std::uint64_t len, std::uint64_t prot, int pkey);
  SysResult do_mlock(Addr start, std::uint64_t len, VmFlags flags);
  Errno apply_vma_lock_flags(Addr start, std::uint64_t len, VmFlags flags);
  Errno mlock_fixup(Vma*& prev, Vma* vma, Addr start, Addr end, VmFlags new_flags);
  Errno madvise_vma(Vma*& prev, Vma*& vma, Addr start, Addr end, int advice, bool& relookup);
  SysResult madvise_populate(Addr start, Addr end, bool write);
  // memfd.cpp: the rules of the file kinds memfd_create and memfd_secret make.
  Errno memfd_check_seals_mmap(FileId file, VmFlags& vm_flags) const noexcept;
  Errno file_mmap_prepare(FileId file, std::uint64_t len, VmFlags& vm_flags,
                          std::uint64_t pgoff) noexcept;
  bool is_secretmem(const Vma& v) const noexcept;
  // The huge page size of a hugetlb VMA's file (0 for any other VMA).
  std::uint64_t huge_page_size(const Vma& v) const noexcept;
  std::uint64_t huge_page_size_of(FileId file) const noexcept;
  unsigned huge_shift_for(unsigned log2) const noexcept;
  // A hugetlbfs file for MAP_HUGETLB|MAP_ANONYMOUS (hugetlb_file_setup()).
  FileId anon_hugetlb_file(unsigned shift, std::uint64_t len);
  bool is_shmem(const Vma& v) const noexcept;
  bool vma_can_userfault(const Vma& v, VmFlags want, bool wp_async) const noexcept;
  Errno uffd_validate_range(Addr start, std::uint64_t len) const noexcept;
  Errno uffd_register_range(UffdId ctx, Vma* vma, VmFlags want, Addr start, Addr end);
  Expected<Vma*> uffd_clear_vma(Vma* prev, Vma* vma, Addr start, Addr end);
  void uffd_move_prep(Addr dst);
  void dup_userfaultfd(Vma& c, std::uint32_t child_mm,
                       std::vector<std::pair<UffdId, UffdId>>& made) const;

  struct Remap;
  SysResult remap_move(Remap& r);
  SysResult check_prep_vma(Remap& r);
  SysResult mremap_to(Remap& r);
  SysResult mremap_at(Remap& r);
  SysResult move_vma(Remap& r);
  Errno set_new_addr(Remap& r);
  Errno shrink_vma(Remap& r);

  Config cfg_;
  std::shared_ptr<FileTable> files_;
  FdTable fds_;
  VmaTree tree_;
  GuardPages guards_;
  MmCounters counters_;
  Addr start_brk_ = 0;
  Addr brk_ = 0;
  Addr start_stack_ = 0;
  Addr start_data_ = 0;
  Addr end_data_ = 0;
  VmFlags def_flags_ = 0;
  std::uint64_t mdwe_ = 0;  // MMF_HAS_MDWE, MMF_HAS_MDWE_NO_INHERIT as PR_MDWE_* bits
  std::uint32_t mm_id_ = 0;
  AnonVmaId next_anon_vma_ = 1;
  std::optional<RecordedPlacement> placement_;
  mutable bool placement_used_ = false;
};

// The last fput() of an open file: when no fd of `processes` names `file` of
// `files` any more and it is a userfaultfd, its context is released in the
// mm it belongs to, if that is among `processes` (userfaultfd_release()),
// and its id freed. `processes`: every live process that may hold the file
// (those on other file tables are skipped). True when it was released.
bool release_if_unheld(FileTable& files, FileId file, std::span<AddressSpace* const> processes);

}  // namespace vmseal
