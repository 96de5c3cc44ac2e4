#include "vmseal/sealing/inspect.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "vmseal/engine/vm_flags.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::sealing {

std::string_view mapping_kind_name(MappingKind k) noexcept {
  switch (k) {
    case MappingKind::Object:
      return "object";
    case MappingKind::Heap:
      return "heap";
    case MappingKind::Stack:
      return "stack";
    case MappingKind::Vdso:
      return "vdso";
    case MappingKind::Vvar:
      return "vvar";
    case MappingKind::Vsyscall:
      return "vsyscall";
    case MappingKind::Anonymous:
      return "anonymous";
    case MappingKind::SharedMemory:
      return "shared";
    case MappingKind::File:
      return "file";
  }
  return "?";
}

std::string_view file_name_of(std::string_view path) noexcept {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

namespace {

constexpr std::string_view kDeleted = " (deleted)";

bool is_path(const std::string& name) { return !name.empty() && name[0] == '/'; }

MappingKind kind_of(const kernel::SmapsEntry& e) {
  const std::string& n = e.name;
  if (n == "[heap]") return MappingKind::Heap;
  if (n == "[stack]" || n.starts_with("[stack:")) return MappingKind::Stack;
  if (n == "[vdso]") return MappingKind::Vdso;
  if (n == "[vvar]" || n == "[vvar_vclock]") return MappingKind::Vvar;
  if (n == "[vsyscall]") return MappingKind::Vsyscall;
  const bool shared = e.perms.size() >= 4 && e.perms[3] == 's';
  if (n.empty() || n.starts_with("[anon:"))
    return shared ? MappingKind::SharedMemory : MappingKind::Anonymous;
  if (n.starts_with("[anon_shmem:") || n.starts_with("/dev/zero") || n.starts_with("/memfd:") ||
      n.starts_with("/SYSV") || n.starts_with("/dev/shm/"))
    return shared || n.starts_with("/memfd:") || n.starts_with("/SYSV") ? MappingKind::SharedMemory
                                                                        : MappingKind::Anonymous;
  return MappingKind::File;
}

std::string_view kind_note(MappingKind k) {
  switch (k) {
    case MappingKind::Heap:
      return "the heap grows and shrinks with brk: no loader seals it";
    case MappingKind::Stack:
      return "the main stack: sealed only by the strict profile (vmseal run --profile strict)";
    case MappingKind::Vdso:
    case MappingKind::Vvar:
      return "a system mapping: the kernel seals these only when built with "
             "CONFIG_MSEAL_SYSTEM_MAPPINGS "
             "(see vmseal check)";
    case MappingKind::Vsyscall:
      return "not a VMA: it cannot be sealed";
    case MappingKind::Anonymous:
      return "the program's own memory: seal it with the vmseal API if it must never change";
    case MappingKind::SharedMemory:
      return "shared memory: left to the program";
    case MappingKind::File:
      return "a mapped file that is not a loaded object: left to the program";
    case MappingKind::Object:
      break;
  }
  return "";
}

using FileKey = std::tuple<std::uint32_t, std::uint32_t, std::uint64_t, std::string>;

}  // namespace

std::optional<Addr> load_bias_of(const ElfImage& image, const kernel::SmapsEntry& e) {
  for (const LoadSegment& l : image.loads) {
    if (page_align_down(l.offset) != e.offset) continue;
    const Addr vpage = page_align_down(l.vaddr);
    if (e.start < vpage) continue;
    return e.start - vpage;
  }
  return std::nullopt;
}

ElfOpener live_elf_opener(pid_t pid) {
  return [pid](const kernel::SmapsEntry& e, ElfImage& image, std::string* error) {
    std::string path = e.name;
    const bool deleted = path.ends_with(kDeleted);
    if (deleted) path.resize(path.size() - kDeleted.size());
    const std::string via_root = "/proc/" + std::to_string(pid) + "/root" + path;
    int fd = deleted ? -1 : ::open(via_root.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      char range[64];
      std::snprintf(range, sizeof range, "%" PRIx64 "-%" PRIx64, e.start, e.end);
      const std::string via_map = "/proc/" + std::to_string(pid) + "/map_files/" + range;
      fd = ::open(via_map.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (error != nullptr)
          *error =
              path + ": " + std::strerror(errno) +
              (deleted ? " (the file was deleted; /proc/PID/map_files needs CAP_SYS_ADMIN)" : "");
        return false;
      }
    }
    const bool ok = read_elf_image(path, image, error, fd);
    ::close(fd);
    return ok;
  };
}

namespace {

constexpr std::string_view kCopyPrefix =
    "/memfd:vmseal-";  // relro.hpp's memfd copies, record.hpp's record

// A mapping vmseal put in place of a part of an object (relro.hpp): it is
// that object's, like its anonymous bss.
bool is_vmseal_copy(const std::string& name) { return name.starts_with(kCopyPrefix); }

// What the sealed RELRO mapping is backed by, as the process shows it.
const char* backing_of(const std::string& name) {
  if (name.empty()) return "anon";
  if (name.starts_with("/memfd:vmseal-relro:")) return "memfd";
  return "file";
}

constexpr std::string_view kNotSeenWhy =
    "loaded after vmseal run's last seal point by a dlopen the preload did not see (glibc's own, "
    "e.g. iconv's "
    "gconv modules or NSS, or dlmopen): it may be unloaded, so the run leaves it unsealed";

// The run's verdict on each object from the record; an object the record does
// not know arrived after the last seal point.
void apply_record(ProcessReport& rep, const SealRecord& record) {
  for (ObjectReport& o : rep.objects) {
    if (const SealRecord::Object* r = record.find(o.bias); r != nullptr) {
      o.run_verdict = object_verdict_name(r->verdict);
      o.run_why = object_verdict_reason(r->verdict);
    } else if (!o.main_program && !o.interpreter) {
      o.run_verdict = object_verdict_name(ObjectVerdict::MayUnload);
      o.run_why = kNotSeenWhy;
    }
  }
}

// Whether the run left this object alone on purpose, and the reason.
std::string_view left_alone_on_purpose(const ObjectReport& o) {
  if (o.run_verdict == "may-unload" || o.run_verdict == "opted-out" ||
      o.run_verdict == "too-complex")
    return o.run_why;
  return {};
}

}  // namespace

namespace {

constexpr std::size_t kSegmentKinds = static_cast<std::size_t>(SegmentKind::WriteExec) + 1;
constexpr std::size_t kMappingKinds = static_cast<std::size_t>(MappingKind::File) + 1;

// inspect_entries' steps: the objects, then every mapping tied to one (or
// to its kind), the coverage named, the object-wide warnings.
struct Inspection {
  ProcessReport rep;
  Profile profile = Profile::Default;
  std::map<FileKey, int> object_of_file;
  std::vector<std::vector<PlannedRange>> plans;  // by object
  // Coverage by kind, accumulated in arrays and named at the end.
  std::array<Coverage, kSegmentKinds> segments{};
  std::array<Coverage, kMappingKinds> kinds{};
  std::vector<std::array<Coverage, kSegmentKinds>> object_segments;

  void add_object(const kernel::SmapsEntry& e, ObjectReport o, std::vector<PlannedRange> plan) {
    rep.objects.push_back(std::move(o));
    plans.push_back(std::move(plan));
    object_of_file[{e.dev_major, e.dev_minor, e.inode, e.name}] =
        static_cast<int>(rep.objects.size()) - 1;
  }

  // 1. Objects: each distinct file that is an ELF image with a PT_LOAD at the
  //    offset of one of its mappings.
  void find_objects(const std::vector<kernel::SmapsEntry>& entries, const ElfOpener& open_elf,
                    const std::string& exe) {
    std::map<FileKey, bool> not_elf;
    for (const kernel::SmapsEntry& e : entries) {
      if (!is_path(e.name) || is_vmseal_copy(e.name)) continue;
      const FileKey key{e.dev_major, e.dev_minor, e.inode, e.name};
      if (object_of_file.count(key) != 0 || not_elf.count(key) != 0) continue;
      ElfImage image;
      std::string err;
      if (!open_elf(e, image, &err)) {
        // An unreadable file that looks like a loaded object still deserves a line.
        if (e.offset == 0 && e.perms.size() >= 3 && e.perms[2] == 'x') {
          ObjectReport o;
          o.path = e.name;
          o.start = e.start;
          o.end = e.end;
          o.error = err;
          add_object(e, std::move(o), {});
        } else {
          not_elf[key] = true;
        }
        continue;
      }
      const auto bias = load_bias_of(image, e);
      if (!bias) {
        not_elf[key] = true;  // an ELF file mapped as data
        continue;
      }
      ObjectReport o;
      o.path = e.name;
      o.bias = *bias;
      const VRange span = image.span();
      o.start = *bias + span.start;
      o.end = *bias + span.end;
      o.main_program = !exe.empty() && (e.name == exe || e.name == exe + std::string(kDeleted));
      std::vector<PlannedRange> plan = plan_object(image, *bias, profile);
      o.image = std::move(image);
      add_object(e, std::move(o), std::move(plan));
    }
    // The interpreter named by the main program.
    for (const ObjectReport& o : rep.objects)
      if (o.main_program && o.image && o.image->interp)
        for (ObjectReport& other : rep.objects)
          if (other.path == *o.image->interp ||
              file_name_of(other.path) == file_name_of(*o.image->interp))
            other.interpreter = true;
    object_segments.resize(rep.objects.size());
  }

  // The object a mapping belongs to, or -1.
  int object_at(const kernel::SmapsEntry& e) const {
    if (is_path(e.name) && !is_vmseal_copy(e.name)) {
      const auto it = object_of_file.find({e.dev_major, e.dev_minor, e.inode, e.name});
      if (it != object_of_file.end()) {
        const ObjectReport& o = rep.objects[static_cast<std::size_t>(it->second)];
        if (!o.image || (e.start < o.end && o.start < e.end)) return it->second;
      }
      return -1;
    }
    if (!e.name.empty() && !e.name.starts_with("/memfd:vmseal-relro:")) return -1;
    // Anonymous memory inside an object's span: its bss, a gap the loader
    // reserved without a file, or a copy `vmseal run` made (relro.hpp).
    for (std::size_t i = 0; i < rep.objects.size(); ++i) {
      const ObjectReport& o = rep.objects[i];
      if (o.image && e.start >= o.start && e.end <= o.end) return static_cast<int>(i);
    }
    return -1;
  }

  // A mapping of an object: its segment from the plan, and why it is not sealed.
  void classify_in_object(InspectedMapping& m, ObjectReport& o,
                          const std::vector<PlannedRange>& plan) {
    if (plan.empty()) {
      m.segment = m.perms.size() >= 3 && m.perms[2] == 'x' ? SegmentKind::Text : SegmentKind::Data;
      if (!m.sealed)
        m.note = "the object's ELF file could not be read: what a loader would seal is unknown";
      return;
    }
    // The planned ranges this mapping overlaps; its kind is the first's.
    auto it = std::upper_bound(plan.begin(), plan.end(), m.start,
                               [](Addr a, const PlannedRange& r) { return a < r.end; });
    bool first = true;
    bool partly_mutable = false;  // a planned-unsealed range shares the mapping
    std::string_view why;
    for (; it != plan.end() && it->start < m.end; ++it) {
      if (first) {
        m.segment = it->kind;
        why = it->why_not;
        first = false;
      }
      m.should_seal = m.should_seal || it->seal;
      partly_mutable = partly_mutable || (!it->seal && it->kind == SegmentKind::Mutable);
    }
    if (first) m.segment = SegmentKind::Gap;
    const std::string_view on_purpose = left_alone_on_purpose(o);
    if (m.sealed) return;
    if (m.should_seal && !on_purpose.empty()) {
      m.should_seal = false;  // the run decided, and said why
      m.note = on_purpose;
    } else if (m.should_seal && partly_mutable) {
      // One VMA, two plans: e.g. ld.so's RELRO with the __stack_prot page.
      ++o.should_seal_unsealed;
      m.note =
          "a sealing loader would seal part of this (the rest stays mutable: an escape hatch, or "
          "glibc's __stack_prot page); this process's loader did not";
    } else if (m.should_seal) {
      ++o.should_seal_unsealed;
      m.note = o.image->memory_seal
                   ? "a sealing loader would seal this, and the object asks for it "
                     "(GNU_PROPERTY_MEMORY_SEAL); this process's loader did not"
                   : "a sealing loader would seal this; this process's loader did not";
    } else {
      m.note = why.empty() ? "not sealed under this profile" : why;
    }
  }

  void count_in_object(const kernel::SmapsEntry& e, const InspectedMapping& m, ObjectReport& o) {
    const std::uint64_t len = e.end - e.start;
    o.coverage.add(len, m.sealed);
    object_segments[static_cast<std::size_t>(m.object)][static_cast<std::size_t>(m.segment)].add(
        len, m.sealed);
    segments[static_cast<std::size_t>(m.segment)].add(len, m.sealed);
    if (m.segment != SegmentKind::Relro) return;
    const std::string obj(file_name_of(o.path));
    if (m.perms.size() >= 2 && m.perms[1] == 'w')
      rep.warnings.push_back({e.start, e.end, "RELRO of " + obj + " is writable"});
    if (!m.sealed) return;
    o.relro_backing = backing_of(e.name);
    if (o.relro_backing == "file")
      rep.warnings.push_back(
          {e.start, e.end,
           "sealed RELRO of " + obj +
               " is still file-backed: discardable on this kernel "
               "(MADV_DONTNEED reverts its relocated words to the file's; vmseal run copies "
               "RELRO to anonymous memory before sealing)"});
  }

  // 2. Every mapping.
  void add_mapping(kernel::SmapsEntry& e) {
    InspectedMapping m;
    m.start = e.start;
    m.end = e.end;
    m.perms = e.perms;
    m.flags = e.vmflags;
    m.sealed = (e.vmflags & vm::SEALED) != 0;
    m.object = object_at(e);
    const std::uint64_t len = e.end - e.start;
    if (m.object >= 0) {
      m.kind = MappingKind::Object;
      ObjectReport& o = rep.objects[static_cast<std::size_t>(m.object)];
      classify_in_object(m, o, plans[static_cast<std::size_t>(m.object)]);
      count_in_object(e, m, o);
    } else {
      m.kind = kind_of(e);
      m.should_seal = m.kind == MappingKind::Stack && profile == Profile::Strict;
      if (!m.sealed) m.note = kind_note(m.kind);
      kinds[static_cast<std::size_t>(m.kind)].add(len, m.sealed);
      if (m.kind == MappingKind::Stack && m.perms.size() >= 3 && m.perms[2] == 'x')
        rep.warnings.push_back({e.start, e.end, "executable stack"});
    }
    if (m.perms.size() >= 3 && m.perms[1] == 'w' && m.perms[2] == 'x')
      rep.warnings.push_back(
          {e.start, e.end,
           "writable and executable mapping" + (e.name.empty() ? std::string() : ": " + e.name)});
    if (m.kind != MappingKind::Vsyscall) rep.total.add(len, m.sealed);
    m.name = std::move(e.name);  // last use of the entry
    rep.mappings.push_back(std::move(m));
  }

  void name_coverage() {
    for (std::size_t k = 0; k < kSegmentKinds; ++k)
      if (segments[k].mappings != 0)
        rep.by_kind[std::string(segment_kind_name(static_cast<SegmentKind>(k)))] = segments[k];
    for (std::size_t k = 0; k < kMappingKinds; ++k)
      if (kinds[k].mappings != 0)
        rep.by_kind[std::string(mapping_kind_name(static_cast<MappingKind>(k)))] = kinds[k];
    for (std::size_t i = 0; i < rep.objects.size(); ++i)
      for (std::size_t k = 0; k < kSegmentKinds; ++k)
        if (object_segments[i][k].mappings != 0)
          rep.objects[i].by_segment[std::string(segment_kind_name(static_cast<SegmentKind>(k)))] =
              object_segments[i][k];
  }

  // 3. Object-wide warnings, and the record's claims against smaps (the fact).
  void object_warnings(const SealRecord* record) {
    // A record that claims more than is sealed is stale or forged (its other
    // claims then mean nothing either).
    if (record != nullptr && record->sealed_bytes > rep.total.bytes_sealed)
      rep.warnings.push_back(
          {0, 0,
           "the process's vmseal record claims " + std::to_string(record->sealed_bytes) +
               " bytes sealed, smaps shows " + std::to_string(rep.total.bytes_sealed) +
               ": the record is stale or forged, and its verdicts are claims only"});
    for (const ObjectReport& o : rep.objects) {
      if (o.run_verdict == "sealed" && o.should_seal_unsealed > 0)
        rep.warnings.push_back(
            {0, 0,
             "the process's vmseal record says " + std::string(file_name_of(o.path)) +
                 " was sealed, but " + std::to_string(o.should_seal_unsealed) +
                 " of its mappings a seal covers are not: the record is stale or forged"});
      if (!o.image) continue;
      const std::string obj(file_name_of(o.path));
      if (o.image->textrel)
        rep.warnings.push_back(
            {0, 0, obj + " has text relocations (its text is written at load time)"});
      if (o.image->has_wx_segment())
        rep.warnings.push_back({0, 0, obj + " has a writable and executable segment"});
      if (o.main_program && o.image->dynamic && !o.image->bind_now)
        rep.warnings.push_back(
            {0, 0, obj + " is not linked with -z now: its GOT stays writable (partial RELRO)"});
    }
  }
};

}  // namespace

ProcessReport inspect_entries(std::vector<kernel::SmapsEntry> entries, const ElfOpener& open_elf,
                              Profile profile, const std::string& exe, const SealRecord* record) {
  Inspection in;
  if (record != nullptr) {
    profile = record->profile;  // the run's, not a guess
    in.rep.record = *record;
  }
  in.profile = profile;
  in.rep.profile = profile;
  in.rep.exe = exe;
  in.find_objects(entries, open_elf, exe);
  if (record != nullptr) apply_record(in.rep, *record);
  in.rep.mappings.reserve(entries.size());
  kernel::advise_huge_pages(in.rep.mappings.data(),
                            in.rep.mappings.capacity() * sizeof(InspectedMapping));
  for (kernel::SmapsEntry& e : entries) in.add_mapping(e);
  in.name_coverage();
  in.object_warnings(record);
  return std::move(in.rep);
}

}  // namespace vmseal::sealing
