// Included before every source of the fuzz build (fuzz/CMakeLists.txt): toml++'s
// own debug assertions off, as in the library mmusim links. toml++ 3.3.0 (Debian
// 12) asserts on a malformed table header such as "[.a]" (upstream issue
// marzer/tomlplusplus#294, fixed by PR #301) where its release build, and so
// mmusim, reports a clean parse error (test_config.cc checks that message).
#pragma once
#define TOML_ASSERT(expr) static_assert(true)
