// Fuzz target: a configuration file (models/common/config.cc, TOML).
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/error.h"
#include "targets.h"

namespace mmusim::fuzz {

void config_toml(const uint8_t* data, size_t size) {
  Config cfg;
  try {
    cfg.load_toml(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
    cfg.validate();
  } catch (const UserError&) {
    return;
  }
  // What --show-config prints must load back to the same configuration.
  const std::string shown = cfg.to_toml();
  Config again;
  try {
    again.load_toml(shown, "effective.toml");
  } catch (const UserError& e) {
    throw std::logic_error(std::string("the effective configuration does not load: ") + e.what());
  }
  if (again.effective() != cfg.effective())
    throw std::logic_error("the effective configuration loads as another one");
}

}  // namespace mmusim::fuzz
