// Output files written whole or not at all (spec/interface.md: "On exit status
// 2 no output file is written"; --stats "written whole or not at all").
//
// Everything goes to a temporary file beside the final one, "<path>.tmp" (the
// same directory, so the rename cannot cross file systems), which commit()
// renames over the final path. Until then the final path is untouched;
// abandon(), or destruction without commit(), removes the temporary file, so
// a failed run leaves nothing behind.
#pragma once
#include <fstream>
#include <string>
#include <string_view>

namespace mmusim {

class OutputFile {
 public:
  // Creates the temporary file. Throws UserError("PATH: cannot write") if it
  // cannot, so that a bad output path is an error before the run.
  explicit OutputFile(std::string path);
  ~OutputFile();  // abandon() unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // The stream onto the temporary file.
  std::ostream& out() { return out_; }
  const std::string& path() const { return path_; }
  // The temporary file's name, for writers that open the file themselves (the
  // verilated VCD writer); out() is then left unused.
  const std::string& temp_path() const { return tmp_; }

  // Closes the temporary file and renames it over path(). Throws
  // UserError("PATH: cannot write") if the data could not all be written or
  // the rename failed; the temporary file is removed then too.
  void commit();
  // Closes and removes the temporary file; path() is left as it was.
  void abandon();

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool open_ = false;
};

// Writes `text` to `path` through an OutputFile. Throws UserError naming the
// path if it cannot; nothing is left behind then.
void write_file_atomically(const std::string& path, std::string_view text);

}  // namespace mmusim
