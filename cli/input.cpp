#include "input.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace vmseal::cli {

bool InputFile::open(const std::string& path, const char* command) {
  if (path == "-") {
    in_ = &std::cin;
    return true;
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "vmseal %s: cannot read %s: %s\n", command, path.c_str(),
                 std::strerror(errno));
    return false;
  }
  // An ifstream opens a directory and reads nothing: "0 calls", exit 0.
  if (S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "vmseal %s: %s is a directory, not a trace\n", command, path.c_str());
    return false;
  }
  file_.open(path, std::ios::binary);
  if (!file_) {
    std::fprintf(stderr, "vmseal %s: cannot read %s\n", command, path.c_str());
    return false;
  }
  in_ = &file_;
  return true;
}

}  // namespace vmseal::cli
