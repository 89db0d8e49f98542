#include "core/io.h"

#include <fstream>

#include "core/error.h"

namespace lstmnlp {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.flush();
  if (!out) throw InputError(path + ": cannot write file");
}

}  // namespace lstmnlp
