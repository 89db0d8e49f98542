#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lstmnlp {

/// Progress of a long loop. On a terminal it redraws one line (done/total, rate, ETA, loss);
/// otherwise it prints a plain log line every `log_every_s` seconds and at the end.
class Progress {
 public:
  /// `unit` names what is counted ("tok", "seq"); `total` may be 0 when unknown.
  Progress(std::string label, int64_t total, std::string unit, double log_every_s = 10.0);
  /// Reports `done` units so far; `loss` and `note` are shown when given.
  void update(int64_t done, std::optional<double> loss = std::nullopt,
              const std::string& note = "");
  /// Prints the final line.
  void finish(const std::string& note = "");
  /// Prints `text` as a line of its own (e.g. a finished trial); on a terminal it replaces the
  /// progress line, which the next update() draws again below it.
  void message(const std::string& text);
  /// Says that `done` units were done before this process (a resumed run's steps), so that the
  /// rate and the ETA count only the units done since construction.
  void start_from(int64_t done);
  /// Units per second since construction.
  double rate() const;

 private:
  std::string line(std::optional<double> loss, const std::string& note) const;
  void emit(const std::string& text, bool final);

  std::string label_;
  int64_t total_;
  std::string unit_;
  double log_every_s_;
  bool tty_;
  int64_t done_ = 0;
  int64_t first_ = 0;  // units done before construction
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_emit_;
  std::optional<double> last_loss_;
};

/// Appends one JSON object per line to a metrics.jsonl file, flushed after every record.
class MetricsLog {
 public:
  explicit MetricsLog(const std::string& path);
  void write(const nlohmann::json& record);
  /// Removes the records of steps after `step`: those of a run that went on past the checkpoint
  /// it is now resumed from, which the resumed run writes again. Rewrites the file atomically.
  void drop_after(int64_t step);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Creates the run directory and writes the resolved config as config.yaml inside it.
void prepare_run_dir(const std::string& dir, const std::string& resolved_config_yaml);

}  // namespace lstmnlp
