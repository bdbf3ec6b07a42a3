// The bare-replay baseline of scripts/bench (issue 14 item 1): what reading a
// text trace costs a careful implementation that simulates nothing. It reads
// the file in large blocks, parses every line's pid, op, address, value and
// key=value options as mmusim must, and does one hash-map lookup per access
// into a page -> value table (a store sets its page's value, a load reads
// it). No MMU, no TLB, no memory. Prints one JSON object:
//   {"accesses": N, "lines": L, "seconds": S, "accesses_per_second": R, "checksum": C}
// The checksum keeps the compiler from dropping the work.
//
// Built by scripts/bench with g++ -O2; usage: bare_replay TRACE (plain text).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace {

const char* skip_blanks(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  return p;
}

const char* token_end(const char* p, const char* end) {
  while (p < end && *p != ' ' && *p != '\t' && *p != '#') ++p;
  return p;
}

// Decimal or 0x hexadecimal, as the trace format allows.
bool parse_number(const char* p, const char* end, uint64_t& out) {
  if (p == end) return false;
  uint64_t v = 0;
  if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    for (p += 2; p < end; ++p) {
      const char c = *p;
      unsigned d;
      if (c >= '0' && c <= '9') d = unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
      else return false;
      v = v << 4 | d;
    }
  } else {
    for (; p < end; ++p) {
      if (*p < '0' || *p > '9') return false;
      v = v * 10 + unsigned(*p - '0');
    }
  }
  out = v;
  return true;
}

struct Replay {
  std::unordered_map<uint64_t, uint64_t> pages;  // (pid, page) -> last value stored
  uint64_t accesses = 0, lines = 0, checksum = 0, errors = 0;

  void line(const char* p, const char* end) {
    ++lines;
    p = skip_blanks(p, end);
    if (p == end || *p == '#') return;
    const char* e = token_end(p, end);
    uint64_t pid;
    if (!parse_number(p, e, pid)) { ++errors; return; }
    p = skip_blanks(e, end);
    e = token_end(p, end);
    const size_t oplen = size_t(e - p);
    const bool load = oplen == 4 && std::memcmp(p, "load", 4) == 0;
    const bool store = oplen == 5 && std::memcmp(p, "store", 5) == 0;
    if (!load && !store) return;  // mmap, fork, exit, ...: not accesses
    uint64_t va = 0, value = 0, size = 8, expect = 0;
    bool has_expect = false;
    p = skip_blanks(e, end);
    e = token_end(p, end);
    if (!parse_number(p, e, va)) { ++errors; return; }
    if (store) {
      p = skip_blanks(e, end);
      e = token_end(p, end);
      if (!parse_number(p, e, value)) { ++errors; return; }
    }
    for (p = skip_blanks(e, end); p < end && *p != '#'; p = skip_blanks(e, end)) {
      e = token_end(p, end);
      const char* eq = static_cast<const char*>(std::memchr(p, '=', size_t(e - p)));
      if (!eq) { ++errors; return; }
      const size_t klen = size_t(eq - p);
      if (klen == 4 && std::memcmp(p, "size", 4) == 0) {
        if (!parse_number(eq + 1, e, size)) ++errors;
      } else if (klen == 6 && std::memcmp(p, "expect", 6) == 0) {
        has_expect = parse_number(eq + 1, e, expect);
      }
    }
    const uint64_t key = pid << 40 ^ va >> 12;
    ++accesses;
    if (store) {
      pages[key] = value;
    } else {
      auto it = pages.find(key);
      const uint64_t v = it == pages.end() ? 0 : it->second;
      checksum += v + size + (has_expect && v != expect);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bare_replay TRACE\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::FILE* f = std::fopen(argv[1], "rb");
  if (!f) {
    std::perror(argv[1]);
    return 2;
  }
  Replay r;
  constexpr size_t kBlock = 1 << 20;
  std::vector<char> buf(kBlock + 4096);
  size_t have = 0;  // bytes of an unfinished line carried over
  for (;;) {
    if (have >= kBlock) {  // a line longer than a block: not a trace line
      std::fprintf(stderr, "%s: line too long\n", argv[1]);
      return 2;
    }
    const size_t got = std::fread(buf.data() + have, 1, kBlock - have, f);
    const char* p = buf.data();
    const char* end = buf.data() + have + got;
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
      if (!nl) break;
      r.line(p, nl);
      p = nl + 1;
    }
    have = size_t(end - p);
    std::memmove(buf.data(), p, have);
    if (got == 0) break;
  }
  if (have) r.line(buf.data(), buf.data() + have);
  std::fclose(f);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.errors) {
    std::fprintf(stderr, "%s: %llu lines did not parse\n", argv[1], (unsigned long long)r.errors);
    return 2;
  }
  std::printf("{\"accesses\": %llu, \"lines\": %llu, \"seconds\": %.6f, \"accesses_per_second\": %.1f, "
              "\"checksum\": %llu}\n",
              (unsigned long long)r.accesses, (unsigned long long)r.lines, s, s > 0 ? double(r.accesses) / s : 0.0,
              (unsigned long long)r.checksum);
  return 0;
}
