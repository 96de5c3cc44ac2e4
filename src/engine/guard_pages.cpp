// The guard-marker page set (include/vmseal/engine/guard_pages.hpp).
#include "vmseal/engine/guard_pages.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace vmseal {

std::uint64_t GuardPages::page_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& [s, e] : runs_) n += pages(e - s);
  return n;
}

void GuardPages::install(Addr start, Addr end) {
  if (start >= end) return;
  // Absorb every run that overlaps or touches [start, end).
  auto it = runs_.upper_bound(start);
  if (it != runs_.begin()) {
    auto before = std::prev(it);
    if (before->second >= start) it = before;
  }
  while (it != runs_.end() && it->first <= end) {
    start = std::min(start, it->first);
    end = std::max(end, it->second);
    it = runs_.erase(it);
  }
  runs_.emplace(start, end);
}

void GuardPages::remove(Addr start, Addr end) {
  if (start >= end || runs_.empty()) return;
  auto it = runs_.upper_bound(start);
  if (it != runs_.begin()) {
    auto before = std::prev(it);
    if (before->second > start) it = before;
  }
  while (it != runs_.end() && it->first < end) {
    const Addr s = it->first;
    const Addr e = it->second;
    it = runs_.erase(it);
    if (s < start) runs_.emplace(s, start);
    if (e > end) {
      runs_.emplace(end, e);
      break;
    }
  }
}

bool GuardPages::contains(Addr addr) const noexcept {
  auto it = runs_.upper_bound(addr);
  if (it == runs_.begin()) return false;
  --it;
  return addr < it->second;
}

std::optional<Addr> GuardPages::first_in(Addr start, Addr end) const noexcept {
  if (start >= end || runs_.empty()) return std::nullopt;
  auto it = runs_.upper_bound(start);
  if (it != runs_.begin() && std::prev(it)->second > start) return start;
  if (it != runs_.end() && it->first < end) return it->first;
  return std::nullopt;
}

void GuardPages::move(Addr start, Addr end, Addr to) {
  if (start >= end || runs_.empty() || start == to) return;
  std::vector<std::pair<Addr, Addr>> moved;
  for (auto it = runs_.lower_bound(start); it != runs_.begin();) {
    --it;
    if (it->second > start) moved.emplace_back(start, std::min(it->second, end));
    break;
  }
  for (auto it = runs_.lower_bound(start); it != runs_.end() && it->first < end; ++it)
    moved.emplace_back(it->first, std::min(it->second, end));
  if (moved.empty()) return;
  remove(start, end);
  for (const auto& [s, e] : moved) install(s - start + to, e - start + to);
}

}  // namespace vmseal
