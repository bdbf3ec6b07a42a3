#include "common/stats_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace mmusim {

namespace {

// The next dot-separated part of `s` from `pos` (pos moves past it and its dot).
std::string_view next_part(std::string_view s, size_t& pos) {
  const size_t dot = s.find('.', pos);
  const std::string_view part = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
  pos = dot == std::string_view::npos ? s.size() + 1 : dot + 1;
  return part;
}

bool is_placeholder(std::string_view part) { return part.size() > 2 && part.front() == '<' && part.back() == '>'; }

std::vector<std::string_view> parts_of(std::string_view s) {
  std::vector<std::string_view> parts;
  for (size_t pos = 0; pos <= s.size();) parts.push_back(next_part(s, pos));
  return parts;
}

}  // namespace

bool StatDecl::is_pattern() const { return std::string_view(key).find('<') != std::string_view::npos; }

UnknownStatistic::UnknownStatistic(std::string_view key)
    : std::out_of_range(fmt::format("unknown statistic '{}': no module declares it (mmusim --list-stats lists them)",
                                    key)) {}

void StatsRegistry::define(const std::string& placeholder,
                           std::vector<std::pair<std::string, std::string>> values) {
  if (placeholder == "k" || placeholders_.count(placeholder) != 0)
    throw std::logic_error(fmt::format("statistics placeholder <{}> is defined twice", placeholder));
  placeholder_order_.push_back(placeholder);
  for (auto& [value, description] : values) {
    placeholders_[placeholder].push_back(std::move(value));
    placeholder_descriptions_[placeholder].push_back(std::move(description));
  }
}

void StatsRegistry::add(const std::vector<StatDecl>& decls) {
  for (const StatDecl& d : decls) {
    if (d.is_pattern()) {
      for (std::string_view part : parts_of(d.key)) {
        if (!is_placeholder(part)) continue;
        const std::string name(part.substr(1, part.size() - 2));
        if (name != "k" && placeholders_.count(name) == 0)
          throw std::logic_error(fmt::format("statistic '{}': placeholder <{}> is not defined", d.key, name));
      }
      if (std::any_of(patterns_.begin(), patterns_.end(),
                      [&](size_t i) { return std::string_view(decls_[i].key) == d.key; }))
        throw std::logic_error(fmt::format("statistic '{}' is declared twice", d.key));
      patterns_.push_back(decls_.size());
    } else if (!exact_.emplace(d.key, decls_.size()).second) {
      throw std::logic_error(fmt::format("statistic '{}' is declared twice", d.key));
    }
    decls_.push_back(d);
  }
}

bool StatsRegistry::matches(std::string_view pattern, std::string_view key) const {
  size_t p = 0, k = 0;
  while (p <= pattern.size() && k <= key.size()) {
    const std::string_view want = next_part(pattern, p), got = next_part(key, k);
    if (!is_placeholder(want)) {
      if (want != got) return false;
      continue;
    }
    const std::string_view name = want.substr(1, want.size() - 2);
    if (name == "k") {
      if (got.empty() || !std::all_of(got.begin(), got.end(), [](char c) { return std::isdigit(uint8_t(c)); }))
        return false;
      continue;
    }
    const auto it = placeholders_.find(std::string(name));
    if (it == placeholders_.end() || std::find(it->second.begin(), it->second.end(), got) == it->second.end())
      return false;
  }
  return p > pattern.size() && k > key.size();  // both used up
}

const StatDecl* StatsRegistry::find(std::string_view key) const {
  if (const auto it = exact_.find(std::string(key)); it != exact_.end()) return &decls_[it->second];
  for (size_t i : patterns_)
    if (matches(decls_[i].key, key)) return &decls_[i];
  return nullptr;
}

const StatDecl& StatsRegistry::at(std::string_view key) const {
  const StatDecl* d = find(key);
  if (d == nullptr) throw UnknownStatistic(key);
  return *d;
}

std::vector<std::string> StatsRegistry::expand(const StatDecl& d, unsigned cpus) const {
  std::vector<std::string> keys = {""};
  bool first = true;
  for (std::string_view part : parts_of(d.key)) {
    std::vector<std::string> values;
    if (!is_placeholder(part)) {
      values.emplace_back(part);
    } else if (part == "<k>") {
      for (unsigned k = 0; k < cpus; ++k) values.push_back(std::to_string(k));
    } else {
      values = placeholders_.at(std::string(part.substr(1, part.size() - 2)));
    }
    std::vector<std::string> next;
    for (const std::string& prefix : keys)
      for (const std::string& v : values) next.push_back(first ? v : prefix + "." + v);
    keys = std::move(next);
    first = false;
  }
  return keys;
}

std::string StatsRegistry::list() const {
  size_t key_width = 0, unit_width = 0;
  for (const StatDecl& d : decls_) {
    key_width = std::max(key_width, std::string_view(d.key).size());
    unit_width = std::max(unit_width, std::string_view(d.unit).size());
  }
  std::string out = "# mmusim statistics: key, unit, description (--stats FILE writes them as one JSON object)\n";
  out += "# <k>: a CPU's number, 0 to cpu.count - 1\n";
  for (const std::string& name : placeholder_order_) {
    const auto& values = placeholders_.at(name);
    const auto& descriptions = placeholder_descriptions_.at(name);
    out += fmt::format("# <{}>:\n", name);
    for (size_t i = 0; i < values.size(); ++i) out += fmt::format("#   {:<14} {}\n", values[i], descriptions[i]);
  }
  for (const StatDecl& d : decls_)
    out += fmt::format("{:<{}}  {:<{}}  {}\n", d.key, key_width, d.unit, unit_width, d.description);
  return out;
}

uint64_t StatsView::u64(const std::string& key) const {
  registry_.at(key);
  return stats_.value(key, uint64_t{0});
}

double StatsView::real(const std::string& key) const {
  registry_.at(key);
  return stats_.value(key, 0.0);
}

std::string StatsView::text(const std::string& key) const {
  registry_.at(key);
  return stats_.value(key, std::string());
}

bool StatsView::has(const std::string& key) const {
  registry_.at(key);
  return stats_.contains(key);
}

}  // namespace mmusim
