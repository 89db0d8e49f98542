#include "core/model_size.h"

#include <unistd.h>

#include <cstdio>

#include "core/error.h"

namespace lstmnlp {
namespace {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.1f %s", bytes, units[unit]);
  return text;
}

}  // namespace

double lstm_layer_parameters(double input_size, double hidden_size, int directions) {
  return directions * (4.0 * hidden_size * (input_size + hidden_size) + 8.0 * hidden_size);
}

double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<double>(pages) * static_cast<double>(page_size);
}

void check_parameter_memory(double parameters, int copies, const std::string& keys) {
  const double memory = physical_memory_bytes();
  const double needed = parameters * 4.0 * copies;
  if (memory <= 0 || needed <= memory) return;
  char count[32];
  std::snprintf(count, sizeof count, "%.3g", parameters);
  throw InputError(keys + ": a model of about " + count + " parameters needs " +
                   human_bytes(needed) + (copies > 1 ? " to train" : "") +
                   ", more than this machine's " + human_bytes(memory) + " of memory");
}

}  // namespace lstmnlp
