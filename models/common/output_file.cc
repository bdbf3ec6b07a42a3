// Output files written whole or not at all; see output_file.h.
#include "common/output_file.h"

#include <fmt/format.h>

#include <cstdio>

#include "common/error.h"

namespace mmusim {

namespace {

// "<path>.tmp": beside the final file.
std::string temp_name(const std::string& path) { return path + ".tmp"; }

[[noreturn]] void cannot_write(const std::string& path) { throw UserError(fmt::format("{}: cannot write", path)); }

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)), tmp_(temp_name(path_)) {
  out_.open(tmp_, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!out_) cannot_write(path_);
  open_ = true;
}

OutputFile::~OutputFile() { abandon(); }

void OutputFile::commit() {
  if (!open_) cannot_write(path_);
  out_.close();
  const bool written = !out_.fail();
  open_ = false;
  if (!written || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    cannot_write(path_);
  }
}

void OutputFile::abandon() {
  if (!open_) return;
  out_.close();
  open_ = false;
  std::remove(tmp_.c_str());
}

void write_file_atomically(const std::string& path, std::string_view text) {
  OutputFile file(path);
  file.out().write(text.data(), static_cast<std::streamsize>(text.size()));
  file.commit();
}

}  // namespace mmusim
