#pragma once

// The names under which configs choose options of the shared LSTM (models/lstm.h), for
// config::Choices; kept apart so that lstm.h does not depend on the config layer.

#include "core/config.h"
#include "models/lstm.h"

namespace lstmnlp {

/// `model.lstm`: custom (lstmnlp::LSTM) or torch (torch::nn::LSTM).
inline const config::Choices<LstmBackend> kLstmBackends{{"custom", LstmBackend::kCustom},
                                                        {"torch", LstmBackend::kTorch}};

}  // namespace lstmnlp
