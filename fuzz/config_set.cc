// Fuzz target: --set KEY=VALUE overrides (models/common/config.cc).
#include <string_view>

#include "common/config.h"
#include "common/error.h"
#include "targets.h"

namespace mmusim::fuzz {

void config_set(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Config cfg;
  try {
    while (!text.empty()) {  // one assignment per line, as many --set options
      size_t nl = text.find('\n');
      cfg.set(text.substr(0, nl));
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    cfg.validate();
  } catch (const UserError&) {
  }
}

}  // namespace mmusim::fuzz
