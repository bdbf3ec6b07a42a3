// The names of an enumeration's values, in one table per enumeration: each
// value with the name statistics, CSV files and messages use and a one-line
// description. The rows are in the values' order, so that a value indexes its
// row; names_in_order() lets the header check that at compile time.
#pragma once
#include <array>
#include <cstddef>

namespace mmusim {

template <typename E>
struct EnumName {
  E value;
  const char* name;
  const char* description;
};

template <typename E, size_t N>
constexpr bool names_in_order(const std::array<EnumName<E>, N>& table) {
  for (size_t i = 0; i < N; ++i)
    if (static_cast<size_t>(table[i].value) != i) return false;
  return true;
}

}  // namespace mmusim
