"""The studies at their quick sizes: each runs through nnkit's public API and its claim holds
in the claimed direction (the thresholds are the studies' own, not exact numbers)."""

import importlib.util
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
STUDIES = ["vanishing_gradients", "symmetry", "zero_init_relu", "selu", "dying_relu",
           "optimizers", "batch_norm", "dropout", "init_activation",
           "warmup_early_stopping", "edge_of_stability", "dynamical_isometry"]


# studies whose claim may not hold: their tests check the verdict follows their parts
VERDICT_TESTED = ["gd_modes", "gradient_noise"]
# studies with a verdict(table) → (held, clauses): at the quick size each clause is computed
# from the table, the verdict is all of them, and results.md says which held
CLAUSE_STUDIES = ["vanishing_through_time", "residual_depth", "layer_norm_placement",
                  "he_initialisation"]


def _load(name):
    import sys

    sys.path.insert(0, str(EXPERIMENTS))
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


QUICKEST = {"symmetry", "zero_init_relu"}  # ~10 s each; the rest are slow (25-50 s each)


@pytest.mark.parametrize("name", [name if name in QUICKEST else
                                  pytest.param(name, marks=pytest.mark.slow) for name in STUDIES])
def test_study_claim_holds_at_quick_size(name, tmp_path):
    result = _load(name).main(["--quick", "--out", str(tmp_path / "results"),
                               "--logdir", str(tmp_path / "logs")])
    held = result[0] if isinstance(result, tuple) else result
    assert held
    text = (tmp_path / "results" / "results.md").read_text()
    assert "**Claim.**" in text and "The claim held." in text
    assert (tmp_path / "results" / "figure.png").stat().st_size > 5000


@pytest.mark.slow
def test_gd_modes_verdict_is_computed_from_every_clause_of_its_claim(tmp_path):
    """The clauses that hold at every size (updates and time per epoch grow; batch's
    validation loss never rises) hold at the quick size; the verdict is all clauses, so a
    mode other than stochastic with the lowest validation loss makes it "did NOT hold"."""
    held, parts = _load("gd_modes").main(["--quick", "--out", str(tmp_path / "results"),
                                          "--logdir", str(tmp_path / "logs")])
    assert parts["updates and seconds per epoch grow"]
    assert parts["batch's validation loss never rises"]
    assert held == all(parts.values())
    text = (tmp_path / "results" / "results.md").read_text()
    assert ("The claim held." in text) == held


@pytest.mark.slow
def test_gradient_noise_study_measures_its_three_parts(tmp_path):
    """Its parts (a) and (b) hold at the quick size; (c), B_crit ≈ B_simple, is reported
    either way, and the verdict follows the parts."""
    held, parts = _load("gradient_noise").main(["--quick", "--out", str(tmp_path / "results"),
                                                "--logdir", str(tmp_path / "logs")])
    assert parts["a"] and parts["b"]
    assert held == all(parts.values())
    text = (tmp_path / "results" / "results.md").read_text()
    assert ("The claim held." in text) == held and f"(c) {'held' if parts['c'] else 'did NOT'}" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", CLAUSE_STUDIES)
def test_verdict_is_every_clause_computed_from_the_table(name, tmp_path):
    module = _load(name)
    held, table = module.main(["--quick", "--out", str(tmp_path / "results"),
                               "--logdir", str(tmp_path / "logs")])
    again, clauses = module.verdict(table)
    assert again == held == all(clauses.values())
    text = (tmp_path / "results" / "results.md").read_text()
    assert ("The claim held." in text) == held
    for clause, ok in clauses.items():
        assert f"{'held' if ok else 'did NOT hold'}: {clause}" in text
    assert (tmp_path / "results" / "figure.png").stat().st_size > 5000


def test_every_study_is_listed_in_the_experiments_readme():
    readme = (EXPERIMENTS / "README.md").read_text()
    for name in [*STUDIES, *VERDICT_TESTED, *CLAUSE_STUDIES]:
        assert f"{name}.py" in readme
