// The preload's side of `--follow-exec` for static programs
// (src/preload/follow_exec.cpp): what preload.cpp shares with it.
#pragma once

#include <cstddef>

namespace vmseal::preload {

// printf-style to stderr without stdio buffers (stderr may be closed or
// redirected): formatted on the stack, one write(2), nothing allocated.
void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The path this library was loaded from ("" when unknown).
const char* own_path();

// `list` (LD_PRELOAD's value: entries separated by ':' or ' ') without this
// library, by its path or its file name, into `out` (at most `cap` bytes,
// NUL-terminated, entries joined by ':'). Returns the length written.
std::size_t ld_preload_without_self(const char* list, char* out, std::size_t cap);

}  // namespace vmseal::preload
