// Write-once configuration with the C++ API (<vmseal/vmseal.hpp>, C++17),
// checked by `sl` in /proc/self/smaps. Exit 0 sealed, 1 not, 77 no mseal.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vmseal/vmseal.hpp>

static bool smaps_says_sealed(std::uintptr_t addr) {
  std::ifstream smaps("/proc/self/smaps");
  bool in = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long s = 0, e = 0;
    char dash = 0;
    std::istringstream head(line);
    if (line.rfind("VmFlags:", 0) == 0) {
      if (in) return line.find(" sl") != std::string::npos;
    } else if ((head >> std::hex >> s >> dash >> e) && dash == '-') {
      in = addr >= s && addr < e;
    }
  }
  return false;
}

struct Config {
  int port = 0;
};

int main() {
  if (!vmseal::seal_available()) return 77;
  vmseal::Sealed<Config> config;
  config.mut().port = 8080;
  if (const vmseal::SealResult r = config.freeze(); !r) {
    std::fprintf(stderr, "freeze: %s\n", r.message.c_str());
    return 1;
  }
  const bool sealed = smaps_says_sealed(reinterpret_cast<std::uintptr_t>(config.get()));
  std::printf("c++: %s, port %d\n", sealed ? "sealed" : "not sealed", config->port);
  return sealed ? 0 : 1;
}
