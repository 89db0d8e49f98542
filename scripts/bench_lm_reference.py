#!/usr/bin/env python3
"""The PyTorch reference for lstm-lm's training throughput.

The model and loop of PyTorch's word_language_model example (Embedding -> torch.nn.LSTM ->
Linear, dropout on the embeddings, between layers and on the output, optional weight tying),
configured like lstm-lm's configs: same word vocabulary (built from train.txt with <eos> per
line), batch, BPTT length, detached hidden state carried across batches, torch.optim.SGD,
gradient-norm clipping, loss summed over the time steps and averaged over the batch.

Prints one JSON line with tokens/s, timed over the steps after --warmup.

    python3 scripts/bench_lm_reference.py --data $LSTM_NLP_DATA/ptb --emsize 200 --nhid 200 \
        --bptt 20 --steps 300 --threads 2
"""

import argparse
import json
import os
import time

import torch
import torch.nn as nn


class RNNModel(nn.Module):
    """word_language_model's RNNModel, LSTM only."""

    def __init__(self, ntoken, ninp, nhid, nlayers, dropout, tie_weights, init_range):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("tied weights need nhid == emsize")
            self.decoder.weight = self.encoder.weight
        for p in self.parameters():  # every parameter in +-init_range, as Zaremba et al.
            nn.init.uniform_(p, -init_range, init_range)
        nn.init.zeros_(self.decoder.bias)
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        return self.decoder(output).view(-1, self.ntoken), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


def tokenize(path, index=None):
    """The file as ids: a leading <eos>, then each line's words followed by <eos>."""
    with open(path, encoding="utf-8") as f:
        lines = [line.split() + ["<eos>"] for line in f]
    if index is None:
        index = {"<eos>": 0, "<unk>": 1}
        for words in lines:
            for w in words:
                index.setdefault(w, len(index))
    unk = index["<unk>"]
    ids = [0] + [index.get(w, unk) for words in lines for w in words]
    return torch.tensor(ids, dtype=torch.long), index


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


def repackage_hidden(h):
    return tuple(v.detach() for v in h)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(os.environ.get("LSTM_NLP_DATA", "../shared/data"), "ptb"))
    parser.add_argument("--emsize", type=int, default=200)
    parser.add_argument("--nhid", type=int, default=200)
    parser.add_argument("--nlayers", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--tied", action="store_true")
    parser.add_argument("--init-range", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--clip", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_ids, index = tokenize(os.path.join(args.data, "train.txt"))
    train_data = batchify(train_ids, args.batch_size)
    model = RNNModel(len(index), args.emsize, args.nhid, args.nlayers, args.dropout, args.tied,
                     args.init_range)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    criterion = nn.CrossEntropyLoss(reduction="sum")

    model.train()
    hidden = model.init_hidden(args.batch_size)
    steps = min(args.steps, (train_data.size(0) - 1 + args.bptt - 1) // args.bptt)
    tokens = 0
    start = None
    loss_sum = 0.0
    all_tokens = 0
    for step in range(steps):
        if step == args.warmup:
            start = time.perf_counter()
            tokens = 0
        i = step * args.bptt
        seq_len = min(args.bptt, train_data.size(0) - 1 - i)
        data, targets = train_data[i:i + seq_len], train_data[i + 1:i + 1 + seq_len].reshape(-1)
        optimizer.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        (loss / args.batch_size).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        loss_sum += loss.item()
        tokens += targets.numel()
        all_tokens += targets.numel()
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "python-torch", "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "steps": steps - args.warmup,
                      "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
                      "mean_loss": loss_sum / all_tokens}))


if __name__ == "__main__":
    main()
