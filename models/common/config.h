// The simulator's configuration: every key declared once (name, type, default,
// unit, description, range), loaded from TOML and --set, validated up front.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mmusim {

enum class ParamType : uint8_t { UInt, Size, Bool, Enum, Double };

struct ParamDecl {
  std::string name;        // dotted key, e.g. "tlb.l1.entries"
  ParamType type;
  std::string default_value;  // as it would be written on the command line
  std::string unit;        // "cycles", "bytes", "entries", "" ...
  std::string description;
  uint64_t min = 0;        // UInt/Size: inclusive range
  uint64_t max = UINT64_MAX;
  std::vector<std::string> choices;  // Enum
  double dmin = 0, dmax = 0;         // Double: inclusive range
};

// All declared keys, in a stable, documented order (config_schema.cc).
const std::vector<ParamDecl>& config_schema();

class Config {
 public:
  using Value = std::variant<uint64_t, bool, std::string, double>;

  // The defaults of every key.
  Config();

  // Merges a TOML file; throws UserError("FILE:LINE: ...") for syntax errors and
  // UserError naming the key for unknown keys, wrong types or out-of-range values.
  void load_file(const std::string& path);
  // Merges TOML text (for tests); `name` is used in messages.
  void load_toml(std::string_view text, const std::string& name);
  // Applies "KEY=VALUE" from the command line; throws UserError naming the key.
  void set(std::string_view assignment);
  void set(const std::string& key, const std::string& value);
  // Cross-key checks (ways divide entries, plru needs power-of-two ways, ...).
  // Throws UserError naming the key.
  void validate() const;

  uint64_t u64(const std::string& key) const;   // UInt and Size keys
  bool flag(const std::string& key) const;      // Bool keys
  const std::string& str(const std::string& key) const;  // Enum keys
  double real(const std::string& key) const;    // Double keys

  // The effective configuration as TOML, each key with its description and unit.
  std::string to_toml(bool with_descriptions = true) const;
  // Effective values as text, by key (for statistics/metadata).
  std::map<std::string, std::string> effective() const;

 private:
  const ParamDecl& decl(const std::string& key) const;
  std::map<std::string, Value> values_;
};

// Binary size units: the suffixes K, M, G and T of sizes.
inline constexpr uint64_t kKiB = uint64_t{1} << 10;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;
inline constexpr uint64_t kTiB = uint64_t{1} << 40;

// TOML integers are signed 64-bit: no UInt key's range goes beyond this, so that
// the effective configuration can always be written back as TOML.
inline constexpr uint64_t kTomlIntMax = static_cast<uint64_t>(INT64_MAX);

// Parses "64M", "4K", "0x1000", "4096" into bytes (binary suffixes K, M, G, T).
// Returns false if malformed or overflowing.
bool parse_size(std::string_view text, uint64_t& out);

// The declaration of `key`, or nullptr if no such key is declared.
const ParamDecl* find_param(std::string_view key);

// Bytes as parse_size reads them: "4G", "64M", "512K" when exact, else decimal.
std::string format_size(uint64_t bytes);

}  // namespace mmusim
