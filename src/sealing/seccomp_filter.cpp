#include "vmseal/sealing/seccomp_filter.hpp"

#include <sys/ptrace.h>

#include <cerrno>
#include <cstring>

namespace vmseal::sealing {
namespace {

// <linux/filter.h> and <linux/bpf_common.h>'s classes, sizes, modes, ops.
enum : std::uint16_t {
  kLd = 0x00,
  kLdx = 0x01,
  kSt = 0x02,
  kStx = 0x03,
  kAlu = 0x04,
  kJmp = 0x05,
  kRet = 0x06,
  kMisc = 0x07,
};
constexpr std::uint16_t kW = 0x00, kImm = 0x00, kAbs = 0x20, kMem = 0x60, kLen = 0x80;
constexpr std::uint16_t kSrcX = 0x08, kRetA = 0x10, kTxa = 0x80;
constexpr std::uint32_t kDataSize = 64;  // sizeof(struct seccomp_data)
constexpr std::uint32_t kMemWords = 16;  // BPF_MEMWORDS
constexpr long kGetFilter = 0x420c;      // PTRACE_SECCOMP_GET_FILTER

std::uint32_t data_word(const SeccompInput& in, std::uint32_t off) {
  unsigned char d[kDataSize];
  std::memcpy(d, &in.nr, 4);
  std::memcpy(d + 4, &in.arch, 4);
  std::memcpy(d + 8, &in.ip, 8);
  std::memcpy(d + 16, in.args, 48);
  std::uint32_t w = 0;
  std::memcpy(&w, d + off, 4);
  return w;
}

// One ALU operation; false for one seccomp refuses (MOD, XOR are allowed
// since 3.x; division by zero ends the program with 0 in the kernel's
// classic interpreter, refused here).
bool alu(std::uint16_t op, std::uint32_t& a, std::uint32_t v) {
  switch (op) {
    case 0x00:
      a += v;
      return true;
    case 0x10:
      a -= v;
      return true;
    case 0x20:
      a *= v;
      return true;
    case 0x30:
      if (v == 0) return false;
      a /= v;
      return true;
    case 0x40:
      a |= v;
      return true;
    case 0x50:
      a &= v;
      return true;
    case 0x60:
      a = v >= 32 ? 0 : a << v;
      return true;
    case 0x70:
      a = v >= 32 ? 0 : a >> v;
      return true;
    case 0x80:
      a = 0 - a;
      return true;
    case 0x90:
      if (v == 0) return false;
      a %= v;
      return true;
    case 0xa0:
      a ^= v;
      return true;
    default:
      return false;
  }
}

bool jump_taken(std::uint16_t op, std::uint32_t a, std::uint32_t v, bool& known) {
  known = true;
  switch (op) {
    case 0x10:
      return a == v;
    case 0x20:
      return a > v;
    case 0x30:
      return a >= v;
    case 0x40:
      return (a & v) != 0;
    default:
      known = false;
      return false;
  }
}

}  // namespace

std::optional<std::uint32_t> run_seccomp_program(std::span<const BpfInsn> prog,
                                                 const SeccompInput& in) {
  std::uint32_t a = 0, x = 0, mem[kMemWords] = {};
  for (std::size_t pc = 0; pc < prog.size(); ++pc) {
    const BpfInsn& i = prog[pc];
    const std::uint16_t cls = i.code & 0x07;
    const std::uint32_t src = (i.code & kSrcX) != 0 ? x : i.k;
    switch (cls) {
      case kLd:
      case kLdx: {
        std::uint32_t v = 0;
        const std::uint16_t mode = i.code & 0xe0;
        if ((i.code & 0x18) != kW) return std::nullopt;
        if (mode == kImm)
          v = i.k;
        else if (mode == kLen)
          v = kDataSize;
        else if (mode == kMem && i.k < kMemWords)
          v = mem[i.k];
        else if (mode == kAbs && cls == kLd && i.k % 4 == 0 && i.k < kDataSize)
          v = data_word(in, i.k);
        else
          return std::nullopt;
        (cls == kLd ? a : x) = v;
        break;
      }
      case kSt:
      case kStx:
        if (i.k >= kMemWords) return std::nullopt;
        mem[i.k] = cls == kSt ? a : x;
        break;
      case kAlu:
        if (!alu(i.code & 0xf0, a, src)) return std::nullopt;
        break;
      case kJmp: {
        if ((i.code & 0xf0) == 0x00) {  // BPF_JA
          if (i.k >= prog.size() - pc - 1) return std::nullopt;
          pc += i.k;
          break;
        }
        bool known = false;
        const bool taken = jump_taken(i.code & 0xf0, a, src, known);
        const std::size_t off = taken ? i.jt : i.jf;
        if (!known || off >= prog.size() - pc - 1) return std::nullopt;
        pc += off;
        break;
      }
      case kRet:
        return (i.code & 0x18) == kRetA ? a
               : (i.code & 0x18) == 0   ? i.k
                                        : std::optional<std::uint32_t>{};
      case kMisc:
        if ((i.code & 0xf8) == kTxa)
          a = x;
        else if ((i.code & 0xf8) == 0)
          x = a;
        else
          return std::nullopt;
        break;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;  // fell off the end: seccomp_check_filter() refuses that
}

std::uint32_t stricter_seccomp_action(std::uint32_t a, std::uint32_t b) noexcept {
  const auto only = [](std::uint32_t v) { return static_cast<std::int32_t>(v & 0xffff0000U); };
  return only(b) < only(a) ? b : a;
}

bool seccomp_action_allows(std::uint32_t action) noexcept {
  const std::uint32_t act = action & 0xffff0000U;
  return act == kSeccompAllow || act == 0x7ffc0000U;  // SECCOMP_RET_LOG
}

std::string seccomp_action_name(std::uint32_t action) {
  switch (action & 0xffff0000U) {
    case 0x80000000U:
      return "kill-process";
    case 0x00000000U:
      return "kill-thread";
    case 0x00030000U:
      return "trap (SIGSYS)";
    case 0x00050000U:
      return "errno " + std::to_string(action & 0xffffU);
    case 0x7fc00000U:
      return "user-notif";
    case 0x7ff00000U:
      return "trace";
    case 0x7ffc0000U:
      return "log";
    case 0x7fff0000U:
      return "allow";
    default:
      return "unknown action (kill-process)";
  }
}

std::string syscall_label(long nr) {
  const char* name = nullptr;
  switch (nr) {
    case 9:
      name = "mmap";
      break;
    case 10:
      name = "mprotect";
      break;
    case 11:
      name = "munmap";
      break;
    case 15:
      name = "rt_sigreturn";
      break;
    case 25:
      name = "mremap";
      break;
    case 39:
      name = "getpid";
      break;
    case 462:
      name = "mseal";
      break;
    default:
      break;
  }
  return name != nullptr ? std::string(name) + " (" + std::to_string(nr) + ")"
                         : "system call " + std::to_string(nr);
}

bool SeccompFilters::load(pid_t tid, std::string* why) {
  programs_.clear();
  for (unsigned long index = 0; index < 4096; ++index) {
    const long n = ptrace(static_cast<__ptrace_request>(kGetFilter), tid,
                          reinterpret_cast<void*>(index), nullptr);
    if (n < 0 && errno == ENOENT) return true;  // past the last filter
    if (n <= 0 || n > 4096) {
      if (why != nullptr)
        *why = std::string("its seccomp filters cannot be read (PTRACE_SECCOMP_GET_FILTER: ") +
               (n < 0 ? std::strerror(errno) : "bad length") +
               "; it needs CAP_SYS_ADMIN), so vmseal cannot tell whether they let the injected "
               "calls through";
      return false;
    }
    std::vector<BpfInsn> prog(static_cast<std::size_t>(n));
    if (ptrace(static_cast<__ptrace_request>(kGetFilter), tid, reinterpret_cast<void*>(index),
               prog.data()) != n) {
      if (why != nullptr) *why = std::string("a seccomp filter changed while being read");
      return false;
    }
    programs_.push_back(std::move(prog));
  }
  if (why != nullptr) *why = "more seccomp filters than vmseal reads (4096)";
  return false;
}

std::uint32_t SeccompFilters::action(const SeccompInput& in) const {
  std::uint32_t result = kSeccompAllow;
  for (const std::vector<BpfInsn>& p : programs_)
    result =
        stricter_seccomp_action(result, run_seccomp_program(p, in).value_or(kSeccompKillProcess));
  return result;
}

}  // namespace vmseal::sealing
