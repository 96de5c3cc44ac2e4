// The files a trace's execve lines ran, read for vmseal sim --exec-files
// (include/vmseal/trace/exec_layout.hpp). A trace is untrusted input
// (docs/limits.md): it names the files, so they are read only when the user
// asks, only under the root directory the user gives, and only as binfmt_elf
// would read them:
// * every name is resolved inside the root (openat2 RESOLVE_IN_ROOT: "..",
//   absolute symlinks and mount crossings stay in it; no /proc magic link);
// * only a regular file is opened, by its inode, found first with O_PATH, so
//   no device is opened and no FIFO blocks;
// * at most kMaxFileBytes per file, kMaxFiles distinct names in all; the ELF
//   headers are read with libelf (sealing::read_elf_image), a "#!" line from
//   the first 256 bytes (BINPRM_BUF_SIZE).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "vmseal/trace/exec_layout.hpp"

namespace vmseal::sealing {

class RootExecFiles final : public trace::ExecFileSource {
 public:
  static constexpr std::uint64_t kMaxFileBytes = std::uint64_t{4} << 30;
  static constexpr std::size_t kMaxFiles = 4096;

  // The root directory ("/" for this machine's files). nullptr with why.
  static std::unique_ptr<RootExecFiles> open(const std::string& root, std::string* error);
  ~RootExecFiles() override;
  RootExecFiles(const RootExecFiles&) = delete;
  RootExecFiles& operator=(const RootExecFiles&) = delete;

  const trace::ExecFile* find(const std::string& path, std::string* why) override;

 private:
  RootExecFiles(int root_fd, std::string root) : root_fd_(root_fd), root_(std::move(root)) {}
  bool read(const std::string& path, trace::ExecFile& out, std::string* why) const;

  int root_fd_;
  std::string root_;  // canonical, without a trailing '/' ("" for "/")
  struct Entry {
    bool ok = false;
    trace::ExecFile file;
    std::string why;
  };
  std::map<std::string, Entry> cache_;
};

}  // namespace vmseal::sealing
