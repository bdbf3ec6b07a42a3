// fuzz_seeds OUT: writes what the configuration targets start from, from the
// schema itself (so it never goes stale): OUT/config.dict (every key and
// enumerated value, for libFuzzer's -dict), OUT/config_set/ (one "KEY=DEFAULT"
// per key) and OUT/config_toml/defaults.toml (the effective default
// configuration, as --show-config prints it).
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "common/config.h"

namespace {

// A libFuzzer dictionary entry: "text" with \ and " escaped, non-printables as \xNN.
std::string dict_entry(const std::string& s) {
  std::string q = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      q += '\\';
      q += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      q += hex;
    } else {
      q += static_cast<char>(c);
    }
  }
  return q + "\"";
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT\n");
    return 2;
  }
  const std::string out = argv[1];
  for (const char* sub : {"", "/config_set", "/config_toml"}) ::mkdir((out + sub).c_str(), 0777);

  std::set<std::string> words;
  std::string all;
  int n = 0;
  for (const auto& d : mmusim::config_schema()) {
    words.insert(d.name);
    std::string::size_type dot = d.name.rfind('.');
    words.insert(dot == std::string::npos ? d.name : d.name.substr(0, dot));  // a table
    for (const auto& c : d.choices) words.insert(c);
    std::ofstream(out + "/config_set/" + std::to_string(n++)) << d.name << "=" << d.default_value;
    all += d.name + "=" + d.default_value + "\n";
  }
  std::ofstream(out + "/config_set/all") << all;
  for (const char* w : {"true", "false", "K", "M", "G", "T", "0x", "=", "[", "]", "\"", "\n"}) words.insert(w);
  std::ofstream dict(out + "/config.dict");
  for (const auto& w : words) dict << dict_entry(w) << "\n";
  std::ofstream(out + "/config_toml/defaults.toml") << mmusim::Config().to_toml();
  return 0;
}
