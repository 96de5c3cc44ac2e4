#include "vmseal/sealing/loaded_objects.hpp"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

namespace vmseal::sealing {
namespace {

ObjectRole role_of(const dl_phdr_info& info) noexcept {
  const auto phdr = reinterpret_cast<Addr>(info.dlpi_phdr);
  if (phdr == getauxval(AT_PHDR)) return ObjectRole::Program;
  const Addr vdso = getauxval(AT_SYSINFO_EHDR);
  if (vdso != 0 && phdr >= vdso && phdr < vdso + 2 * kPageSize) return ObjectRole::Vdso;
  const Addr base = getauxval(AT_BASE);
  if (base != 0 && info.dlpi_addr == base) return ObjectRole::Interpreter;
  return ObjectRole::Library;
}

// The page of ld.so's RELRO that glibc writes after start-up (its
// __stack_prot; loader_writable_range in elf_image.hpp), found in memory.
// The scan runs once: the loader never moves, and every walk over the
// objects (each dlopen the preload sees) would otherwise repeat it.
void carve_out_stack_prot(const dl_phdr_info& info, LoadedObject& out) noexcept {
  if (!out.relro || out.n_mutables + 1 > kMaxObjectMutables) return;
  static Addr scanned_bias = 0;  // the loader the cache is for
  static VRange carved{};        // empty: nothing to carve out
  if (scanned_bias == info.dlpi_addr) {
    if (carved.end > carved.start) out.mutables[out.n_mutables++] = {carved, kLoaderWritable};
    return;
  }
  scanned_bias = info.dlpi_addr;
  const VRange relro = *out.relro;
  carved =
      loader_writable_range(reinterpret_cast<const unsigned char*>(info.dlpi_addr + relro.start),
                            relro.end - relro.start, relro.start, relro);
  if (carved.end <= carved.start) return;
  out.mutables[out.n_mutables++] = {carved, kLoaderWritable};
}

void read_dynamic(const ElfW(Dyn) * dyn, LoadedObject& out) noexcept {
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    switch (dyn->d_tag) {
      case DT_TEXTREL:
        out.textrel = true;
        break;
      case DT_FLAGS:
        if ((dyn->d_un.d_val & DF_TEXTREL) != 0) out.textrel = true;
        break;
      case DT_FLAGS_1:
        if ((dyn->d_un.d_val & DF_1_NODELETE) != 0) out.nodelete = true;
        break;
      case DT_RUNPATH:
        out.has_runpath = true;
        break;
      case DT_RPATH:
        out.has_rpath = true;
        break;
      default:
        break;
    }
  }
}

}  // namespace

const char* object_role_name(ObjectRole r) noexcept {
  switch (r) {
    case ObjectRole::Program:
      return "program";
    case ObjectRole::Interpreter:
      return "interpreter";
    case ObjectRole::Vdso:
      return "vdso";
    case ObjectRole::Library:
      return "library";
  }
  return "?";
}

ObjectLayout LoadedObject::layout() const noexcept {
  return ObjectLayout{{loads, n_loads}, relro, {mutables, n_mutables}};
}

// Fills `out` from the loader's description of one object.
static void describe(const dl_phdr_info& info, LoadedObject& out) noexcept {
  out = LoadedObject{};
  out.name = info.dlpi_name != nullptr ? info.dlpi_name : "";
  out.key = {info.dlpi_addr, info.dlpi_phdr};
  out.role = role_of(info);
  for (ElfW(Half) i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    switch (ph.p_type) {
      case PT_LOAD: {
        if (out.n_loads == kMaxObjectLoads) {
          out.truncated = true;
          break;
        }
        out.loads[out.n_loads++] = load_segment_of(ph);
        break;
      }
      case PT_GNU_RELRO:
        out.relro = VRange{ph.p_vaddr, ph.p_vaddr + ph.p_memsz};
        break;
      case kPtGnuMutable:
      case kPtOpenbsdMutable:
        if (out.n_mutables == kMaxObjectMutables) {
          out.truncated = true;
          break;
        }
        out.mutables[out.n_mutables++] = {{ph.p_vaddr, ph.p_vaddr + ph.p_memsz}, ph.p_type};
        break;
      case PT_DYNAMIC:
        // The vDSO's dynamic section is mapped too; every object's is.
        read_dynamic(reinterpret_cast<const ElfW(Dyn)*>(info.dlpi_addr + ph.p_vaddr), out);
        break;
      default:
        break;
    }
  }
  if (out.role == ObjectRole::Interpreter) carve_out_stack_prot(info, out);
}

void for_each_loaded_object(ObjectVisitor fn, void* context) noexcept {
  struct Ctx {
    ObjectVisitor fn;
    void* context;
    LoadedObject object;
  } ctx{fn, context, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto* c = static_cast<Ctx*>(data);
        describe(*info, c->object);
        return c->fn(c->object, c->context) ? 0 : 1;
      },
      &ctx);
}

bool find_loaded_object(const void* address, LoadedObject& out) noexcept {
  struct Ctx {
    Addr address;
    LoadedObject* out;
    bool found;
  } ctx{reinterpret_cast<Addr>(address), &out, false};
  for_each_loaded_object(
      [](const LoadedObject& o, void* data) {
        auto* c = static_cast<Ctx*>(data);
        for (std::size_t i = 0; i < o.n_loads; ++i) {
          const Addr s = page_align_down(o.key.bias + o.loads[i].vaddr);
          const Addr e = page_align_up(o.key.bias + o.loads[i].vaddr + o.loads[i].memsz);
          if (c->address >= s && c->address < e) {
            *c->out = o;
            c->found = true;
            return false;
          }
        }
        return true;
      },
      &ctx);
  return ctx.found;
}

std::uint8_t ObjectTable::flags(const ObjectKey& k) const noexcept {
  for (std::size_t i = 0; i < n_; ++i)
    if (entries_[i].key == k) return entries_[i].flags;
  return 0;
}

bool ObjectTable::set(const ObjectKey& k, Flag f) noexcept {
  for (std::size_t i = 0; i < n_; ++i)
    if (entries_[i].key == k) {
      entries_[i].flags = static_cast<std::uint8_t>(entries_[i].flags | f);
      return true;
    }
  if (n_ == kCapacity) return false;
  entries_[n_++] = {k, f};
  return true;
}

void ObjectTable::snapshot_startup() noexcept {
  for_each_loaded_object(
      [](const LoadedObject& o, void* table) {
        static_cast<ObjectTable*>(table)->set(o.key, kStartup);
        return true;
      },
      this);
}

}  // namespace vmseal::sealing
