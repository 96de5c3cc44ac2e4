#include "vmseal/trace/line_reader.hpp"

#include <limits>

namespace vmseal::trace {

LineReader::LineReader(std::istream& in, std::size_t max_bytes)
    : in_(in), buf_(new char[max_bytes + 1]), capacity_(max_bytes + 1) {}

LineReader::Result LineReader::next() {
  size_ = 0;
  if (!in_.good()) return Result::End;
  // istream::getline stores at most max_bytes and sets failbit when the line
  // goes on; it consumes the newline of a line that fits.
  in_.getline(buf_.get(), static_cast<std::streamsize>(capacity_));
  const auto got = static_cast<std::size_t>(in_.gcount());
  if (got == 0 && in_.eof()) return Result::End;
  ++lines_;
  if (in_.fail() && !in_.eof() && !in_.bad()) {
    size_ = got;
    in_.clear();
    in_.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    unterminated_ = in_.eof();
    return Result::TooLong;
  }
  unterminated_ = in_.eof();
  // gcount() counts the newline when one was read.
  size_ = unterminated_ ? got : got - 1;
  if (in_.eof()) in_.clear(std::ios::eofbit);  // a last line without newline is still a line
  return Result::Line;
}

}  // namespace vmseal::trace
