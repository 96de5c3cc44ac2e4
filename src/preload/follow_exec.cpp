// `--follow-exec` for the static programs a sealed program starts (docs/run.md,
// "Static programs"). A program started by `vmseal run --follow-exec` keeps the
// preload's environment, so a dynamic program it execs is sealed by the
// preload again; a static one has no loader and ignores LD_PRELOAD. So the
// exec family (execve, execv, execvp, execvpe, execl, execle, execlp,
// execveat, fexecve) and posix_spawn/posix_spawnp are interposed: when the
// environment handed to the new program carries VMSEAL_FOLLOW_EXEC, and the
// file the kernel will load (after its `#!` lines) is ELF without PT_INTERP,
// the call starts `vmseal run` instead, with the settings that environment
// carries, `--argv0` and the program. vmseal seals it through ptrace and execs
// it in its own place, so the pid (the exec'd process's, or the spawned
// child's) is the program's. Every other call goes to libc unchanged.
//
// vmseal is found beside this library (the build tree) or where the
// installation puts it (kLauncherFromPreloadDir: a relative path, never a
// build path). Nothing here allocates: a vfork child may call execve.
// Argument vectors go on the stack (alloca), files are read with pread.
#include "follow_exec.hpp"

#include <alloca.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "vmseal/sealing/preload_env.hpp"
#include "vmseal/version.hpp"

extern char** environ;

namespace env = vmseal::sealing::env;

namespace vmseal::preload {

const char* own_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_path), &info) != 0 && info.dli_fname != nullptr)
    return info.dli_fname;
  return "";
}

std::size_t ld_preload_without_self(const char* list, char* out, std::size_t cap) {
  const char* self = own_path();
  const char* self_base = std::strrchr(self, '/') != nullptr ? std::strrchr(self, '/') + 1 : self;
  std::size_t used = 0;
  for (const char* p = list; *p != '\0';) {
    while (*p == ':' || *p == ' ') ++p;
    const char* e = p;
    while (*e != '\0' && *e != ':' && *e != ' ') ++e;
    const std::size_t len = static_cast<std::size_t>(e - p);
    if (len == 0) break;
    const bool is_self = (std::strlen(self) == len && std::memcmp(p, self, len) == 0) ||
                         (std::strlen(self_base) == len && std::memcmp(p, self_base, len) == 0);
    if (!is_self && used + len + 2 < cap) {
      if (used > 0) out[used++] = ':';
      std::memcpy(out + used, p, len);
      used += len;
    }
    p = e;
  }
  if (cap > 0) out[used < cap ? used : cap - 1] = '\0';
  return used;
}

// Output without stdio buffers (stderr may be closed or redirected; a vfork
// child may be the caller): formatted on the stack, one write(2).
void say(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) {
    const std::size_t len =
        static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1;
    ssize_t ignored = write(STDERR_FILENO, buf, len);
    (void)ignored;
  }
}

namespace {

constexpr std::size_t kHeader = 256;  // binfmt_script's BINPRM_BUF_SIZE
constexpr int kMaxInterpreters = 4;   // the kernel's nesting limit (launch.cpp)
constexpr std::size_t kPath = 4096;

// --- what the new program's environment asks for ------------------------------
const char* env_in(char* const envp[], const char* name) {
  const std::size_t len = std::strlen(name);
  for (char* const* e = envp; e != nullptr && *e != nullptr; ++e)
    if (std::strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
  return nullptr;
}

bool env_true_in(char* const envp[], const char* name) {
  const char* v = env_in(envp, name);
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

// Sealed programs it starts are to be sealed too (`vmseal predict` is not a run).
bool follows(char* const envp[]) {
  return env_true_in(envp, env::kFollowExec) && env_in(envp, env::kPredict) == nullptr;
}

// --- whether the kernel will load a static program -------------------------------
// An ELF file of this class without PT_INTERP (the rule of plan_launch).
bool elf_without_interp(int fd) {
  ElfW(Ehdr) eh{};
  if (pread(fd, &eh, sizeof eh, 0) != static_cast<ssize_t>(sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(ElfW(Phdr)))
    return false;
  for (std::size_t i = 0; i < eh.e_phnum; ++i) {
    ElfW(Phdr) ph{};
    const off_t at = static_cast<off_t>(eh.e_phoff + i * sizeof ph);
    if (pread(fd, &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph)) return false;
    if (ph.p_type == PT_INTERP) return false;
  }
  return true;
}

// The interpreter a "#!" line names (binfmt_script's parse), into `out`; false
// when the header is not a script.
bool shebang(const char* head, std::size_t n, char* out, std::size_t cap) {
  if (n < 2 || head[0] != '#' || head[1] != '!') return false;
  std::size_t b = 2;
  while (b < n && (head[b] == ' ' || head[b] == '\t')) ++b;
  std::size_t e = b;
  while (e < n && head[e] != ' ' && head[e] != '\t' && head[e] != '\n' && head[e] != '\0') ++e;
  if (e == b || e - b >= cap) return false;
  std::memcpy(out, head + b, e - b);
  out[e - b] = '\0';
  return true;
}

// The loader this program runs under (its PT_INTERP), by device and inode;
// set by the constructor. Exec'd directly (`ld.so PROGRAM`, ldd's `ld.so
// --list`), it has no PT_INTERP either, but it loads the preload from the
// environment like any dynamic program: it is not a static program here.
dev_t g_loader_dev = 0;
ino_t g_loader_ino = 0;

void find_loader() {
  const auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(getauxval(AT_PHDR));
  const std::size_t count = getauxval(AT_PHNUM);
  std::uintptr_t bias = 0;
  for (std::size_t i = 0; phdr != nullptr && i < count; ++i)
    if (phdr[i].p_type == PT_PHDR) bias = reinterpret_cast<std::uintptr_t>(phdr) - phdr[i].p_vaddr;
  for (std::size_t i = 0; phdr != nullptr && i < count; ++i) {
    struct stat st {};
    if (phdr[i].p_type == PT_INTERP &&
        stat(reinterpret_cast<const char*>(bias + phdr[i].p_vaddr), &st) == 0) {
      g_loader_dev = st.st_dev;
      g_loader_ino = st.st_ino;
    }
  }
}

bool is_loader(int fd) {
  struct stat st {};
  return g_loader_ino != 0 && fstat(fd, &st) == 0 && st.st_dev == g_loader_dev &&
         st.st_ino == g_loader_ino;
}

// Whether exec of `path` (openat's dirfd and AT_* flags) loads a static
// program, following `#!` lines. False when in doubt (unreadable: the call
// goes to libc as it is).
bool is_static_target(int dirfd, const char* path, int at_flags) {
  int fd = dirfd;
  bool own = false;
  if (!((at_flags & AT_EMPTY_PATH) != 0 && path[0] == '\0')) {
    const int nofollow = (at_flags & AT_SYMLINK_NOFOLLOW) != 0 ? O_NOFOLLOW : 0;
    fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | nofollow);
    own = true;
  }
  bool result = false;
  for (int depth = 0; fd >= 0; ++depth) {
    char head[kHeader];
    char interpreter[kHeader];
    const ssize_t n = pread(fd, head, sizeof head, 0);
    const bool script =
        n > 0 && shebang(head, static_cast<std::size_t>(n), interpreter, sizeof interpreter);
    if (!script) result = n > 0 && elf_without_interp(fd) && !is_loader(fd);
    if (own) close(fd);
    if (!script || depth == kMaxInterpreters) break;
    fd = open(interpreter, O_RDONLY | O_CLOEXEC);
    own = true;
  }
  return result;
}

// --- vmseal and its arguments ------------------------------------------------------
char g_launcher[kPath];  // "" until found; set by the constructor only

void find_launcher() {
  const char* self = own_path();
  const char* slash = std::strrchr(self, '/');
  if (slash == nullptr) return;
  const int dir = static_cast<int>(slash - self);
  for (const char* rel : {"vmseal", kLauncherFromPreloadDir}) {
    char candidate[kPath];
    if (std::snprintf(candidate, sizeof candidate, "%.*s/%s", dir, self, rel) >=
        static_cast<int>(sizeof candidate))
      continue;
    struct stat st {};
    if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) {
      std::memcpy(g_launcher, candidate, sizeof candidate);
      return;
    }
  }
}

bool one_of(const char* v, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (v != nullptr && std::strcmp(v, n) == 0) return true;
  return false;
}

// `vmseal run`'s options for the settings `envp` carries (values the preload
// would not take are left to vmseal's defaults, as the preload does). `globs`
// holds VMSEAL_OPT_OUT split at ':'. Returns the number of entries.
std::size_t settings_argv(char* const envp[], char* globs, const char** v) {
  std::size_t n = 0;
  auto option = [&](const char* name, const char* value) {
    v[n++] = name;
    if (value != nullptr) v[n++] = value;
  };
  const char* profile = env_in(envp, env::kProfile);
  if (one_of(profile, {"minimal", "default", "strict"})) option("--profile", profile);
  for (char* g = globs; *g != '\0';) {
    char* end = std::strchr(g, ':');
    if (end != nullptr) *end = '\0';
    if (*g != '\0') option("--opt-out", g);
    if (end == nullptr) break;
    g = end + 1;
  }
  const char* relro = env_in(envp, env::kRelro);
  if (one_of(relro, {"anon", "memfd", "file"})) option("--relro", relro);
  const char* text = env_in(envp, env::kText);
  if (one_of(text, {"anon", "file"})) option("--text", text);
  if (env_true_in(envp, env::kDryRun)) option("--dry-run", nullptr);
  const char* report = env_in(envp, env::kReport);
  if (report != nullptr && *report != '\0') option("--report", report);
  if (env_true_in(envp, env::kEnforce)) option("--enforce", nullptr);
  return n;
}

std::size_t count(char* const v[]) {
  std::size_t n = 0;
  while (v != nullptr && v[n] != nullptr) ++n;
  return n;
}

// Variables that make glibc's loader list vmseal's libraries and exit
// instead of running it (what ldd sets). A static program ignores them.
bool lists_instead_of_running(const char* entry) {
  for (const char* name : {"LD_TRACE_LOADED_OBJECTS=", "LD_TRACE_PRELINKING="})
    if (std::strncmp(entry, name, std::strlen(name)) == 0) return true;
  return false;
}

enum class Route : std::uint8_t { Plain, Started, Refused };

// A static program that cannot go through vmseal: under --enforce the call
// fails (EPERM), otherwise it runs unsealed, as before, with a warning.
Route cannot_follow(char* const envp[], const char* path, const char* why) {
  if (env_true_in(envp, env::kEnforce)) {
    say("vmseal: %s is statically linked and %s: not running it (--enforce)\n", path, why);
    return Route::Refused;
  }
  say("vmseal: %s is statically linked and %s: running it unsealed\n", path, why);
  return Route::Plain;
}

// Starts `path` through `vmseal run`: `start(vmseal, argv, envp)` with the
// vectors built on this frame's stack (it must not return before the call).
// The environment loses this library from LD_PRELOAD: vmseal itself runs
// without it, and its --follow-exec puts it first again for the program.
template <typename Start>
Route through_vmseal(const char* path, char* const argv[], char* const envp[], Start start,
                     int& result) {
  if (g_launcher[0] == '\0')
    return cannot_follow(envp, path, "vmseal is not installed beside the preload");
  char dotted[kPath + 2];
  if (std::strchr(path, '/') == nullptr) {  // execve's "prog" is ./prog, never a PATH search
    std::snprintf(dotted, sizeof dotted, "./%s", path);
    path = dotted;
  }
  char globs[kPath] = {};
  if (const char* o = env_in(envp, env::kOptOut); o != nullptr)
    std::snprintf(globs, sizeof globs, "%s", o);
  std::size_t slots = count(argv) + 24;
  for (const char* c = globs; *c != '\0'; ++c) slots += *c == ':' ? 2 : 0;
  const auto** v = static_cast<const char**>(alloca((slots + 2) * sizeof(char*)));
  std::size_t n = 0;
  for (const char* a :
       {static_cast<const char*>(g_launcher), "run", "--follow-exec", "--preload", own_path()})
    v[n++] = a;
  n += settings_argv(envp, globs, v + n);
  if (argv != nullptr && argv[0] != nullptr) {
    // One word, "--argv0=NAME": a NAME such as "--" or "-bash" is never read as an option.
    auto* a0 = static_cast<char*>(alloca(std::strlen(argv[0]) + sizeof "--argv0="));
    std::memcpy(a0, "--argv0=", sizeof "--argv0=" - 1);
    std::strcpy(a0 + sizeof "--argv0=" - 1, argv[0]);
    v[n++] = a0;
  }
  v[n++] = "--";
  v[n++] = path;
  for (std::size_t i = 1; argv != nullptr && argv[0] != nullptr && argv[i] != nullptr; ++i)
    v[n++] = argv[i];
  v[n] = nullptr;
  const auto** e = static_cast<const char**>(alloca((count(envp) + 1) * sizeof(char*)));
  char ld[8192 + 16] = "LD_PRELOAD=";
  constexpr std::size_t kLd = sizeof "LD_PRELOAD=" - 1;
  std::size_t m = 0;
  for (char* const* p = envp; p != nullptr && *p != nullptr; ++p) {
    if (std::strncmp(*p, "LD_PRELOAD=", kLd) == 0) {
      if (ld_preload_without_self(*p + kLd, ld + kLd, sizeof ld - kLd) > 0) e[m++] = ld;
    } else if (!lists_instead_of_running(*p)) {
      e[m++] = *p;
    }
  }
  e[m] = nullptr;
  result = start(g_launcher, const_cast<char* const*>(v), const_cast<char* const*>(e));
  return Route::Started;
}

// Where execvp and posix_spawnp find `file`: the caller's PATH (glibc's
// default without one), the first regular executable file; nullptr if none.
const char* search_path(const char* file, char* buf, std::size_t cap) {
  if (std::strchr(file, '/') != nullptr) return file;
  const char* path = getenv("PATH");
  if (path == nullptr) path = "/bin:/usr/bin";
  for (const char* p = path;; ++p) {
    const char* end = std::strchr(p, ':');
    const int len = static_cast<int>(end != nullptr ? end - p : std::strlen(p));
    const int n = std::snprintf(buf, cap, "%.*s/%s", len > 0 ? len : 1, len > 0 ? p : ".", file);
    struct stat st {};
    if (n > 0 && static_cast<std::size_t>(n) < cap && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
        access(buf, X_OK) == 0)
      return buf;
    if (end == nullptr) return nullptr;
    p = end;
  }
}

// The name vmseal can open for what execveat(dirfd, path, flags) loads:
// /proc/self/fd/N for a descriptor that survives vmseal's own exec; a
// close-on-exec directory by its path now. nullptr when nothing names it.
const char* path_for_vmseal(int dirfd, const char* path, int flags, char* buf, std::size_t cap) {
  if (path[0] == '/' || (dirfd == AT_FDCWD && path[0] != '\0')) return path;
  const int fd_flags = fcntl(dirfd, F_GETFD);
  if (fd_flags < 0) return nullptr;
  const bool empty = (flags & AT_EMPTY_PATH) != 0 && path[0] == '\0';
  int n = 0;
  if ((fd_flags & FD_CLOEXEC) == 0) {
    n = std::snprintf(buf, cap, "/proc/self/fd/%d%s%s", dirfd, empty ? "" : "/", path);
  } else {
    if (empty) return nullptr;  // a file open close-on-exec: vmseal could only name another
    char link[32];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    char dir[kPath];
    const ssize_t len = readlink(link, dir, sizeof dir - 1);
    if (len <= 0 || dir[0] != '/') return nullptr;
    dir[len] = '\0';
    n = std::snprintf(buf, cap, "%s/%s", dir, path);
  }
  return n > 0 && static_cast<std::size_t>(n) < cap ? buf : nullptr;
}

// --- libc's functions ------------------------------------------------------------
using ExecveFn = int (*)(const char*, char* const[], char* const[]);
using ExecveatFn = int (*)(int, const char*, char* const[], char* const[], int);
using FexecveFn = int (*)(int, char* const[], char* const[]);
using SpawnFn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                        const posix_spawnattr_t*, char* const[], char* const[]);
struct Next {
  ExecveFn execve = nullptr, execvpe = nullptr;
  ExecveatFn execveat = nullptr;
  FexecveFn fexecve = nullptr;
  SpawnFn posix_spawn = nullptr, posix_spawnp = nullptr;
};
Next g_next;

// libc's `name`, looked up once, by the constructor: a vfork child must never
// have to (dlsym takes the loader's lock).
template <typename Fn>
Fn next(Fn& slot, const char* name) {
  if (slot == nullptr) slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  return slot;
}

void resolve_next() {
  next(g_next.execve, "execve");
  next(g_next.execvpe, "execvpe");
  next(g_next.execveat, "execveat");
  next(g_next.fexecve, "fexecve");
  next(g_next.posix_spawn, "posix_spawn");
  next(g_next.posix_spawnp, "posix_spawnp");
}

__attribute__((constructor)) void vmseal_follow_exec_init() {
  resolve_next();
  if (!follows(environ)) return;
  find_launcher();
  find_loader();
}

// An exec of the static program `path` through vmseal: returns only when it
// failed (-1, errno set) or when the program is to run as it is (1).
int exec_static(const char* path, char* const argv[], char* const envp[]) {
  int r = -1;
  const auto exec = [](const char* l, char* const* a, char* const* e) {
    return next(g_next.execve, "execve")(l, a, e);
  };
  switch (through_vmseal(path, argv, envp, exec, r)) {
    case Route::Started:
      return r;
    case Route::Refused:
      errno = EPERM;
      return -1;
    case Route::Plain:
      break;
  }
  return 1;
}

// The arguments of execl, execle and execlp, after `arg`, up to the NULL.
std::size_t count_varargs(va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  std::size_t n = 1;
  while (va_arg(copy, char*) != nullptr) ++n;
  va_end(copy);
  return n;
}

void collect_varargs(const char* arg, va_list ap, char** argv, std::size_t n) {
  argv[0] = const_cast<char*>(arg);
  for (std::size_t i = 1; i < n; ++i) argv[i] = va_arg(ap, char*);
  argv[n] = nullptr;
}

}  // namespace
}  // namespace vmseal::preload

namespace vp = vmseal::preload;

extern "C" {

#define VMSEAL_EXPORT __attribute__((visibility("default")))

VMSEAL_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  if (vp::follows(envp) && vp::is_static_target(AT_FDCWD, path, 0))
    if (const int r = vp::exec_static(path, argv, envp); r <= 0) return r;
  return vp::next(vp::g_next.execve, "execve")(path, argv, envp);
}

VMSEAL_EXPORT int execv(const char* path, char* const argv[]) {
  return execve(path, argv, environ);
}

VMSEAL_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  char found[vp::kPath];
  const char* path = vp::follows(envp) ? vp::search_path(file, found, sizeof found) : nullptr;
  if (path != nullptr && vp::is_static_target(AT_FDCWD, path, 0))
    if (const int r = vp::exec_static(path, argv, envp); r <= 0) return r;
  return vp::next(vp::g_next.execvpe, "execvpe")(file, argv, envp);
}

VMSEAL_EXPORT int execvp(const char* file, char* const argv[]) {
  return execvpe(file, argv, environ);
}

VMSEAL_EXPORT int execl(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  const std::size_t n = vp::count_varargs(ap);
  auto** argv = static_cast<char**>(alloca((n + 1) * sizeof(char*)));
  vp::collect_varargs(arg, ap, argv, n);
  va_end(ap);
  return execve(path, argv, environ);
}

VMSEAL_EXPORT int execle(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  const std::size_t n = vp::count_varargs(ap);
  auto** argv = static_cast<char**>(alloca((n + 1) * sizeof(char*)));
  vp::collect_varargs(arg, ap, argv, n);
  static_cast<void>(va_arg(ap, char*));  // the NULL
  char* const* envp = va_arg(ap, char* const*);
  va_end(ap);
  return execve(path, argv, envp);
}

VMSEAL_EXPORT int execlp(const char* file, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  const std::size_t n = vp::count_varargs(ap);
  auto** argv = static_cast<char**>(alloca((n + 1) * sizeof(char*)));
  vp::collect_varargs(arg, ap, argv, n);
  va_end(ap);
  return execvpe(file, argv, environ);
}

VMSEAL_EXPORT int execveat(int dirfd, const char* path, char* const argv[], char* const envp[],
                           int flags) {
  if (vp::follows(envp) && vp::is_static_target(dirfd, path, flags)) {
    char where[vp::kPath];
    const char* p = vp::path_for_vmseal(dirfd, path, flags, where, sizeof where);
    if (p != nullptr) {
      if (const int r = vp::exec_static(p, argv, envp); r <= 0) return r;
    } else if (vp::cannot_follow(envp, *path != '\0' ? path : "the program",
                                 "is exec'd through a close-on-exec descriptor vmseal cannot "
                                 "open") == vp::Route::Refused) {
      errno = EPERM;
      return -1;
    }
  }
  return vp::next(vp::g_next.execveat, "execveat")(dirfd, path, argv, envp, flags);
}

VMSEAL_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
  if (vp::follows(envp) && vp::is_static_target(fd, "", AT_EMPTY_PATH))
    return execveat(fd, "", argv, envp, AT_EMPTY_PATH);
  return vp::next(vp::g_next.fexecve, "fexecve")(fd, argv, envp);
}

// posix_spawn's child starts vmseal, which execs the program in its place:
// the pid returned is the program's.
VMSEAL_EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa,
                              const posix_spawnattr_t* attr, char* const argv[],
                              char* const envp[]) {
  const vp::SpawnFn real = vp::next(vp::g_next.posix_spawn, "posix_spawn");
  if (vp::follows(envp) && vp::is_static_target(AT_FDCWD, path, 0)) {
    int r = 0;
    const auto spawn = [&](const char* l, char* const* a, char* const* e) {
      return real(pid, l, fa, attr, a, e);
    };
    const vp::Route route = vp::through_vmseal(path, argv, envp, spawn, r);
    if (route == vp::Route::Started) return r;
    if (route == vp::Route::Refused) return EPERM;
  }
  return real(pid, path, fa, attr, argv, envp);
}

VMSEAL_EXPORT int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa,
                               const posix_spawnattr_t* attr, char* const argv[],
                               char* const envp[]) {
  char found[vp::kPath];
  const char* path = vp::follows(envp) ? vp::search_path(file, found, sizeof found) : nullptr;
  if (path != nullptr && vp::is_static_target(AT_FDCWD, path, 0))
    return posix_spawn(pid, path, fa, attr, argv, envp);
  return vp::next(vp::g_next.posix_spawnp, "posix_spawnp")(pid, file, fa, attr, argv, envp);
}

}  // extern "C"
