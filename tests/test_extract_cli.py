"""``factloom extract`` as a real subprocess: train, sentences (file format, bad lines), eval, store runs.

A one-layer model is trained once per module through the CLI itself (``--limit``/``--layers``) and used by
the other commands, so these tests check plumbing and formats; the shipped model is checked separately.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import REPO
from test_cli import factloom

from extract.checkpoint import load_model
from extract.evaluate import read_fact_file
from ingest import load_paths
from kg.store import FactStore

SHIPPED = REPO / "models/extract/patent-joint"
REFERENCE = REPO.parent / "shared/data/patents/design_kgex_samples/selected_facts.jsonl"


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTLOOM_")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extract") / "tiny"
    result = factloom(
        offline_env(),
        "extract",
        "train",
        "--out",
        str(out),
        "--limit",
        "24",
        "--epochs",
        "2",
        "--layers",
        "1",
        "--batch-size",
        "8",
        "--threads",
        "2",
    )
    assert result.returncode == 0, result.stderr
    info = json.loads((out / "extractor.json").read_text())
    assert info["metadata"]["train_sentences"] == 24 and len(info["metadata"]["epochs"]) == 2
    return out


def test_extract_train_writes_a_loadable_fp16_model(tiny_model: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(tiny_model / "model.safetensors"), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} <= {"torch.float16", "torch.int64"}
    assert load_model(tiny_model).design == "joint"


def test_extract_sentences_output_format_and_bad_lines(tiny_model: Path, tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "sentence": "The protector has curved walls and a guide rail."}),
        json.dumps({"sentence": ""}),
        json.dumps({"id": 7, "sentence": "x" * 5000}),
        "{not json",
        json.dumps({"id": "b", "text": "no sentence field"}),
        json.dumps({"id": "c", "sentence": "\x00\x01 бинарный мусор 🚀 ﬁn"}),
        json.dumps(["a", "list"]),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = factloom(
        offline_env(), "extract", "sentences", str(src), "--output", str(out), "--model", str(tiny_model)
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(lines)  # one output line per input line, in order
    assert records[0]["id"] == "a" and records[2]["id"] == 7 and "id" not in records[1]
    assert [r.get("error") is not None for r in records] == [False, False, False, True, True, False, True]
    assert "in.jsonl:4" in records[3]["error"] and "'sentence'" in records[4]["error"]
    assert "in.jsonl:5" in result.stderr
    for record in records:
        for fact in record["facts"]:
            assert set(fact) == {
                "head",
                "relation",
                "tail",
                "confidence",
                "head_span",
                "relation_spans",
                "tail_span",
            }
            s = record["sentence"]
            assert (
                s[slice(*fact["head_span"])] == fact["head"] and s[slice(*fact["tail_span"])] == fact["tail"]
            )
            assert " ".join(s[a:b] for a, b in fact["relation_spans"]) == fact["relation"]
            assert 0 <= fact["confidence"] <= 1


def test_extract_sentences_missing_input_is_a_clear_error(tiny_model: Path, tmp_path: Path) -> None:
    result = factloom(
        offline_env(),
        "extract",
        "sentences",
        str(tmp_path / "nope.jsonl"),
        "--output",
        str(tmp_path / "o.jsonl"),
        "--model",
        str(tiny_model),
    )
    assert result.returncode != 0 and "nope.jsonl" in result.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_extract_eval_scores_a_predictions_file(tmp_path: Path) -> None:
    ref = tmp_path / "ref.jsonl"
    ref.write_text(
        json.dumps(
            {
                "id": "1",
                "sentence": "The arm has a hook",
                "facts": [
                    {"head": "The arm", "relation": "has", "tail": "a hook"},
                    {"head": "The arm", "relation": "holds", "tail": "a hook"},
                ],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        json.dumps(
            {"sentence": "The arm has a hook", "facts": [{"head": "arm", "relation": "has", "tail": "hook"}]}
        )
        + "\n",
        encoding="utf-8",
    )
    result = factloom(
        offline_env(), "extract", "eval", "--reference", str(ref), "--predictions", str(pred), "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["normalised"]["precision"] == 1.0 and report["normalised"]["recall"] == 0.5
    assert report["strict"]["tp"] == 0


def test_extract_runs_over_the_store_once_per_model_version(
    private_store: tuple[FactStore, dict[str, str]], tiny_model: Path, tmp_path: Path, unique: str
) -> None:
    store, store_env = private_store
    doc = tmp_path / f"{unique}.txt"
    doc.write_text(
        f"The {unique} bracket is mounted on the frame. The protector has curved walls and a guide rail.\n",
        encoding="utf-8",
    )
    assert factloom(store_env, "ingest", str(doc), "--no-progress").returncode == 0
    document = next(d for d in load_paths([doc]) if not isinstance(d, Exception))
    first = factloom(store_env, "extract", "--model", str(tiny_model))
    assert first.returncode == 0, first.stderr
    assert f"read {len(store.sentences(document.id))} sentences (0 already done)" in first.stdout
    tags = {tuple(r) for r in _tags(store, document.id)}
    assert len(tags) == 1 and next(iter(tags))[0].startswith(
        "factloom-patent-joint@"
    )  # every sentence marked
    stored = store.facts(document_id=document.id, limit=100)
    for fact in stored:
        sentence = next(s for s in store.sentences(document.id) if s.id == fact.sentence_id)
        assert sentence.text[slice(*fact.head_span)] == fact.head
    again = factloom(store_env, "extract", "--model", str(tiny_model))
    assert again.returncode == 0 and "0 new facts" in again.stdout
    assert len(store.facts(document_id=document.id, limit=100)) == len(stored)


def _tags(store: FactStore, document_id: str) -> list[list[str]]:
    return [tags for _, tags in store._tagged_sentences(document_id)]  # type: ignore[attr-defined]


def test_shipped_patent_model_loads_offline_and_extracts() -> None:
    model = load_model(SHIPPED)
    facts = model.extract(["The protecting member is provided with a bending limiting portion."])[0]
    assert any(f.relation.endswith("with") for f in facts), facts
    info = json.loads((SHIPPED / "extractor.json").read_text())
    assert info["config"]["design"] == "joint"
    assert sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file()) < 100_000_000


@pytest.mark.skipif(not REFERENCE.exists(), reason="needs ../shared (the published reference facts)")
def test_shipped_model_scores_on_the_reference_facts(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": r.key, "sentence": r.sentence}) + "\n" for r in read_fact_file(REFERENCE)),
        encoding="utf-8",
    )
    assert factloom(offline_env(), "extract", "sentences", str(src), "--output", str(out)).returncode == 0
    result = factloom(
        offline_env(), "extract", "eval", "--reference", str(REFERENCE), "--predictions", str(out), "--json"
    )
    assert json.loads(result.stdout)["normalised"]["f1"] > 0.3
