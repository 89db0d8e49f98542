#include "models/lm/lm_interop.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "core/error.h"

namespace lstmnlp::lm {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// RNNModel's name for one of our LSTM parameters: "rnn.weight_ih_l1" stays, "rnn1.weight_ih_l0"
// (a per-layer LSTM of variational dropout) becomes "rnn.weight_ih_l1".
std::string rnn_name(const std::string& ours) {
  const auto dot = ours.find('.');
  const std::string module = ours.substr(0, dot);
  const std::string param = ours.substr(dot + 1);
  if (module == "rnn") return ours;
  const std::string layer = module.substr(3);
  const auto suffix = param.rfind("_l0");
  TORCH_CHECK(suffix != std::string::npos && suffix + 3 == param.size(),
              "unexpected LSTM parameter ", ours);
  return "rnn." + param.substr(0, suffix) + "_l" + layer;
}

}  // namespace

StateDict to_rnn_model_state_dict(const LanguageModel& model) {
  StateDict out;
  torch::Tensor decoder_bias;
  torch::Tensor decoder_weight = model->decoder_weight();
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (name == "embedding.weight") {
      out.emplace_back("encoder.weight", item.value());
    } else if (name.rfind("rnn", 0) == 0) {
      out.emplace_back(rnn_name(name), item.value());
    } else if (name == "decoder_bias") {
      decoder_bias = item.value();
    } else {
      TORCH_CHECK(name == "decoder_weight", "unexpected LanguageModel parameter ", name);
    }
  }
  // Per-layer LSTMs list layer by layer already; RNNModel lists the same order.
  out.emplace_back("decoder.weight", decoder_weight);
  out.emplace_back("decoder.bias", decoder_bias);
  return out;
}

void load_rnn_model_state_dict(const StateDict& state_dict, LanguageModel& model,
                               const std::string& origin) {
  std::map<std::string, torch::Tensor> given;
  for (const auto& [name, tensor] : state_dict) given[name] = tensor;

  const auto& o = model->options;
  const StateDict expected = to_rnn_model_state_dict(model);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, source)
  for (const auto& [name, target] : expected) {
    const auto it = given.find(name);
    if (it == given.end()) {
      throw InputError(origin + ": the state_dict has no '" + name + "' (the config has " +
                       std::to_string(o.num_layers()) + " LSTM layers, model.num_layers)");
    }
    const torch::Tensor& source = it->second;
    if (!source.is_floating_point()) {
      throw InputError(origin + ": '" + name + "' has dtype " +
                       std::string(c10::toString(source.scalar_type())) +
                       ", expected a floating-point tensor");
    }
    if (source.sizes() != target.sizes()) {
      throw InputError(origin + ": '" + name + "' has shape " + shape_of(source) +
                       " but the config and vocabulary give " + shape_of(target) + " (vocabulary " +
                       std::to_string(o.vocab_size()) +
                       ", model.embedding_size=" + std::to_string(o.embedding_size()) +
                       ", model.hidden_size=" + std::to_string(o.hidden_size()) + ")");
    }
    if (o.tie_weights() && name == "decoder.weight") {
      if (!torch::equal(source.to(torch::kFloat), given.at("encoder.weight").to(torch::kFloat))) {
        throw InputError(origin +
                         ": 'decoder.weight' differs from 'encoder.weight', but the config ties "
                         "them (model.tie_weights: true); set it to false for this state_dict");
      }
      continue;  // the same tensor as encoder.weight
    }
    copies.emplace_back(target, source);
  }
  for (const auto& [name, tensor] : state_dict) {
    // C++17 lambdas cannot capture a structured binding: compare through a reference of its own.
    const std::string& key = name;
    const bool known = std::any_of(expected.begin(), expected.end(),
                                   [&](const auto& e) { return e.first == key; });
    if (!known) {
      throw InputError(origin + ": unexpected '" + name +
                       "' in the state_dict (an RNNModel('LSTM', ...) of " +
                       std::to_string(o.num_layers()) + " layers has no such tensor)");
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source);
}

}  // namespace lstmnlp::lm
