// The loaded images of a running process, found from outside and planned the
// way `vmseal run` would have sealed them (`vmseal seal PID`).
//
// Each file-backed private mapping is tied to its file by device and inode,
// never by its name alone: the file is opened through
// /proc/PID/map_files/START-END (the mapped file itself, even deleted or
// replaced; it needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), or else by its
// path inside the process's root, kept only when that path still leads to
// the mapped device and inode (a library upgraded since it was loaded, a
// name swapped for another file, a device, a FIFO: all refused, never read).
// The ELF headers are read with libelf from that open file.
//
// What is sealed is what the preload would have sealed at start-up: the
// program (its object holds AT_PHDR), the loader (AT_BASE), the preloads
// (LD_PRELOAD, /etc/ld.so.preload) and everything their DT_NEEDED lists
// reach (start-up objects, which glibc never unloads), and objects marked
// DF_1_NODELETE. Any other object was opened by dlopen and may be unloaded:
// left alone ("may-unload"), as `vmseal run` leaves it. Each planned range is
// checked against the mappings there: another file or shared memory where
// the plan puts the object is never sealed.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vmseal/kernel/smaps.hpp"
#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/loaded_objects.hpp"
#include "vmseal/sealing/remote_seal.hpp"

namespace vmseal::sealing {

struct MappedFileKey {
  std::uint32_t major = 0, minor = 0;
  std::uint64_t inode = 0;
  friend auto operator<=>(const MappedFileKey&, const MappedFileKey&) = default;
};

// One mapped file, read once.
struct MappedFile {
  bool ok = false;
  std::string error;  // why it was not read
  ElfImage image;
  bool on_shmem = false;  // tmpfs, hugetlbfs or a memfd: copied whole (image_sealer.cpp)
  bool libc_protects_relro =
      true;  // static programs: glibc does, musl does not (static_launch.hpp)
};

// The files of one process, by device and inode.
class MappedFiles {
 public:
  explicit MappedFiles(pid_t pid) : pid_(pid) {}
  // The file behind `e` (a file-backed mapping of the process), opened and
  // read the first time it is asked for.
  const MappedFile& get(const kernel::SmapsEntry& e);

 private:
  pid_t pid_;
  std::map<MappedFileKey, MappedFile> files_;
};

struct ProcessObject {
  RemoteObject remote;  // path, bias, plan (ranges), verdict
  MappedFileKey key;
  ObjectRole role = ObjectRole::Library;
  bool startup = false;  // reached from the program, a preload or the loader
  bool nodelete = false;
  Addr start = 0, end = 0;  // its span in the process
  const MappedFile* file = nullptr;
};

struct ProcessImages {
  std::vector<kernel::SmapsEntry> entries;  // smaps, when it was read
  std::vector<ProcessObject> objects;       // in address order
  bool is_static = false;                   // the program has no PT_INTERP
  bool is_go = false;                       // the program is a Go program
  // Whether [start, end) is wholly mapped and sealed (smaps' "sl").
  bool sealed(Addr start, Addr end) const;
  // The mapping containing `addr`, or nullptr.
  const kernel::SmapsEntry* mapping_at(Addr addr) const;
};

// The layout as the maps lines give it (start, end, protection, offset,
// device, inode, name: not the VmFlags), from smaps entries read before, or
// from /proc/PID/maps now ("" when it cannot be read). Equal: no mapping
// changed in between, and a plan made from the entries still holds.
std::string layout_of(const std::vector<kernel::SmapsEntry>& entries);
std::string layout_now(pid_t pid);

struct ImagePlanSettings {
  Profile profile = Profile::Default;
  std::vector<std::string> opt_out;  // globs
};

// Reads the process's smaps and files and plans each object. False with
// why when smaps cannot be read.
bool find_process_images(pid_t pid, MappedFiles& files, const ImagePlanSettings& settings,
                         ProcessImages& out, std::string* why);

}  // namespace vmseal::sealing
