"""lstm-nlp's sentiment classifier in PyTorch, with the parameter names and shapes of its
checkpoints, so that the state_dict that `lstm-sentiment export` writes loads into it.

    import lstm_nlp
    model, config = lstm_nlp.load_sentiment('exported/sst2')   # model.pt, config.json, spm.model
    ids = lstm_nlp.encode(config, ['a gripping , funny film .'])  # needs python3-sentencepiece
    probs = lstm_nlp.predict(model, ids)                         # (N, C); columns: config['labels']

The network is lstm-nlp's models/sentiment/model.cpp: token ids -> Embedding -> (Bi)LSTM over each
text's real steps (packed, so padding never enters the recurrence) -> pooling (last, max, mean or
attention over the real steps) -> dropout -> Linear. Its outputs equal lstm-sentiment's within
float rounding (tests/sentiment/sentiment_interop_test.cpp checks 1e-5 on SST-2's dev set).

Needs PyTorch 1.8 or later; `encode` also needs the sentencepiece package.
"""

import json
import os

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class SentimentClassifier(nn.Module):
    """lstm-sentiment's classifier. tokens (T, B) int64 padded after each text's end, lengths (B)
    with 1 <= lengths[b] <= T; forward returns logits (B, num_classes)."""

    def __init__(self, vocab_size, num_classes, pad_id, embedding_dim=300, hidden_size=256,
                 num_layers=1, bidirectional=True, pooling='max', dropout=0.5,
                 embedding_dropout=0.0, attention_size=128):
        super().__init__()
        if pooling not in ('last', 'max', 'mean', 'attention'):
            raise ValueError('pooling must be last, max, mean or attention, got %r' % pooling)
        self.pooling = pooling
        self.bidirectional = bidirectional
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embedding_dim,
                                      padding_idx=pad_id if pad_id >= 0 else None)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers,
                            dropout=dropout if num_layers > 1 else 0.0,
                            bidirectional=bidirectional)
        features = hidden_size * (2 if bidirectional else 1)
        if pooling == 'attention':
            self.attention_hidden = nn.Linear(features, attention_size)
            self.attention_score = nn.Linear(attention_size, 1, bias=False)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(features, num_classes)

    def forward(self, tokens, lengths):
        embedded = self.embedding_dropout(self.embedding(tokens))
        packed = pack_padded_sequence(embedded, lengths.cpu(), enforce_sorted=False)
        packed_out, (h_n, _) = self.lstm(packed)
        outputs, _ = pad_packed_sequence(packed_out, total_length=tokens.size(0))
        return self.classifier(self.dropout(self.pool(outputs, h_n, lengths)))

    def pool(self, outputs, h_n, lengths):
        if self.pooling == 'last':
            return torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
        lengths = lengths.to(outputs.device)
        pad = torch.arange(outputs.size(0), device=outputs.device).unsqueeze(1) >= lengths
        if self.pooling == 'max':
            return outputs.masked_fill(pad.unsqueeze(2), float('-inf')).amax(dim=0)
        if self.pooling == 'mean':
            return outputs.sum(0) / lengths.unsqueeze(1).to(outputs.dtype)
        scores = self.attention_score(torch.tanh(self.attention_hidden(outputs))).squeeze(2)
        weights = torch.softmax(scores.masked_fill(pad, float('-inf')), dim=0).unsqueeze(2)
        return (weights * outputs).sum(0)


def load_sentiment(export_dir, map_location='cpu'):
    """The classifier of an `lstm-sentiment export` folder, in eval mode, and its config.json
    (model arguments, labels, max_tokens, the tokenizer's file)."""
    with open(os.path.join(export_dir, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    model = SentimentClassifier(**config['model'])
    model.load_state_dict(torch.load(os.path.join(export_dir, 'model.pt'),
                                     map_location=map_location))
    model.eval()
    config['dir'] = export_dir
    return model, config


def encode(config, texts):
    """Piece ids of each text as lstm-sentiment reads it: SentencePiece ids, cut to max_tokens,
    and [unk] for a text without pieces."""
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(
        model_file=os.path.join(config['dir'], config['tokenizer']))
    out = []
    for text in texts:
        ids = sp.encode(text)[:config['max_tokens']]
        out.append(ids if ids else [sp.unk_id()])
    return out


def predict(model, ids, batch_size=256):
    """Class probabilities (N, C) of lists of piece ids, in their order."""
    pad = max(model.pad_id, 0)
    probs = []
    with torch.no_grad():
        for start in range(0, len(ids), batch_size):
            batch = ids[start:start + batch_size]
            lengths = torch.tensor([len(x) for x in batch], dtype=torch.int64)
            tokens = torch.full((int(lengths.max()), len(batch)), pad, dtype=torch.int64)
            for b, x in enumerate(batch):
                tokens[:len(x), b] = torch.tensor(x, dtype=torch.int64)
            probs.append(torch.softmax(model(tokens, lengths), dim=1))
    return torch.cat(probs)
