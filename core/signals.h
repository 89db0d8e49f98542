#pragma once

// Graceful stops on SIGINT, SIGTERM and SIGHUP for long loops (training, predict).
//
//   {
//     signals::StopOnSignal stop_on_signal;        // installs the handlers
//     while (work_left()) {
//       do_one_step();
//       if (signals::stop_signal() != 0) {          // a signal came during the step
//         save_state();
//         throw signals::Interrupted(signals::stop_signal(), "saved ...; resume with ...");
//       }
//     }
//   }                                              // the previous handlers are back
//
// While a StopOnSignal lives, the first signal only records itself: the loop finishes its
// step and stops. A second signal removes the registered temporary files and ends the process
// at once with exit status 128+signal. cli::guarded() maps Interrupted to 128+signal too.

#include <stdexcept>
#include <string>

namespace lstmnlp::signals {

/// While alive, SIGINT, SIGTERM and SIGHUP request a stop (see the file comment) instead of
/// ending the process. Instances nest; the outermost one restores the previous handlers.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

/// The signal that requested a stop, or 0.
int stop_signal();

/// Forgets a requested stop (for tests and for a loop that starts again).
void clear_stop();

/// Requests a stop as a first `signal` would, from any thread (for tests and embedding code).
void request_stop(int signal);

/// "SIGINT", "SIGTERM", "SIGHUP" or "signal N".
std::string signal_name(int signal);

/// A stop requested by a signal. cli::guarded() prints the message on one line and returns
/// 128 + signal().
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& message)
      : std::runtime_error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

/// Registers a temporary file that a second signal removes before the process exits (at most
/// 16 at a time; more are not tracked). Paths longer than 4,095 bytes are not tracked.
void register_temp_file(const std::string& path);
/// Forgets a file registered with register_temp_file (it was renamed or removed).
void unregister_temp_file(const std::string& path);

}  // namespace lstmnlp::signals
