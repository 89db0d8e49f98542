#include "models/paper/paper_config.h"

#include <stdexcept>

#include "core/error.h"

namespace lstmnlp::paper {
namespace {

// "All non-input units have bias weights" (experiments 4-6); weights in [-0.1, 0.1].
ModelConfig small_net_with_biases() {
  ModelConfig m;
  m.blocks = 2;
  m.cells_per_block = 2;
  m.cell_bias = true;
  m.output_bias = true;
  m.init_range = 0.1;
  m.output_gate_bias = 0.0;
  m.output_gate_bias_step = 0.0;
  return m;
}

}  // namespace

ModelConfig ReberTask::default_model() {
  ModelConfig m;
  m.input_to_output = true;
  m.output_bias = true;
  m.loss = Loss::kCrossEntropy;
  return m;
}

TrialConfig ReberTask::default_train() {
  TrialConfig t;
  t.lr = 0.1;
  t.max_sequences = 300000;
  t.eval_every = 1;  // count sequences until success exactly
  return t;
}

ModelConfig AddingTask::default_model() {
  ModelConfig m = small_net_with_biases();
  m.input_gate_bias = -3.0;  // the paper: first input gate bias -3.0, second -6.0
  m.input_gate_bias_step = -3.0;
  return m;
}

TrialConfig AddingTask::default_train() {
  TrialConfig t;
  t.trials = 10;
  t.lr = 0.5;
  t.max_sequences = 300000;
  return t;
}

ModelConfig MultiplicationTask::default_model() { return AddingTask::default_model(); }

TrialConfig MultiplicationTask::default_train() {
  TrialConfig t = AddingTask::default_train();
  t.lr = 0.1;
  t.max_sequences = 1000000;
  return t;
}

ModelConfig TemporalOrderTask::default_model() {
  ModelConfig m = small_net_with_biases();
  m.input_gate_bias = -2.0;  // -2, -4 (and -6 for 6b's third block)
  m.input_gate_bias_step = -2.0;
  return m;
}

TrialConfig TemporalOrderTask::default_train() {
  TrialConfig t;
  t.trials = 10;
  t.lr = 0.5;
  t.max_sequences = 300000;
  return t;
}

ModelConfig LongLagTask::default_model() {
  ModelConfig m;
  m.blocks = 1;
  m.cells_per_block = 1;
  m.cell_bias = true;
  m.output_bias = true;
  m.input_to_output = true;
  m.output_gate_bias = 0.0;
  m.output_gate_bias_step = 0.0;
  return m;
}

TrialConfig LongLagTask::default_train() {
  TrialConfig t;
  t.trials = 10;
  t.lr = 1.0;
  t.max_sequences = 100000;
  return t;
}

ModelConfig VeryLongLagTask::default_model() {
  // The paper's 2c net: 2 blocks of one cell with input and output gates, no biases at all,
  // outputs from the cells only (6 hidden units x (p + 4 + 6) + 2 x 2 weights).
  ModelConfig m;
  m.blocks = 2;
  m.cells_per_block = 1;
  m.gate_bias = false;
  m.output_gate_bias = 0.0;
  m.output_gate_bias_step = 0.0;
  return m;
}

TrialConfig VeryLongLagTask::default_train() {
  TrialConfig t;
  t.trials = 20;
  t.lr = 0.01;
  t.max_sequences = 1000000;
  return t;
}

ModelConfig TwoSequenceTask::default_model() {
  // The paper's experiment 3 net: 3 blocks of one cell, biases on every hidden unit and none on
  // the output; input gate biases -1, -3, -5, output gate biases -2, -4, -6; weights in ±0.1.
  ModelConfig m;
  m.blocks = 3;
  m.cells_per_block = 1;
  m.cell_bias = true;
  m.init_range = 0.1;
  m.input_gate_bias = -1.0;
  m.input_gate_bias_step = -2.0;
  m.output_gate_bias = -2.0;
  m.output_gate_bias_step = -2.0;
  return m;
}

TrialConfig TwoSequenceTask::default_train() {
  TrialConfig t;
  t.trials = 10;
  t.lr = 1.0;
  t.max_sequences = 1000000;
  t.eval_every = 500;
  return t;
}

TwoSequenceCriteria two_sequence_criteria(TwoSequenceVariant variant) {
  switch (variant) {
    case TwoSequenceVariant::k3a:
      return {0.2, 0, 0.01};
    case TwoSequenceVariant::k3b:
      return {0.2, 5, 0.04};
    case TwoSequenceVariant::k3c:
      return {0.1, 0, 0.015};
  }
  throw std::logic_error("two_sequence_criteria: unknown variant");
}

NetSpec net_spec(const ModelConfig& model, int64_t inputs, int64_t outputs) {
  const bool standard = model.cell == LSTMCellType::kStandard;
  if (standard && model.hidden_update == HiddenUpdate::kInOrder) {
    throw InputError(
        "model.hidden_update=in_order is the 1997 cell's order; the standard cell "
        "needs model.hidden_update=simultaneous");
  }
  NetSpec spec;
  spec.inputs = inputs;
  spec.outputs = outputs;
  spec.blocks = model.blocks;
  spec.cells_per_block = model.cells_per_block;
  spec.forget_gate = standard;
  spec.output_gate = model.output_gate;
  switch (model.squash) {
    case SquashChoice::kAuto:
      spec.squash = standard ? Squash::kTanh : Squash::kPaper;
      break;
    case SquashChoice::kPaper:
      spec.squash = Squash::kPaper;
      break;
    case SquashChoice::kTanh:
      spec.squash = Squash::kTanh;
      break;
    case SquashChoice::kSigmoidIdentity:
      spec.squash = Squash::kSigmoidIdentity;
      break;
  }
  spec.recurrent_cells = model.recurrent != Recurrent::kNone;
  spec.recurrent_gates = model.recurrent == Recurrent::kAuto
                             ? !standard
                             : model.recurrent == Recurrent::kCellsAndGates;
  spec.hidden_update = model.hidden_update;
  spec.gate_bias = model.gate_bias;
  spec.cell_bias = model.cell_bias;
  spec.output_bias = model.output_bias;
  spec.input_to_output = model.input_to_output;
  spec.cross_entropy = model.loss == Loss::kCrossEntropy;
  spec.init_range = model.init_range;
  spec.input_gate_bias = model.input_gate_bias;
  spec.input_gate_bias_step = model.input_gate_bias_step;
  spec.output_gate_bias = model.output_gate_bias;
  spec.output_gate_bias_step = model.output_gate_bias_step;
  spec.forget_gate_bias = model.forget_gate_bias;
  spec.forget_gate_bias_step = model.forget_gate_bias_step;
  spec.input_gate_bias_random = model.input_gate_bias_random;
  spec.output_gate_bias_random = model.output_gate_bias_random;
  return spec;
}

}  // namespace lstmnlp::paper
