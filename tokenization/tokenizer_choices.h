#pragma once

// The names under which configs choose a SentencePiece model type (`tokenizer.model_type`), for
// config::Choices; kept apart so that sentencepiece_tokenizer.h does not depend on the config
// layer.

#include "core/config.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp {

/// unigram, bpe, char or word.
inline const config::Choices<TokenizerModelType> kTokenizerModelTypes{
    {"unigram", TokenizerModelType::kUnigram},
    {"bpe", TokenizerModelType::kBpe},
    {"char", TokenizerModelType::kChar},
    {"word", TokenizerModelType::kWord}};

}  // namespace lstmnlp
