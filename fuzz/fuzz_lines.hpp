// The fuzz targets' one way of cutting an input into lines, as LineReader
// hands them to the readers: no line longer than kMaxLineBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vmseal/trace/line_reader.hpp"

namespace vmseal::fuzz {

template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.size() > trace::kMaxLineBytes) line = line.substr(0, trace::kMaxLineBytes);
    fn(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace vmseal::fuzz
