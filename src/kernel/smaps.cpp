#include "vmseal/kernel/smaps.hpp"

#include "vmseal/kernel/proc.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <string_view>
#include <tuple>

namespace vmseal::kernel {

namespace {

bool parse_hex(std::string_view s, std::size_t& i, std::uint64_t& v) {
  const std::size_t from = i;
  v = 0;
  while (i < s.size()) {
    const char c = s[i];
    unsigned d = 0;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else
      break;
    if (i - from >= 16) return false;
    v = (v << 4) | d;
    ++i;
  }
  return i > from;
}

bool parse_dec(std::string_view s, std::size_t& i, std::uint64_t& v) {
  const std::size_t from = i;
  v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (i - from >= 19) return false;
    v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
    ++i;
  }
  return i > from;
}

// "start-end perms offset maj:min inode   name"
bool parse_header(std::string_view line, SmapsEntry& e, bool keep_text) {
  std::size_t i = 0;
  std::uint64_t maj = 0;
  std::uint64_t min = 0;
  if (!parse_hex(line, i, e.start) || i >= line.size() || line[i++] != '-') return false;
  if (!parse_hex(line, i, e.end) || i >= line.size() || line[i++] != ' ') return false;
  if (i + 5 > line.size()) return false;
  e.perms.assign(line.substr(i, 4));
  i += 4;
  if (line[i++] != ' ') return false;
  if (!parse_hex(line, i, e.offset) || i >= line.size() || line[i++] != ' ') return false;
  if (!parse_hex(line, i, maj) || i >= line.size() || line[i++] != ':') return false;
  if (!parse_hex(line, i, min) || i >= line.size() || line[i++] != ' ') return false;
  if (!parse_dec(line, i, e.inode)) return false;
  while (i < line.size() && line[i] == ' ') ++i;
  e.name.assign(line.substr(i));
  e.dev_major = static_cast<std::uint32_t>(maj);
  e.dev_minor = static_cast<std::uint32_t>(min);
  if (keep_text) e.header.assign(line);
  return e.start < e.end;
}

bool is_header(std::string_view line) {
  // Field lines start with a capitalised name ("Size:", "VmFlags:").
  return !line.empty() &&
         ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'));
}

// Parses complete lines of `text` from `pos`; returns false on a malformed
// line. Sets `stopped` when an entry starting at or above stop_at was seen.
// `lean`: keep no text and skip every field line but VmFlags (found with one
// search per entry instead of a look at each of its ~20 lines).
bool parse_lines(std::string_view text, std::size_t& pos, std::vector<SmapsEntry>& out,
                 Addr stop_at, bool& stopped, bool lean, bool& in_entry, std::string* error) {
  static constexpr std::string_view kFlags = "VmFlags:";
  while (pos < text.size()) {
    if (lean && in_entry) {
      // Jump to the entry's VmFlags line (it always starts a line).
      std::size_t at = text.find(kFlags, pos);
      while (at != std::string_view::npos && at != pos && text[at - 1] != '\n')
        at = text.find(kFlags, at + 1);
      if (at == std::string_view::npos) {
        // Not in this buffer: drop its complete lines, keep the tail.
        const std::size_t last = text.rfind('\n');
        if (last != std::string_view::npos && last + 1 > pos) pos = last + 1;
        return true;
      }
      pos = at;
    }
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;  // an incomplete line: wait for more
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (is_header(line)) {
      SmapsEntry e;
      if (!parse_header(line, e, !lean)) {
        if (error != nullptr) *error = "malformed smaps line: " + std::string(line);
        return false;
      }
      if (e.start >= stop_at) {
        stopped = true;
        return true;
      }
      out.push_back(std::move(e));
      in_entry = true;
    } else if (line.starts_with(kFlags)) {
      in_entry = false;
      if (out.empty()) continue;
      std::string_view f = line.substr(8);
      if (!f.empty() && f[0] == ' ') f.remove_prefix(1);
      if (!lean) out.back().vmflags_text.assign(f);
      parse_smaps_vmflags(f, out.back().vmflags);
    } else if (line.starts_with("Anonymous:")) {
      if (out.empty()) continue;
      std::size_t i = 10;
      while (i < line.size() && line[i] == ' ') ++i;
      std::uint64_t kb = 0;
      if (parse_dec(line, i, kb)) out.back().anonymous_kb = kb;
    }
  }
  return true;
}

}  // namespace

SmapsReader::~SmapsReader() { close(); }

void SmapsReader::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SmapsReader::open(int pid, std::string* error) {
  close();
  fd_ = open_proc_file(pid, "smaps", error);
  return fd_ >= 0;
}

bool SmapsReader::read(std::vector<SmapsEntry>& out, std::string* error, Addr stop_at) {
  out.clear();  // keeps the capacity the caller reserved
  if (fd_ < 0) {
    if (error != nullptr) *error = "smaps is not open";
    return false;
  }
  if (::lseek(fd_, 0, SEEK_SET) != 0) {
    if (error != nullptr) *error = std::string("smaps: lseek: ") + std::strerror(errno);
    return false;
  }
  // Small reads when stopping early: seq_file generates only as many entries
  // as fit the buffer, so stopping saves the kernel the rest of the walk.
  // Larger ones for a whole file read lean (inspect): fewer system calls.
  // Small otherwise: a process that forks (vmseal difftest's jobs fork a
  // child per sequence) pays a copy-on-write fault for each page of the
  // buffer it writes again; a 512 KiB buffer made difftest 15 % slower.
  const std::size_t chunk = stop_at == ~Addr{0} && lean_ ? 65536 : 16384;
  if (buf_.size() < 2 * chunk) buf_.resize(2 * chunk);  // kept between reads: no zero-fill per read
  std::size_t have = 0;                                 // bytes of buf_ holding unparsed text
  bool stopped = false;
  bool in_entry = false;  // between an entry's header and its VmFlags line
  for (;;) {
    if (buf_.size() - have < chunk) buf_.resize(have + chunk);
    const ssize_t n = ::read(fd_, buf_.data() + have, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (error != nullptr) *error = std::string("smaps: read: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t pos = 0;
    if (!parse_lines(std::string_view(buf_.data(), have), pos, out, stop_at, stopped, lean_,
                     in_entry, error))
      return false;
    if (stopped) return true;
    // Keep the unparsed tail (an incomplete line) only.
    std::memmove(buf_.data(), buf_.data() + pos, have - pos);
    have -= pos;
  }
  if (have != 0) {
    // A last line without its newline.
    if (buf_.size() < have + 1) buf_.resize(have + 1);
    buf_[have++] = '\n';
    std::size_t pos = 0;
    if (!parse_lines(std::string_view(buf_.data(), have), pos, out, stop_at, stopped, lean_,
                     in_entry, error))
      return false;
  }
  return true;
}

bool parse_smaps(const std::string& text, std::vector<SmapsEntry>& out, std::string* error,
                 Addr stop_at) {
  out.clear();
  std::size_t pos = 0;
  bool stopped = false;
  const std::string t = text.empty() || text.back() == '\n' ? text : text + "\n";
  bool in_entry = false;
  return parse_lines(t, pos, out, stop_at, stopped, /*lean=*/false, in_entry, error);
}

}  // namespace vmseal::kernel
