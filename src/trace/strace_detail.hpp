// Internals shared by the strace reader's source files (not installed, not API).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vmseal::trace::detail {

inline constexpr std::size_t npos = std::string_view::npos;

inline bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
inline bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || is_upper(c); }
inline bool is_ident_char(char c) noexcept { return is_alpha(c) || is_digit(c) || c == '_'; }
inline bool is_hex_digit(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view trim(std::string_view s) noexcept;
std::string_view trim_left(std::string_view s) noexcept;
std::string_view trim_right(std::string_view s) noexcept;

// s[i] is '"': the index just past the closing quote, or npos if it never closes.
std::size_t skip_string(std::string_view s, std::size_t i) noexcept;

// Whether the '<' at s[i] opens a -y annotation ("3</path>", "AT_FDCWD</dir>"): it
// follows a number or name and is not a "<<" shift.
bool opens_annotation(std::string_view s, std::size_t i) noexcept;
// s[open] is '<': the index of the matching '>', or npos. Handles escapes, nested
// "<char 1:3>" (-yy) and socket details "[a->b]".
std::size_t find_annotation_end(std::string_view s, std::size_t open) noexcept;

// The inside of an annotation and what follows its '>' ("(deleted)" in strace 6.1).
struct Annotation {
  std::string path;  // unescaped
  std::string device;
  bool deleted = false;
  std::size_t consumed_after = 0;  // bytes of `after` that belong to it
};
Annotation decode_annotation(std::string_view inner, std::string_view after);

// strace's C-style escapes.
void unescape(std::string_view s, std::string& out);

// Removes /* comments */ and trims. False (with a message) for an unclosed comment.
bool strip_comments(std::string_view s, std::string& out, std::string* error);

// Scans an argument list starting at s[pos] (just after the '(' of a call, or at the
// start of a struct's inside).
// Arguments of one call a line may give (docs/limits.md).
inline constexpr std::size_t kMaxCallArgs = 32;

struct ArgScan {
  std::vector<std::string> args;
  std::size_t close = npos;             // index of the top-level ')' that ended the list
  bool unfinished = false;              // a "<unfinished ...>" marker was removed
  bool detached = false;                // a "<detached ...>" marker was removed
  int pid_changed_to = 0;               // "<pid changed to N ...>" (also sets unfinished)
  std::size_t first_marker = npos;      // index of the first marker
  std::size_t marker_end = npos;        // index just past the last marker
  bool dropped_trailing_empty = false;  // "a, )": allowed and dropped (see below)
  char open_bracket = 0;                // innermost bracket still open at the end (0: none)
  std::size_t open_column = 0;          // its index
};
enum class ScanMode {
  Call,   // stop at the top-level ')'; reaching the end is reported through close == npos
  Whole,  // the whole text is the list; a stray ')' is an error
};
// False with a message for an unterminated string or comment, a mismatched closing
// bracket or an empty argument. An empty last argument after a trailing comma is
// dropped when allow_trailing_empty, an error otherwise.
bool scan_arguments(std::string_view s, std::size_t pos, ScanMode mode, bool allow_trailing_empty,
                    ArgScan& out, std::string& error);

// Canonical names for the system calls strace 6.1 prints as "syscall_0x1ce": returns
// false when `raw` is not such a name or the number is not one we know.
bool canonical_syscall(std::string_view raw, std::string& name, std::size_t& nargs);

// "column N" text for messages (1-based).
std::string column_text(std::size_t index);

}  // namespace vmseal::trace::detail
