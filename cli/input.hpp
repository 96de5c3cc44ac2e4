// The input file of sim and compare: a trace or script named on the command
// line, or standard input ("-"). One place for the checks both need.
#pragma once

#include <fstream>
#include <istream>
#include <string>

namespace vmseal::cli {

class InputFile {
 public:
  // Opens `path` ("-": standard input). False, with a message on stderr that
  // starts with "vmseal COMMAND:", when it cannot be read or is a directory.
  bool open(const std::string& path, const char* command);
  std::istream& stream() { return *in_; }

 private:
  std::ifstream file_;
  std::istream* in_ = nullptr;
};

}  // namespace vmseal::cli
