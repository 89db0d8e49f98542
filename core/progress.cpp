#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/checkpoint.h"
#include "core/error.h"

namespace lstmnlp {
namespace {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit, double log_every_s)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      log_every_s_(log_every_s),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_emit_(start_) {}

double Progress::rate() const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed > 0 ? static_cast<double>(done_ - first_) / elapsed : 0.0;
}

void Progress::start_from(int64_t done) { first_ = done_ = done; }

std::string Progress::line(std::optional<double> loss, const std::string& note) const {
  std::ostringstream out;
  out << label_ << " " << done_;
  if (total_ > 0) {
    out << "/" << total_ << " (" << static_cast<int>(100.0 * done_ / total_) << "%)";
  }
  const double r = rate();
  // Slow loops (a trial, a large model's step) would otherwise show 0 per second.
  if (r < 10) {
    char slow[32];
    std::snprintf(slow, sizeof slow, "%.2g", r);
    out << " " << slow << " " << unit_ << "/s";
  } else {
    out << " " << static_cast<int64_t>(r) << " " << unit_ << "/s";
  }
  if (total_ > 0 && r > 0 && done_ < total_)
    out << " ETA " << format_duration((total_ - done_) / r);
  if (loss) out << " loss " << *loss;
  if (!note.empty()) out << " " << note;
  return out.str();
}

void Progress::emit(const std::string& text, bool final) {
  if (tty_) {
    std::cerr << "\r\033[K" << text << (final ? "\n" : "") << std::flush;
  } else {
    std::cerr << text << "\n" << std::flush;
  }
}

void Progress::update(int64_t done, std::optional<double> loss, const std::string& note) {
  done_ = done;
  if (loss) last_loss_ = loss;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_emit_).count();
  if (since < (tty_ ? 0.2 : log_every_s_)) return;
  last_emit_ = now;
  emit(line(last_loss_, note), false);
}

void Progress::finish(const std::string& note) { emit(line(last_loss_, note), true); }

void Progress::message(const std::string& text) { emit(text, /*final=*/true); }

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  std::ofstream out(path_, std::ios::app);
  if (!out) throw InputError(path_ + ": cannot open metrics file for writing");
}

void MetricsLog::write(const nlohmann::json& record) {
  std::ofstream out(path_, std::ios::app);
  out << record.dump() << "\n";
  out.flush();
  if (!out) throw InputError(path_ + ": cannot append metrics (disk full?)");
}

void MetricsLog::drop_after(int64_t step) {
  std::ifstream in(path_);
  std::string kept;
  bool dropped = false;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.contains("step") && record["step"].is_number() &&
        record["step"].get<int64_t>() > step) {
      dropped = true;
      continue;
    }
    kept += line + "\n";
  }
  in.close();
  if (dropped) write_file_atomic(path_, kept);
}

void prepare_run_dir(const std::string& dir, const std::string& resolved_config_yaml) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(dir + ": cannot create run directory (" + ec.message() + ")");
  write_file_atomic((std::filesystem::path(dir) / "config.yaml").string(), resolved_config_yaml);
}

}  // namespace lstmnlp
