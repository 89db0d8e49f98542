#include "models/lm/lm_config.h"

namespace lstmnlp::lm {

LanguageModelOptions LmModelConfig::options(int64_t vocab_size) const {
  return LanguageModelOptions(vocab_size, embedding_size, hidden_size)
      .num_layers(num_layers)
      .lstm(lstm)
      .dropout_embedding(dropout_embedding)
      .dropout_hidden(dropout_hidden)
      .dropout_output(dropout_output)
      .variational_dropout(dropout_type == DropoutType::kVariational)
      .tie_weights(tie_weights)
      .init_range(init_range)
      .init_lstm(init_lstm);
}

}  // namespace lstmnlp::lm
