#include "models/sentiment/metrics.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <utility>

namespace lstmnlp::sentiment {

ClassificationReport classification_report(const std::vector<int64_t>& gold,
                                           const std::vector<int64_t>& predicted,
                                           int64_t num_classes) {
  TORCH_CHECK(gold.size() == predicted.size(), "gold has ", gold.size(), " labels but predicted ",
              predicted.size());
  TORCH_CHECK(num_classes > 0, "num_classes must be positive, got ", num_classes);
  const size_t c = static_cast<size_t>(num_classes);
  std::vector<std::vector<int64_t>> confusion(c, std::vector<int64_t>(c, 0));
  for (size_t i = 0; i < gold.size(); ++i) {
    TORCH_CHECK(
        gold[i] >= 0 && gold[i] < num_classes && predicted[i] >= 0 && predicted[i] < num_classes,
        "class index out of range at ", i, ": gold ", gold[i], ", predicted ", predicted[i]);
    ++confusion[gold[i]][predicted[i]];
  }
  return report_from_confusion(std::move(confusion));
}

ClassificationReport report_from_confusion(std::vector<std::vector<int64_t>> confusion) {
  ClassificationReport r;
  const size_t c = confusion.size();
  TORCH_CHECK(c > 0, "the confusion matrix is empty");
  for (const auto& row : confusion) {
    TORCH_CHECK(row.size() == c, "the confusion matrix is not square");
  }
  r.confusion = std::move(confusion);
  int64_t correct = 0;
  r.precision.assign(c, 0.0);
  r.recall.assign(c, 0.0);
  r.f1.assign(c, 0.0);
  r.support.assign(c, 0);
  for (size_t k = 0; k < c; ++k) {
    int64_t predicted_k = 0;
    for (size_t g = 0; g < c; ++g) predicted_k += r.confusion[g][k];
    for (size_t p = 0; p < c; ++p) r.support[k] += r.confusion[k][p];
    r.total += r.support[k];
    const int64_t tp = r.confusion[k][k];
    correct += tp;
    r.precision[k] = predicted_k > 0 ? static_cast<double>(tp) / predicted_k : 0.0;
    r.recall[k] = r.support[k] > 0 ? static_cast<double>(tp) / r.support[k] : 0.0;
    const double sum = r.precision[k] + r.recall[k];
    r.f1[k] = sum > 0 ? 2 * r.precision[k] * r.recall[k] / sum : 0.0;
    r.macro_f1 += r.f1[k] / static_cast<double>(c);
  }
  r.accuracy = r.total > 0 ? static_cast<double>(correct) / r.total : 0.0;
  return r;
}

nlohmann::json to_json(const ClassificationReport& report, const std::vector<std::string>& labels) {
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t k = 0; k < labels.size(); ++k) {
    per_class[labels[k]] = {{"precision", report.precision.at(k)},
                            {"recall", report.recall.at(k)},
                            {"f1", report.f1.at(k)},
                            {"support", report.support.at(k)}};
  }
  return {{"accuracy", report.accuracy}, {"macro_f1", report.macro_f1},
          {"examples", report.total},    {"labels", labels},
          {"per_class", per_class},      {"confusion", report.confusion}};
}

std::string format_report(const ClassificationReport& report,
                          const std::vector<std::string>& labels) {
  size_t width = 8;
  for (const auto& label : labels) width = std::max(width, label.size() + 1);
  std::ostringstream out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9s %9s\n", static_cast<int>(width), "class",
                "precision", "recall", "f1", "support");
  out << buf;
  for (size_t k = 0; k < labels.size(); ++k) {
    std::snprintf(buf, sizeof buf, "%-*s %9.4f %9.4f %9.4f %9lld\n", static_cast<int>(width),
                  labels[k].c_str(), report.precision[k], report.recall[k], report.f1[k],
                  static_cast<long long>(report.support[k]));
    out << buf;
  }
  out << "\nconfusion (rows gold, columns predicted)\n";
  size_t cell = 7;
  for (const auto& label : labels) cell = std::max(cell, label.size() + 1);
  std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(width), "");
  out << buf;
  for (const auto& label : labels) {
    std::snprintf(buf, sizeof buf, " %*s", static_cast<int>(cell), label.c_str());
    out << buf;
  }
  out << "\n";
  for (size_t g = 0; g < labels.size(); ++g) {
    std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(width), labels[g].c_str());
    out << buf;
    for (size_t p = 0; p < labels.size(); ++p) {
      std::snprintf(buf, sizeof buf, " %*lld", static_cast<int>(cell),
                    static_cast<long long>(report.confusion[g][p]));
      out << buf;
    }
    out << "\n";
  }
  std::snprintf(buf, sizeof buf, "\naccuracy %.4f  macro-F1 %.4f  (%lld examples)\n",
                report.accuracy, report.macro_f1, static_cast<long long>(report.total));
  out << buf;
  return out.str();
}

}  // namespace lstmnlp::sentiment
