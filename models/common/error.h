// Errors the user must fix (bad trace, config or usage): exit status 2.
#pragma once
#include <stdexcept>
#include <string>

namespace mmusim {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace mmusim
