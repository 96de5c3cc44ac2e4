// Reading the files a trace's execve lines ran (include/vmseal/sealing/exec_files.hpp).
#include "vmseal/sealing/exec_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "vmseal/sealing/elf_image.hpp"

namespace vmseal::sealing {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// binfmt_script: "#!" then blanks, the interpreter up to a blank or the end
// of the line, within the first BINPRM_BUF_SIZE bytes.
bool script_interpreter(const char* buf, std::size_t n, std::string& out) {
  std::size_t i = 2;
  while (i < n && (buf[i] == ' ' || buf[i] == '\t')) ++i;
  const std::size_t start = i;
  while (i < n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\0') ++i;
  if (i == start || (i == n && n == 256)) return false;  // empty, or longer than the buffer
  out.assign(buf + start, i - start);
  return true;
}

}  // namespace

std::unique_ptr<RootExecFiles> RootExecFiles::open(const std::string& root, std::string* error) {
  char real[PATH_MAX];
  if (::realpath(root.c_str(), real) == nullptr) {
    if (error != nullptr) *error = root + ": " + std::strerror(errno);
    return nullptr;
  }
  const int fd = ::open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (error != nullptr) *error = root + ": " + std::strerror(errno);
    return nullptr;
  }
  std::string canonical = real;
  if (canonical == "/") canonical.clear();
  return std::unique_ptr<RootExecFiles>(new RootExecFiles(fd, canonical));
}

RootExecFiles::~RootExecFiles() { ::close(root_fd_); }

const trace::ExecFile* RootExecFiles::find(const std::string& path, std::string* why) {
  auto it = cache_.find(path);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxFiles) {
      if (why != nullptr)
        *why = "more than " + std::to_string(kMaxFiles) + " files named (a documented limit)";
      return nullptr;
    }
    Entry e;
    e.ok = read(path, e.file, &e.why);
    it = cache_.emplace(path, std::move(e)).first;
  }
  if (!it->second.ok) {
    if (why != nullptr) *why = it->second.why;
    return nullptr;
  }
  return &it->second.file;
}

// The file `path` names under the root, as binfmt_elf reads it.
bool RootExecFiles::read(const std::string& path, trace::ExecFile& out, std::string* why) const {
  auto fail = [&](const std::string& w) {
    if (why != nullptr) *why = w;
    return false;
  };
  if (path.empty() || path[0] != '/' || path.size() >= PATH_MAX)
    return fail("not an absolute path");
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  Fd where{static_cast<int>(::syscall(SYS_openat2, root_fd_, path.c_str(), &how, sizeof how))};
  if (where.fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(where.fd, &st) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > kMaxFileBytes)
    return fail("larger than 4 GiB (a documented limit)");
  // The same inode again, for reading.
  char self[64];
  std::snprintf(self, sizeof self, "/proc/self/fd/%d", where.fd);
  Fd file{::open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (file.fd < 0) return fail(std::strerror(errno));
  char name[PATH_MAX];
  const ssize_t n = ::readlink(self, name, sizeof name - 1);
  if (n <= 0) return fail(std::strerror(errno));
  std::string real(name, static_cast<std::size_t>(n));
  if (!root_.empty()) {
    if (!real.starts_with(root_ + "/")) return fail("resolves outside the root");
    real.erase(0, root_.size());
  }
  out = trace::ExecFile{};
  out.path = real;
  out.size = static_cast<std::uint64_t>(st.st_size);
  char head[256];
  const ssize_t got = ::pread(file.fd, head, sizeof head, 0);
  if (got >= 2 && head[0] == '#' && head[1] == '!') {
    if (!script_interpreter(head, static_cast<std::size_t>(got), out.script_interp))
      return fail("a #! line binfmt_script would refuse");
    return true;
  }
  ElfImage img;
  std::string err;
  if (!read_elf_image(real, img, &err, file.fd)) return fail(err);
  if (!img.is_64 || img.machine != 62 /* EM_X86_64 */) return fail("not an x86-64 ELF file");
  if (img.type != 2 /* ET_EXEC */ && img.type != 3 /* ET_DYN */)
    return fail("neither ET_EXEC nor ET_DYN");
  // load_elf_phdrs(): at most 64 KiB of program headers.
  if (img.loads.size() > 65536 / 56) return fail("more program headers than binfmt_elf reads");
  out.et_dyn = img.type == 3;
  for (const LoadSegment& l : img.loads) {
    if (l.filesz > l.memsz || (l.offset & 4095) != (l.vaddr & 4095) ||
        l.vaddr + l.memsz < l.vaddr || l.offset + l.filesz < l.offset)
      return fail("a PT_LOAD binfmt_elf would refuse");
    out.loads.push_back({l.offset, l.vaddr, l.filesz, l.memsz, l.r, l.w, l.x});
  }
  if (img.relro) out.relro = std::make_pair(img.relro->start, img.relro->end);
  if (img.interp) out.interp = *img.interp;
  return true;
}

}  // namespace vmseal::sealing
