#include "vmseal/sealing/launch.hpp"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/preload_env.hpp"

namespace vmseal::sealing {
namespace {

// binfmt_script reads the first BINPRM_BUF_SIZE bytes; the kernel follows at
// most 4 nested interpreters before ELOOP (fs/exec.c, bprm->have_execfd and
// the recursion limit of search_binary_handler: 5 handlers).
constexpr std::size_t kBinprmBufSize = 256;
constexpr int kMaxInterpreters = 4;

// The interpreter named by a "#!" line, as binfmt_script parses it ("" when
// the file does not start with "#!"). -1 when the file cannot be read.
int read_shebang(const std::string& path, std::string& interpreter) {
  interpreter.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[kBinprmBufSize + 1] = {};
  const ssize_t n = ::read(fd, buf, kBinprmBufSize);
  const int e = errno;
  ::close(fd);
  if (n < 0) {
    errno = e;
    return -1;
  }
  if (n < 2 || buf[0] != '#' || buf[1] != '!') return 0;
  const std::string line(buf + 2, static_cast<std::size_t>(n) - 2);
  const std::size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos || line[b] == '\n') return 0;
  const std::size_t end = line.find_first_of(" \t\n", b);
  interpreter = line.substr(b, end == std::string::npos ? std::string::npos : end - b);
  return 0;
}

bool has_file_capabilities(const std::string& path) {
  const ssize_t n = getxattr(path.c_str(), "security.capability", nullptr, 0);
  return n > 0;
}

// The loader this system's glibc programs use: vmseal's own PT_INTERP, read
// from this process's program headers in memory (AT_PHDR), not from the file:
// `vmseal run` pays for every byte it reads before the program starts.
const std::string& system_loader() {
  static const std::string path = [] {
    const auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(getauxval(AT_PHDR));
    const std::size_t count = getauxval(AT_PHNUM);
    if (phdr == nullptr) return std::string();
    // The load bias: where PT_PHDR says the headers are against where they are.
    std::uintptr_t bias = 0;
    for (std::size_t i = 0; i < count; ++i)
      if (phdr[i].p_type == PT_PHDR)
        bias = reinterpret_cast<std::uintptr_t>(phdr) - phdr[i].p_vaddr;
    for (std::size_t i = 0; i < count; ++i)
      if (phdr[i].p_type == PT_INTERP && phdr[i].p_filesz > 1)
        return std::string(
            reinterpret_cast<const char*>(bias + phdr[i].p_vaddr),
            strnlen(reinterpret_cast<const char*>(bias + phdr[i].p_vaddr), phdr[i].p_filesz));
    return std::string();
  }();
  return path;
}

// Whether `loader` is that file (the same device and inode, through any
// symlink): a file merely named ld-linux*.so.2 is not glibc's loader.
bool is_system_loader(const std::string& loader) {
  struct stat a {
  }, b{};
  return !system_loader().empty() && stat(loader.c_str(), &a) == 0 &&
         stat(system_loader().c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

LaunchPlan& obstacle(LaunchPlan& plan, LaunchObstacle o, std::string why) {
  plan.obstacle = o;
  plan.why = std::move(why);
  return plan;
}

// A Go program linked by Go's own linker: its entry is the Go runtime's
// (_rt0_amd64_linux), which never calls __libc_start_main. With no library
// to load, ld.so only relocates it: sealed through ptrace like a static
// program. With libc (cgo, or net and os/user under CGO_ENABLED=1), the
// runtime starts before and without the preload's hook: not sealable.
LaunchPlan& go_obstacle(LaunchPlan& plan, const std::string& file, const ElfImage& image) {
  if (image.needed.empty())
    return obstacle(plan, LaunchObstacle::GoRuntime,
                    file +
                        " is a Go program that loads no library: ld.so relocates it and the Go "
                        "runtime starts it, without a libc to preload into");
  return obstacle(plan, LaunchObstacle::NoStartHook,
                  file +
                      " is a Go program linked by Go's internal linker with libc: the Go runtime "
                      "starts at its own entry and never passes through __libc_start_main, where "
                      "the preload seals (link it with -ldflags=-linkmode=external to seal it "
                      "through the preload, or build it with CGO_ENABLED=0)");
}

}  // namespace

const char* launch_obstacle_name(LaunchObstacle o) noexcept {
  switch (o) {
    case LaunchObstacle::None:
      return "none";
    case LaunchObstacle::Unreadable:
      return "unreadable";
    case LaunchObstacle::NotElf:
      return "not-elf";
    case LaunchObstacle::Static:
      return "static";
    case LaunchObstacle::SecureExec:
      return "secure-exec";
    case LaunchObstacle::ForeignLoader:
      return "foreign-loader";
    case LaunchObstacle::NoStartHook:
      return "no-start-hook";
    case LaunchObstacle::TooDeep:
      return "too-deep";
    case LaunchObstacle::Audit:
      return "audit";
    case LaunchObstacle::GoRuntime:
      return "go-runtime";
  }
  return "?";
}

bool sealed_through_ptrace(LaunchObstacle o) noexcept {
  return o == LaunchObstacle::Static || o == LaunchObstacle::GoRuntime;
}

bool secure_exec_for_caller(const std::string& path, std::string* why) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return false;
  struct statvfs vfs {};
  const bool nosuid = statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOSUID) != 0;
  const bool no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
  // What the kernel's bprm_fill_uid() and cap_bprm_creds_from_file() do.
  uid_t euid = geteuid();
  gid_t egid = getegid();
  const bool ids_apply = !nosuid && !no_new_privs;
  if (ids_apply && (st.st_mode & S_ISUID) != 0) euid = st.st_uid;
  if (ids_apply && (st.st_mode & S_ISGID) != 0 && (st.st_mode & S_IXGRP) != 0) egid = st.st_gid;
  auto say = [&](const std::string& s) {
    if (why != nullptr) *why = path + s;
    return true;
  };
  if (euid != getuid())
    return say(
        euid != geteuid()
            ? " is set-user-ID to another user: the loader ignores LD_PRELOAD for it (AT_SECURE)"
            : ": vmseal runs with an effective user ID that is not its real one (AT_SECURE)");
  if (egid != getgid())
    return say(
        egid != getegid()
            ? " is set-group-ID to another group: the loader ignores LD_PRELOAD for it (AT_SECURE)"
            : ": vmseal runs with an effective group ID that is not its real one (AT_SECURE)");
  // File capabilities raise the permitted set of anyone but a full root.
  if (ids_apply && has_file_capabilities(path) && !(getuid() == 0 && geteuid() == 0))
    return say(" has file capabilities: the loader ignores LD_PRELOAD for it (AT_SECURE)");
  return false;
}

LaunchPlan plan_launch(const std::string& program) {
  LaunchPlan plan;
  plan.program = program;
  std::string file = program;
  for (int depth = 0;; ++depth) {
    std::string interpreter;
    if (read_shebang(file, interpreter) != 0)
      return obstacle(plan, LaunchObstacle::Unreadable,
                      file + " cannot be read by this user (" + std::strerror(errno) +
                          "): whether the loader can preload into it cannot be checked");
    if (interpreter.empty()) break;
    if (depth == kMaxInterpreters)
      return obstacle(plan, LaunchObstacle::TooDeep,
                      program + ": more nested #! interpreters than Linux follows");
    plan.interpreters.push_back(interpreter);
    file = interpreter;
  }
  plan.loaded = file;
  plan.execs_another = !plan.interpreters.empty() && file.substr(file.rfind('/') + 1) == "env";
  if (std::string why; secure_exec_for_caller(file, &why))
    return obstacle(plan, LaunchObstacle::SecureExec, why);
  ElfImage image;
  std::string error;
  if (!read_elf_image(file, image, &error)) return obstacle(plan, LaunchObstacle::NotElf, error);
  const std::string via = plan.interpreters.empty() ? "" : " (the interpreter of " + program + ")";
  if (!image.interp)
    return obstacle(plan, LaunchObstacle::Static,
                    file + via + " is statically linked: there is no loader to preload into");
  const std::string& loader = *image.interp;
  if (!is_system_loader(loader))
    return obstacle(plan, LaunchObstacle::ForeignLoader,
                    file + via + " is loaded by " + loader + ", not this system's glibc loader (" +
                        system_loader() + "): the preload is built for that one only");
  if (image.go && !starts_through_libc_start_main(image, nullptr))
    return go_obstacle(plan, file + via, image);
  if (names_audit_library(image))
    return obstacle(
        plan, LaunchObstacle::Audit,
        file + via +
            " names an rtld-audit library of its own (DT_AUDIT): it may keep the preload "
            "from loading");
  if (const char* audit = std::getenv("LD_AUDIT"); audit != nullptr && *audit != '\0')
    return obstacle(plan, LaunchObstacle::Audit,
                    std::string("LD_AUDIT is set (") + audit +
                        "): an rtld-audit library may keep the preload from "
                        "loading");
  if (std::string why; !starts_through_libc_start_main(image, &why))
    return obstacle(plan, LaunchObstacle::NoStartHook, why);
  return plan;
}

bool is_vmseal_preload(const std::string& path, std::string* why) {
  auto no = [&](const std::string& s) {
    if (why != nullptr) *why = s;
    return false;
  };
  ElfImage image;
  std::string error;
  if (!read_elf_image(path, image, &error)) return no(error);
  if (image.type != ET_DYN || !image.is_64 || image.machine != EM_X86_64)
    return no(path + " is not an x86-64 shared object");
  std::string sym_error;
  if (find_dynamic_symbol(path, kPreloadMarker, &sym_error) != DynamicSymbol::Defined)
    return no(path + " is not a vmseal preload library (it does not define " + kPreloadMarker +
              ")");
  return true;
}

std::vector<std::pair<std::string, std::string>> preload_environment(
    const std::string& preload, const PreloadSettings& s, const char* inherited_ld_preload) {
  std::string ld_preload = preload;
  if (inherited_ld_preload != nullptr && *inherited_ld_preload != '\0')
    ld_preload += std::string(":") + inherited_ld_preload;
  std::vector<std::pair<std::string, std::string>> out{{"LD_PRELOAD", ld_preload},
                                                       {env::kProfile, s.profile}};
  if (!s.opt_out.empty()) {
    std::string globs;
    for (const std::string& g : s.opt_out) globs += (globs.empty() ? "" : ":") + g;
    out.emplace_back(env::kOptOut, globs);
  }
  if (!s.relro.empty()) out.emplace_back(env::kRelro, s.relro);
  if (!s.text.empty()) out.emplace_back(env::kText, s.text);
  if (s.dry_run) out.emplace_back(env::kDryRun, "1");
  if (!s.report.empty()) out.emplace_back(env::kReport, s.report);
  if (s.enforce) out.emplace_back(env::kEnforce, "1");
  if (s.follow_exec) out.emplace_back(env::kFollowExec, "1");
  if (!s.script.empty()) out.emplace_back(env::kScript, s.script);
  if (!s.predict_dir.empty()) out.emplace_back(env::kPredict, s.predict_dir);
  return out;
}

std::vector<std::string> inherited_contract_variables(char** envp) {
  std::vector<std::string> names;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e)
    if (std::strncmp(*e, env::kPrefix, sizeof env::kPrefix - 1) == 0)
      names.emplace_back(*e, std::strcspn(*e, "="));
  return names;
}

}  // namespace vmseal::sealing
