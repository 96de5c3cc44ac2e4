#include "vmseal/engine/vm_flags.hpp"

#include <array>

namespace vmseal {
namespace {
// fs/proc/task_mmu.c show_smap_vma_flags() for x86-64 6.18 (CONFIG_MEM_SOFT_DIRTY,
// CONFIG_X86_USER_SHADOW_STACK and userfaultfd minor faults enabled). Printed in
// bit order; bits with an empty mnemonic are never printed.
constexpr std::array<std::string_view, 64> make_table() {
  std::array<std::string_view, 64> t{};
  t[0] = "rd";
  t[1] = "wr";
  t[2] = "ex";
  t[3] = "sh";
  t[4] = "mr";
  t[5] = "mw";
  t[6] = "me";
  t[7] = "ms";
  t[8] = "gd";
  t[9] = "um";
  t[10] = "pf";
  t[11] = "gu";
  t[12] = "uw";
  t[13] = "lo";
  t[14] = "io";
  t[15] = "sr";
  t[16] = "rr";
  t[17] = "dc";
  t[18] = "de";
  t[19] = "lf";
  t[20] = "ac";
  t[21] = "nr";
  t[22] = "ht";
  t[23] = "sf";
  t[24] = "ar";
  t[25] = "wf";
  t[26] = "dd";
  t[27] = "sd";
  t[28] = "mm";
  t[29] = "hg";
  t[30] = "nh";
  t[31] = "mg";
  t[37] = "ss";
  t[40] = "dp";
  t[41] = "ui";
  t[42] = "sl";
  return t;
}
constexpr std::array<std::string_view, 64> kMnemonics = make_table();
}  // namespace

std::string_view vmflag_mnemonic(unsigned bit) noexcept {
  return bit < 64 ? kMnemonics[bit] : std::string_view{};
}

std::string smaps_vmflags(VmFlags flags) {
  std::string out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if ((flags >> bit & 1U) == 0 || kMnemonics[bit].empty()) continue;
    out += kMnemonics[bit];
    out += ' ';
  }
  return out;
}

bool parse_smaps_vmflags(std::string_view text, VmFlags& out, std::string* unknown) {
  out = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j == i) break;
    std::string_view word = text.substr(i, j - i);
    bool found = false;
    for (unsigned bit = 0; bit < 64; ++bit) {
      if (!kMnemonics[bit].empty() && kMnemonics[bit] == word) {
        out |= VmFlags{1} << bit;
        found = true;
        break;
      }
    }
    if (!found) {
      if (unknown != nullptr) *unknown = std::string(word);
      return false;
    }
    i = j;
  }
  return true;
}
}  // namespace vmseal
