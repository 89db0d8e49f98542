#include "core/signals.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstring>

namespace lstmnlp::signals {
namespace {

constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
constexpr size_t kMaxTempFiles = 16;
constexpr size_t kMaxPathBytes = 4096;

// A slot of the temporary-file table the handler reads: 0 free, 1 being filled, 2 in use.
struct TempSlot {
  std::atomic<int> state{0};
  char path[kMaxPathBytes] = {};
};

std::atomic<int> g_stop{0};
int g_depth = 0;  // live StopOnSignal objects (main thread only)
std::array<struct sigaction, kSignals.size()> g_previous;
std::array<TempSlot, kMaxTempFiles> g_temp_files;

// Only async-signal-safe calls here: atomics, unlink and _exit.
extern "C" void on_signal(int signal) {
  int none = 0;
  if (g_stop.compare_exchange_strong(none, signal)) return;
  for (auto& slot : g_temp_files) {
    if (slot.state.load() == 2) ::unlink(slot.path);
  }
  ::_exit(128 + signal);
}

}  // namespace

StopOnSignal::StopOnSignal() {
  if (g_depth++ > 0) return;
  g_stop.store(0);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // Reads and writes of the interrupted step continue rather than fail with EINTR.
  action.sa_flags = SA_RESTART;
  for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

StopOnSignal::~StopOnSignal() {
  if (--g_depth > 0) return;
  for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

int stop_signal() { return g_stop.load(); }

void clear_stop() { g_stop.store(0); }

void request_stop(int signal) {
  int none = 0;
  g_stop.compare_exchange_strong(none, signal);
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal " + std::to_string(signal);
  }
}

void register_temp_file(const std::string& path) {
  if (path.size() >= kMaxPathBytes) return;
  for (auto& slot : g_temp_files) {
    int free = 0;
    if (!slot.state.compare_exchange_strong(free, 1)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.state.store(2);
    return;
  }
}

void unregister_temp_file(const std::string& path) {
  for (auto& slot : g_temp_files) {
    int used = 2;
    if (slot.state.load() == 2 && path == slot.path &&
        slot.state.compare_exchange_strong(used, 1)) {
      slot.state.store(0);
      return;
    }
  }
}

}  // namespace lstmnlp::signals
