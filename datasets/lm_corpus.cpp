#include "datasets/lm_corpus.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datasets/labelled_text.h"

namespace lstmnlp::lm {

Text read_text(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError(path + ": corpus file not found");
  if (std::filesystem::is_directory(path)) {
    throw InputError(path + ": is a directory, expected a text file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read the corpus file");
  Text text{path, {}};
  bool any_word = false;
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // The vocabulary is stored as JSON in checkpoints, which holds UTF-8 only.
    if (!is_valid_utf8(line)) {
      throw InputError(path + ":" + std::to_string(number) +
                       ": invalid UTF-8 (the corpus must be UTF-8 text)");
    }
    if (!any_word && !split_words(line).empty()) any_word = true;
    text.lines.push_back(std::move(line));
  }
  if (!any_word) throw InputError(path + ": corpus file is empty (no words)");
  return text;
}

std::tuple<Text, Text, Text> split_text(const Text& text, double valid_fraction,
                                        double test_fraction) {
  const auto n = static_cast<int64_t>(text.lines.size());
  const auto n_test = static_cast<int64_t>(n * test_fraction);
  const auto n_valid = static_cast<int64_t>(n * valid_fraction);
  const int64_t n_train = n - n_test - n_valid;
  if (n_train <= 0 || n_valid <= 0 || n_test <= 0) {
    throw InputError(text.name + ": " + std::to_string(n) +
                     " lines are too few to split into train, valid and test");
  }
  auto part = [&](const char* label, int64_t begin, int64_t count) {
    Text t{text.name + "[" + label + "]", {}};
    t.lines.assign(text.lines.begin() + begin, text.lines.begin() + begin + count);
    return t;
  };
  return {part("train", 0, n_train), part("valid", n_train, n_valid),
          part("test", n_train + n_valid, n_test)};
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const size_t begin = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > begin) words.push_back(line.substr(begin, i - begin));
  }
  return words;
}

LmVocabulary LmVocabulary::build_words(const Text& train, int64_t min_count) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& line : train.lines) {
    for (auto word : split_words(line)) ++counts[std::string(word)];
  }
  std::vector<std::pair<std::string, int64_t>> sorted;
  for (auto& [word, count] : counts) {
    if (word != kEos && word != kUnk && count >= min_count) sorted.emplace_back(word, count);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> words = {kEos, kUnk};
  for (auto& entry : sorted) words.push_back(std::move(entry.first));
  return from_words(std::move(words));
}

LmVocabulary LmVocabulary::from_words(std::vector<std::string> words) {
  LmVocabulary vocab;
  for (size_t i = 0; i < words.size(); ++i) {
    if (!vocab.index_.emplace(words[i], static_cast<int64_t>(i)).second) {
      throw InputError("vocabulary lists '" + words[i] + "' twice");
    }
  }
  auto eos = vocab.index_.find(kEos);
  auto unk = vocab.index_.find(kUnk);
  if (eos == vocab.index_.end() || unk == vocab.index_.end()) {
    throw InputError("a word vocabulary needs both <eos> and <unk>");
  }
  vocab.eos_id_ = eos->second;
  vocab.unk_id_ = unk->second;
  vocab.words_ = std::move(words);
  return vocab;
}

LmVocabulary LmVocabulary::from_sentencepiece(SentencePieceTokenizer tokenizer) {
  if (tokenizer.eos_id() < 0) {
    throw InputError("the SentencePiece model has no eos piece, which marks line ends");
  }
  LmVocabulary vocab;
  vocab.eos_id_ = tokenizer.eos_id();
  vocab.unk_id_ = tokenizer.unk_id();
  vocab.tokenizer_ = std::move(tokenizer);
  return vocab;
}

int64_t LmVocabulary::size() const {
  return tokenizer_ ? tokenizer_->vocab_size() : static_cast<int64_t>(words_.size());
}

std::vector<int64_t> LmVocabulary::encode_line(std::string_view line, int64_t* unknown) const {
  std::vector<int64_t> ids;
  if (tokenizer_) {
    for (int id : tokenizer_->encode(line)) ids.push_back(id);
  } else {
    for (auto word : split_words(line)) {
      auto it = index_.find(std::string(word));
      ids.push_back(it == index_.end() ? unk_id_ : it->second);
    }
  }
  if (unknown != nullptr) *unknown += std::count(ids.begin(), ids.end(), unk_id_);
  return ids;
}

std::string LmVocabulary::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  if (tokenizer_) {
    std::vector<int> piece_ids;
    auto flush = [&] {
      text += tokenizer_->decode(piece_ids);
      piece_ids.clear();
    };
    for (int64_t id : ids) {
      if (id == eos_id_) {
        flush();
        text += "\n";
      } else {
        piece_ids.push_back(static_cast<int>(id));
      }
    }
    flush();
    return text;
  }
  bool line_start = true;
  for (int64_t id : ids) {
    TORCH_CHECK(id >= 0 && id < size(), "token id ", id, " is outside the vocabulary of ", size());
    if (id == eos_id_) {
      text += "\n";
      line_start = true;
      continue;
    }
    if (!line_start) text += " ";
    text += words_[id];
    line_start = false;
  }
  return text;
}

std::string LmVocabulary::to_json() const {
  if (tokenizer_) return "";
  return nlohmann::json{{"words", words_}}.dump();
}

LmVocabulary LmVocabulary::from_checkpoint(const std::string& extra,
                                           const std::string& tokenizer_model,
                                           const std::string& origin) {
  if (!tokenizer_model.empty()) {
    return from_sentencepiece(SentencePieceTokenizer::load_from_serialized(tokenizer_model));
  }
  try {
    return from_words(nlohmann::json::parse(extra).at("words").get<std::vector<std::string>>());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(origin + ": checkpoint holds no usable vocabulary (" + e.what() + ")");
  }
}

bool LmVocabulary::same_as(const LmVocabulary& other) const {
  if (tokenizer_ || other.tokenizer_) {
    return tokenizer_ && other.tokenizer_ &&
           tokenizer_->serialized_model() == other.tokenizer_->serialized_model();
  }
  return words_ == other.words_;
}

Corpus encode_corpus(const Text& text, const LmVocabulary& vocab) {
  Corpus corpus{text.name, {}, 0, 0};
  std::vector<int64_t> ids = {vocab.eos_id()};
  for (const auto& line : text.lines) {
    const auto line_ids = vocab.encode_line(line, &corpus.unknown);
    ids.insert(ids.end(), line_ids.begin(), line_ids.end());
    ids.push_back(vocab.eos_id());
    corpus.words += static_cast<int64_t>(split_words(line).size()) + 1;
  }
  if (ids.size() < 2) throw InputError(text.name + ": corpus has no tokens");
  corpus.ids = torch::tensor(ids, torch::kInt64);
  return corpus;
}

torch::Tensor batchify(const torch::Tensor& ids, int64_t batch_size) {
  TORCH_CHECK(ids.dim() == 1, "batchify expects a 1-D stream of ids, got ", ids.sizes());
  TORCH_CHECK(batch_size > 0, "batch size must be positive, got ", batch_size);
  const int64_t rows = ids.size(0) / batch_size;
  if (rows < 2) {
    throw InputError("a corpus of " + std::to_string(ids.size(0)) +
                     " tokens is too short for batch size " + std::to_string(batch_size));
  }
  return ids.narrow(0, 0, rows * batch_size).view({batch_size, rows}).t().contiguous();
}

int64_t num_batches(const torch::Tensor& data, int64_t bptt) {
  TORCH_CHECK(bptt > 0, "bptt must be positive, got ", bptt);
  return (data.size(0) - 1 + bptt - 1) / bptt;
}

std::pair<torch::Tensor, torch::Tensor> get_batch(const torch::Tensor& data, int64_t index,
                                                  int64_t bptt) {
  const int64_t begin = index * bptt;
  TORCH_CHECK(index >= 0 && begin < data.size(0) - 1, "batch ", index, " is outside the ",
              num_batches(data, bptt), " batches of the data");
  const int64_t length = std::min(bptt, data.size(0) - 1 - begin);
  return {data.narrow(0, begin, length), data.narrow(0, begin + 1, length)};
}

}  // namespace lstmnlp::lm
