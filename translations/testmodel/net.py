"""A tiny pre-norm Transformer in plain torch, laid out exactly as CTranslate2's TransformerSpec.

Every weight has a one-to-one home in the spec (self-attention q/k/v fused in one Linear,
cross-attention q alone and k/v fused, learned position table), so converting is copying.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: CTranslate2's layer-norm epsilon for this spec is written into its config as well.
LAYER_NORM_EPS = 1e-6


@dataclass(frozen=True)
class NetConfig:
    """Shape of the network; small enough to train on two CPU cores in a few minutes."""

    vocab_size: int
    d_model: int = 128
    heads: int = 4
    ffn: int = 256
    encoder_layers: int = 2
    decoder_layers: int = 2
    max_positions: int = 256
    dropout: float = 0.1


class Attention(nn.Module):
    """Pre-norm multi-head attention with its residual connection."""

    def __init__(self, config: NetConfig, *, self_attention: bool) -> None:
        super().__init__()
        d = config.d_model
        self.heads = config.heads
        self.norm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)
        self.qkv = nn.Linear(d, 3 * d) if self_attention else None
        self.q = None if self_attention else nn.Linear(d, d)
        self.kv = None if self_attention else nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, mask: Tensor, memory: Tensor | None = None) -> Tensor:
        h = self.norm(x)
        if self.qkv is not None:
            q, k, v = self.qkv(h).chunk(3, dim=-1)
        else:
            assert self.q is not None and self.kv is not None and memory is not None
            q = self.q(h)
            k, v = self.kv(memory).chunk(2, dim=-1)
        batch, length, d = q.shape
        q, k, v = (
            t.reshape(batch, -1, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v)
        )
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        context = context.transpose(1, 2).reshape(batch, length, d)
        update: Tensor = self.dropout(self.out(context))
        return x + update


class FeedForward(nn.Module):
    """Pre-norm ReLU feed-forward block with its residual connection."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(config.d_model, eps=LAYER_NORM_EPS)
        self.linear_0 = nn.Linear(config.d_model, config.ffn)
        self.linear_1 = nn.Linear(config.ffn, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        update: Tensor = self.dropout(self.linear_1(F.relu(self.linear_0(self.norm(x)))))
        return x + update


class EncoderLayer(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.self_attention = Attention(config, self_attention=True)
        self.ffn = FeedForward(config)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        out: Tensor = self.ffn(self.self_attention(x, mask))
        return out


class DecoderLayer(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.self_attention = Attention(config, self_attention=True)
        self.attention = Attention(config, self_attention=False)
        self.ffn = FeedForward(config)

    def forward(self, x: Tensor, self_mask: Tensor, memory: Tensor, memory_mask: Tensor) -> Tensor:
        x = self.self_attention(x, self_mask)
        out: Tensor = self.ffn(self.attention(x, memory_mask, memory))
        return out


class Stack(nn.Module):
    """Embeddings (scaled by sqrt(d), plus a learned position table), layers, final norm."""

    def __init__(self, config: NetConfig, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.scale = math.sqrt(config.d_model)
        self.embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = nn.Parameter(torch.randn(config.max_positions, config.d_model) * 0.02)
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(config.d_model, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)
        nn.init.normal_(self.embeddings.weight, std=config.d_model**-0.5)

    def embed(self, ids: Tensor) -> Tensor:
        out: Tensor = self.dropout(
            self.embeddings(ids) * self.scale + self.positions[: ids.shape[1]]
        )
        return out


class Seq2Seq(nn.Module):
    """Encoder-decoder with an untied output projection (CTranslate2 stores it separately)."""

    def __init__(self, config: NetConfig, pad_id: int) -> None:
        super().__init__()
        self.config = config
        self.pad_id = pad_id
        self.encoder = Stack(config, [EncoderLayer(config) for _ in range(config.encoder_layers)])
        self.decoder = Stack(config, [DecoderLayer(config) for _ in range(config.decoder_layers)])
        self.projection = nn.Linear(config.d_model, config.vocab_size)

    def encode(self, source: Tensor) -> tuple[Tensor, Tensor]:
        """Encoder output and the key mask (True = attend) for padded ``source`` ids."""
        mask = (source != self.pad_id)[:, None, None, :]
        x = self.encoder.embed(source)
        for layer in self.encoder.layers:
            x = layer(x, mask)
        return self.encoder.norm(x), mask

    def decode(self, target_in: Tensor, memory: Tensor, memory_mask: Tensor) -> Tensor:
        """Logits for every position of ``target_in`` (which starts with the BOS id)."""
        length = target_in.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool).tril()[None, None]
        self_mask = causal & (target_in != self.pad_id)[:, None, None, :]
        x = self.decoder.embed(target_in)
        for layer in self.decoder.layers:
            x = layer(x, self_mask, memory, memory_mask)
        logits: Tensor = self.projection(self.decoder.norm(x))
        return logits

    def forward(self, source: Tensor, target_in: Tensor) -> Tensor:
        memory, memory_mask = self.encode(source)
        return self.decode(target_in, memory, memory_mask)

    @torch.no_grad()
    def greedy(self, source: Tensor, bos_id: int, eos_id: int, max_length: int) -> list[list[int]]:
        """Greedy decoding of a padded batch; each output stops before its EOS."""
        memory, memory_mask = self.encode(source)
        out = torch.full((source.shape[0], 1), bos_id, dtype=torch.long)
        done = torch.zeros(source.shape[0], dtype=torch.bool)
        for _ in range(max_length):
            step = self.decode(out, memory, memory_mask)[:, -1].argmax(-1)
            step = torch.where(done, torch.full_like(step, self.pad_id), step)
            out = torch.cat([out, step[:, None]], dim=1)
            done |= step == eos_id
            if bool(done.all()):
                break
        results = []
        for row in out[:, 1:].tolist():
            results.append(row[: row.index(eos_id)] if eos_id in row else row)
        return results
