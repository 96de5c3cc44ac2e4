// The one decoder and the one encoder of memory calls (trace/memory_call.hpp):
// examples of each, the round trip over the whole grammar as a property, and
// real strace output re-encoded to the same text.
#include "vmseal/trace/memory_call.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vmseal/kernel/abi.hpp"

namespace vmseal::trace {
namespace {

TraceCall parse_call(const std::string& text) {
  const std::vector<ParseItem> items = parse_strace_text(text + " = 0");
  if (items.size() != 1 || !std::holds_alternative<TraceEvent>(items[0])) {
    ADD_FAILURE() << "not one event: " << text;
    return {};
  }
  return std::get<TraceEvent>(items[0]).call;
}

MemoryCall decoded(const std::string& text) {
  MemoryCall out;
  std::string error;
  EXPECT_TRUE(decode_memory_call(parse_call(text), out, &error)) << text << ": " << error;
  return out;
}

MemoryCall syscall(SyscallKind kind, std::array<std::uint64_t, 6> a) {
  MemoryCall c;
  c.call = Syscall{kind, a};
  return c;
}

// ---- examples ------------------------------------------------------------------

TEST(MemoryCall, DecodesWhatStracePrints) {
  MemoryCall mmap =
      decoded("mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
  EXPECT_EQ(mmap.call, (Syscall{SyscallKind::Mmap, {0, 8192, 3, 0x22, ~std::uint64_t{0}, 0}}));

  mmap = decoded(
      "mmap(0x7f0000000000, 4096, PROT_READ, MAP_SHARED|MAP_FIXED, 3</memfd:a (deleted)>, "
      "0x1000)");
  EXPECT_EQ(mmap.call.a[4], 3u);
  EXPECT_EQ(mmap.fd.path, "/memfd:a");
  EXPECT_TRUE(mmap.fd.deleted);

  EXPECT_EQ(decoded("mseal(0x1000, 4096, 0)").call.kind, SyscallKind::Mseal);
  EXPECT_EQ(decoded("mseal(0x1000, 4096, 1, 0)").call.kind, SyscallKind::MsealTyped);
  EXPECT_EQ(decoded("mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE)").call,
            (Syscall{SyscallKind::Mremap, {0x1000, 4096, 8192, 1, 0}}));
  EXPECT_EQ(decoded("shmat(65538, NULL, SHM_RDONLY)").call.a[0], 65538u);  // the segment id

  // strace 6.1 prints PR_SET_MDWE by number; newer ones by name.
  EXPECT_EQ(decoded("prctl(0x41 /* PR_??? */, 0x1, 0, 0, 0)").call,
            (Syscall{SyscallKind::Prctl, {65, 1, 0, 0, 0}}));
  EXPECT_EQ(decoded("prctl(PR_GET_MDWE, 0, 0, 0, 0)").call,
            (Syscall{SyscallKind::Prctl, {66, 0, 0, 0, 0}}));

  // Limits and capabilities: structures fill several registers.
  EXPECT_EQ(decoded("prlimit64(0, RLIMIT_MEMLOCK, {rlim_cur=8*1024, rlim_max=RLIM64_INFINITY}, "
                    "NULL)")
                .call,
            (Syscall{SyscallKind::Prlimit, {0, 8, 8192, ~std::uint64_t{0}}}));
  EXPECT_EQ(decoded("setrlimit(RLIMIT_STACK, {rlim_cur=1024*1024, rlim_max=1024*1024})").call,
            (Syscall{SyscallKind::Setrlimit, {3, 1 << 20, 1 << 20}}));
  EXPECT_EQ(decoded("capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, "
                    "{effective=1<<CAP_IPC_LOCK, permitted=1<<CAP_IPC_LOCK|1<<CAP_SYS_RAWIO, "
                    "inheritable=0})")
                .call,
            (Syscall{SyscallKind::Capset, {1 << 14, (1 << 14) | (1 << 17), 0}}));

  // userfaultfd(2) and its ioctls as strace 6.1 prints them (the kernel's
  // answer after "=>", and ioctls=, are not the call's).
  EXPECT_EQ(decoded("userfaultfd(UFFD_USER_MODE_ONLY|O_NONBLOCK|O_CLOEXEC)").call,
            (Syscall{SyscallKind::Userfaultfd, {0x80801}}));
  EXPECT_EQ(decoded("userfaultfd(0x10 /* UFFD_??? */)").call.a[0], 0x10u);
  EXPECT_EQ(decoded("ioctl(3<anon_inode:[userfaultfd]>, UFFDIO_API, {api=0xaa, "
                    "features=UFFD_FEATURE_EVENT_FORK => features=UFFD_FEATURE_PAGEFAULT_FLAG_WP|"
                    "UFFD_FEATURE_EVENT_FORK|0x1e000, ioctls=1<<_UFFDIO_REGISTER|1<<_UFFDIO_API})")
                .call,
            (Syscall{SyscallKind::UffdioApi, {3, 0xaa, 2}}));
  EXPECT_EQ(decoded("ioctl(3<anon_inode:[userfaultfd]>, UFFDIO_API, {api=0xaa, features=0})").call,
            (Syscall{SyscallKind::UffdioApi, {3, 0xaa, 0}}));
  const MemoryCall reg = decoded(
      "ioctl(4<anon_inode:[userfaultfd]>, UFFDIO_REGISTER, {range={start=0x7ff570421000, "
      "len=0x2000}, mode=UFFDIO_REGISTER_MODE_MISSING|UFFDIO_REGISTER_MODE_WP, "
      "ioctls=1<<_UFFDIO_WAKE|1<<_UFFDIO_COPY|0x120})");
  EXPECT_EQ(reg.call, (Syscall{SyscallKind::UffdioRegister, {4, 0x7ff570421000, 0x2000, 3}}));
  EXPECT_EQ(reg.fd.path, "anon_inode:[userfaultfd]");
  EXPECT_EQ(decoded("ioctl(3, UFFDIO_UNREGISTER, {start=0x7ff570423000, len=0x2000})").call,
            (Syscall{SyscallKind::UffdioUnregister, {3, 0x7ff570423000, 0x2000}}));

  const MemoryCall fill = decoded("read(5</dev/zero>, 0x7f0000001000, 4096)");
  EXPECT_EQ(fill.form, MemoryCall::Form::ZeroFill);
  EXPECT_EQ(fill.call.a[1], 0x7f0000001000u);
  EXPECT_EQ(fill.call.a[2], 4096u);
}

TEST(MemoryCall, RefusesWithTheArgumentThatDoesNotRead) {
  MemoryCall out;
  std::string error;
  EXPECT_FALSE(decode_memory_call(parse_call("mprotect(0x1000, 4096, PROT_BOGUS)"), out, &error));
  EXPECT_NE(error.find("mprotect: argument 3"), std::string::npos) << error;
  EXPECT_NE(error.find("PROT_BOGUS"), std::string::npos) << error;
  EXPECT_FALSE(decode_memory_call(parse_call("munmap(0x1000)"), out, &error));
  EXPECT_EQ(error, "munmap: expected at least 2 arguments");
  EXPECT_FALSE(decode_memory_call(parse_call("close(3)"), out, &error));
  EXPECT_EQ(error, "close: not a memory call");
  // Only the prctl options that decide memory calls are memory calls.
  EXPECT_FALSE(is_memory_call(parse_call("prctl(PR_SET_NAME, \"x\")")));
  EXPECT_FALSE(is_memory_call(parse_call("prctl(0x53564d41 /* PR_??? */, 0, 0x7f00, 4096, 0)")));
  EXPECT_FALSE(decode_memory_call(parse_call("prctl(PR_SET_NAME, \"x\")"), out, &error));
  // A query, a limit the engine does not keep, another process's capabilities.
  EXPECT_FALSE(is_memory_call(parse_call(
      "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY})")));
  EXPECT_FALSE(is_memory_call(
      parse_call("prlimit64(0, RLIMIT_NOFILE, {rlim_cur=1024, rlim_max=4096}, NULL)")));
  EXPECT_TRUE(is_memory_call(parse_call(
      "prlimit64(0, RLIMIT_AS, {rlim_cur=RLIM64_INFINITY, rlim_max=RLIM64_INFINITY}, NULL)")));
  EXPECT_TRUE(is_memory_call(parse_call("setrlimit(RLIMIT_DATA, {rlim_cur=0, rlim_max=0})")));
  EXPECT_FALSE(is_memory_call(
      parse_call("capset({version=_LINUX_CAPABILITY_VERSION_3, pid=42}, {effective=0, permitted=0, "
                 "inheritable=0})")));
  // Other ioctls, and a UFFDIO_* structure strace could not read.
  EXPECT_FALSE(is_memory_call(parse_call("ioctl(1, TCGETS, {c_iflag=ICRNL})")));
  EXPECT_FALSE(is_memory_call(parse_call("ioctl(3, UFFDIO_REGISTER, 0x10)")));
  EXPECT_FALSE(decode_memory_call(parse_call("ioctl(3, UFFDIO_COPY, {dst=0x1000})"), out, &error));
  EXPECT_FALSE(decode_memory_call(
      parse_call("ioctl(3, UFFDIO_REGISTER, {range={start=0x1000}, mode=0})"), out, &error));
  EXPECT_NE(error.find("ioctl: argument 3"), std::string::npos) << error;
  // A read into a string buffer copied bytes out: not a fault strace shows.
  EXPECT_FALSE(is_memory_call(parse_call("read(5</dev/zero>, \"\\0\\0\", 2)")));
  EXPECT_FALSE(is_memory_call(parse_call("read(5</etc/passwd>, 0x7f0000001000, 2)")));
}

TEST(MemoryCall, EncodesAsStracePrints) {
  EXPECT_EQ(
      encode_memory_call(syscall(SyscallKind::Mmap, {0, 8192, 0, 0x22, ~std::uint64_t{0}, 0})),
      "mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Mmap,
                                       {0x7f0000000000, 4096, 5, 0x13 | (21ULL << 26), 3, 0x2000})),
            "mmap(0x7f0000000000, 4096, PROT_READ|PROT_EXEC, MAP_SHARED_VALIDATE|MAP_FIXED|"
            "21<<MAP_HUGE_SHIFT, 3, 0x2000)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Madvise, {0x1000, 4096, 4})),
            "madvise(0x1000, 4096, MADV_DONTNEED)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Madvise, {0x1000, 4096, 0x68})),
            "madvise(0x1000, 4096, 0x68 /* MADV_??? */)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Mremap, {0x1000, 4096, 8192, 3, 0x9000})),
            "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x9000)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::PkeyMprotect, {0x1000, 4096, 1, ~0ULL})),
            "pkey_mprotect(0x1000, 4096, PROT_READ, -1)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Munlockall, {})), "munlockall()");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Brk, {})), "brk(NULL)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Prctl, {65, 3, 0, 0, 0})),
            "prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN|PR_MDWE_NO_INHERIT, 0, 0, 0)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Prlimit, {0, 8, 8192, 8ULL << 20})),
            "prlimit64(0, RLIMIT_MEMLOCK, {rlim_cur=8*1024, rlim_max=8192*1024}, NULL)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Capset, {0, 1ULL << 14 | 1ULL << 41, 0})),
            "capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=0, "
            "permitted=1<<CAP_IPC_LOCK|1<<41, inheritable=0})");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::Userfaultfd, {0x80800})),
            "userfaultfd(O_NONBLOCK|O_CLOEXEC)");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::UffdioRegister, {3, 0x1000, 0x2000, 4})),
            "ioctl(3, UFFDIO_REGISTER, {range={start=0x1000, len=0x2000}, "
            "mode=UFFDIO_REGISTER_MODE_MINOR})");
  EXPECT_EQ(encode_memory_call(syscall(SyscallKind::UffdioApi, {3, 0xaa, 0})),
            "ioctl(3, UFFDIO_API, {api=0xaa, features=0})");
  MemoryCall fill;
  fill.form = MemoryCall::Form::ZeroFill;
  fill.call.a = {4, 0x7f0000001000, 1};
  fill.fd = FdArg{4, true, "/dev/zero", false, ""};
  EXPECT_EQ(encode_memory_call(fill), "read(4</dev/zero>, 0x7f0000001000, 1)");
}

// ---- the round trip over the whole grammar ---------------------------------------

// A register value as a call of the grammar would carry it: the decoder's
// canonical form (an Fd and a pkey sign-extended, mremap's new address 0
// unless it moves to a fixed place).
std::uint64_t value_for(ArgSyntax s) {
  const auto any = *rc::gen::arbitrary<std::uint64_t>();
  const auto small = *rc::gen::inRange<std::uint64_t>(0, 1 << 20);
  const auto pick = *rc::gen::inRange(0, 3);
  auto symbols = [&](FlagSet set) {
    std::uint64_t v = 0;
    for (const FlagSymbol& sym : flag_symbols(set))
      if (*rc::gen::inRange(0, 4) == 0) v |= sym.value;
    return pick == 0 ? any : v;  // known symbols, or bits no symbol names
  };
  switch (s) {
    case ArgSyntax::Pointer:
    case ArgSyntax::Size:
    case ArgSyntax::Hex:
    case ArgSyntax::Int:
      return pick == 0 ? 0 : (pick == 1 ? small : any);
    case ArgSyntax::Id:
      return small;
    case ArgSyntax::Int32:  // sign-extended, as the decoder reads "-1"
      return static_cast<std::uint64_t>(std::int64_t{*rc::gen::arbitrary<std::int32_t>()});
    case ArgSyntax::Fd:
      return static_cast<std::uint64_t>(std::int64_t{*rc::gen::inRange(-100, 100000)});
    case ArgSyntax::Madvise: {
      const auto syms = flag_symbols(FlagSet::Madvise);
      return pick == 0 ? small : syms[*rc::gen::inRange<std::size_t>(0, syms.size())].value;
    }
    case ArgSyntax::Prot:
      return symbols(FlagSet::Prot);
    case ArgSyntax::Map:
      return symbols(FlagSet::Map);
    case ArgSyntax::Mremap:
      return symbols(FlagSet::Mremap);
    case ArgSyntax::Mlockall:
      return symbols(FlagSet::Mlockall);
    case ArgSyntax::Mlock2:
      return symbols(FlagSet::Mlock2);
    case ArgSyntax::Msync:
      return symbols(FlagSet::Msync);
    case ArgSyntax::Shmat:
      return symbols(FlagSet::Shmat);
    case ArgSyntax::PrctlOption:  // the options that make prctl a memory call
      return pick < 2 ? abi::PR_SET_MDWE : abi::PR_GET_MDWE;
    case ArgSyntax::Mdwe:
      return symbols(FlagSet::Mdwe);
    case ArgSyntax::Resource:  // the limits that make setrlimit a memory call
      return pick < 2 ? abi::RLIMIT_MEMLOCK : abi::RLIMIT_STACK;
    case ArgSyntax::Rlimit:  // one field of it: a multiple of 1024, infinity, anything
      return pick == 0 ? small * 1024 : (pick == 1 ? abi::RLIM64_INFINITY : any);
    case ArgSyntax::CapData:  // one set: named capabilities and bits beyond the last
      return pick == 0 ? 0 : any;
    case ArgSyntax::UffdFlags:
      return symbols(FlagSet::Userfaultfd);
    case ArgSyntax::UffdioApi:  // api, or the features
      return pick == 0 ? abi::UFFD_API : symbols(FlagSet::UffdFeature);
    case ArgSyntax::UffdioRegister:  // start, len, or the mode
      return pick == 0 ? small << 12 : symbols(FlagSet::UffdRegister);
    case ArgSyntax::UffdioRange:
      return pick == 0 ? small << 12 : any;
    case ArgSyntax::CapHeader:
    case ArgSyntax::Ignored:
    case ArgSyntax::String:  // the name is text (MemoryCall::name), the register 0
    case ArgSyntax::UffdioApiCmd:
    case ArgSyntax::UffdioRegisterCmd:
    case ArgSyntax::UffdioUnregisterCmd:
      return 0;
    case ArgSyntax::Memfd:
      return symbols(FlagSet::Memfd) & 0xffffffffU;
    case ArgSyntax::MemfdSecret:
      return symbols(FlagSet::MemfdSecret);
    case ArgSyntax::FcntlCmd:  // the commands that make fcntl a memory call
      return pick < 2 ? abi::ADD_SEALS : abi::GET_SEALS;
    case ArgSyntax::Seals:
      return symbols(FlagSet::Seals);
  }
  return 0;
}

// The registers of a call of `syntax`: each argument's, a structure's fields
// one register each.
void fill_registers(std::span<const ArgSyntax> args, std::array<std::uint64_t, 6>& a) {
  std::size_t reg = 0;
  for (const ArgSyntax s : args)
    for (std::size_t k = 0; k < arg_width(s); ++k) a[reg++] = value_for(s);
}

FdArg fd_annotation(int fd) {
  FdArg f;
  f.fd = fd;
  const int kind = *rc::gen::inRange(0, 3);
  if (fd < 0 || kind == 0) return f;
  f.has_path = true;
  f.path = kind == 1 ? "/dev/zero" : "/memfd:vmseal-" + std::to_string(fd);
  f.deleted = kind == 2;
  return f;
}

RC_GTEST_PROP(MemoryCall, DecodeOfEncodeIsTheCall, ()) {
  const auto syntaxes = memory_call_syntaxes();
  const std::size_t which = *rc::gen::inRange<std::size_t>(0, syntaxes.size() + 1);
  MemoryCall c;
  std::span<const ArgSyntax> args;
  if (which == syntaxes.size()) {  // a read from /dev/zero into memory
    c.form = MemoryCall::Form::ZeroFill;
    const ArgSyntax kRead[] = {ArgSyntax::Fd, ArgSyntax::Pointer, ArgSyntax::Size};
    for (std::size_t i = 0; i < 3; ++i) c.call.a[i] = value_for(kRead[i]);
    c.fd = FdArg{static_cast<int>(c.call.a[0]), true, "/dev/zero", false, ""};
  } else {
    c.call.kind = syntaxes[which].kind;
    args = syntaxes[which].args;
    fill_registers(args, c.call.a);
    constexpr std::uint64_t kMovesTo = abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED;
    if (c.call.kind == SyscallKind::Mremap && (c.call.a[3] & kMovesTo) != kMovesTo)
      c.call.a[4] = 0;  // not printed, so not read back
    if (c.call.kind == SyscallKind::Mmap) c.fd = fd_annotation(static_cast<int>(c.call.a[4]));
    if (c.call.kind == SyscallKind::Fcntl || c.call.kind == SyscallKind::Ftruncate)
      c.fd = fd_annotation(static_cast<int>(c.call.a[0]));
    if (c.call.kind == SyscallKind::Fcntl && c.call.a[1] == abi::GET_SEALS)
      c.call.a[2] = 0;                            // not printed, so not read back
    if (c.call.kind == SyscallKind::MemfdCreate)  // any bytes, quotes and escapes included
      c.name = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
    if (!args.empty() && args[0] == ArgSyntax::Fd)  // the ioctls
      c.fd = fd_annotation(static_cast<int>(c.call.a[0]));
  }
  const std::string text = encode_memory_call(c);
  RC_LOG() << text;
  MemoryCall back;
  std::string error;
  RC_ASSERT(decode_memory_call(parse_call(text), back, &error));
  RC_ASSERT(back == c);
  RC_ASSERT(encode_memory_call(back) == text);
}

// ---- real strace output -----------------------------------------------------------

// Every memory call strace 6.1 printed for the test program (all the calls
// and flags it makes, tests/data/strace/mm_syscalls.c) re-encodes to the same
// text: the encoder writes what strace writes. Where strace 6.1 is older than
// the call or the value (syscall_0x1ce for mseal, "0x67 /* MADV_??? */" for
// MADV_GUARD_REMOVE) the encoder names it, and the name decodes to the same call.
TEST(MemoryCall, ReencodesRealStraceOutput) {
  std::ifstream in(std::string(VMSEAL_TEST_DATA_DIR) + "/strace/mm_syscalls.f_y_o.txt");
  ASSERT_TRUE(in) << "tests/data/strace/mm_syscalls.f_y_o.txt";
  std::stringstream text;
  text << in.rdbuf();
  std::size_t checked = 0;
  std::size_t same_text = 0;
  for (const ParseItem& item : parse_strace_text(text.str())) {
    const auto* ev = std::get_if<TraceEvent>(&item);
    if (ev == nullptr || ev->kind != EventKind::Call || !is_memory_call(ev->call)) continue;
    std::string printed = ev->call.raw_name + "(";
    for (std::size_t i = 0; i < ev->call.args.size(); ++i)
      printed += (i == 0 ? "" : ", ") + ev->call.args[i];
    printed += ")";
    MemoryCall c;
    std::string error;
    ASSERT_TRUE(decode_memory_call(ev->call, c, &error)) << printed << ": " << error;
    const bool newer_than_strace =
        ev->call.raw_name != ev->call.name || printed.find("??? */") != std::string::npos;
    if (!newer_than_strace) {
      EXPECT_EQ(encode_memory_call(c), printed) << "line " << ev->line;
      ++same_text;
    }
    MemoryCall back;
    ASSERT_TRUE(decode_memory_call(parse_call(encode_memory_call(c)), back, &error)) << error;
    EXPECT_TRUE(back == c) << "line " << ev->line << ": " << encode_memory_call(c);
    ++checked;
  }
  EXPECT_GE(checked, 50u);
  EXPECT_GE(same_text, 40u);
}

}  // namespace
}  // namespace vmseal::trace
