// Output files written whole or not at all; see output_file.h.
#include "common/output_file.h"

#include <fmt/format.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace mmusim {

namespace {

// "<path>.tmp": beside the final file.
std::string temp_name(const std::string& path) { return path + ".tmp"; }

// "PATH: cannot write: No space left on device": the reason, from errno.
[[noreturn]] void cannot_write(const std::string& path, int err) {
  throw UserError(fmt::format("{}: cannot write: {}", path, std::strerror(err != 0 ? err : EIO)));
}

// A path that exists as a device, FIFO or socket (/dev/null, /dev/stdout,
// /dev/full) is written in place: renaming a temporary file over it would
// replace the device node with a plain file (which is what happened to
// /dev/full before), and it has no "whole or not at all" to keep anyway.
bool write_in_place(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  tmp_ = write_in_place(path_) ? path_ : temp_name(path_);
  errno = 0;
  out_.open(tmp_, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!out_) cannot_write(path_, errno);
  open_ = true;
}

OutputFile::~OutputFile() { abandon(); }

void OutputFile::commit() {
  if (!open_) cannot_write(path_, EBADF);
  // A failed write (ENOSPC, EIO, EDQUOT) sets the stream's failbit; errno is
  // still its reason if the writer made no system call since (else EIO).
  int write_errno = out_.fail() ? errno : 0;
  if (!out_.fail()) {
    errno = 0;
    out_.flush();
    if (out_.fail()) write_errno = errno;
  }
  errno = 0;
  out_.close();
  const bool written = !out_.fail();
  const int err = write_errno != 0 ? write_errno : errno;
  open_ = false;
  if (!written) {
    if (tmp_ != path_) std::remove(tmp_.c_str());
    cannot_write(path_, err);
  }
  if (tmp_ != path_ && std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int rename_errno = errno;
    std::remove(tmp_.c_str());
    cannot_write(path_, rename_errno);
  }
}

void OutputFile::abandon() {
  if (!open_) return;
  out_.close();
  open_ = false;
  if (tmp_ != path_) std::remove(tmp_.c_str());  // a device written in place stays
}

void write_file_atomically(const std::string& path, std::string_view text) {
  OutputFile file(path);
  file.out().write(text.data(), static_cast<std::streamsize>(text.size()));
  file.commit();
}

}  // namespace mmusim
