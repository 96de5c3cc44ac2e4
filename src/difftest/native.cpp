#include "vmseal/difftest/native.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "vmseal/kernel/proc.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::difftest {

namespace {

constexpr int kCallTimeoutMs = 20000;

enum class ReqKind : std::int32_t { Syscall, Fault, Fork, Exit, Rlimit, Capset, Uffd, Uffdio };

struct Request {
  ReqKind kind = ReqKind::Syscall;
  std::int32_t pad = 0;
  long nr = 0;
  std::uint64_t a[6] = {};
};
struct Response {
  std::int64_t ret = 0;
  std::int64_t err = 0;
};

// Everything below runs in the child: system calls only.
bool read_full(int fd, void* p, std::size_t n) noexcept {
  auto* c = static_cast<char*>(p);
  while (n != 0) {
    const ssize_t r = ::read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}
bool write_full(int fd, const void* p, std::size_t n) noexcept {
  const auto* c = static_cast<const char*>(p);
  while (n != 0) {
    const ssize_t r = ::write(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// Closes every descriptor but those in keep[0..n) (which it sorts).
void close_all_but(int* keep, int n) noexcept {
  for (int i = 1; i < n; ++i)
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      const int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned lo = 0;
  for (int i = 0; i < n; ++i) {
    if (keep[i] < 0) continue;
    const auto k = static_cast<unsigned>(keep[i]);
    if (k > lo) syscall(SYS_close_range, lo, k - 1, 0);
    lo = k + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
}

// The window and its guard holes start empty; the filler area stays reserved.
long clear_window(const Window& w) noexcept {
  return syscall(SYS_munmap, w.reservation_start(), w.filler - w.reservation_start());
}

// The calls, one request at a time, until the pipe closes.
[[noreturn]] void serve(int req_fd, int resp_fd, int zero_fd) noexcept {
  for (;;) {
    Request q;
    if (!read_full(req_fd, &q, sizeof q)) _exit(0);
    Response r;
    long v = 0;
    switch (q.kind) {
      case ReqKind::Syscall:
        v = syscall(q.nr, q.a[0], q.a[1], q.a[2], q.a[3], q.a[4], q.a[5]);
        break;
      case ReqKind::Fault:
        v = syscall(SYS_read, zero_fd, q.a[0], 1);
        break;
      case ReqKind::Fork: {
        const long pid = syscall(SYS_fork);
        // The child goes on (the parent answers and exits; the child is
        // reparented to the difftest process, a subreaper).
        if (pid == 0) continue;
        v = pid;
        r.ret = v;
        r.err = v < 0 ? errno : 0;
        write_full(resp_fd, &r, sizeof r);
        if (v > 0) _exit(0);
        continue;
      }
      case ReqKind::Rlimit: {  // q.a: resource, soft, hard (the child's own)
        const rlimit lim{q.a[1], q.a[2]};
        v = syscall(SYS_prlimit64, 0, q.a[0], &lim, nullptr);
        break;
      }
      case ReqKind::Capset: {  // q.a: effective, permitted, inheritable
        __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct d[2] = {};
        for (int word = 0; word < 2; ++word) {
          d[word].effective = static_cast<std::uint32_t>(q.a[0] >> (32 * word));
          d[word].permitted = static_cast<std::uint32_t>(q.a[1] >> (32 * word));
          d[word].inheritable = static_cast<std::uint32_t>(q.a[2] >> (32 * word));
        }
        v = syscall(SYS_capset, &h, d);
        break;
      }
      case ReqKind::Uffd: {  // q.a: flags, the fd to move the new one to
        v = syscall(SYS_userfaultfd, q.a[0]);
        const long to = static_cast<long>(q.a[1]);
        if (v >= 0 && v != to) {
          const long moved = syscall(SYS_dup3, v, to, q.a[0] & O_CLOEXEC);
          const int saved = errno;
          syscall(SYS_close, v);
          errno = saved;
          v = moved;
        }
        break;
      }
      case ReqKind::Uffdio: {  // q.a: fd, command, the structure's fields
        std::uint64_t s[4] = {q.a[2], q.a[3], q.a[4], 0};
        v = syscall(SYS_ioctl, q.a[0], q.a[1], s);
        break;
      }
      case ReqKind::Exit:
        _exit(0);
    }
    r.ret = v;
    r.err = v == -1 ? errno : 0;
    if (!write_full(resp_fd, &r, sizeof r)) _exit(0);
  }
}

[[noreturn]] void child_main(int req_fd, int resp_fd, const Window& w, const Fds& fds) noexcept {
  // Die with the parent.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Hold no other descriptor (another job's pipe held open here would hide
  // its child's death from it). Keep stderr for sanitizer reports.
  int keep[] = {
      2,           req_fd,       resp_fd,          fds.memfd_a, fds.memfd_a2, fds.memfd_a_ro,
      fds.memfd_b, fds.dev_zero, fds.memfd_sealed, fds.secret};
  close_all_but(keep, static_cast<int>(sizeof keep / sizeof keep[0]));
  const long cleared = clear_window(w);
  // Ready: the parent reads the layout only after this.
  Response ready;
  ready.ret = cleared;
  ready.err = cleared == -1 ? errno : 0;
  if (!write_full(resp_fd, &ready, sizeof ready)) _exit(0);
  serve(req_fd, resp_fd, fds.dev_zero);
}

// ---- the zygote's side --------------------------------------------------------

// Requests on the zygote's socket (SOCK_SEQPACKET: one message each).
enum class ZygoteReq : std::int32_t { Filler, Spawn };
struct ZygoteRequest {
  ZygoteReq kind = ZygoteReq::Spawn;
  std::int32_t pad = 0;
  std::uint64_t a[2] = {};
};

// One request and the descriptors it carries (Spawn: the new child's ends
// of its two pipes, as SCM_RIGHTS). False when the socket closed.
bool receive(int fd, ZygoteRequest& q, int (&got)[2]) noexcept {
  got[0] = got[1] = -1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof got)];
  iovec iov{&q, sizeof q};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t n = 0;
  do n = recvmsg(fd, &m, 0);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof q)) return false;
  const cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
      c->cmsg_len == CMSG_LEN(sizeof got)) {
    const auto* data = reinterpret_cast<const int*>(CMSG_DATA(c));
    got[0] = data[0];
    got[1] = data[1];
  }
  return true;
}

// Splits the filler area: `pages` single pages from `at` re-protected, every
// other one, so that each becomes a VMA of its own.
Response split_filler(Addr at, std::uint64_t pages) noexcept {
  Response r;
  for (std::uint64_t i = 0; i < pages; ++i) {
    if (syscall(SYS_mprotect, at + (2 * i + 1) * 4096, 4096, 1) != 0) {
      r.ret = -1;
      r.err = errno;
      break;
    }
  }
  return r;
}

// A fork of the zygote that serves calls on the pipes in `got`. CLONE_PARENT
// makes it the job's own child, like start()'s: the job waits for it, and
// the subreaper takes its forks. The zygote keeps nothing of it.
Response spawn_child(int ctl_fd, const int (&got)[2], int zero_fd, long parent) noexcept {
  Response r;
  if (got[0] < 0 || got[1] < 0) {
    r.ret = -1;
    r.err = EBADF;
    return r;
  }
  const long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    // copy_process() clears pdeath_signal: die with the job again, and not
    // at all if it died before this line.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (syscall(SYS_getppid) != parent) _exit(0);
    ::close(ctl_fd);
    Response ready;
    if (!write_full(got[1], &ready, sizeof ready)) _exit(0);
    serve(got[0], got[1], zero_fd);
  }
  r.ret = pid;
  r.err = pid == -1 ? errno : 0;
  return r;
}

[[noreturn]] void zygote_main(int ctl_fd, const Window& w, const Fds& fds, long parent) noexcept {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (syscall(SYS_getppid) != parent) _exit(0);
  int keep[] = {2,           ctl_fd,       fds.memfd_a,      fds.memfd_a2, fds.memfd_a_ro,
                fds.memfd_b, fds.dev_zero, fds.memfd_sealed, fds.secret};
  close_all_but(keep, static_cast<int>(sizeof keep / sizeof keep[0]));
  const long cleared = clear_window(w);
  Response ready;
  ready.ret = cleared;
  ready.err = cleared == -1 ? errno : 0;
  if (!write_full(ctl_fd, &ready, sizeof ready)) _exit(0);
  for (;;) {
    ZygoteRequest q;
    int got[2];
    if (!receive(ctl_fd, q, got)) _exit(0);
    const Response r = q.kind == ZygoteReq::Filler ? split_filler(q.a[0], q.a[1])
                                                   : spawn_child(ctl_fd, got, fds.dev_zero, parent);
    for (int fd : got)
      if (fd >= 0) ::close(fd);
    if (!write_full(ctl_fd, &r, sizeof r)) _exit(0);
  }
}

// The answer on `fd` within the call timeout. False with a message.
bool await_answer(int fd, Response& r, const char* who, std::string* error) {
  pollfd p{fd, POLLIN, 0};
  int n = 0;
  do n = poll(&p, 1, kCallTimeoutMs);
  while (n < 0 && errno == EINTR);
  if (n > 0 && read_full(fd, &r, sizeof r)) return true;
  if (error)
    *error = std::string(who) +
             (n == 0 ? " did not answer within " + std::to_string(kCallTimeoutMs / 1000) + " s"
                     : " stopped answering");
  return false;
}

// PROCMAP_QUERY (<linux/fs.h> of Linux 6.11; older headers lack it).
struct ProcmapQuery {
  std::uint64_t size = sizeof(ProcmapQuery);
  std::uint64_t query_flags = 0;
  std::uint64_t query_addr = 0;
  std::uint64_t vma_start = 0;
  std::uint64_t vma_end = 0;
  std::uint64_t vma_flags = 0;
  std::uint64_t vma_page_size = 0;
  std::uint64_t vma_offset = 0;
  std::uint64_t inode = 0;
  std::uint32_t dev_major = 0;
  std::uint32_t dev_minor = 0;
  std::uint32_t vma_name_size = 0;
  std::uint32_t build_id_size = 0;
  std::uint64_t vma_name_addr = 0;
  std::uint64_t build_id_addr = 0;
};
static_assert(sizeof(ProcmapQuery) == 104);
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr std::uint64_t kCoveringOrNextVma = 0x10;

long syscall_number(OpKind k) noexcept {
  switch (k) {
    case OpKind::Mmap:
      return SYS_mmap;
    case OpKind::Munmap:
      return SYS_munmap;
    case OpKind::Mprotect:
      return SYS_mprotect;
    case OpKind::PkeyMprotect:
      return SYS_pkey_mprotect;
    case OpKind::Mremap:
      return SYS_mremap;
    case OpKind::Madvise:
      return SYS_madvise;
    case OpKind::Mlock:
      return SYS_mlock;
    case OpKind::Mlock2:
      return SYS_mlock2;
    case OpKind::Munlock:
      return SYS_munlock;
    case OpKind::Mlockall:
      return SYS_mlockall;
    case OpKind::Munlockall:
      return SYS_munlockall;
    case OpKind::Brk:
      return SYS_brk;
    case OpKind::Mseal:
      return kernel::kNrMseal;
    case OpKind::Prctl:
      return SYS_prctl;
    case OpKind::Setrlimit:
    case OpKind::Capset:
      return -1;  // structures: ReqKind::Rlimit, ReqKind::Capset
    case OpKind::Close:
      return SYS_close;
    case OpKind::Userfaultfd:
    case OpKind::UffdioApi:
    case OpKind::UffdioRegister:
    case OpKind::UffdioUnregister:
      return -1;  // ReqKind::Uffd, ReqKind::Uffdio
    case OpKind::WriteFault:
    case OpKind::Fork:
      return -1;
  }
  return -1;
}

// The ioctl command of a UFFDIO_* op, 0 for any other.
std::uint64_t uffdio_command(OpKind k) noexcept {
  switch (k) {
    case OpKind::UffdioApi:
      return UFFDIO_API;
    case OpKind::UffdioRegister:
      return UFFDIO_REGISTER;
    case OpKind::UffdioUnregister:
      return UFFDIO_UNREGISTER;
    default:
      return 0;
  }
}

}  // namespace

void become_subreaper() noexcept { prctl(PR_SET_CHILD_SUBREAPER, 1); }

namespace {

// A child's request and response pipes (close-on-exec); none on failure.
bool open_pipes(int (&req)[2], int (&resp)[2], std::string* error) {
  if (pipe2(req, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  if (pipe2(resp, O_CLOEXEC) == 0) return true;
  if (error) *error = std::string("pipe: ") + std::strerror(errno);
  ::close(req[0]);
  ::close(req[1]);
  return false;
}

}  // namespace

NativeProcess::~NativeProcess() { stop(); }

bool NativeProcess::start(const Window& w, const Fds& fds, std::string* error) {
  stop();
  int req[2];
  int resp[2];
  if (!open_pipes(req, resp, error)) return false;
  const pid_t pid = static_cast<pid_t>(syscall(SYS_fork));
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(errno);
    for (int fd : {req[0], req[1], resp[0], resp[1]}) ::close(fd);
    return false;
  }
  if (pid == 0) child_main(req[0], resp[1], w, fds);
  ::close(req[0]);
  ::close(resp[1]);
  pid_ = pid;
  req_fd_ = req[1];
  resp_fd_ = resp[0];
  return await_ready(error);
}

bool NativeProcess::adopt(pid_t pid, int req_fd, int resp_fd, std::string* error) {
  stop();
  pid_ = pid;
  req_fd_ = req_fd;
  resp_fd_ = resp_fd;
  return open_proc_files(error);
}

bool NativeProcess::await_ready(std::string* error) {
  Response ready;
  if (!read_full(resp_fd_, &ready, sizeof ready) || ready.ret != 0) {
    if (error) *error = "the native child could not clear its window";
    stop();
    return false;
  }
  return open_proc_files(error);
}

bool NativeProcess::open_proc_files(std::string* error) {
  if (maps_fd_ >= 0) ::close(maps_fd_);
  maps_fd_ = -1;
  return smaps_.open(pid_, error) && pagemap_.open(pid_, error);
}

void NativeProcess::stop() noexcept {
  smaps_.close();
  pagemap_.close();
  if (maps_fd_ >= 0) ::close(maps_fd_);
  maps_fd_ = -1;
  if (req_fd_ >= 0) ::close(req_fd_);
  if (resp_fd_ >= 0) ::close(resp_fd_);
  req_fd_ = resp_fd_ = -1;
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

bool NativeProcess::roundtrip(const void* req, std::int64_t& ret, std::int64_t& err,
                              std::string* error) {
  if (pid_ <= 0) {
    if (error) *error = "the native child is not running";
    return false;
  }
  Response r;
  bool ok = write_full(req_fd_, req, sizeof(Request));
  if (ok) {
    // A call that never returns (a populate of something huge, say) must not
    // hang the run.
    pollfd p{resp_fd_, POLLIN, 0};
    int n = 0;
    do n = poll(&p, 1, kCallTimeoutMs);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
      if (error)
        *error = "the native child did not answer within " + std::to_string(kCallTimeoutMs / 1000) +
                 " s";
      return false;
    }
    ok = read_full(resp_fd_, &r, sizeof r);
  }
  if (!ok) {
    int status = 0;
    std::string why = "the native child stopped answering";
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      if (WIFSIGNALED(status))
        why += std::string(" (killed by signal ") + strsignal(WTERMSIG(status)) + ")";
      pid_ = -1;
    }
    if (error) *error = why;
    return false;
  }
  ret = r.ret;
  err = r.err;
  return true;
}

bool NativeProcess::call(const Op& op, SysResult& result, std::string* error) {
  Request q;
  std::int64_t ret = 0;
  std::int64_t err = 0;
  if (op.kind == OpKind::Fork) {
    q.kind = ReqKind::Fork;
    if (!roundtrip(&q, ret, err, error)) return false;
    if (ret < 0) {
      result = SysResult(static_cast<Errno>(err));
      return true;
    }
    // The old process answered and exits; follow the new one.
    waitpid(pid_, nullptr, 0);
    pid_ = static_cast<pid_t>(ret);
    result = SysResult::ok(static_cast<std::uint64_t>(ret));
    return open_proc_files(error);
  }
  if (op.kind == OpKind::WriteFault) {
    q.kind = ReqKind::Fault;
    q.a[0] = op.a[0];
  } else if (op.kind == OpKind::Setrlimit || op.kind == OpKind::Capset) {
    q.kind = op.kind == OpKind::Setrlimit ? ReqKind::Rlimit : ReqKind::Capset;
    for (std::size_t i = 0; i < 3; ++i) q.a[i] = op.a[i];
  } else if (op.kind == OpKind::Userfaultfd) {
    q.kind = ReqKind::Uffd;
    q.a[0] = op.a[0];
    q.a[1] = op.a[1];
  } else if (const std::uint64_t cmd = uffdio_command(op.kind); cmd != 0) {
    q.kind = ReqKind::Uffdio;
    q.a[0] = op.a[0];
    q.a[1] = cmd;
    for (std::size_t i = 2; i < 5; ++i) q.a[i] = op.a[i - 1];
  } else {
    q.kind = ReqKind::Syscall;
    q.nr = syscall_number(op.kind);
    for (std::size_t i = 0; i < 6; ++i) q.a[i] = op.a[i];
  }
  if (!roundtrip(&q, ret, err, error)) return false;
  result = ret == -1 && err != 0 ? SysResult(static_cast<Errno>(err))
                                 : SysResult::ok(static_cast<std::uint64_t>(ret));
  if (op.kind == OpKind::WriteFault && result.is_ok()) result = SysResult::ok(0);
  return true;
}

bool NativeProcess::current_brk(Addr& out, std::string* error) {
  Request q;
  q.kind = ReqKind::Syscall;
  q.nr = SYS_brk;
  std::int64_t ret = 0;
  std::int64_t err = 0;
  if (!roundtrip(&q, ret, err, error)) return false;
  out = static_cast<Addr>(ret);
  return true;
}

bool NativeProcess::start_brk(Addr& out, std::string* error) {
  std::ifstream f("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) {
    if (error) *error = "cannot read /proc/" + std::to_string(pid_) + "/stat";
    return false;
  }
  // Field 3 (state) follows the command name; start_brk is field 47.
  std::istringstream in(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 47; ++i) {
    if (!(in >> field)) {
      if (error) *error = "short /proc/PID/stat";
      return false;
    }
  }
  out = std::stoull(field);
  return true;
}

bool NativeProcess::read_guards(Addr start, Addr end, GuardPages& out, std::string* error) {
  return pagemap_.read_guards(start, end, out, error);
}

bool NativeProcess::read_layout(std::vector<kernel::SmapsEntry>& out, std::string* error,
                                Addr stop_at) {
  return smaps_.read(out, error, stop_at);
}

bool NativeProcess::query_vma(Addr at, VmaBrief& out, bool& found, std::string* error) {
  if (maps_fd_ < 0) {
    maps_fd_ = kernel::open_proc_file(pid_, "maps", error);
    if (maps_fd_ < 0) return false;
  }
  ProcmapQuery q;
  q.query_flags = kCoveringOrNextVma;
  q.query_addr = at;
  found = ioctl(maps_fd_, kProcmapQuery, &q) == 0;
  if (!found && errno != ENOENT) {
    if (error) *error = std::string("PROCMAP_QUERY: ") + std::strerror(errno);
    return false;
  }
  out = VmaBrief{q.vma_start, q.vma_end,   q.vma_flags, q.vma_offset,
                 q.inode,     q.dev_major, q.dev_minor};
  return true;
}

// ---- Zygote -------------------------------------------------------------------

Zygote::~Zygote() { stop(); }

bool Zygote::start(const Window& w, const Fds& fds, std::string* error) {
  stop();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    if (error) *error = std::string("socketpair: ") + std::strerror(errno);
    return false;
  }
  const long parent = syscall(SYS_getpid);
  const pid_t pid = static_cast<pid_t>(syscall(SYS_fork));
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(errno);
    ::close(sv[0]);
    ::close(sv[1]);
    return false;
  }
  if (pid == 0) zygote_main(sv[1], w, fds, parent);
  ::close(sv[1]);
  pid_ = pid;
  ctl_fd_ = sv[0];
  Response ready;
  if (!await_answer(ctl_fd_, ready, "the zygote", error)) {
    stop();
    return false;
  }
  if (ready.ret != 0) {
    if (error) *error = "the zygote could not clear its window";
    stop();
    return false;
  }
  return true;
}

void Zygote::stop() noexcept {
  if (ctl_fd_ >= 0) ::close(ctl_fd_);
  ctl_fd_ = -1;
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

bool Zygote::send(const void* q, const int* fds, std::string* error) {
  if (pid_ <= 0) {
    if (error) *error = "the zygote is not running";
    return false;
  }
  iovec iov{const_cast<void*>(q), sizeof(ZygoteRequest)};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  if (fds != nullptr) {
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, 2 * sizeof(int));
  }
  ssize_t n = 0;
  do n = sendmsg(ctl_fd_, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(ZygoteRequest))) return true;
  if (error) *error = std::string("the zygote: ") + std::strerror(errno);
  stop();
  return false;
}

bool Zygote::answer(std::int64_t& ret, std::int64_t& err, std::string* error) {
  Response r;
  if (!await_answer(ctl_fd_, r, "the zygote", error)) {
    stop();
    return false;
  }
  ret = r.ret;
  err = r.err;
  return true;
}

bool Zygote::make_filler(Addr at, std::uint64_t vmas, std::string* error) {
  ZygoteRequest q;
  q.kind = ZygoteReq::Filler;
  q.a[0] = at;
  q.a[1] = vmas / 2;
  std::int64_t ret = 0;
  std::int64_t err = 0;
  if (!send(&q, nullptr, error) || !answer(ret, err, error)) return false;
  if (ret != 0 && error)
    *error =
        "could not split the filler area: " + std::string(std::strerror(static_cast<int>(err)));
  return ret == 0;
}

bool Zygote::spawn(NativeProcess& np, std::string* error) {
  np.stop();
  int req[2];
  int resp[2];
  if (!open_pipes(req, resp, error)) return false;
  ZygoteRequest q;
  q.kind = ZygoteReq::Spawn;
  const int theirs[2] = {req[0], resp[1]};
  const bool sent = send(&q, theirs, error);
  // The child has its own copies now (or none: it does not exist).
  ::close(req[0]);
  ::close(resp[1]);
  // The child's ready, then the zygote's answer (its pid or why it has none).
  Response ready;
  const bool child_ready = sent && await_answer(resp[0], ready, "the native child", nullptr);
  std::int64_t ret = 0;
  std::int64_t err = 0;
  if (!sent || !answer(ret, err, error) || ret < 0 || !child_ready) {
    if (sent && error && ret < 0)
      *error = std::string("the zygote's fork: ") + std::strerror(static_cast<int>(err));
    else if (sent && error && !child_ready)
      *error = "the native child did not start";
    if (ret > 0) {  // a child that never got ready: it is ours to reap
      kill(static_cast<pid_t>(ret), SIGKILL);
      waitpid(static_cast<pid_t>(ret), nullptr, 0);
    }
    ::close(req[1]);
    ::close(resp[0]);
    return false;
  }
  return np.adopt(static_cast<pid_t>(ret), req[1], resp[0], error);
}

}  // namespace vmseal::difftest
