// Lines of untrusted text (a trace, a script, a recording), read with a
// bound: a line longer than the limit is consumed to its end but never held
// in memory, so one 48 MB line costs what a short one does. Every reader of
// traces and scripts takes its lines from here (docs/limits.md).
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <string_view>

namespace vmseal::trace {

// Longer than anything strace prints with vmseal predict's `-s 1024` (an
// argument of 1024 bytes escaped as \xNN is 4 KiB; the longest line in the
// Chromium recordings is 21 KiB).
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

class LineReader {
 public:
  enum class Result : unsigned char {
    Line,     // `line()` holds it, without its newline
    TooLong,  // longer than the limit: skipped, `line()` holds its first bytes
    End,      // no more input (or a read error: see the stream)
  };
  explicit LineReader(std::istream& in, std::size_t max_bytes = kMaxLineBytes);
  Result next();
  std::string_view line() const { return {buf_.get(), size_}; }
  std::size_t line_number() const { return lines_; }
  // The last line read had no newline after it (a cut recording).
  bool unterminated() const { return unterminated_; }

 private:
  std::istream& in_;
  std::unique_ptr<char[]> buf_;  // not zeroed: 1 MiB of memset a run saved
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  std::size_t lines_ = 0;
  bool unterminated_ = false;
};

}  // namespace vmseal::trace
