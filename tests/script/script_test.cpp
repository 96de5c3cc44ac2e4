// The .vms script language (script/script.hpp): lines read once into typed
// calls, arguments decoded as the call's syntax says or evaluated per run.
#include "vmseal/script/script.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vmseal::script {
namespace {

TEST(ScriptArithmetic, Evaluates) {
  const Bindings names{{"a", 0x10000}};
  std::uint64_t v = 0;
  EvalError error;
  ASSERT_TRUE(evaluate("a + 2*PAGE", names, v, error)) << error.message;
  EXPECT_EQ(v, 0x12000u);
  ASSERT_TRUE(evaluate("(a - PAGE) * 2", names, v, error)) << error.message;
  EXPECT_EQ(v, 0x1e000u);
  ASSERT_TRUE(evaluate("MM_SEAL_BASE|MM_SEAL_SEAL", names, v, error)) << error.message;
  EXPECT_EQ(v, 3u);
  ASSERT_TRUE(evaluate("-PAGE", names, v, error)) << error.message;
  EXPECT_EQ(v, ~std::uint64_t{0} - 4095);

  EXPECT_FALSE(evaluate("b + PAGE", names, v, error));
  EXPECT_EQ(error.message, "\"b\" is not bound");
  EXPECT_EQ(error.unbound, "b");
  EXPECT_FALSE(evaluate("a +", names, v, error));
  EXPECT_EQ(error.unbound, "");
  EXPECT_FALSE(evaluate("(a", names, v, error));
  EXPECT_EQ(error.message, "missing ')'");
  EXPECT_FALSE(evaluate(std::string(65, '(') + "1" + std::string(65, ')'), names, v, error));
  EXPECT_EQ(error.message, "expression nested more than 64 deep");
}

// A line is typed when it is read: each argument in strace's syntax is
// decoded then, by the syntax of its place in the call; the rest are
// expressions.
TEST(ScriptLine, ReadsIntoATypedCall) {
  Call c;
  std::string error;
  ASSERT_EQ(read_line("a = mmap(NULL, 4*PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
                      "0)  # a comment",
                      c, error),
            LineForm::Script);
  ASSERT_EQ(error, "");
  EXPECT_EQ(c.bind, "a");
  ASSERT_NE(c.syntax, nullptr);
  EXPECT_EQ(c.syntax->kind, SyscallKind::Mmap);
  ASSERT_EQ(c.args.size(), 6u);
  EXPECT_TRUE(c.args[0].constant);
  EXPECT_FALSE(c.args[1].constant);  // 4*PAGE
  EXPECT_TRUE(c.args[2].constant);
  EXPECT_EQ(c.args[2].value, 3u);  // PROT_READ|PROT_WRITE
  EXPECT_EQ(c.args[3].value, 0x22u);
  EXPECT_EQ(c.args[4].value, ~std::uint64_t{0});  // fd -1

  ASSERT_EQ(read_line("mseal(a, PAGE, MM_SEAL_BASE, 0)", c, error), LineForm::Script);
  EXPECT_EQ(c.syntax->kind, SyscallKind::MsealTyped);

  EXPECT_EQ(read_line("  # only a comment", c, error), LineForm::Blank);
  EXPECT_EQ(read_line("openat(AT_FDCWD, \"/etc/x\", O_RDONLY) = 3</etc/x>", c, error),
            LineForm::Trace);
}

TEST(ScriptLine, SaysWhatDoesNotRead) {
  Call c;
  std::string error;
  EXPECT_EQ(read_line("mprotect(a, PAGE, PROT_BOGUS)", c, error), LineForm::Script);
  EXPECT_NE(error.find("mprotect: argument 3"), std::string::npos) << error;
  EXPECT_NE(error.find("PROT_BOGUS"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(read_line("f = openat(AT_FDCWD, \"/etc/x\", O_RDONLY)", c, error), LineForm::Script);
  EXPECT_NE(error.find("openat is not a memory call"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(read_line("munmap(a)", c, error), LineForm::Script);
  EXPECT_EQ(error, "munmap: expected 2 arguments");
  error.clear();
  EXPECT_EQ(read_line("mremap(a, PAGE, PAGE, 0, 0, 0)", c, error), LineForm::Script);
  EXPECT_EQ(error, "mremap: expected 4 to 5 arguments");
  error.clear();
  EXPECT_EQ(read_line("x = ", c, error), LineForm::Script);
  EXPECT_EQ(error, "expected a call after \"x =\"");
}

// Resolved under one run's names: the registers, and the call as shown
// (constants as written, expressions in hex).
TEST(ScriptLine, ResolvesUnderEachRunsNames) {
  Call c;
  std::string error;
  ASSERT_EQ(
      read_line("mmap(a + PAGE, 2*PAGE, PROT_READ, MAP_SHARED|MAP_FIXED, 3</etc/x>, 0)", c, error),
      LineForm::Script);
  ASSERT_EQ(error, "");
  trace::MemoryCall call;
  std::string shown;
  EvalError eval;
  ASSERT_TRUE(resolve(c, Bindings{{"a", 0x10000}}, call, shown, eval)) << eval.message;
  EXPECT_EQ(call.call, (Syscall{SyscallKind::Mmap, {0x11000, 0x2000, 1, 0x11, 3, 0}}));
  EXPECT_EQ(call.fd.path, "/etc/x");
  EXPECT_EQ(shown, "mmap(0x11000, 0x2000, PROT_READ, MAP_SHARED|MAP_FIXED, 3</etc/x>, 0)");

  EXPECT_FALSE(resolve(c, Bindings{}, call, shown, eval));
  EXPECT_EQ(eval.unbound, "a");
}

// The kernel's pseudo-calls (seed 003): kseal, kunseal, krelease read like
// munmap and become the engine's kernel operations; the trace layer's table
// of calls does not know them.
TEST(ScriptKernelCalls, ReadAndResolve) {
  Call c;
  std::string error;
  const struct {
    const char* line;
    SyscallKind kind;
  } calls[] = {{"kseal(s, 8*PAGE)", SyscallKind::KernelSeal},
               {"kunseal(s + 2*PAGE, 2*PAGE)  # the first half", SyscallKind::KernelUnseal},
               {"krelease(0x7f0000000000, 8192)", SyscallKind::KernelRelease}};
  for (const auto& k : calls) {
    SCOPED_TRACE(k.line);
    error.clear();
    ASSERT_EQ(read_line(k.line, c, error), LineForm::Script);
    ASSERT_EQ(error, "");
    ASSERT_NE(c.syntax, nullptr);
    EXPECT_EQ(c.syntax->kind, k.kind);
    EXPECT_EQ(trace::memory_call_syntax(c.name, 2), nullptr);  // not a traced call
  }
  trace::MemoryCall call;
  std::string shown;
  EvalError eval;
  ASSERT_TRUE(resolve(c, Bindings{}, call, shown, eval)) << eval.message;
  EXPECT_EQ(call.call, (Syscall{SyscallKind::KernelRelease, {0x7f0000000000, 8192}}));
  EXPECT_EQ(shown, "krelease(0x7f0000000000, 8192)");
  EXPECT_EQ(syscall_name(SyscallKind::KernelRelease), "krelease");
  EXPECT_EQ(syscall_arg_count(SyscallKind::KernelSeal), 2U);
  EXPECT_EQ(pseudo_calls().size(), 3U);

  ASSERT_EQ(read_line("kseal(s, 8*PAGE)", c, error), LineForm::Script);
  ASSERT_TRUE(resolve(c, Bindings{{"s", 0x10000}}, call, shown, eval)) << eval.message;
  EXPECT_EQ(shown, "kseal(0x10000, 0x8000)");
  EXPECT_FALSE(resolve(c, Bindings{}, call, shown, eval));
  EXPECT_EQ(eval.unbound, "s");
}

TEST(ScriptKernelCalls, SayWhatDoesNotRead) {
  Call c;
  std::string error;
  EXPECT_EQ(read_line("kseal(s)", c, error), LineForm::Script);
  EXPECT_EQ(error, "kseal: expected 2 arguments");
  error.clear();
  EXPECT_EQ(read_line("krelease(s, PAGE, 0)", c, error), LineForm::Script);
  EXPECT_EQ(error, "krelease: expected 2 arguments");
  error.clear();
  EXPECT_EQ(read_line("kunseal(s, PROT_READ)", c, error), LineForm::Script);
  EXPECT_NE(error.find("kunseal: argument 2"), std::string::npos) << error;
  error.clear();
  // No trace shows what the kernel does: a result is an error, not strace output.
  EXPECT_EQ(read_line("kseal(0x10000, 4096) = 0", c, error), LineForm::Script);
  EXPECT_NE(error.find("kseal is what the kernel does"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(read_line("  krelease(s, PAGE) junk", c, error), LineForm::Script);
  EXPECT_NE(error.find("krelease is what the kernel does"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(read_line("x = krelease(s, PAGE) = 0", c, error), LineForm::Script);
  EXPECT_NE(error.find("unexpected text after the call"), std::string::npos) << error;
  error.clear();
  // Names that merely begin like one are other calls.
  EXPECT_EQ(read_line("ksealed(s, PAGE)", c, error), LineForm::Script);
  EXPECT_NE(error.find("ksealed is not a memory call"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(read_line("ksealed(1) = 0", c, error), LineForm::Trace);
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace vmseal::script
