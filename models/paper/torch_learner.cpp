#include "models/paper/torch_learner.h"

#include <torch/torch.h>

#include <random>

#include "core/error.h"
#include "core/trainer.h"
#include "models/lstm.h"
#include "models/paper/experiment.h"

namespace lstmnlp::paper {
namespace {

// One LSTM layer (torch::nn::LSTM or lstmnlp::LSTM), or a vanilla RNN layer, and sigmoid output
// units. Every LSTM cell has its own gates; a "block" only sets which gate-bias initialisation a
// cell gets.
class TorchLearner : public Learner {
 public:
  TorchLearner(const ModelConfig& model, const TrialConfig& train, int64_t inputs, int64_t outputs,
               uint64_t seed)
      : inputs_(inputs),
        outputs_(outputs),
        input_to_output_(model.input_to_output),
        cross_entropy_(model.loss == Loss::kCrossEntropy) {
    const int64_t hidden = int64_t{model.blocks} * model.cells_per_block;
    std::vector<torch::Tensor> params;
    if (model.impl == Impl::kRnn) {
      if (model.squash != SquashChoice::kAuto && model.squash != SquashChoice::kTanh) {
        throw InputError("model.impl=rnn squashes with tanh; set model.squash to auto or tanh");
      }
      rnn_ = torch::nn::RNN(
          torch::nn::RNNOptions(inputs, hidden).nonlinearity(torch::kTanh).bias(model.cell_bias));
      params = rnn_->parameters();
    } else {
      params = lstm_parameters(model, inputs, hidden);
    }
    linear_ = torch::nn::Linear(
        torch::nn::LinearOptions(hidden + (input_to_output_ ? inputs : 0), outputs)
            .bias(model.output_bias));
    const size_t recurrent_params = params.size();
    for (auto& p : linear_->parameters()) params.push_back(p);

    // Our own generator, so that trials on several threads stay deterministic.
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> uniform(-model.init_range, model.init_range);
    torch::NoGradGuard no_grad;
    for (auto& p : params) {
      auto flat = p.view({-1});
      auto acc = flat.accessor<float, 1>();
      for (int64_t i = 0; i < flat.numel(); ++i) acc[i] = uniform(rng);
    }
    if (model.impl != Impl::kRnn) {
      set_gate_biases(model, hidden, params[2], params[3]);
    } else if (model.cell_bias) {
      // bias_hh would only duplicate bias_ih: held at zero, neither trained nor counted.
      params[recurrent_params - 1].zero_();
      params[recurrent_params - 1].set_requires_grad(false);
      params.erase(params.begin() + static_cast<int64_t>(recurrent_params) - 1);
    }
    num_weights_ = count_parameters(params);
    optimizer_ = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(train.lr));
  }

  double train(const Sequence& seq, std::vector<double>* outputs) override {
    optimizer_->zero_grad();
    const torch::Tensor y = forward(seq);
    const torch::Tensor mask =
        torch::tensor(std::vector<float>(seq.has_target.begin(), seq.has_target.end()))
            .unsqueeze(1);
    const torch::Tensor target = to_tensor(seq.targets, seq.length, outputs_);
    const torch::Tensor squared = 0.5 * ((y - target).pow(2) * mask).sum();
    const torch::Tensor loss =
        cross_entropy_
            ? (torch::binary_cross_entropy(y, target, {}, torch::Reduction::None) * mask).sum()
            : squared;
    loss.backward();
    optimizer_->step();
    if (outputs) copy_out(y, *outputs);
    return squared.item<double>();
  }

  void predict(const Sequence& seq, std::vector<double>& outputs) override {
    torch::NoGradGuard no_grad;
    copy_out(forward(seq), outputs);
  }

  int64_t num_weights() const override { return num_weights_; }

 private:
  // Builds the LSTM layer of impl torch or custom; returns its weight_ih, weight_hh, bias_ih and
  // bias_hh.
  std::vector<torch::Tensor> lstm_parameters(const ModelConfig& model, int64_t inputs,
                                             int64_t hidden) {
    const bool standard = model.cell == LSTMCellType::kStandard;
    const std::string& impl = kImpls.name(model.impl);
    if (model.squash != SquashChoice::kAuto && model.squash != SquashChoice::kTanh) {
      throw InputError("model.impl=" + impl +
                       " squashes with tanh; the paper's g and h need model.impl=fast");
    }
    if (model.recurrent != Recurrent::kAuto && model.recurrent != Recurrent::kCells) {
      throw InputError("model.impl=" + impl +
                       " feeds back the cell outputs only; set model.recurrent to auto or cells");
    }
    if (!model.output_gate || !model.gate_bias || model.input_gate_bias_random ||
        model.output_gate_bias_random || model.hidden_update != HiddenUpdate::kSimultaneous) {
      throw InputError("model.impl=" + impl +
                       " has output gates and set gate biases; model.output_gate=false, "
                       "model.gate_bias=false, random gate biases and "
                       "model.hidden_update=in_order need model.impl=fast");
    }
    std::vector<torch::Tensor> lstm_params;
    if (model.impl == Impl::kTorch) {
      if (!standard) {
        throw InputError("torch::nn::LSTM has no 1997 cell; use model.impl=custom or fast");
      }
      torch_lstm_ = torch::nn::LSTM(torch::nn::LSTMOptions(inputs, hidden));
      lstm_params = {torch_lstm_->named_parameters()["weight_ih_l0"],
                     torch_lstm_->named_parameters()["weight_hh_l0"],
                     torch_lstm_->named_parameters()["bias_ih_l0"],
                     torch_lstm_->named_parameters()["bias_hh_l0"]};
    } else {
      custom_lstm_ = LSTM(LSTMOptions(inputs, hidden).cell(model.cell));
      lstm_params = custom_lstm_->layer_parameters(0, 0);
      lstm_params.resize(4);
    }
    return lstm_params;
  }

  // Gate biases: torch order i, f, g, o (i, g, o for the 1997 cell); bias_hh adds nothing.
  static void set_gate_biases(const ModelConfig& model, int64_t hidden, torch::Tensor b_ih,
                              torch::Tensor b_hh) {
    const bool standard = model.cell == LSTMCellType::kStandard;
    b_hh.zero_();
    const int64_t i_block = 0, f_block = 1, o_block = standard ? 3 : 2;
    for (int64_t j = 0; j < hidden; ++j) {
      const int64_t block_index = j / model.cells_per_block;  // the block of unit j
      const auto block = static_cast<double>(block_index);
      b_ih[i_block * hidden + j] = model.input_gate_bias + block * model.input_gate_bias_step;
      b_ih[o_block * hidden + j] = model.output_gate_bias + block * model.output_gate_bias_step;
      if (standard) {
        b_ih[f_block * hidden + j] = model.forget_gate_bias + block * model.forget_gate_bias_step;
      }
    }
  }

  static torch::Tensor to_tensor(const std::vector<double>& v, int64_t rows, int64_t cols) {
    return torch::tensor(std::vector<float>(v.begin(), v.end())).view({rows, cols});
  }

  static void copy_out(const torch::Tensor& y, std::vector<double>& outputs) {
    const torch::Tensor c = y.detach().contiguous();
    outputs.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }

  // Sigmoid outputs (T, outputs) for one sequence.
  torch::Tensor forward(const Sequence& seq) {
    const torch::Tensor x = to_tensor(seq.inputs, seq.length, inputs_).unsqueeze(1);  // (T, 1, F)
    torch::Tensor h = rnn_           ? std::get<0>(rnn_->forward(x))
                      : custom_lstm_ ? std::get<0>(custom_lstm_->forward(x))
                                     : std::get<0>(torch_lstm_->forward(x));
    h = h.squeeze(1);
    if (input_to_output_) h = torch::cat({h, x.squeeze(1)}, 1);
    return torch::sigmoid(linear_->forward(h));
  }

  int64_t inputs_, outputs_;
  bool input_to_output_, cross_entropy_;
  torch::nn::LSTM torch_lstm_{nullptr};
  torch::nn::RNN rnn_{nullptr};
  LSTM custom_lstm_{nullptr};
  torch::nn::Linear linear_{nullptr};
  std::unique_ptr<torch::optim::SGD> optimizer_;
  int64_t num_weights_ = 0;
};

}  // namespace

std::unique_ptr<Learner> make_torch_learner(const ModelConfig& model, const TrialConfig& train,
                                            int64_t inputs, int64_t outputs, uint64_t seed) {
  return std::make_unique<TorchLearner>(model, train, inputs, outputs, seed);
}

}  // namespace lstmnlp::paper
