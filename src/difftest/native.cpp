#include "vmseal/difftest/native.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::difftest {

namespace {

constexpr int kCallTimeoutMs = 20000;

enum class ReqKind : std::int32_t { Syscall, Fault, Fork, Filler, Exit, Rlimit, Capset };

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

[[noreturn]] void child_main(int req_fd, int resp_fd, const Window& w, const Fds& fds) noexcept {
  // Die with the parent.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Hold no other descriptor (another job's pipe held open here would hide
  // its child's death from it). Keep stderr for sanitizer reports.
  int keep[] = {2,           req_fd,      resp_fd, fds.memfd_a, fds.memfd_a2, fds.memfd_a_ro,
                fds.memfd_b, fds.dev_zero};
  close_all_but(keep, static_cast<int>(sizeof keep / sizeof keep[0]));
  const int zero_fd = fds.dev_zero;
  // The window and its guard holes start empty; the filler area stays reserved.
  const long cleared = syscall(SYS_munmap, w.reservation_start(), w.filler - w.reservation_start());
  // Ready: the parent reads the layout only after this.
  Response ready;
  ready.ret = cleared;
  ready.err = cleared == -1 ? errno : 0;
  if (!write_full(resp_fd, &ready, sizeof ready)) _exit(0);
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
      case ReqKind::Filler: {
        // q.a[0]: filler start, q.a[1]: number of single pages to re-protect
        // (every other page, so each becomes a VMA of its own).
        v = 0;
        for (std::uint64_t i = 0; i < q.a[1]; ++i) {
          if (syscall(SYS_mprotect, q.a[0] + (2 * i + 1) * 4096, 4096, 1) != 0) {
            v = -1;
            break;
          }
        }
        break;
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
      case ReqKind::Exit:
        _exit(0);
    }
    r.ret = v;
    r.err = v == -1 ? errno : 0;
    if (!write_full(resp_fd, &r, sizeof r)) _exit(0);
  }
}

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
    case OpKind::WriteFault:
    case OpKind::Fork:
      return -1;
  }
  return -1;
}

}  // namespace

void become_subreaper() noexcept { prctl(PR_SET_CHILD_SUBREAPER, 1); }

NativeProcess::~NativeProcess() { stop(); }

bool NativeProcess::start(const Window& w, const Fds& fds, std::string* error) {
  stop();
  int req[2];
  int resp[2];
  if (pipe2(req, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  if (pipe2(resp, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    ::close(req[0]);
    ::close(req[1]);
    return false;
  }
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
  Response ready;
  if (!read_full(resp_fd_, &ready, sizeof ready) || ready.ret != 0) {
    if (error) *error = "the native child could not clear its window";
    stop();
    return false;
  }
  return open_proc_files(error);
}

bool NativeProcess::open_proc_files(std::string* error) {
  return smaps_.open(pid_, error) && pagemap_.open(pid_, error);
}

void NativeProcess::stop() noexcept {
  smaps_.close();
  pagemap_.close();
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

bool NativeProcess::make_filler(Addr at, std::uint64_t vmas, std::string* error) {
  Request q;
  q.kind = ReqKind::Filler;
  q.a[0] = at;
  q.a[1] = vmas / 2;
  std::int64_t ret = 0;
  std::int64_t err = 0;
  if (!roundtrip(&q, ret, err, error)) return false;
  if (ret != 0 && error)
    *error =
        "could not split the filler area: " + std::string(std::strerror(static_cast<int>(err)));
  return ret == 0;
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

}  // namespace vmseal::difftest
