"""Link-prediction data loading and filtered ranking (hand-computed cases)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO

from reader.evaluate import filtered_ranks, known_answers, metrics_from_ranks, sample_triples, with_inverse
from retrieve.data import DatasetError, from_string_triples, load_split_dir

SLICE = REPO / "tests" / "fixtures" / "kg" / "fb15k-237-slice"


def test_loader_reads_crlf_fb15k_slice() -> None:
    data = load_split_dir(SLICE)
    assert data.train.shape == (40, 3) and data.valid.shape == (40, 3) and data.test.shape == (40, 3)
    assert data.entities[0] == "/m/027rn" and data.relations[0] == "/location/country/form_of_government"
    assert not any(x.endswith("\r") for x in data.entities + data.relations)
    assert data.fingerprint() == load_split_dir(SLICE).fingerprint()


def test_loader_errors_name_file_and_line(tmp_path: Path) -> None:
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.txt").write_text("a\tr\tb\n")
    (tmp_path / "valid.txt").write_text("a\tr\tb\nonly two\tfields\n")
    with pytest.raises(DatasetError, match=r"valid\.txt:2: expected head<TAB>relation<TAB>tail"):
        load_split_dir(tmp_path)
    (tmp_path / "test.txt").unlink()
    (tmp_path / "valid.txt").write_text("a\tr\tb\n")
    with pytest.raises(DatasetError, match=r"test\.txt: missing"):
        load_split_dir(tmp_path)


def test_filtered_ranks_by_hand() -> None:
    scores = torch.tensor([
        [0.9, 0.5, 0.5, 0.1, 0.7],   # answer 1 ties with 2; 0 and 4 above
        [0.9, 0.5, 0.5, 0.1, 0.7],   # same, but 0 and 4 are other true answers: filtered
        [0.2, 0.2, 0.2, 0.2, 0.2],   # all equal: (1 + 5) / 2
        [0.0, 1.0, 0.0, 0.0, 0.0],   # clear first
    ])  # fmt: skip
    answers = torch.tensor([1, 1, 3, 1])
    filters = [np.array([1]), np.array([0, 1, 4]), np.array([], dtype=int), np.array([1, 3])]
    ranks = filtered_ranks(scores, answers, filters)
    assert ranks.tolist() == [3.5, 1.5, 3.0, 1.0]
    m = metrics_from_ranks(ranks)
    assert m.mrr == pytest.approx((1 / 3.5 + 1 / 1.5 + 1 / 3 + 1) / 4)
    assert (m.hits1, m.hits3, m.hits10, m.queries) == (0.25, 0.75, 1.0, 4)


def test_inverse_queries_and_known_answers() -> None:
    train = [("a", "r", "b"), ("a", "r", "c")]
    data = from_string_triples({"train": train, "valid": [], "test": [("d", "r", "b")]})
    queries = with_inverse(data.test, data.num_relations)
    assert queries.tolist() == [[3, 0, 1], [1, 1, 3]]  # (d, r, ?) -> b and (b, r^-1, ?) -> d
    answers = known_answers(data)
    assert answers[(0, 0)].tolist() == [1, 2] and answers[(1, 1)].tolist() == [0, 3]


def test_sample_is_seeded_subset() -> None:
    triples = np.arange(300).reshape(100, 3)
    a, b = sample_triples(triples, 10, seed=3), sample_triples(triples, 10, seed=3)
    assert (a == b).all() and len(a) == 10 and not (a == sample_triples(triples, 10, seed=4)).all()
    assert len(sample_triples(triples, None, seed=0)) == 100
