#pragma once

// Classification metrics: accuracy, per-class precision, recall and F1, macro-F1 and the
// confusion matrix, as JSON and as a table.
//
//   ClassificationReport report = classification_report(gold, predicted, /*num_classes=*/2);
//   std::cout << format_report(report, labels.labels());
//   nlohmann::json j = to_json(report, labels.labels());

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lstmnlp::sentiment {

/// Metrics of one evaluation.
struct ClassificationReport {
  /// confusion[gold][predicted]: counts, (C, C).
  std::vector<std::vector<int64_t>> confusion;
  int64_t total = 0;
  double accuracy = 0;
  double macro_f1 = 0;  ///< unweighted mean of the per-class F1 scores
  std::vector<double> precision, recall, f1;
  std::vector<int64_t> support;  ///< gold examples per class
};

/// Computes the report from gold and predicted class indices in [0, num_classes). A class that
/// is never predicted (or never gold) has precision (or recall) 0.
ClassificationReport classification_report(const std::vector<int64_t>& gold,
                                           const std::vector<int64_t>& predicted,
                                           int64_t num_classes);

/// The report of a confusion matrix, confusion[gold][predicted] (C, C).
ClassificationReport report_from_confusion(std::vector<std::vector<int64_t>> confusion);

/// {"accuracy", "macro_f1", "examples", "labels", "per_class": {label: {...}}, "confusion"}.
nlohmann::json to_json(const ClassificationReport& report, const std::vector<std::string>& labels);

/// A plain-text table: per-class precision/recall/F1/support, then the confusion matrix (rows
/// gold, columns predicted), then accuracy and macro-F1.
std::string format_report(const ClassificationReport& report,
                          const std::vector<std::string>& labels);

}  // namespace lstmnlp::sentiment
