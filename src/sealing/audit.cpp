#include "vmseal/sealing/audit.hpp"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "vmseal/sealing/launch.hpp"
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/sealing/static_launch.hpp"
#include "vmseal/sealing/tracee.hpp"

namespace vmseal::sealing {

std::size_t AuditReport::warnings() const noexcept {
  return static_cast<std::size_t>(std::count_if(
      findings.begin(), findings.end(),
      [](const AuditFinding& f) { return f.severity == AuditFinding::Severity::Warning; }));
}

std::string_view relro_level(const ElfImage& image) noexcept {
  if (!image.relro) return "none";
  return image.bind_now || !image.dynamic ? "full" : "partial";
}

namespace {

using Severity = AuditFinding::Severity;

std::vector<AuditFinding> findings_of(const ElfImage& img) {
  std::vector<AuditFinding> f;
  auto add = [&f](Severity s, const char* code, std::string text) {
    f.push_back({s, code, std::move(text)});
  };
  if (!img.relro)
    add(Severity::Warning, "no-relro",
        "no PT_GNU_RELRO: relocated data stays writable (and unsealable)");
  else if (img.dynamic && !img.bind_now)
    add(Severity::Warning, "partial-relro",
        "partial RELRO: not linked with -z now, so the GOT stays writable for "
        "lazy binding");
  if (img.textrel)
    add(Severity::Warning, "textrel",
        "text relocations: the loader must write to text before sealing it");
  if (img.has_wx_segment())
    add(Severity::Warning, "wx-segment", "a writable and executable segment: never sealed");
  if (img.stack_executable.value_or(false))
    add(Severity::Warning, "exec-stack", "executable stack requested (PT_GNU_STACK RWE)");
  if (!img.stack_executable)
    add(Severity::Warning, "no-gnu-stack",
        "no PT_GNU_STACK: the kernel may make the stack executable");
  for (const auto& m : img.mutable_ranges)
    if ((m.range.start & (kPageSize - 1)) != 0 || (m.range.end & (kPageSize - 1)) != 0)
      add(Severity::Warning, "unaligned-mutable",
          "a mutable range is not page-aligned: the pages around it stay "
          "mutable too");
  // The marker is the linker's to set (binutils 2.45: -z memory-seal); its
  // absence is no fault of a file built where the linker cannot.
  if (img.memory_seal)
    add(Severity::Note, "memory-seal",
        "marked GNU_PROPERTY_MEMORY_SEAL (-z memory-seal): a sealing glibc "
        "would seal it");
  else
    add(Severity::Note, "no-memory-seal",
        "not marked GNU_PROPERTY_MEMORY_SEAL (needs binutils 2.45's -z "
        "memory-seal); vmseal run seals it anyway");
  return f;
}

bool is_elf_magic(int fd) {
  unsigned char magic[SELFMAG];
  return pread(fd, magic, SELFMAG, 0) == SELFMAG && std::memcmp(magic, ELFMAG, SELFMAG) == 0;
}

}  // namespace

bool audit_file(const std::string& path, Profile profile, AuditReport& out, std::string* error,
                AuditError* kind, int fd) {
  auto fail = [&](AuditError k, std::string why) {
    if (kind != nullptr) *kind = k;
    if (error != nullptr) *error = std::move(why);
    return false;
  };
  int own = -1;
  if (fd < 0) {
    bool skip = false;
    own = fd = open_regular_or_directory(AT_FDCWD, path.c_str(), 0, skip);
    if (skip) return fail(AuditError::NotRegular, path + " is not a regular file");
    if (fd < 0) return fail(AuditError::Io, path + ": " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{own};
  struct stat st {};
  if (fstat(fd, &st) != 0) return fail(AuditError::Io, path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(AuditError::NotRegular, path + " is not a regular file");
  if (!is_elf_magic(fd)) return fail(AuditError::NotElf, path + ": not an ELF file");
  out = AuditReport{};
  out.path = path;
  std::string why;
  if (!read_elf_image(path, out.image, &why, fd)) {
    const bool malformed = why.find("not an ELF") != std::string::npos ||
                           why.find("bad") != std::string::npos ||
                           why.find("no loadable") != std::string::npos;
    return fail(malformed ? AuditError::NotElf : AuditError::Io, why);
  }
  out.plan = plan_object(out.image, 0, profile);
  out.findings = findings_of(out.image);
  return true;
}

namespace {

struct Walker {
  Profile profile;
  TreeLimits limits;
  const std::function<void(std::uint64_t)>& progress;
  TreeAudit& result;
  std::uint64_t seen = 0;

  bool full() {
    if (seen < limits.max_files) return false;
    result.truncated = true;
    return true;
  }

  void file(const std::string& path, int fd) {
    ++seen;
    if (progress && seen % 256 == 0) progress(seen);
    AuditReport report;
    std::string error;
    AuditError kind = AuditError::None;
    if (audit_file(path, profile, report, &error, &kind, fd))
      result.reports.push_back(std::move(report));
    else if (kind == AuditError::NotElf)
      ++result.not_elf;  // data, scripts, objects (.o), core files
    else if (kind == AuditError::NotRegular)
      ++result.skipped;
    else
      result.errors.push_back(error);
  }

  // `dir_fd` is open on `path`; entries are opened relative to it with
  // O_NOFOLLOW, so a symlink swapped in mid-walk is never followed.
  void directory(const std::string& path, int dir_fd, std::size_t depth) {
    DIR* dir = fdopendir(dir_fd);
    if (dir == nullptr) {
      result.errors.push_back(path + ": " + std::strerror(errno));
      ::close(dir_fd);
      return;
    }
    std::vector<std::string> names;
    while (const dirent* e = readdir(dir)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
      if (names.size() > limits.max_files) {  // a directory of millions: bounded memory
        result.truncated = true;
        break;
      }
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (full()) break;
      const std::string child = path == "/" ? "/" + name : path + "/" + name;
      bool skip = false;
      const int fd = open_regular_or_directory(dirfd(dir), name.c_str(), O_NOFOLLOW, skip);
      if (fd < 0) {
        if (skip)
          ++result.skipped;
        else
          result.errors.push_back(child + ": " + std::strerror(errno));
        continue;
      }
      struct stat st {};
      if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (depth + 1 > limits.max_depth) {
          result.truncated = true;
          ::close(fd);
          continue;
        }
        directory(child, fd, depth + 1);
        continue;
      }
      file(child, fd);
      ::close(fd);
    }
    closedir(dir);
  }
};

}  // namespace

TreeAudit audit_tree(const std::vector<std::string>& roots, Profile profile,
                     const TreeLimits& limits, const std::function<void(std::uint64_t)>& progress) {
  TreeAudit result;
  Walker walker{profile, limits, progress, result};
  for (const std::string& root : roots) {
    if (walker.full()) break;
    // A root named on the command line is the user's choice: followed if a
    // symlink.
    bool skip = false;
    const int fd = open_regular_or_directory(AT_FDCWD, root.c_str(), 0, skip);
    if (fd < 0) {
      result.errors.push_back(root + (skip ? std::string(" is not a regular file or a directory")
                                           : ": " + std::string(std::strerror(errno))));
      continue;
    }
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      std::string path = root;
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      walker.directory(path, fd, 0);
      continue;
    }
    walker.file(root, fd);
    ::close(fd);
  }
  return result;
}

namespace {

// How the ptrace path seals a program, by who makes its RELRO read-only.
std::string ptrace_why(const std::string& path, const ElfImage& image, LaunchObstacle o) {
  if (o == LaunchObstacle::GoRuntime)
    return "a Go program that loads no library (no libc, no __libc_start_main to preload "
           "into): sealed from outside through ptrace, text, rodata and gaps at its exec, RELRO "
           "when ld.so makes it read-only, before the Go runtime's first instruction";
  const std::string start =
      "statically linked (no loader to preload into): sealed from outside through ptrace, text, "
      "rodata and gaps at its exec, ";
  switch (static_libc_of(path)) {
    case StaticLibc::Glibc:
      return start + "RELRO when its glibc start-up makes it read-only";
    case StaticLibc::Go:
      return start + (image.relro ? "RELRO after its self-relocation, at its first system call"
                                  : "no RELRO (Go's linker makes none for a static program; the "
                                    "Go runtime never changes its image's protection)");
    case StaticLibc::Other:
      break;
  }
  return start +
         "RELRO after its self-relocation, at its first system call (its libc, not glibc, never "
         "makes RELRO read-only)";
}

}  // namespace

RunMethod run_method_for(const std::string& path, const ElfImage& image) {
  if (image.type == ET_DYN && !image.interp && !image.pie)
    return {"n/a", "a shared object: sealed with the program that loads it"};
  if (image.type != ET_EXEC && image.type != ET_DYN) return {"n/a", "not a program"};
  const LaunchPlan plan = plan_launch(path);
  if (plan.obstacle == LaunchObstacle::None)
    return {"preload", std::string(image.go ? "a Go program linked by the C toolchain (cgo, "
                                              "-linkmode=external): "
                                            : "") +
                           "dynamically linked, loaded by this system's glibc loader and started "
                           "through glibc's _start: the preload seals it before main"};
  if (!sealed_through_ptrace(plan.obstacle))
    return {"none", plan.why + " (vmseal run warns and runs it unsealed; --enforce refuses)"};
  if (const std::string no = ptrace_policy_obstacle(); !no.empty())
    return {"none", plan.why + "; it would be sealed through ptrace, but " + no +
                        " (vmseal run warns and runs it unsealed; --enforce refuses)"};
  return {"ptrace", ptrace_why(path, image, plan.obstacle)};
}

}  // namespace vmseal::sealing
