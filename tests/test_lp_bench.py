"""``bench/lp.py``: parallel runs (every model in its own process, one table), presets, fp16 saves.

The tiny ring graph and a 1.2-second budget keep this to a few seconds; what is checked is the plumbing
(children run, rows come back, checkpoints and metrics are written), not the scores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import REPO
from lp_tiny import write_tiny_kg
from safetensors import safe_open

from reader import checkpoint
from retrieve.data import load_split_dir


def bench_lp(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``python bench/lp.py ARGS`` from the repository root, output captured."""
    command = [sys.executable, str(REPO / "bench" / "lp.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def trained_tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny graph, and ``bench/lp.py``'s checkpoints of reader, complex and rotate trained on it briefly
    in one run: (data, out), shared by the tests that only read them (one subprocess, not one per test)."""
    root = tmp_path_factory.mktemp("trained-tiny")
    data = write_tiny_kg(root / "tiny")
    out = root / "out"
    trained = bench_lp(
        "--dataset-dir", str(data), "--models", "reader,complex,rotate", "--budget-minutes", "0.01",
        "--out", str(out)
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    return data, out


def lp_compare(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python bench/lp_compare.py --dataset-dir DATA ARGS`` with 50 resamples, output captured."""
    command = [sys.executable, str(REPO / "bench" / "lp_compare.py"), "--dataset-dir", str(data), *args,
               "--resamples", "50"]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)


def test_parallel_run_prints_every_model(tmp_path: Path) -> None:
    data = write_tiny_kg(tmp_path / "tiny")
    out = tmp_path / "out"
    result = bench_lp(
        "--dataset-dir", str(data), "--models", "reader,complex", "--budget-minutes", "0.02", "--parallel",
        "--out", str(out)
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout.splitlines()[-2:]
    assert [line.split()[:2] for line in table] == [["tiny", "reader"], ["tiny", "complex"]]
    for model in ("reader", "complex"):
        metrics = json.loads((out / f"tiny-{model}" / "metrics.json").read_text())
        assert metrics["model"] == model and metrics["hardware"] == "CPU x1 threads"
        assert metrics["queries"] == 24 and 0.0 < metrics["mrr"] <= 1.0
        assert (out / "logs" / f"tiny-{model}.log").read_text().startswith(f"== tiny / {model}")


def test_parallel_run_reports_a_failed_child(tmp_path: Path) -> None:
    data = write_tiny_kg(tmp_path / "tiny")
    (data / "valid.txt").write_text("e1\tpair\te0\nonly two\tfields\n")
    out = tmp_path / "out"
    result = bench_lp(
        "--dataset-dir", str(data), "--models", "complex", "--budget-minutes", "0.02", "--parallel",
        "--out", str(out)
    )  # fmt: skip
    assert result.returncode != 0
    assert f"tiny-complex failed with exit 1; see {out / 'logs' / 'tiny-complex.log'}" in result.stderr
    log = (out / "logs" / "tiny-complex.log").read_text()
    assert "valid.txt:2: expected head<TAB>relation<TAB>tail" in log


def test_parallel_run_prints_the_others_when_one_child_fails(tmp_path: Path) -> None:
    good = write_tiny_kg(tmp_path / "good")
    bad = write_tiny_kg(tmp_path / "bad")
    (bad / "valid.txt").write_text("only two\tfields\n")
    out = tmp_path / "out"
    result = bench_lp(
        "--dataset-dir", str(bad), "--dataset-dir", str(good), "--models", "complex", "--budget-minutes",
        "0.02", "--parallel", "--out", str(out)
    )  # fmt: skip
    assert result.returncode == 1
    log = out / "logs" / "bad-complex.log"
    assert result.stderr.strip().endswith(f"bad-complex failed with exit 1; see {log}")
    assert result.stdout.splitlines()[-1].split()[:2] == ["good", "complex"]  # the good one still reported
    assert json.loads((out / "good-complex" / "metrics.json").read_text())["queries"] == 24


def test_terminating_a_parallel_run_stops_its_children(tmp_path: Path) -> None:
    data = write_tiny_kg(tmp_path / "tiny")
    out = tmp_path / "out"
    command = [sys.executable, str(REPO / "bench" / "lp.py"), "--dataset-dir", str(data), "--models",
               "complex,rotate", "--budget-minutes", "5", "--parallel", "--out", str(out)]  # fmt: skip
    parent = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)

    def children() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                line = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if entry.name.isdigit() and "--row-file" in line and str(out) in line:
                found.append(int(entry.name))
        return found

    deadline = time.monotonic() + 120  # a hang guard, not a timing check
    while (len(children()) < 2 or not all(
        (out / "logs" / f"tiny-{m}.log").read_text().startswith("== tiny") for m in ("complex", "rotate")
    )) and time.monotonic() < deadline:  # fmt: skip
        time.sleep(0.2)
    try:
        assert len(children()) == 2, "the children never started"
        parent.terminate()
        parent.communicate(timeout=60)
        assert parent.returncode == 128 + signal.SIGTERM
        assert children() == []  # stopped with the parent, not left training
        assert not (out / "tiny-complex").exists()  # they were stopped long before their 5-minute budget
    finally:  # a failing run must not leave training processes behind
        parent.kill()
        for pid in children():
            os.kill(pid, signal.SIGKILL)


def test_unknown_model_is_refused_before_any_training(tmp_path: Path) -> None:
    result = bench_lp(
        "--dataset-dir", str(tmp_path), "--models", "complex,nosuchmodel", "--parallel", timeout=60
    )  # fmt: skip
    assert result.returncode == 2 and "unknown model(s) nosuchmodel" in result.stderr


def test_config_file_and_model_preset_entries(tmp_path: Path) -> None:
    data = write_tiny_kg(tmp_path / "tiny")
    settings = tmp_path / "slow.json"
    settings.write_text('{"lr": 0.0001, "hparams": {"dropout": 0.0}}')
    out = tmp_path / "out"
    result = bench_lp(
        "--dataset-dir", str(data), "--models", "reader:reader-staged", "--config", str(settings),
        "--budget-minutes", "0.01", "--eval-every", "0.002", "--out", str(out)
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].split()[:2] == ["tiny", "reader-staged+slow"]
    train = json.loads((out / "tiny-reader-staged+slow" / "config.json").read_text())["train"]
    assert train["lr"] == 0.0001 and train["kge_warmup"] == 0.3  # the file on top of the named preset
    assert train["hparams"]["dropout"] == 0.0 and train["hparams"]["shortcut"] == "complex"
    assert train["eval_every_minutes"] == 0.002  # default: budget / 6, at least a minute
    history = json.loads((out / "tiny-reader-staged+slow" / "metrics.json").read_text())["history"]
    assert len(history) >= 2  # scored during the run as well as at its end
    refused = bench_lp("--dataset-dir", str(data), "--models", "reader:nope", timeout=60)
    assert refused.returncode == 2 and "unknown preset(s) nope" in refused.stderr


def test_config_file_as_an_entry(tmp_path: Path) -> None:
    data = write_tiny_kg(tmp_path / "tiny")
    settings = tmp_path / "small.json"
    settings.write_text('{"preset": "complex-n3rp", "hparams": {"dim": 8}}')
    out = tmp_path / "out"
    result = bench_lp(
        "--dataset-dir", str(data), "--models", f"complex:{settings},complex", "--budget-minutes", "0.01",
        "--out", str(out)
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()[-2:]] == [
        ["tiny", "small"],
        ["tiny", "complex"],
    ]
    train = json.loads((out / "tiny-small" / "config.json").read_text())["train"]
    assert train["n3"] == 0.05 and train["hparams"]["dim"] == 8  # the file's preset, then the file
    assert json.loads((out / "tiny-complex" / "config.json").read_text())["train"]["n3"] == 0.0
    settings.write_text('{"preset": "nope"}')
    for entry, message in (
        (f"complex:{settings}", f"{settings}: unknown preset 'nope'"),
        (f"complex:{tmp_path / 'absent.json'}", "absent.json: cannot read training config"),
    ):
        refused = bench_lp("--dataset-dir", str(data), "--models", entry, timeout=60)
        assert refused.returncode == 2 and message in refused.stderr


def step_time_rows(data: Path, *flags: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "lp_steptime.py"), "--dataset-dir", str(data), "--steps", "7",
         *flags],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    rows = lines[next(i for i, line in enumerate(lines) if line.startswith("model")) + 1 :]
    assert all(float(r.split()[-2]) > 0 for r in rows)
    return rows


def test_step_time_table_has_every_row_against_the_baseline(tmp_path: Path) -> None:
    rows = step_time_rows(write_tiny_kg(tmp_path / "tiny"))
    assert rows[0].startswith("complex, batch 512 (baseline)") and rows[0].endswith("1.00x")
    assert [r.split(",")[0] for r in rows] == ["complex"] * 2 + ["reader"] * 6


def test_step_time_wide_table_compares_each_stage_with_its_1vsall(tmp_path: Path) -> None:
    rows = step_time_rows(write_tiny_kg(tmp_path / "tiny"), "--wide", "--batch", "128")
    assert [r.split(",")[0] for r in rows] == ["KGE-only stage"] * 3 + ["reader stage"] * 3
    assert rows[0].split(",")[1].split()[0] == "1vsall" and rows[0].endswith("1.00x")
    assert rows[3].split(",")[1].split()[0] == "1vsall" and rows[3].endswith("1.00x")
    assert "sparse grads" in rows[2] and "sparse grads" in rows[5]


def test_half_saves_fp16_weights_with_their_own_score(tmp_path: Path) -> None:
    data = write_tiny_kg(tmp_path / "tiny")
    out = tmp_path / "out"
    result = bench_lp(
        "--dataset-dir", str(data), "--models", "complex", "--budget-minutes", "0.01", "--half",
        "--out", str(out)
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    folder = out / "tiny-complex"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["scored"] == "saved fp16 copy" and metrics["history"]
    assert 0.0 < metrics["mrr"] <= 1.0 and 0.0 < metrics["in_memory_mrr"] <= 1.0
    assert abs(metrics["mrr"] - metrics["in_memory_mrr"]) < 0.05  # fp16 costs no quality, here either
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        assert {weights.get_tensor(k).dtype for k in weights.keys()} == {torch.float16}
    files = sorted(p.name for p in folder.iterdir())  # no temporary files left
    assert files == ["config.json", "metrics.json", "model.safetensors", "vocab.json"]


@pytest.mark.parametrize("killed_at", [1, 2])
def test_a_run_cut_off_in_its_test_evaluation_keeps_its_weights(tmp_path: Path, killed_at: int) -> None:
    """A lent GPU's call can end while a reader's test split is being ranked; the weights and the valid
    score must already be on disk then. The test evaluation number ``killed_at`` exits the process (exit 9)
    as a kill would. Cut off in the first, the saved metrics claim no test score; in the second (the
    in-memory weights, after ``--half``'s saved copy), the saved copy's test score is already kept."""
    data = write_tiny_kg(tmp_path / "tiny")
    out = tmp_path / "out"
    cut_off = (
        "import os, runpy, sys\n"
        "import reader.evaluate as e\n"
        "real = e.model_ranks_many\n"
        "calls = []\n"
        "def killed(model, scorer, data, split='test', **kw):\n"
        "    if split == 'test':\n"
        "        calls.append(split)\n"
        f"        if len(calls) == {killed_at}:\n"
        "            os._exit(9)\n"
        "    return real(model, scorer, data, split, **kw)\n"
        "e.model_ranks_many = killed  # every ranking of a split goes through it\n"
        "sys.argv = ['bench/lp.py', *sys.argv[1:]]\n"
        "runpy.run_path('bench/lp.py', run_name='__main__')\n"
    )
    command = [sys.executable, "-c", cut_off, "--dataset-dir", str(data), "--models", "complex",
               "--budget-minutes", "0.01", "--half", "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 9, result.stdout + result.stderr
    folder = out / "tiny-complex"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert 0.0 < metrics["valid_mrr"] <= 1.0 and metrics["history"]
    assert "in_memory_mrr" not in metrics
    if killed_at == 1:
        assert "mrr" not in metrics and "scored" not in metrics
    else:
        assert metrics["scored"] == "saved fp16 copy" and 0.0 < metrics["mrr"] <= 1.0
    saved = checkpoint.load(folder, load_split_dir(data))
    assert saved.reverse_weight == metrics["reverse_weight"]


def test_compare_scores_each_checkpoint_as_its_run_did_and_pairs_them(
    trained_tiny: tuple[Path, Path],
) -> None:
    """``bench/lp_compare.py``: each row's MRR is the run's own test score (same queries, same ranks), a
    checkpoint against itself differs by exactly 0 on every query, and one checkpoint alone is refused."""
    data, out = trained_tiny
    old, new = out / "tiny-complex", out / "tiny-rotate"

    def compare(*folders: Path) -> subprocess.CompletedProcess[str]:
        return lp_compare(data, *[arg for folder in folders for arg in ("--checkpoint", str(folder))])

    result = compare(old, new)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split(":")[0]: line.split() for line in result.stdout.splitlines() if ": " in line}
    for label, folder in (("baseline", old), ("new", new)):
        mrr = json.loads((folder / "metrics.json").read_text())["mrr"]
        assert float(rows[label][-4]) == round(mrr, 4)
    same = compare(old, old)
    assert "MRR new - baseline: +0.0000, 95 % paired bootstrap [+0.0000, +0.0000]" in same.stdout
    assert "better by new: 0, worse: 0, tied: 24" in same.stdout
    alone = compare(old)
    assert alone.returncode == 2 and "exactly twice" in alone.stderr


def ablated(data: Path, folder: Path, flag: str) -> dict[str, list[str]]:
    """``bench/lp_compare.py --checkpoint FOLDER FLAG``'s table rows by label (``baseline``, ``new``)."""
    result = lp_compare(data, "--checkpoint", str(folder), flag)
    assert result.returncode == 0, result.stdout + result.stderr
    return {line.split(":")[0]: line.split() for line in result.stdout.splitlines() if ": " in line}


def test_compare_ablate_reader_zeroes_the_reader_term_of_the_baseline(
    trained_tiny: tuple[Path, Path],
) -> None:
    """``bench/lp_compare.py --ablate-reader``: the new row is the reader as saved (its run's test MRR), the
    baseline row the same weights scoring with the KGE shortcut alone; a model without one is refused."""
    from reader import checkpoint
    from reader.evaluate import evaluate_model

    data, out = trained_tiny
    reader = out / "tiny-reader"
    rows = ablated(data, reader, "--ablate-reader")
    assert "(reader term zeroed)" in " ".join(rows["baseline"])
    assert float(rows["new"][-4]) == round(json.loads((reader / "metrics.json").read_text())["mrr"], 4)
    split = load_split_dir(data)
    shortcut = checkpoint.load(reader, split)
    shortcut.set_kge_only(True)
    assert float(rows["baseline"][-4]) == round(evaluate_model(shortcut, split, "test").mrr, 4)
    refused = lp_compare(data, "--checkpoint", str(out / "tiny-complex"), "--ablate-reader")
    assert refused.returncode == 1 and "has no KGE shortcut" in refused.stderr
    two = lp_compare(data, "--checkpoint", str(reader), "--checkpoint", str(reader), "--ablate-reader")
    assert two.returncode == 2 and "exactly one --checkpoint" in two.stderr


def test_compare_ablate_reverse_scores_the_baseline_without_the_reverse_reading(tmp_path: Path) -> None:
    """``bench/lp_compare.py --ablate-reverse``: the new row is the checkpoint with its ``reverse_weight``,
    the baseline row the same weights at 0; with ``--ablate-reader`` too it is refused."""
    from reader import checkpoint
    from reader.evaluate import evaluate_model
    from reader.kge import ComplExModel

    data = write_tiny_kg(tmp_path / "tiny")
    split, folder = load_split_dir(data), tmp_path / "complex"
    torch.manual_seed(0)  # untrained: the two readings are unrelated, so the two rows differ
    checkpoint.save(ComplExModel(split.num_entities, split.num_relations, dim=8), split, folder)
    checkpoint.update_config(folder, {}, hparams={"reverse_weight": 2.0})
    rows = ablated(data, folder, "--ablate-reverse")
    assert "(reverse_weight 0)" in " ".join(rows["baseline"])
    model = checkpoint.load(folder, split)
    assert float(rows["new"][-4]) == round(evaluate_model(model, split, "test").mrr, 4)
    model.set_reverse_weight(0.0)
    assert float(rows["baseline"][-4]) == round(evaluate_model(model, split, "test").mrr, 4)
    assert rows["new"][-4] != rows["baseline"][-4]
    both = lp_compare(data, "--checkpoint", str(folder), "--ablate-reverse", "--ablate-reader")
    assert both.returncode == 2 and "at most one of" in both.stderr


def test_compare_ablate_rules_scores_the_baseline_without_the_rule_reading(tmp_path: Path) -> None:
    """``bench/lp_compare.py --ablate-rules``: the new row is the checkpoint with its rule reading, the
    baseline row the same checkpoint without; a checkpoint without one is refused."""
    from reader import checkpoint
    from reader.evaluate import evaluate_model
    from reader.kge import ComplExModel
    from reader.rules import RuleReading
    from retrieve.rules import mine_rules

    data = write_tiny_kg(tmp_path / "tiny")
    split, folder = load_split_dir(data), tmp_path / "complex"
    torch.manual_seed(0)
    model = ComplExModel(split.num_entities, split.num_relations, dim=8)  # untrained: rules make a difference
    model.set_rule_reading(RuleReading.constant(mine_rules(split.train, split.num_entities, 3), 1.0))
    checkpoint.save(model, split, folder)
    rows = ablated(data, folder, "--ablate-rules")
    assert "(no rule reading)" in " ".join(rows["baseline"])
    ruled = checkpoint.load(folder, split)
    assert float(rows["new"][-4]) == round(evaluate_model(ruled, split, "test").mrr, 4)
    plain = checkpoint.load(folder, split, rules=False)
    assert float(rows["baseline"][-4]) == round(evaluate_model(plain, split, "test").mrr, 4)
    assert float(rows["new"][-4]) > float(rows["baseline"][-4])
    checkpoint.update_config(folder, {}, rule_reading=None)
    refused = lp_compare(data, "--checkpoint", str(folder), "--ablate-rules")
    assert refused.returncode == 1 and "no rule reading to ablate" in refused.stderr


def test_init_warm_starts_every_entry_from_the_checkpoint(
    trained_tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    """``--init CKPT``: each entry continues CKPT with its run's settings; an entry's file is an overlay on
    them, and an entry naming a preset is refused (the checkpoint's run is the preset)."""
    data, out = trained_tiny
    start = out / "tiny-reader"
    overlay = tmp_path / "frozen.json"
    overlay.write_text('{"freeze_kge_on_join": true, "lr": 0.0002}')
    again = tmp_path / "again"
    result = bench_lp(
        "--dataset-dir", str(data), "--init", str(start), "--models", f"reader:{overlay},reader",
        "--budget-minutes", "0.01", "--parallel", "--out", str(again)
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    first = json.loads((start / "config.json").read_text())["train"]
    for name, lr, frozen in (("frozen", 0.0002, True), ("reader", first["lr"], False)):
        saved = checkpoint.read_config(again / f"tiny-{name}")
        started, train = saved["started_from"], saved["train"]
        assert started == {"path": str(start), "weights_sha256": checkpoint.weights_digest(start)}
        assert train["init_checkpoint"] == str(start)  # and the model it holds, every argument spelt out:
        assert first["hparams"].items() <= train["hparams"].items()
        assert (train["lr"], train["freeze_kge_on_join"]) == (lr, frozen)
        history = json.loads((again / f"tiny-{name}" / "metrics.json").read_text())["history"]
        assert history[0]["epoch"] == 0.0  # the start was scored first, as a candidate
    refused = bench_lp(
        "--dataset-dir", str(data), "--init", str(start), "--models", "reader:reader-staged", timeout=60
    )  # fmt: skip
    assert refused.returncode == 2 and "with --init an entry is MODEL or MODEL:OVERLAY.json" in refused.stderr


def test_device_keep_best_keeps_the_weights_of_the_best_valid_score(tmp_path: Path) -> None:
    """``bench/device.sh keep-best``: only one 37 MB model fits what a lent GPU sends back."""
    for name, valid in (("a", 0.31), ("b", 0.35), ("c", None)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps({"valid_mrr": valid}))
        (tmp_path / name / "model.safetensors").write_bytes(b"weights")
    env = {**os.environ, "PYTHON": sys.executable}
    command = ["bash", str(REPO / "bench" / "device.sh"), "keep-best", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.parent.name for p in tmp_path.glob("*/model.safetensors")) == ["b"]
    assert result.stdout.splitlines()[0] == "kept    b: valid MRR 0.3500"
    empty = tmp_path / "empty"
    empty.mkdir()
    command[-1] = str(empty)
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode != 0 and "no */metrics.json under" in refused.stderr


def test_calibration_script_measures_the_softmax_and_the_saved_temperature(tmp_path: Path) -> None:
    """``bench/lp_calibration.py``: the baseline row is the model's own softmax (T = 1), the other the
    checkpoint's saved temperature, each as :func:`reader.confidence.measure` gives it on test; a checkpoint
    never calibrated is fitted on valid (nothing written), a folder that is not a checkpoint is refused."""
    from reader.confidence import measure
    from reader.kge import ComplExModel

    data = write_tiny_kg(tmp_path / "tiny")
    split, folder = load_split_dir(data), tmp_path / "complex"
    torch.manual_seed(0)
    model = ComplExModel(split.num_entities, split.num_relations, dim=8).eval()
    checkpoint.save(model, split, folder)

    def rows(*args: str) -> dict[str, list[str]]:
        command = [sys.executable, str(REPO / "bench" / "lp_calibration.py"), "--dataset-dir", str(data),
                   "--checkpoint", str(folder), *args]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "reliability" in result.stdout
        return {line.split()[0].rstrip(":"): line.split() for line in result.stdout.splitlines()
                if line.startswith(("baseline:", "temperature ("))}  # fmt: skip

    fitted_here = rows()
    assert "(fitted" in " ".join(fitted_here["temperature"]) and checkpoint.temperature(
        checkpoint.read_config(folder)) is None  # fmt: skip
    checkpoint.update_config(folder, checkpoint.temperature_entries(0.5))
    got = rows()
    assert "(the" in " ".join(got["temperature"])
    expected = measure(model, split, [1.0, 0.5], split="test")
    for row, c in zip((got["baseline"], got["temperature"]), expected, strict=True):
        assert [float(x) for x in row[-6:]] == pytest.approx(
            [c.temperature, c.nll, c.ece_shown, c.ece, c.confidence, c.accuracy], abs=6e-4)  # fmt: skip
    refused = subprocess.run([sys.executable, str(REPO / "bench" / "lp_calibration.py"), "--dataset-dir",
                              str(data), "--checkpoint", str(tmp_path)], capture_output=True, text=True,
                             timeout=120, cwd=REPO)  # fmt: skip
    assert refused.returncode == 1 and "not a checkpoint folder" in refused.stderr
