// The simulator's configuration: loading from TOML files and --set, checking
// against the schema (config_schema.cc: the table of keys), suggestions for
// unknown keys, cross-key validation and printing back as TOML.
#include "common/config.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <toml++/toml.h>
#include <unordered_map>

#include "common/error.h"

namespace mmusim {

namespace {

constexpr uint64_t kPageSize = 4096;

const std::unordered_map<std::string_view, const ParamDecl*>& schema_index() {
  static const std::unordered_map<std::string_view, const ParamDecl*> index = [] {
    std::unordered_map<std::string_view, const ParamDecl*> m;
    for (const ParamDecl& d : config_schema()) m.emplace(d.name, &d);
    return m;
  }();
  return index;
}

// True if `prefix` names a table of keys: some key starts with "prefix.".
bool is_table_prefix(std::string_view prefix) {
  for (const ParamDecl& d : config_schema()) {
    if (d.name.size() > prefix.size() && d.name.compare(0, prefix.size(), prefix) == 0 &&
        d.name[prefix.size()] == '.')
      return true;
  }
  return false;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "; did you mean 'x'?" for the closest declared key, or "" if none is close.
std::string suggestion(std::string_view key) {
  const ParamDecl* best = nullptr;
  size_t best_dist = std::numeric_limits<size_t>::max();
  for (const ParamDecl& d : config_schema()) {
    size_t dist = edit_distance(key, d.name);
    if (dist < best_dist) {
      best_dist = dist;
      best = &d;
    }
  }
  size_t limit = std::max<size_t>(2, key.size() / 4);
  if (best != nullptr && best_dist <= limit) return fmt::format("; did you mean '{}'?", best->name);
  // A truncated key ("cpu.freq" for "cpu.freq_mhz") or one given without its
  // table ("fork_policy" for "kernel.fork_policy"): suggest the key when it is
  // the only one that starts, respectively ends, with it.
  auto unique = [&](auto&& matches) -> const ParamDecl* {
    const ParamDecl* found = nullptr;
    for (const ParamDecl& d : config_schema()) {
      if (d.name.size() <= key.size() || !matches(d.name)) continue;
      if (found != nullptr) return nullptr;
      found = &d;
    }
    return found;
  };
  if (key.size() >= 3) {
    const ParamDecl* match = unique([&](const std::string& name) {
      return name.compare(0, key.size(), key) == 0;
    });
    if (match == nullptr)
      match = unique([&](const std::string& name) {
        return name.compare(name.size() - key.size(), key.size(), key) == 0 &&
               name[name.size() - key.size() - 1] == '.';
      });
    if (match != nullptr) return fmt::format("; did you mean '{}'?", match->name);
  }
  return "";
}

std::string unknown_key_message(std::string_view key) {
  return fmt::format("unknown configuration key '{}'{}", key, suggestion(key));
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

const char* expected_text(ParamType t) {
  switch (t) {
    case ParamType::UInt: return "an unsigned integer";
    case ParamType::Size: return "a size in bytes (a number, or a string such as \"4G\", \"64M\", \"512K\" or \"0x1000\")";
    case ParamType::Bool: return "a boolean";
    case ParamType::Enum: return "a string";
    case ParamType::Double: return "a number";
  }
  return "a value";
}

const char* toml_type_text(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Decimal or 0x hexadecimal digits, nothing else; false on overflow.
bool parse_digits(std::string_view text, uint64_t& out, size_t& used) {
  uint64_t base = 10;
  size_t i = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    i = 2;
  }
  size_t start = i;
  uint64_t v = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    uint64_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<uint64_t>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') digit = static_cast<uint64_t>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') digit = static_cast<uint64_t>(c - 'A' + 10);
    else break;
    if (v > (UINT64_MAX - digit) / base) return false;
    v = v * base + digit;
  }
  if (i == start) return false;
  out = v;
  used = i;
  return true;
}

bool parse_uint(std::string_view text, uint64_t& out) {
  size_t used = 0;
  uint64_t v = 0;
  if (!parse_digits(text, v, used) || used != text.size()) return false;
  out = v;
  return true;
}

std::string format_value(const ParamDecl& d, uint64_t v) {
  return d.type == ParamType::Size ? format_size(v) : std::to_string(v);
}

// "" if `v` is within the declared range, else the complaint.
std::string range_error(const ParamDecl& d, const Config::Value& v) {
  if (d.type == ParamType::UInt || d.type == ParamType::Size) {
    uint64_t x = std::get<uint64_t>(v);
    if (x < d.min || x > d.max)
      return fmt::format("{} is out of range [{}, {}]", format_value(d, x), format_value(d, d.min),
                         format_value(d, d.max));
  } else if (d.type == ParamType::Double) {
    double x = std::get<double>(v);
    if (!std::isfinite(x)) return fmt::format("{} is not a finite number", x);
    if ((d.dmin != 0 || d.dmax != 0) && (x < d.dmin || x > d.dmax))
      return fmt::format("{} is out of range [{}, {}]", x, d.dmin, d.dmax);
  } else if (d.type == ParamType::Enum) {
    const std::string& s = std::get<std::string>(v);
    if (std::find(d.choices.begin(), d.choices.end(), s) == d.choices.end())
      return fmt::format("'{}' is not one of {}", s, join(d.choices, ", "));
  }
  return "";
}

// Converts command-line text; returns "" or the complaint (without the key).
std::string from_text(const ParamDecl& d, std::string_view text, Config::Value& out) {
  switch (d.type) {
    case ParamType::UInt: {
      uint64_t v;
      if (!parse_uint(text, v)) return "expected an unsigned integer";
      out = v;
      break;
    }
    case ParamType::Size: {
      uint64_t v;
      if (!parse_size(text, v)) return "expected a size such as 4G, 64M, 512K, 0x1000 or 4096";
      out = v;
      break;
    }
    case ParamType::Bool: {
      static const char* const yes[] = {"true", "1", "yes", "on"};
      static const char* const no[] = {"false", "0", "no", "off"};
      auto any_of = [&](const char* const(&words)[4]) {
        return std::any_of(std::begin(words), std::end(words),
                           [&](const char* w) { return iequals(text, w); });
      };
      if (any_of(yes)) out = true;
      else if (any_of(no)) out = false;
      else return "expected a boolean (true/false, 1/0, yes/no, on/off)";
      break;
    }
    case ParamType::Enum:
      if (std::find(d.choices.begin(), d.choices.end(), text) == d.choices.end())
        return fmt::format("expected one of {}", join(d.choices, ", "));
      out = std::string(text);
      break;
    case ParamType::Double: {
      std::string s(text);
      char* end = nullptr;
      errno = 0;
      double v = s.empty() ? 0.0 : std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v) ||
          std::isspace(static_cast<unsigned char>(s.front())))
        return "expected a number";
      out = v;
      break;
    }
  }
  return range_error(d, out);
}

// Converts a TOML value; returns "" or the complaint (without the key).
std::string from_toml(const ParamDecl& d, const toml::node& node, Config::Value& out) {
  const std::string wrong =
      fmt::format("expected {}, got {}", expected_text(d.type), toml_type_text(node.type()));
  switch (d.type) {
    case ParamType::UInt: {
      const auto* i = node.as_integer();
      if (i == nullptr) return wrong;
      if (i->get() < 0) return fmt::format("expected an unsigned integer, got {}", i->get());
      out = static_cast<uint64_t>(i->get());
      break;
    }
    case ParamType::Size: {
      if (const auto* i = node.as_integer()) {
        if (i->get() < 0) return fmt::format("expected a size, got {}", i->get());
        out = static_cast<uint64_t>(i->get());
      } else if (const auto* s = node.as_string()) {
        uint64_t v;
        if (!parse_size(s->get(), v))
          return fmt::format("'{}' is not a size (expected e.g. \"4G\", \"64M\", \"512K\", "
                             "\"0x1000\" or a number of bytes)",
                             s->get());
        out = v;
      } else {
        return wrong;
      }
      break;
    }
    case ParamType::Bool: {
      const auto* b = node.as_boolean();
      if (b == nullptr) return wrong;
      out = b->get();
      break;
    }
    case ParamType::Enum: {
      const auto* s = node.as_string();
      if (s == nullptr)
        return fmt::format("expected one of {} (a string), got {}", join(d.choices, ", "),
                           toml_type_text(node.type()));
      out = s->get();
      break;
    }
    case ParamType::Double: {
      if (const auto* f = node.as_floating_point()) out = f->get();
      else if (const auto* i = node.as_integer()) out = static_cast<double>(i->get());
      else return wrong;
      break;
    }
  }
  return range_error(d, out);
}

std::string value_text(const ParamDecl& d, const Config::Value& v) {
  switch (d.type) {
    case ParamType::UInt: return std::to_string(std::get<uint64_t>(v));
    case ParamType::Size: return format_size(std::get<uint64_t>(v));
    case ParamType::Bool: return std::get<bool>(v) ? "true" : "false";
    case ParamType::Enum: return std::get<std::string>(v);
    case ParamType::Double: return fmt::format("{}", std::get<double>(v));
  }
  return "";
}

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string value_toml(const ParamDecl& d, const Config::Value& v) {
  switch (d.type) {
    case ParamType::UInt: {
      uint64_t x = std::get<uint64_t>(v);
      return x <= kTomlIntMax ? std::to_string(x) : toml_string(std::to_string(x));
    }
    case ParamType::Size: {
      uint64_t x = std::get<uint64_t>(v);
      std::string s = format_size(x);
      if (x <= kTomlIntMax && s == std::to_string(x)) return s;  // not a multiple of 1K
      return toml_string(s);
    }
    case ParamType::Bool: return std::get<bool>(v) ? "true" : "false";
    case ParamType::Enum: return toml_string(std::get<std::string>(v));
    case ParamType::Double: {
      std::string s = fmt::format("{}", std::get<double>(v));
      return s;  // shortest round-trip form; an integral value reads back as an integer
    }
  }
  return "";
}

struct Leaf {
  std::string key;
  const toml::node* node;
};

// Flattens nested tables into dotted keys; an empty table that names no group
// of keys is reported as an unknown key.
void flatten(const toml::table& table, const std::string& prefix, std::vector<Leaf>& out) {
  for (auto&& [k, v] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = v.as_table(); sub != nullptr && schema_index().count(key) == 0) {
      if (sub->empty() && !is_table_prefix(key)) out.push_back({key, &v});
      flatten(*sub, key, out);
    } else {
      out.push_back({key, &v});
    }
  }
}

std::string location(const std::string& name, const toml::source_region& src) {
  if (src.begin.line == 0) return name;
  return fmt::format("{}:{}", name, src.begin.line);
}

}  // namespace

const ParamDecl* find_param(std::string_view key) {
  const auto& index = schema_index();
  auto it = index.find(key);
  return it == index.end() ? nullptr : it->second;
}

std::string format_size(uint64_t bytes) {
  if (bytes != 0) {
    if (bytes % kTiB == 0) return fmt::format("{}T", bytes / kTiB);
    if (bytes % kGiB == 0) return fmt::format("{}G", bytes / kGiB);
    if (bytes % kMiB == 0) return fmt::format("{}M", bytes / kMiB);
    if (bytes % kKiB == 0) return fmt::format("{}K", bytes / kKiB);
  }
  return std::to_string(bytes);
}

bool parse_size(std::string_view text, uint64_t& out) {
  uint64_t v = 0;
  size_t used = 0;
  if (!parse_digits(text, v, used)) return false;
  std::string_view rest = text.substr(used);
  uint64_t mult = 1;
  if (!rest.empty()) {
    switch (rest.front()) {
      case 'k': case 'K': mult = kKiB; break;
      case 'm': case 'M': mult = kMiB; break;
      case 'g': case 'G': mult = kGiB; break;
      case 't': case 'T': mult = kTiB; break;
      default: return false;
    }
    rest.remove_prefix(1);
    // "4GB" and "4GiB" mean the same as "4G".
    if (!(rest.empty() || rest == "B" || rest == "iB")) return false;
  }
  if (v > UINT64_MAX / mult) return false;
  out = v * mult;
  return true;
}

Config::Config() {
  for (const ParamDecl& d : config_schema()) {
    Value v;
    std::string err = from_text(d, d.default_value, v);
    if (!err.empty())
      throw std::logic_error(fmt::format("config schema: default of {}: {}", d.name, err));
    values_[d.name] = std::move(v);
  }
}

const ParamDecl& Config::decl(const std::string& key) const {
  const ParamDecl* d = find_param(key);
  if (d == nullptr) throw std::logic_error(fmt::format("undeclared configuration key '{}'", key));
  return *d;
}

void Config::load_file(const std::string& path) {
  // Plain read(2), so that every failure has its errno: an ifstream opens a
  // directory without complaint and then reads nothing, which used to run
  // with the defaults as if the file were empty.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(fmt::format("{}: cannot open configuration file: {}", path, std::strerror(errno)));
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t k = ::read(fd, buf, sizeof buf);
    if (k > 0) {
      text.append(buf, static_cast<size_t>(k));
    } else if (k == 0) {
      break;
    } else if (errno != EINTR) {
      const int err = errno;
      ::close(fd);
      throw UserError(fmt::format("{}: cannot read configuration file: {}", path, std::strerror(err)));
    }
  }
  ::close(fd);
  load_toml(text, path);
}

namespace {

// Refuses a non-ASCII character anywhere but in a comment, before toml++ sees
// the text: toml++ 3.3.0 (Debian 12) reaches __builtin_unreachable on some of
// them where it looks for whitespace, e.g. "x = 1\u00e9" (upstream issues
// marzer/tomlplusplus#190 and #295; found by fuzz/config_toml.cc). Every key and
// value mmusim knows is ASCII, so this refuses no configuration it could accept.
void check_ascii_outside_comments(std::string_view text, const std::string& name) {
  enum { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral } state = kCode;
  size_t line = 1, column = 1;
  auto starts = [&](size_t i, const char* q) { return text.compare(i, 3, q) == 0; };
  size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a UTF-8 byte order mark
  for (; i < text.size(); ++i, ++column) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      column = 0;
      if (state == kComment || state == kBasic || state == kLiteral) state = kCode;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80 && state != kComment)
      throw UserError(fmt::format("{}:{}:{}: non-ASCII character outside a comment (configuration keys "
                                  "and values are ASCII)", name, line, column));
    switch (state) {
      case kCode:
        if (c == '#') {
          state = kComment;
        } else if (c == '"' || c == '\'') {
          const bool multi = starts(i, c == '"' ? "\"\"\"" : "'''");
          state = c == '"' ? (multi ? kMultiBasic : kBasic) : (multi ? kMultiLiteral : kLiteral);
          if (multi) i += 2, column += 2;
        }
        break;
      case kBasic:
      case kMultiBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;  // an escaped character (a line-ending backslash keeps its newline)
          ++column;
        } else if (c == '"' && (state == kBasic || starts(i, "\"\"\""))) {
          if (state == kMultiBasic) i += 2, column += 2;
          state = kCode;
        }
        break;
      case kLiteral:
      case kMultiLiteral:
        if (c == '\'' && (state == kLiteral || starts(i, "'''"))) {
          if (state == kMultiLiteral) i += 2, column += 2;
          state = kCode;
        }
        break;
      case kComment:
        break;
    }
  }
}

}  // namespace

void Config::load_toml(std::string_view text, const std::string& name) {
  check_ascii_outside_comments(text, name);
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    if (b.line == 0) throw UserError(fmt::format("{}: {}", name, e.description()));
    throw UserError(fmt::format("{}:{}:{}: {}", name, b.line, b.column, e.description()));
  }
  std::vector<Leaf> leaves;
  flatten(root, "", leaves);
  // Report the first problem in file order, not in the table's key order.
  std::stable_sort(leaves.begin(), leaves.end(), [](const Leaf& a, const Leaf& b) {
    const auto& pa = a.node->source().begin;
    const auto& pb = b.node->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });
  std::map<std::string, Value> values = values_;  // all or nothing
  for (const Leaf& leaf : leaves) {
    std::string where = location(name, leaf.node->source());
    const ParamDecl* d = find_param(leaf.key);
    if (d == nullptr) {
      if (leaf.node->is_table())
        throw UserError(fmt::format("{}: unknown configuration table '{}'{}", where, leaf.key,
                                    suggestion(leaf.key)));
      if (is_table_prefix(leaf.key))
        throw UserError(fmt::format("{}: '{}' is a table of configuration keys, not a value",
                                    where, leaf.key));
      throw UserError(fmt::format("{}: {}", where, unknown_key_message(leaf.key)));
    }
    Value v;
    std::string err = from_toml(*d, *leaf.node, v);
    if (!err.empty()) throw UserError(fmt::format("{}: {}: {}", where, d->name, err));
    values[d->name] = std::move(v);
  }
  values_ = std::move(values);
}

void Config::set(std::string_view assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos)
    throw UserError(fmt::format("--set {}: expected KEY=VALUE", assignment));
  std::string_view key = trim(assignment.substr(0, eq));
  if (key.empty()) throw UserError(fmt::format("--set {}: expected KEY=VALUE", assignment));
  set(std::string(key), std::string(trim(assignment.substr(eq + 1))));
}

void Config::set(const std::string& key, const std::string& value) {
  const ParamDecl* d = find_param(key);
  if (d == nullptr) throw UserError(fmt::format("--set: {}", unknown_key_message(key)));
  Value v;
  std::string err = from_text(*d, value, v);
  if (!err.empty()) throw UserError(fmt::format("--set {}={}: {}", key, value, err));
  values_[d->name] = std::move(v);
}

void Config::validate() const {
  for (const char* level : {"l1", "l2"}) {
    const std::string p = fmt::format("tlb.{}.", level);
    uint64_t entries = u64(p + "entries");
    uint64_t ways = u64(p + "ways");
    if (entries == 0) continue;  // only L2 may be 0 (range-checked): no L2
    if (ways > entries)
      throw UserError(fmt::format("{}ways = {} exceeds {}entries = {}", p, ways, p, entries));
    if (entries % ways != 0)
      throw UserError(fmt::format("{}entries = {} is not a multiple of {}ways = {}", p, entries, p,
                                  ways));
    if (str(p + "policy") == "plru" && (ways & (ways - 1)) != 0)
      throw UserError(fmt::format("{}policy = plru needs {}ways to be a power of two, not {}", p,
                                  p, ways));
  }
  uint64_t mem = u64("mem.size");
  if (mem % kPageSize != 0)
    throw UserError(fmt::format("mem.size = {} is not a multiple of 4K", mem));
  if (mem < kMiB) throw UserError(fmt::format("mem.size = {} is less than 1M", format_size(mem)));
  if (const uint64_t row = u64("rowclone.row_bytes"); row % kPageSize != 0)
    throw UserError(fmt::format("rowclone.row_bytes = {} is not a multiple of 4K", format_size(row)));
  if (str("kernel.fork_policy") == "odf" && !flag("mmu.nonleaf_wp"))
    throw UserError(
        "kernel.fork_policy = odf needs mmu.nonleaf_wp = true (shared leaf tables are write-protected "
        "by the non-leaf PTE above them)");
}

uint64_t Config::u64(const std::string& key) const {
  const ParamDecl& d = decl(key);
  if (d.type != ParamType::UInt && d.type != ParamType::Size)
    throw std::logic_error(fmt::format("configuration key '{}' is not an integer", key));
  return std::get<uint64_t>(values_.at(d.name));
}

bool Config::flag(const std::string& key) const {
  const ParamDecl& d = decl(key);
  if (d.type != ParamType::Bool)
    throw std::logic_error(fmt::format("configuration key '{}' is not a boolean", key));
  return std::get<bool>(values_.at(d.name));
}

const std::string& Config::str(const std::string& key) const {
  const ParamDecl& d = decl(key);
  if (d.type != ParamType::Enum)
    throw std::logic_error(fmt::format("configuration key '{}' is not an enumeration", key));
  return std::get<std::string>(values_.at(d.name));
}

double Config::real(const std::string& key) const {
  const ParamDecl& d = decl(key);
  if (d.type != ParamType::Double)
    throw std::logic_error(fmt::format("configuration key '{}' is not a number", key));
  return std::get<double>(values_.at(d.name));
}

std::string Config::to_toml(bool with_descriptions) const {
  // Group the keys by table, tables in the order of their first key.
  std::vector<std::pair<std::string, std::vector<const ParamDecl*>>> groups;
  for (const ParamDecl& d : config_schema()) {
    size_t dot = d.name.rfind('.');
    std::string table = dot == std::string::npos ? "" : d.name.substr(0, dot);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == table; });
    if (it == groups.end()) {
      groups.emplace_back(table, std::vector<const ParamDecl*>{});
      it = groups.end() - 1;
    }
    it->second.push_back(&d);
  }
  // Top-level keys, if any, must come before the first table header.
  std::stable_partition(groups.begin(), groups.end(), [](const auto& g) { return g.first.empty(); });

  std::string out;
  if (with_descriptions) out += "# mmusim configuration\n";
  for (const auto& [table, decls] : groups) {
    if (!table.empty()) {
      if (!out.empty()) out += '\n';
      out += fmt::format("[{}]\n", table);
    }
    for (const ParamDecl* d : decls) {
      if (with_descriptions) {
        std::string unit = d->unit.empty() ? "" : fmt::format(" [{}]", d->unit);
        out += fmt::format("# {}{} (default {})\n", d->description, unit, d->default_value);
      }
      size_t dot = d->name.rfind('.');
      std::string leaf = dot == std::string::npos ? d->name : d->name.substr(dot + 1);
      out += fmt::format("{} = {}\n", leaf, value_toml(*d, values_.at(d->name)));
    }
  }
  return out;
}

std::map<std::string, std::string> Config::effective() const {
  std::map<std::string, std::string> out;
  for (const ParamDecl& d : config_schema()) out[d.name] = value_text(d, values_.at(d.name));
  return out;
}

}  // namespace mmusim
