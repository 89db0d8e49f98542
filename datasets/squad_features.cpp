#include "datasets/squad_features.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace lstmnlp {
namespace {

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_word_byte(unsigned char c) { return c >= 0x80 || std::isalnum(c); }

std::string ascii_lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class Interner {
 public:
  int32_t id(const std::string& text) {
    return ids_.emplace(text, static_cast<int32_t>(ids_.size())).first->second;
  }

 private:
  std::unordered_map<std::string, int32_t> ids_;
};

// For each byte of `text`, the index of the word it belongs to (-1 for whitespace), and the
// words' byte spans.
struct Words {
  std::vector<int32_t> of_byte;
  std::vector<std::pair<size_t, size_t>> spans;
};

Words split_words(const std::string& text) {
  Words words;
  words.of_byte.assign(text.size(), -1);
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_space(c)) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (is_word_byte(c)) {
      while (j < text.size() && is_word_byte(static_cast<unsigned char>(text[j]))) ++j;
    }
    const auto index = static_cast<int32_t>(words.spans.size());
    std::fill(words.of_byte.begin() + static_cast<std::ptrdiff_t>(i),
              words.of_byte.begin() + static_cast<std::ptrdiff_t>(j), index);
    words.spans.emplace_back(i, j);
    i = j;
  }
  return words;
}

std::vector<int32_t> sorted_unique(std::vector<int32_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool contains(const std::vector<int32_t>& sorted, int32_t value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

QaContext encode_context(const std::string& text, const SentencePieceTokenizer& tokenizer,
                         Interner& interner) {
  QaContext context;
  context.text = text;
  const Words words = split_words(text);
  std::vector<int32_t> word_ids(words.spans.size());
  std::vector<int32_t> lower_ids(words.spans.size());
  std::unordered_map<int32_t, int32_t> lower_counts;
  for (size_t w = 0; w < words.spans.size(); ++w) {
    const auto [b, e] = words.spans[w];
    const std::string word = text.substr(b, e - b);
    word_ids[w] = interner.id(word);
    lower_ids[w] = interner.id(ascii_lower(word));
    ++lower_counts[lower_ids[w]];
  }
  const float total_words = std::max<float>(1.0f, static_cast<float>(words.spans.size()));
  for (const auto& span : tokenizer.encode_with_offsets(text)) {
    size_t begin = span.byte_begin;
    while (begin < span.byte_end && is_space(static_cast<unsigned char>(text[begin]))) ++begin;
    context.ids.push_back(span.id);
    context.begin.push_back(static_cast<int32_t>(begin));
    context.end.push_back(static_cast<int32_t>(span.byte_end));
    // A piece of whitespace alone takes the word that follows it.
    const size_t at = std::min(begin, text.empty() ? 0 : text.size() - 1);
    int32_t w = text.empty() ? -1 : words.of_byte[at];
    if (w < 0 && !words.spans.empty()) w = static_cast<int32_t>(words.spans.size()) - 1;
    context.word.push_back(w >= 0 ? word_ids[w] : -1);
    context.word_lower.push_back(w >= 0 ? lower_ids[w] : -1);
    context.tf.push_back(w >= 0 ? static_cast<float>(lower_counts[lower_ids[w]]) / total_words
                                : 0.0f);
  }
  if (context.ids.empty()) {
    // An empty context still gets one piece, so that every sequence has a length >= 1.
    context.ids.push_back(tokenizer.unk_id());
    context.begin.push_back(0);
    context.end.push_back(0);
    context.word.push_back(-1);
    context.word_lower.push_back(-1);
    context.tf.push_back(0.0f);
  }
  return context;
}

// The piece that holds byte `byte` (the last piece whose begin is at or before it).
int32_t piece_at(const QaContext& context, int64_t byte) {
  const auto it =
      std::upper_bound(context.begin.begin(), context.begin.end(), static_cast<int32_t>(byte));
  return std::max<int32_t>(0, static_cast<int32_t>(it - context.begin.begin()) - 1);
}

}  // namespace

SquadEncoding encode_squad(const SquadDataset& data, const SentencePieceTokenizer& tokenizer,
                           const SquadEncodingOptions& options) {
  SquadEncoding out;
  Interner interner;
  const std::unordered_set<std::string> excluded(options.exclude_ids.begin(),
                                                 options.exclude_ids.end());
  for (const auto& paragraph : data.paragraphs) {
    bool context_added = false;
    for (const auto& question : paragraph.questions) {
      if (options.max_questions > 0 &&
          static_cast<int64_t>(out.questions.size()) >= options.max_questions) {
        return out;
      }
      if (question.impossible && options.skip_impossible) {
        ++out.stats.impossible;
        continue;
      }
      if (excluded.count(question.id)) {
        ++out.stats.excluded;
        continue;
      }
      if (!context_added) {
        out.contexts.push_back(encode_context(paragraph.context, tokenizer, interner));
        context_added = true;
      }
      const QaContext& context = out.contexts.back();
      QaQuestion q;
      q.id = question.id;
      q.context = static_cast<int32_t>(out.contexts.size()) - 1;
      std::vector<int32_t> words;
      std::vector<int32_t> lower;
      const Words question_words = split_words(question.question);
      for (const auto& [b, e] : question_words.spans) {
        const std::string word = question.question.substr(b, e - b);
        words.push_back(interner.id(word));
        lower.push_back(interner.id(ascii_lower(word)));
      }
      q.words = sorted_unique(words);
      q.words_lower = sorted_unique(lower);
      q.ids = tokenizer.encode(question.question);
      if (q.ids.empty()) q.ids.push_back(tokenizer.unk_id());
      if (static_cast<int64_t>(q.ids.size()) > options.max_question_tokens) {
        q.ids.resize(static_cast<size_t>(options.max_question_tokens));
      }
      q.pieces = sorted_unique(std::vector<int32_t>(q.ids.begin(), q.ids.end()));
      if (!question.answers.empty()) {
        const SquadAnswer& answer = question.answers.front();
        ++out.stats.answers;
        if (answer.byte_start < 0 || answer.text.empty()) {
          ++out.stats.misaligned;
        } else {
          const int64_t begin = answer.byte_start;
          const int64_t end = begin + static_cast<int64_t>(answer.text.size());
          q.answer_start = piece_at(context, begin);
          q.answer_end = std::max(q.answer_start, piece_at(context, end - 1));
          if (context.begin[q.answer_start] != begin || context.end[q.answer_end] != end) {
            ++out.stats.unaligned;
          }
        }
      }
      ++out.stats.questions;
      out.questions.push_back(std::move(q));
    }
  }
  return out;
}

QaBatch make_qa_batch(const SquadEncoding& data, const std::vector<int64_t>& indices,
                      int64_t pad_id, int64_t max_context) {
  const auto batch = static_cast<int64_t>(indices.size());
  TORCH_CHECK(batch > 0, "make_qa_batch: empty batch");
  auto context_length = [&](int64_t q) {
    const auto n = static_cast<int64_t>(data.contexts[data.questions[q].context].ids.size());
    return max_context > 0 ? std::min(n, max_context) : n;
  };
  int64_t t_max = 0;
  int64_t q_max = 0;
  for (int64_t q : indices) {
    t_max = std::max(t_max, context_length(q));
    q_max = std::max(q_max, static_cast<int64_t>(data.questions[q].ids.size()));
  }
  QaBatch out;
  out.context = torch::full({t_max, batch}, pad_id, torch::kInt64);
  out.features = torch::zeros({t_max, batch, kQaFeatures});
  out.question = torch::full({q_max, batch}, pad_id, torch::kInt64);
  out.context_lengths = torch::empty({batch}, torch::kInt64);
  out.question_lengths = torch::empty({batch}, torch::kInt64);
  out.start = torch::full({batch}, -1, torch::kInt64);
  out.end = torch::full({batch}, -1, torch::kInt64);
  auto context = out.context.accessor<int64_t, 2>();
  auto features = out.features.accessor<float, 3>();
  auto question = out.question.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const QaQuestion& q = data.questions[indices[b]];
    const QaContext& c = data.contexts[q.context];
    const int64_t length = context_length(indices[b]);
    out.context_lengths[b] = length;
    out.question_lengths[b] = static_cast<int64_t>(q.ids.size());
    for (int64_t t = 0; t < length; ++t) {
      context[t][b] = c.ids[t];
      features[t][b][0] = contains(q.words, c.word[t]) ? 1.0f : 0.0f;
      features[t][b][1] = contains(q.words_lower, c.word_lower[t]) ? 1.0f : 0.0f;
      features[t][b][2] = contains(q.pieces, c.ids[t]) ? 1.0f : 0.0f;
      features[t][b][3] = c.tf[t];
    }
    for (size_t t = 0; t < q.ids.size(); ++t) question[static_cast<int64_t>(t)][b] = q.ids[t];
    if (q.answer_start >= 0 && q.answer_end < length) {
      out.start[b] = q.answer_start;
      out.end[b] = q.answer_end;
    }
  }
  return out;
}

std::string answer_text(const SquadEncoding& data, int64_t q, int64_t start, int64_t end) {
  const QaContext& c = data.contexts.at(data.questions.at(q).context);
  TORCH_CHECK(0 <= start && start <= end && end < static_cast<int64_t>(c.ids.size()),
              "answer_text: bad span [", start, ", ", end, "]");
  const auto begin = static_cast<size_t>(c.begin[start]);
  const auto stop = static_cast<size_t>(c.end[end]);
  return begin < stop ? c.text.substr(begin, stop - begin) : std::string();
}

std::vector<std::pair<size_t, size_t>> sentence_spans(const std::string& text) {
  std::vector<std::pair<size_t, size_t>> spans;
  size_t begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool boundary = (c == '.' || c == '!' || c == '?') && i + 1 < text.size() &&
                          is_space(static_cast<unsigned char>(text[i + 1]));
    if (boundary) {
      spans.emplace_back(begin, i + 1);
      begin = i + 1;
      while (begin < text.size() && is_space(static_cast<unsigned char>(text[begin]))) ++begin;
      i = begin > 0 ? begin - 1 : 0;
    }
  }
  if (begin < text.size()) spans.emplace_back(begin, text.size());
  return spans;
}

std::vector<std::string> read_id_column(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the id list");
  std::vector<std::string> ids;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    const std::string id = line.substr(0, tab);
    if (!id.empty()) ids.push_back(id);
  }
  return ids;
}

}  // namespace lstmnlp
