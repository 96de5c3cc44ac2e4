#include "vmseal/sealing/process_images.hpp"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "vmseal/engine/vm_flags.hpp"
#include "vmseal/sealing/image_sealer.hpp"
#include "vmseal/sealing/inspect.hpp"
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/sealing/static_launch.hpp"
#include "vmseal/sealing/tracee.hpp"

namespace vmseal::sealing {
namespace {

constexpr std::string_view kDeleted = " (deleted)";
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{4} << 30;
constexpr std::size_t kMaxEnviron = 1 << 20;

MappedFileKey key_of(const kernel::SmapsEntry& e) { return {e.dev_major, e.dev_minor, e.inode}; }

bool is_file_mapping(const kernel::SmapsEntry& e) {
  return !e.name.empty() && e.name[0] == '/' && e.inode != 0 &&
         !e.name.starts_with("/memfd:vmseal-");
}

bool is_private(const kernel::SmapsEntry& e) { return e.perms.size() >= 4 && e.perms[3] == 'p'; }

bool is_anonymous(const kernel::SmapsEntry& e) {
  return e.inode == 0 && (e.name.empty() || e.name.starts_with("[anon:") ||
                          e.name.starts_with("/memfd:vmseal-relro:"));
}

std::string path_of(const kernel::SmapsEntry& e) {
  std::string p = e.name;
  if (p.ends_with(kDeleted)) p.resize(p.size() - kDeleted.size());
  return p;
}

// The mapped file, opened for reading only if it is a regular file with the
// mapping's device and inode: first the mapping itself (map_files), then
// its path inside the process's root. -1 with why.
int open_mapped_file(pid_t pid, const kernel::SmapsEntry& e, std::string& why) {
  const MappedFileKey want = key_of(e);
  auto same = [&](int fd) {
    struct stat st {};
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == want.inode &&
           major(st.st_dev) == want.major && minor(st.st_dev) == want.minor &&
           static_cast<std::uint64_t>(st.st_size) <= kMaxFileBytes;
  };
  char range[80];
  std::snprintf(range, sizeof range, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, e.start,
                e.end);
  bool skip = false;
  int fd = open_regular_or_directory(AT_FDCWD, range, 0, skip);
  if (fd >= 0 && same(fd)) return fd;
  if (fd >= 0) ::close(fd);
  if (e.name.ends_with(kDeleted)) {
    why =
        "the file was deleted or replaced since it was loaded, and /proc/PID/map_files (which "
        "needs CAP_SYS_ADMIN) cannot be opened";
    return -1;
  }
  const std::string via_root = "/proc/" + std::to_string(pid) + "/root" + e.name;
  fd = open_regular_or_directory(AT_FDCWD, via_root.c_str(), 0, skip);
  if (fd >= 0 && same(fd)) return fd;
  if (fd >= 0) ::close(fd);
  why = fd < 0 && !skip && errno != ENOENT
            ? std::string(std::strerror(errno))
            : "the file now at that path is not the one mapped (replaced since it was loaded, "
              "or on overlayfs, where only /proc/PID/map_files, which needs CAP_SYS_ADMIN, gives "
              "the mapped file)";
  return -1;
}

bool on_shmem(int fd, const std::string& name) {
  constexpr long kTmpfsMagic = 0x01021994;
  constexpr long kHugetlbfsMagic = 0x958458f6;
  if (name.starts_with("/memfd:")) return true;
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0) return false;
  return static_cast<long>(fs.f_type) == kTmpfsMagic ||
         static_cast<long>(fs.f_type) == kHugetlbfsMagic;
}

}  // namespace

const MappedFile& MappedFiles::get(const kernel::SmapsEntry& e) {
  const MappedFileKey key = key_of(e);
  if (const auto it = files_.find(key); it != files_.end()) return it->second;
  MappedFile& f = files_[key];
  const int fd = open_mapped_file(pid_, e, f.error);
  if (fd < 0) return f;
  std::string err;
  if (!read_elf_image(path_of(e), f.image, &err, fd)) {
    f.error = err;
  } else if (!f.image.is_64 || f.image.machine != 62 /* EM_X86_64 */ ||
             (f.image.type != 2 && f.image.type != 3)) {
    f.error = "not an x86-64 executable or shared object";
  } else {
    f.ok = true;
    f.on_shmem = on_shmem(fd, e.name);
    if (!f.image.interp && (f.image.type == 2 || f.image.pie))  // static programs only
      f.libc_protects_relro =
          static_libc_of("/proc/self/fd/" + std::to_string(fd)) == StaticLibc::Glibc;
  }
  ::close(fd);
  return f;
}

namespace {

void add_layout_line(std::string& out, unsigned long long start, unsigned long long end,
                     const char* perms, unsigned long long offset, unsigned major, unsigned minor,
                     unsigned long long inode, const std::string& name) {
  char line[160];
  std::snprintf(line, sizeof line, "%llx-%llx %s %llx %x:%x %llu ", start, end, perms, offset,
                major, minor, inode);
  out += line;
  out += name;
  out += '\n';
}

}  // namespace

std::string layout_of(const std::vector<kernel::SmapsEntry>& entries) {
  std::string out;
  for (const kernel::SmapsEntry& e : entries)
    add_layout_line(out, e.start, e.end, e.perms.c_str(), e.offset, e.dev_major, e.dev_minor,
                    e.inode, e.name);
  return out;
}

std::string layout_now(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line, out;
  while (std::getline(in, line)) {
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    unsigned major = 0, minor = 0;
    char perms[8] = {};
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset,
                    &major, &minor, &inode, &name_at) < 7)
      return "";
    add_layout_line(out, start, end, perms, offset, major, minor, inode,
                    name_at > 0 ? line.substr(static_cast<std::size_t>(name_at)) : "");
  }
  return out;
}

bool ProcessImages::sealed(Addr start, Addr end) const {
  Addr at = start;
  for (const kernel::SmapsEntry& e : entries) {
    if (e.end <= at || e.start >= end) continue;
    if (e.start > at || (e.vmflags & vm::SEALED) == 0) return false;
    at = e.end;
    if (at >= end) return true;
  }
  return false;
}

const kernel::SmapsEntry* ProcessImages::mapping_at(Addr addr) const {
  for (const kernel::SmapsEntry& e : entries)
    if (addr >= e.start && addr < e.end) return &e;
  return nullptr;
}

namespace {

// 1. The objects, in address order: an object begins at the first mapping
//    of its file that no object of that file already spans, and whose file
//    offset starts one of its PT_LOADs (two segments may share a file page:
//    only the first mapping tells the bias); a second copy of the file
//    elsewhere (dlmopen) is another object. An unreadable file counts only
//    when mapped executable (code, not a data file).
void collect_objects(ProcessImages& out, MappedFiles& files) {
  for (const kernel::SmapsEntry& e : out.entries) {
    if (!is_file_mapping(e) || !is_private(e)) continue;
    const MappedFileKey key = key_of(e);
    if (std::any_of(out.objects.begin(), out.objects.end(), [&](const ProcessObject& o) {
          return o.key == key && e.start >= o.start && e.start < o.end;
        }))
      continue;
    const MappedFile& f = files.get(e);
    const std::optional<Addr> bias = f.ok ? load_bias_of(f.image, e) : std::optional<Addr>{};
    if (f.ok ? !bias : e.perms.size() < 3 || e.perms[2] != 'x') continue;
    ProcessObject o;
    o.key = key;
    o.file = &f;
    o.remote.path = path_of(e);
    o.remote.bias = bias.value_or(e.start);
    const VRange span = f.ok ? f.image.span() : VRange{0, e.end - e.start};
    o.start = o.remote.bias + span.start;
    o.end = o.remote.bias + span.end;
    o.nodelete = f.ok && f.image.nodelete;
    out.objects.push_back(std::move(o));
  }
}

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (const char c : s + " ") {
    if (c == ' ' || c == ':' || c == '\t' || c == '\n') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// What the process preloaded: LD_PRELOAD from its initial environment and
// its root's /etc/ld.so.preload (both read, never trusted beyond naming
// objects already mapped).
std::vector<std::string> preloaded_names(pid_t pid) {
  std::vector<std::string> names;
  std::ifstream env("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string var;
  std::size_t total = 0;
  while (std::getline(env, var, '\0') && (total += var.size()) < kMaxEnviron)
    if (var.starts_with("LD_PRELOAD=")) names = split_names(var.substr(11));
  bool skip = false;
  const std::string conf = "/proc/" + std::to_string(pid) + "/root/etc/ld.so.preload";
  const int fd = open_regular_or_directory(AT_FDCWD, conf.c_str(), 0, skip);
  if (fd >= 0) {
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    ::close(fd);
    if (n > 0)
      for (const std::string& name : split_names(std::string(buf, static_cast<std::size_t>(n))))
        names.push_back(name);
  }
  return names;
}

int find_by_name(const ProcessImages& out, const std::string& name) {
  for (std::size_t i = 0; i < out.objects.size(); ++i) {
    const ProcessObject& o = out.objects[i];
    const bool hit =
        name.find('/') != std::string::npos
            ? o.remote.path == name
            : (o.file->ok && o.file->image.soname == name) || file_name_of(o.remote.path) == name;
    if (hit) return static_cast<int>(i);
  }
  return -1;
}

int find_at(const ProcessImages& out, Addr addr) {
  if (addr == 0) return -1;
  for (std::size_t i = 0; i < out.objects.size(); ++i)
    if (addr >= out.objects[i].start && addr < out.objects[i].end) return static_cast<int>(i);
  return -1;
}

// 2. The start-up objects: the program, the loader, the preloads, and what
//    their DT_NEEDED lists reach.
void mark_startup(ProcessImages& out, pid_t pid) {
  std::vector<int> queue;
  auto reach = [&](int i, ObjectRole role) {
    if (i < 0 || out.objects[static_cast<std::size_t>(i)].startup) return;
    out.objects[static_cast<std::size_t>(i)].startup = true;
    out.objects[static_cast<std::size_t>(i)].role = role;
    queue.push_back(i);
  };
  const int program = find_at(out, auxv_entry(pid, 3 /* AT_PHDR */));
  reach(program, ObjectRole::Program);
  reach(find_at(out, auxv_entry(pid, 7 /* AT_BASE */)), ObjectRole::Interpreter);
  if (program >= 0) {
    const MappedFile& f = *out.objects[static_cast<std::size_t>(program)].file;
    out.is_static = f.ok && !f.image.interp;
    out.is_go = f.ok && f.image.go;
  }
  for (const std::string& name : preloaded_names(pid))
    reach(find_by_name(out, name), ObjectRole::Library);
  for (std::size_t at = 0; at < queue.size(); ++at) {
    const ProcessObject& o = out.objects[static_cast<std::size_t>(queue[at])];
    if (!o.file->ok) continue;
    for (const std::string& needed : std::vector<std::string>(o.file->image.needed))
      reach(find_by_name(out, needed), ObjectRole::Library);
  }
}

}  // namespace

namespace {

// Whether any mapping over `p` is writable.
bool writable_over(const ProcessImages& out, const PlannedRange& p) {
  return std::any_of(out.entries.begin(), out.entries.end(), [&](const kernel::SmapsEntry& e) {
    return e.end > p.start && e.start < p.end && e.perms.size() > 1 && e.perms[1] == 'w';
  });
}

// What the mappings over one planned range say: sealed already, another
// file or shared memory there (never sealed), nothing mapped (a gap the
// kernel did not reserve).
void check_range(const ProcessImages& out, const ProcessObject& o, RemoteRange& r) {
  bool any = false, foreign = false, all_anon = true;
  for (const kernel::SmapsEntry& e : out.entries) {
    if (e.end <= r.plan.start || e.start >= r.plan.end) continue;
    any = true;
    const bool own = is_file_mapping(e) && key_of(e) == o.key;
    if (!is_private(e) || (!own && !is_anonymous(e))) foreign = true;
    if (!is_anonymous(e)) all_anon = false;
  }
  if (foreign) {
    r.error = kForeignMapping;
  } else if (any && r.plan.kind == SegmentKind::Relro && o.role == ObjectRole::Interpreter &&
             writable_over(out, r.plan)) {
    // ld.so protects its own RELRO only when it relocates itself a second
    // time, for the libraries it loads: in a program that loads none (a Go
    // -buildmode=pie) it stays writable for good. `vmseal run` leaves ld.so
    // alone there; seal PID does not change what ld.so left either.
    r.plan.seal = false;
    r.plan.why_not = "ld.so left its own RELRO writable (the program loads no library)";
  } else if (!any) {
    r.error = kNotMapped;  // nothing to seal (a static program's gaps)
    r.tried = true;
  } else if (out.sealed(r.plan.start, r.plan.end)) {
    r.already_sealed = true;
    if (r.plan.kind == SegmentKind::Relro)
      r.backing = all_anon ? RelroOutcome::Anonymised : RelroOutcome::KeptFile;
  }
}

// 3. Each object's plan, or why it is left alone.
void plan_one(const ProcessImages& out, ProcessObject& o, const ImagePlanSettings& settings,
              const std::string& globs) {
  RemoteObject& r = o.remote;
  auto leave = [&](const char* verdict, std::string why) {
    r.verdict = verdict;
    r.why = std::move(why);
  };
  if (!o.file->ok) return leave("failed", "its file cannot be read: " + o.file->error);
  if (!o.startup && !o.nodelete) return leave("may-unload", kMayUnloadWhy);
  if (matches_opt_out(globs.c_str(), r.path.c_str())) return leave("opted-out", kOptedOutWhy);
  for (const PlannedRange& p : plan_object(o.file->image, r.bias, settings.profile))
    r.ranges.push_back(RemoteRange{p});
  if (r.ranges.empty()) return leave("too-complex", kTooComplexWhy);
  r.copy_all = o.file->on_shmem;
  for (RemoteRange& range : r.ranges)
    if (range.plan.seal) check_range(out, o, range);
}

}  // namespace

bool find_process_images(pid_t pid, MappedFiles& files, const ImagePlanSettings& settings,
                         ProcessImages& out, std::string* why) {
  out = ProcessImages{};
  kernel::SmapsReader reader;
  reader.set_lean(true);
  if (!reader.open(pid, why) || !reader.read(out.entries, why)) return false;
  collect_objects(out, files);
  mark_startup(out, pid);
  std::string globs;
  for (const std::string& g : settings.opt_out) globs += (globs.empty() ? "" : ":") + g;
  for (ProcessObject& o : out.objects) plan_one(out, o, settings, globs);
  return true;
}

}  // namespace vmseal::sealing
