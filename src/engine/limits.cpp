// Resource limits and capabilities, the process state mm checks:
// kernel/sys.c (do_prlimit()), kernel/capability.c and
// security/commoncap.c (capset(2), cap_capset(), and at execve
// cap_bprm_creds_from_file()). Probed on 6.18: tests/kernel/limits.c,
// tests/data/limits.expected.
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

namespace {

bool subset(std::uint64_t a, std::uint64_t b) noexcept { return (a & ~b) == 0; }

}  // namespace

Capabilities Capabilities::root() noexcept {
  Capabilities c;
  c.effective = c.permitted = abi::CAP_FULL_SET;
  c.is_root = true;
  return c;
}

bool Config::privileged() const noexcept {
  return caps.has(abi::CAP_IPC_LOCK) && caps.has(abi::CAP_SYS_RAWIO);
}

// do_prlimit(): a soft limit above the hard one is EINVAL; raising the hard
// limit needs CAP_SYS_RESOURCE (EPERM); lowering either is free (probe l4).
SysResult AddressSpace::setrlimit(int resource, std::uint64_t cur, std::uint64_t max,
                                  const Capabilities& raiser) {
  if (resource < 0 || resource >= abi::RLIM_NLIMITS) return Errno::INVAL;
  if (cur > max) return Errno::INVAL;
  std::uint64_t* soft = nullptr;
  std::uint64_t* hard = nullptr;
  if (resource == abi::RLIMIT_MEMLOCK) {
    soft = &cfg_.rlimit_memlock;
    hard = &cfg_.rlimit_memlock_max;
  } else if (resource == abi::RLIMIT_STACK) {
    soft = &cfg_.rlimit_stack;
    hard = &cfg_.rlimit_stack_max;
  } else if (resource == abi::RLIMIT_AS) {
    soft = &cfg_.rlimit_as;
    hard = &cfg_.rlimit_as_max;
  } else if (resource == abi::RLIMIT_DATA) {
    soft = &cfg_.rlimit_data;
    hard = &cfg_.rlimit_data_max;
  } else {
    return Errno::INVAL;  // not a limit the engine keeps (docs/engine.md)
  }
  if (max > *hard && !raiser.has(abi::CAP_SYS_RESOURCE)) return Errno::PERM;
  *soft = cur;
  *hard = max;
  return SysResult::ok(0);
}

// cap_capset(): inheritable within the old inheritable and permitted sets
// (unless CAP_SETPCAP) and within the bounding set; permitted only shrinks;
// effective within the new permitted (EPERM otherwise, probe l5).
SysResult AddressSpace::capset(std::uint64_t effective, std::uint64_t permitted,
                               std::uint64_t inheritable) {
  Capabilities& c = cfg_.caps;
  if (!c.has(abi::CAP_SETPCAP) && !subset(inheritable, c.inheritable | c.permitted))
    return Errno::PERM;
  if (!subset(inheritable, c.inheritable | (c.bounding & abi::CAP_FULL_SET))) return Errno::PERM;
  if (!subset(permitted, c.permitted)) return Errno::PERM;
  if (!subset(effective, permitted)) return Errno::PERM;
  c.effective = effective;
  c.permitted = permitted;
  c.inheritable = inheritable;
  return SysResult::ok(0);
}

// cap_bprm_creds_from_file() for a file without capabilities: root's
// permitted set becomes its bounding and inheritable sets, and effective the
// same; anyone else keeps no permitted or effective capability (no ambient
// set is modelled). The inheritable set and the resource limits stay
// (probe l6).
Capabilities caps_after_exec(const Capabilities& before) noexcept {
  Capabilities c = before;
  c.permitted = before.is_root ? ((before.bounding & abi::CAP_FULL_SET) | before.inheritable) : 0;
  c.effective = c.permitted;
  return c;
}

}  // namespace vmseal
