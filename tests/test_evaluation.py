import pandas as pd
import pytest
import torch

from sdetranslate.evaluation import (
    SCORE_COLUMNS,
    SUMMARY_COLUMNS,
    UNPAIRED_COLUMNS,
    load_translation_set,
    mean_target_image,
    score_baselines,
    score_translations,
    score_experiment,
    score_unpaired,
    score_unpaired_identity,
    summarize,
    write_metrics,
    write_unpaired_scores,
)
from sdetranslate.metrics import PSNR_CAP_DB, psnr, ssim

SIZE = 16
# Unpaired scenes are larger, so that stripes and object masks are well defined.
SCENE_SIZE = 32
SKY = (150, 190, 235)
GRASS = (70, 140, 60)
COAT = (150, 80, 40)


def make_split(count: int, seed: int, split: str) -> dict:
    generator = torch.Generator().manual_seed(seed)
    shape = (count, 3, SIZE, SIZE)
    return {
        "a": torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8),
        "b": torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8),
        "names": [f"{split}_{index:03d}" for index in range(count)],
        "domains": ["satellite", "map"],
        "image_size": SIZE,
        "split": split,
    }


def make_samples(images: torch.Tensor, image_ids: list[str], direction: str = "AtoB") -> dict:
    return {
        "images": images,
        "image_ids": image_ids,
        "experiment": "joint",
        "direction": direction,
        "sampler": "em",
        "n_steps": 100,
    }


@pytest.fixture
def eval_split():
    return make_split(4, seed=1, split="test")


@pytest.fixture
def eval_path(tmp_path, eval_split):
    path = tmp_path / "test.pt"
    torch.save(eval_split, path)
    return path


@pytest.fixture
def train_split():
    return make_split(6, seed=2, split="train")


@pytest.fixture
def train_path(tmp_path, train_split):
    path = tmp_path / "train.pt"
    torch.save(train_split, path)
    return path


@pytest.fixture
def samples_path(tmp_path, eval_split):
    # Images test_002 and test_000 in that order: the first is translated exactly, the
    # second is the negated target.
    images = torch.stack([eval_split["b"][2], 255 - eval_split["b"][0]])
    path = tmp_path / "samples.pt"
    torch.save(make_samples(images, ["test_002", "test_000"]), path)
    return path


def score_frame(rows: list[tuple]) -> pd.DataFrame:
    """Build a score table from (experiment, direction, sampler, n_steps, image_id, ssim, psnr)."""
    records = [
        {
            "experiment": experiment,
            "method": "paired",
            "task": "translate",
            "dataset": "maps",
            "direction": direction,
            "sampler": sampler,
            "n_steps": n_steps,
            "nfe": n_steps,
            "image_id": image_id,
            "ssim": ssim_value,
            "psnr": psnr_value,
        }
        for experiment, direction, sampler, n_steps, image_id, ssim_value, psnr_value in rows
    ]
    return pd.DataFrame(records, columns=SCORE_COLUMNS)


def test_score_translations_columns(samples_path, eval_path):
    frame = score_translations(samples_path, eval_path, "joint", "translate", "maps")
    assert list(frame.columns) == SCORE_COLUMNS
    assert len(frame) == 2


def test_score_translations_nfe_from_sample_file(tmp_path, eval_split, eval_path):
    samples = make_samples(eval_split["b"][:2], ["test_000", "test_001"])
    samples.update(sampler="ode_heun", n_steps=10, nfe=9)
    path = tmp_path / "heun.pt"
    torch.save(samples, path)
    frame = score_translations(path, eval_path, "joint", "translate", "maps")
    assert set(frame["n_steps"]) == {10}
    assert set(frame["nfe"]) == {9}


def test_score_translations_nfe_defaults_to_n_steps(samples_path, eval_path):
    frame = score_translations(samples_path, eval_path, "joint", "translate", "maps")
    assert set(frame["nfe"]) == {100}


def test_score_translations_labels(samples_path, eval_path):
    frame = score_translations(samples_path, eval_path, "joint", "translate", "maps")
    assert set(frame["experiment"]) == {"joint"}
    assert set(frame["task"]) == {"translate"}
    assert set(frame["dataset"]) == {"maps"}
    assert set(frame["direction"]) == {"AtoB"}
    assert set(frame["sampler"]) == {"em"}
    assert set(frame["n_steps"]) == {100}


def test_score_translations_matches_by_id(samples_path, eval_path):
    frame = score_translations(samples_path, eval_path, "joint", "translate", "maps")
    assert list(frame["image_id"]) == ["test_002", "test_000"]
    assert frame["ssim"].iloc[0] == pytest.approx(1.0, abs=1e-6)
    assert frame["psnr"].iloc[0] == PSNR_CAP_DB
    assert frame["ssim"].iloc[1] < 0.0


def test_score_translations_btoa_target(tmp_path, eval_split, eval_path):
    path = tmp_path / "samples_btoa.pt"
    torch.save(make_samples(eval_split["a"][:1].clone(), ["test_000"], "BtoA"), path)
    frame = score_translations(path, eval_path, "joint", "translate", "maps")
    assert frame["direction"].iloc[0] == "BtoA"
    assert frame["ssim"].iloc[0] == pytest.approx(1.0, abs=1e-6)


def test_score_translations_unknown_id_raises(tmp_path, eval_split, eval_path):
    path = tmp_path / "samples_unknown.pt"
    torch.save(make_samples(eval_split["b"][:1].clone(), ["test_999"]), path)
    with pytest.raises(ValueError, match="test_999") as error:
        score_translations(path, eval_path, "joint", "translate", "maps")
    assert str(path) in str(error.value)
    assert str(eval_path) in str(error.value)


def test_score_translations_size_mismatch_raises(tmp_path, eval_path):
    path = tmp_path / "samples_large.pt"
    images = torch.zeros((1, 3, SIZE * 2, SIZE * 2), dtype=torch.uint8)
    torch.save(make_samples(images, ["test_000"]), path)
    with pytest.raises(ValueError, match="size") as error:
        score_translations(path, eval_path, "joint", "translate", "maps")
    assert str(path) in str(error.value)
    assert str(eval_path) in str(error.value)


def test_score_translations_bad_direction(tmp_path, eval_split, eval_path):
    path = tmp_path / "samples_direction.pt"
    torch.save(make_samples(eval_split["b"][:1].clone(), ["test_000"], "AtoC"), path)
    with pytest.raises(ValueError, match="invalid direction 'AtoC'"):
        score_translations(path, eval_path, "joint", "translate", "maps")


def test_score_baselines_columns(eval_path, train_path):
    frame = score_baselines(eval_path, train_path, "joint", "translate", "maps", "AtoB")
    assert list(frame.columns) == SCORE_COLUMNS
    assert len(frame) == 8
    assert set(frame["n_steps"]) == {0}
    assert list(frame["sampler"].value_counts().sort_index().items()) == [
        ("identity", 4),
        ("mean", 4),
    ]


def test_score_baselines_identity_values(eval_split, eval_path, train_path):
    frame = score_baselines(eval_path, train_path, "joint", "translate", "maps", "BtoA")
    identity = frame[frame["sampler"] == "identity"].reset_index(drop=True)
    for index in range(4):
        condition, target = eval_split["b"][index], eval_split["a"][index]
        assert identity["image_id"][index] == f"test_{index:03d}"
        assert identity["ssim"][index] == pytest.approx(ssim(condition, target), abs=1e-12)
        assert identity["psnr"][index] == pytest.approx(psnr(condition, target), abs=1e-12)


def test_score_baselines_mean_from_train(eval_split, train_split, eval_path, train_path):
    frame = score_baselines(eval_path, train_path, "joint", "translate", "maps", "AtoB")
    mean_rows = frame[frame["sampler"] == "mean"].reset_index(drop=True)
    mean_image = train_split["b"].double().mean(dim=0).round().to(torch.uint8)
    for index in range(4):
        target = eval_split["b"][index]
        assert mean_rows["ssim"][index] == pytest.approx(ssim(mean_image, target), abs=1e-12)
        assert mean_rows["psnr"][index] == pytest.approx(psnr(mean_image, target), abs=1e-12)


def test_score_baselines_image_ids_subset(eval_path, train_path):
    frame = score_baselines(
        eval_path, train_path, "joint", "translate", "maps", "AtoB", image_ids=["test_003"]
    )
    assert list(frame["image_id"]) == ["test_003", "test_003"]
    assert list(frame["sampler"]) == ["identity", "mean"]


def test_score_baselines_unknown_id_raises(eval_path, train_path):
    with pytest.raises(ValueError, match="nope"):
        score_baselines(
            eval_path, train_path, "joint", "translate", "maps", "AtoB", image_ids=["nope"]
        )


def test_score_baselines_size_mismatch_raises(tmp_path, eval_path):
    small = make_split(2, seed=3, split="train")
    small["a"] = small["a"][:, :, :8, :8].contiguous()
    small["b"] = small["b"][:, :, :8, :8].contiguous()
    small["image_size"] = 8
    path = tmp_path / "train_small.pt"
    torch.save(small, path)
    with pytest.raises(ValueError, match="same image size"):
        score_baselines(eval_path, path, "joint", "translate", "maps", "AtoB")


def test_score_experiment_joins_runs_and_baselines(tmp_path, samples_path, eval_path, train_path):
    out = tmp_path / "scores.csv"
    frame = score_experiment(
        [samples_path],
        eval_path,
        train_path,
        experiment="joint",
        task="paired",
        dataset="maps",
        method="score",
        directions=["AtoB", "BtoA"],
        out_path=out,
    )
    written = pd.read_csv(out)
    assert list(written.columns) == SCORE_COLUMNS
    assert len(written) == len(frame)
    assert set(written["sampler"]) == {"em", "identity", "mean"}
    assert set(written[written["sampler"] == "identity"]["direction"]) == {"AtoB", "BtoA"}


def test_summarize_columns_and_order():
    frame = score_frame(
        [
            ("joint", "BtoA", "em", 10, "x", 0.5, 20.0),
            ("joint", "AtoB", "em", 100, "x", 0.5, 20.0),
            ("joint", "AtoB", "em", 10, "x", 0.5, 20.0),
            ("joint", "AtoB", "identity", 0, "x", 0.5, 20.0),
        ]
    )
    summary = summarize(frame)
    assert list(summary.columns) == SUMMARY_COLUMNS
    keys = list(summary[["direction", "sampler", "n_steps"]].itertuples(index=False, name=None))
    assert keys == [
        ("AtoB", "em", 10),
        ("AtoB", "em", 100),
        ("AtoB", "identity", 0),
        ("BtoA", "em", 10),
    ]


def test_summarize_numbers():
    frame = score_frame(
        [
            ("joint", "AtoB", "em", 10, "x", 0.2, 10.0),
            ("joint", "AtoB", "em", 10, "y", 0.6, 30.0),
            ("joint", "AtoB", "em", 100, "x", 0.7, 25.0),
        ]
    )
    summary = summarize(frame)
    pair, single = summary.iloc[0], summary.iloc[1]
    assert pair["n_images"] == 2
    assert pair["ssim_mean"] == pytest.approx(0.4)
    assert pair["ssim_std"] == pytest.approx(0.2)  # ddof=0
    assert pair["psnr_mean"] == pytest.approx(20.0)
    assert single["n_images"] == 1
    assert single["ssim_std"] == 0.0


def test_summarize_missing_column_raises():
    frame = score_frame([("joint", "AtoB", "em", 10, "x", 0.2, 10.0)]).drop(columns="psnr")
    with pytest.raises(ValueError, match="psnr"):
        summarize(frame)


def test_write_metrics_outputs(tmp_path):
    first, second = tmp_path / "run1.csv", tmp_path / "run2.csv"
    score_frame([("joint", "AtoB", "em", 10, "x", 0.2, 10.0)]).to_csv(first, index=False)
    score_frame([("joint", "AtoB", "em", 10, "y", 0.6, 30.0)]).to_csv(second, index=False)
    ssim_out, summary_out = tmp_path / "out" / "ssim.csv", tmp_path / "out" / "summary.csv"
    write_metrics([first, second], ssim_out, summary_out)

    scores = pd.read_csv(ssim_out)
    summary = pd.read_csv(summary_out)
    assert list(scores.columns) == SCORE_COLUMNS
    assert list(scores["image_id"]) == ["x", "y"]
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["ssim_mean"].iloc[0] == pytest.approx(0.4)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["ssim.csv", "summary.csv"]


def test_write_metrics_missing_column_raises(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    score_frame([("joint", "AtoB", "em", 10, "x", 0.2, 10.0)]).to_csv(good, index=False)
    score_frame([("joint", "AtoB", "em", 10, "y", 0.2, 10.0)]).drop(columns="ssim").to_csv(
        bad, index=False
    )
    with pytest.raises(ValueError, match="ssim") as error:
        write_metrics([good, bad], tmp_path / "ssim.csv", tmp_path / "summary.csv")
    assert str(bad) in str(error.value)
    assert not (tmp_path / "ssim.csv").exists()


def test_write_metrics_duplicate_rows_raise(tmp_path):
    first, second = tmp_path / "run1.csv", tmp_path / "run2.csv"
    for path in (first, second):
        score_frame([("joint", "AtoB", "em", 10, "x", 0.2, 10.0)]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="twice") as error:
        write_metrics([first, second], tmp_path / "ssim.csv", tmp_path / "summary.csv")
    assert str(second) in str(error.value)


@pytest.mark.parametrize(
    ("column", "value"),
    [("ssim", "0.4x"), ("psnr", "high"), ("n_steps", "ten"), ("nfe", "")],
)
def test_write_metrics_rejects_invalid_number(tmp_path, column, value):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    score_frame([("joint", "AtoB", "em", 10, "x", 0.2, 10.0)]).to_csv(good, index=False)
    frame = score_frame([("joint", "AtoB", "em", 10, "y", 0.2, 10.0)]).astype({column: object})
    frame.loc[0, column] = value
    frame.to_csv(bad, index=False)

    with pytest.raises(ValueError, match=f"in column '{column}' on line 2") as error:
        write_metrics([good, bad], tmp_path / "ssim.csv", tmp_path / "summary.csv")

    assert str(bad) in str(error.value)
    assert not (tmp_path / "ssim.csv").exists()


def test_write_metrics_empty_list_raises(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        write_metrics([], tmp_path / "ssim.csv", tmp_path / "summary.csv")


def make_scene(top: int, left: int, striped: bool) -> torch.Tensor:
    """Return a uint8 scene [3, 32, 32] of sky and grass with a 12x14 box, plain or striped."""
    image = torch.empty((3, SCENE_SIZE, SCENE_SIZE), dtype=torch.uint8)
    image[:, : SCENE_SIZE // 2] = torch.tensor(SKY, dtype=torch.uint8)[:, None, None]
    image[:, SCENE_SIZE // 2 :] = torch.tensor(GRASS, dtype=torch.uint8)[:, None, None]
    box = (slice(None), slice(top, top + 12), slice(left, left + 14))
    if striped:
        columns = torch.arange(14)
        stripes = torch.where((columns // 2) % 2 == 0, 20, 235).to(torch.uint8)
        image[box] = stripes[None, None, :]
    else:
        image[box] = torch.tensor(COAT, dtype=torch.uint8)[:, None, None]
    return image


def make_scenes(
    count: int, generator: torch.Generator, striped: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return `count` scenes and the same scenes in the other style, as two uint8 batches."""
    places = torch.randint(4, 15, (count, 2), generator=generator).tolist()
    scenes = torch.stack([make_scene(top, left, striped) for top, left in places])
    others = torch.stack([make_scene(top, left, not striped) for top, left in places])
    return scenes, others


def make_unpaired_split(
    count_a: int, count_b: int, seed: int, split: str, counterparts: bool
) -> dict:
    """Build an unpaired split: plain boxes in domain A, striped boxes in domain B."""
    generator = torch.Generator().manual_seed(seed)
    a, a_counterpart = make_scenes(count_a, generator, striped=False)
    b, b_counterpart = make_scenes(count_b, generator, striped=True)
    data = {
        "a": a,
        "b": b,
        "names_a": [f"{split}A_{index}" for index in range(count_a)],
        "names_b": [f"{split}B_{index}" for index in range(count_b)],
        "domains": ["horse", "zebra"],
        "image_size": SCENE_SIZE,
        "split": f"{split}A+{split}B",
    }
    if counterparts:
        data["a_counterpart"] = a_counterpart
        data["b_counterpart"] = b_counterpart
    return data


def save(tmp_path, name: str, data: dict):
    path = tmp_path / name
    torch.save(data, path)
    return path


@pytest.fixture
def unpaired_eval():
    return make_unpaired_split(3, 4, seed=5, split="test", counterparts=True)


@pytest.fixture
def unpaired_eval_path(tmp_path, unpaired_eval):
    return save(tmp_path, "unpaired_test.pt", unpaired_eval)


@pytest.fixture
def bare_eval_path(tmp_path):
    split = make_unpaired_split(3, 4, seed=5, split="test", counterparts=False)
    return save(tmp_path, "bare_test.pt", split)


@pytest.fixture
def unpaired_train():
    return make_unpaired_split(5, 6, seed=6, split="train", counterparts=False)


@pytest.fixture
def unpaired_train_path(tmp_path, unpaired_train):
    return save(tmp_path, "unpaired_train.pt", unpaired_train)


@pytest.fixture
def atob_samples_path(tmp_path, unpaired_eval):
    # Exact AtoB translations of testA_2 and testA_0: their striped counterparts.
    images = unpaired_eval["a_counterpart"][[2, 0]].clone()
    return save(tmp_path, "atob.pt", make_samples(images, ["testA_2", "testA_0"]))


@pytest.fixture
def btoa_samples_path(tmp_path, unpaired_eval):
    images = unpaired_eval["b_counterpart"].clone()
    return save(tmp_path, "btoa.pt", make_samples(images, unpaired_eval["names_b"], "BtoA"))


def test_translation_set_unpaired_target(atob_samples_path, unpaired_eval_path, unpaired_eval):
    translations = load_translation_set(atob_samples_path, unpaired_eval_path)
    assert torch.equal(translations.condition, unpaired_eval["a"][[2, 0]])
    assert torch.equal(translations.target, unpaired_eval["a_counterpart"][[2, 0]])
    assert translations.direction_label == "horse → zebra"


def test_translation_set_without_target(btoa_samples_path, bare_eval_path, unpaired_eval):
    translations = load_translation_set(btoa_samples_path, bare_eval_path)
    assert translations.target is None
    assert torch.equal(translations.condition, unpaired_eval["b"])
    assert translations.source_domain == "zebra"
    assert translations.target_domain == "horse"


def test_score_translations_unpaired(atob_samples_path, unpaired_eval_path):
    frame = score_translations(atob_samples_path, unpaired_eval_path, "cycle", "translate", "h2z")
    assert list(frame["image_id"]) == ["testA_2", "testA_0"]
    assert frame["ssim"].tolist() == pytest.approx([1.0, 1.0], abs=1e-6)


def test_score_translations_no_ground_truth(btoa_samples_path, bare_eval_path, caplog):
    caplog.set_level("INFO", logger="sdetranslate.evaluation")
    frame = score_translations(btoa_samples_path, bare_eval_path, "joint", "translate", "h2z")
    assert list(frame.columns) == SCORE_COLUMNS
    assert frame.empty
    assert "no ground truth" in caplog.text


def test_score_baselines_unpaired_values(unpaired_eval, unpaired_eval_path, unpaired_train_path):
    frame = score_baselines(
        unpaired_eval_path, unpaired_train_path, "joint", "translate", "h2z", "BtoA"
    )
    identity = frame[frame["sampler"] == "identity"].reset_index(drop=True)
    assert list(identity["image_id"]) == unpaired_eval["names_b"]
    condition, target = unpaired_eval["b"][1], unpaired_eval["b_counterpart"][1]
    assert identity["ssim"][1] == pytest.approx(ssim(condition, target), abs=1e-12)
    assert (frame["sampler"] == "mean").sum() == 4


def test_score_baselines_unpaired_mean(unpaired_eval, unpaired_eval_path, unpaired_train):
    # The mean covers all 6 domain B images of the train split, not only counterparts.
    unpaired_train["a_counterpart"] = torch.zeros_like(unpaired_train["a"])
    unpaired_train["b_counterpart"] = torch.zeros_like(unpaired_train["b"])
    train_path = save(unpaired_eval_path.parent, "train_with_counterparts.pt", unpaired_train)
    frame = score_baselines(unpaired_eval_path, train_path, "joint", "translate", "h2z", "AtoB")
    mean_rows = frame[frame["sampler"] == "mean"].reset_index(drop=True)
    mean_image = unpaired_train["b"].double().mean(dim=0).round().to(torch.uint8)
    target = unpaired_eval["a_counterpart"][0]
    assert mean_rows["ssim"][0] == pytest.approx(ssim(mean_image, target), abs=1e-12)


def test_score_baselines_no_ground_truth(bare_eval_path, unpaired_train_path, caplog):
    caplog.set_level("INFO", logger="sdetranslate.evaluation")
    frame = score_baselines(
        bare_eval_path, unpaired_train_path, "joint", "translate", "h2z", "AtoB"
    )
    assert list(frame.columns) == SCORE_COLUMNS
    assert frame.empty
    assert "no ground truth" in caplog.text


def test_score_baselines_no_ground_truth_checks_ids(bare_eval_path, unpaired_train_path):
    with pytest.raises(ValueError, match="nope"):
        score_baselines(
            bare_eval_path, unpaired_train_path, "joint", "t", "h2z", "AtoB", image_ids=["nope"]
        )


def test_mean_target_image_unpaired(unpaired_train_path, unpaired_train):
    mean_image = mean_target_image(unpaired_train_path, "BtoA")
    expected = unpaired_train["a"].double().mean(dim=0).round().to(torch.uint8)
    assert torch.equal(mean_image, expected)


def test_score_unpaired_row(atob_samples_path, unpaired_eval_path, unpaired_train_path):
    frame = score_unpaired(atob_samples_path, unpaired_eval_path, unpaired_train_path, "joint")
    assert list(frame.columns) == UNPAIRED_COLUMNS
    assert len(frame) == 1
    assert frame.iloc[0][["experiment", "direction", "sampler", "n_steps"]].tolist() == [
        "joint",
        "AtoB",
        "em",
        100,
    ]


def test_score_unpaired_good_atob(atob_samples_path, unpaired_eval_path, unpaired_train_path):
    frame = score_unpaired(atob_samples_path, unpaired_eval_path, unpaired_train_path, "joint")
    assert frame["stripe_score"].iloc[0] == pytest.approx(1.0, abs=0.1)
    assert frame["mask_iou"].iloc[0] == pytest.approx(1.0)


def test_score_unpaired_good_btoa(btoa_samples_path, bare_eval_path, unpaired_train_path):
    # No counterparts are needed: the scores compare with the condition and the train split.
    frame = score_unpaired(btoa_samples_path, bare_eval_path, unpaired_train_path, "joint")
    assert frame["direction"].iloc[0] == "BtoA"
    assert frame["stripe_score"].iloc[0] == pytest.approx(0.0, abs=0.1)
    assert frame["mask_iou"].iloc[0] == pytest.approx(1.0)


def test_score_unpaired_mean_stripe_score(
    tmp_path, unpaired_eval, unpaired_eval_path, unpaired_train_path
):
    # One exact translation (score about 1) and one untranslated image (about 0).
    images = torch.stack([unpaired_eval["a_counterpart"][0], unpaired_eval["a"][1]])
    path = save(tmp_path, "half.pt", make_samples(images, ["testA_0", "testA_1"]))
    frame = score_unpaired(path, unpaired_eval_path, unpaired_train_path, "joint")
    assert frame["stripe_score"].iloc[0] == pytest.approx(0.5, abs=0.1)


def test_score_unpaired_lost_shape(
    tmp_path, unpaired_eval, unpaired_eval_path, unpaired_train_path
):
    # A striped box at another place keeps the stripes but not the outline of the input.
    images = torch.stack([make_scene(4, 4, striped=True), make_scene(16, 16, striped=True)])
    path = save(tmp_path, "moved.pt", make_samples(images, ["testA_0", "testA_1"]))
    moved = torch.stack([make_scene(4, 4, striped=False), make_scene(16, 16, striped=False)])
    unpaired_eval["a"][:2] = moved.flip(0)
    eval_path = save(tmp_path, "moved_test.pt", unpaired_eval)
    frame = score_unpaired(path, eval_path, unpaired_train_path, "joint")
    assert frame["mask_iou"].iloc[0] < 0.2


def test_score_unpaired_size_mismatch(tmp_path, atob_samples_path, unpaired_eval_path):
    small = make_split(2, seed=3, split="train")
    small_path = save(tmp_path, "train_small.pt", small)
    with pytest.raises(ValueError, match="size") as error:
        score_unpaired(atob_samples_path, unpaired_eval_path, small_path, "joint")
    assert str(small_path) in str(error.value)


def test_score_unpaired_identity_row(unpaired_eval_path, unpaired_train_path):
    frame = score_unpaired_identity(unpaired_eval_path, unpaired_train_path, "joint", "AtoB")
    row = frame.iloc[0]
    assert list(frame.columns) == UNPAIRED_COLUMNS
    assert row["sampler"] == "identity"
    assert row["n_steps"] == 0
    assert row["mask_iou"] == 1.0
    assert row["stripe_score"] == pytest.approx(0.0, abs=0.1)


def test_score_unpaired_identity_btoa(bare_eval_path, unpaired_train_path):
    frame = score_unpaired_identity(bare_eval_path, unpaired_train_path, "joint", "BtoA")
    assert frame["stripe_score"].iloc[0] == pytest.approx(1.0, abs=0.1)


def test_score_unpaired_identity_bad_direction(unpaired_eval_path, unpaired_train_path):
    with pytest.raises(ValueError, match="invalid direction 'AtoC'"):
        score_unpaired_identity(unpaired_eval_path, unpaired_train_path, "joint", "AtoC")


def unpaired_frame(rows: list[tuple]) -> pd.DataFrame:
    """Build an unpaired score table from (experiment, direction, sampler, n_steps) rows."""
    records = [
        dict(zip(UNPAIRED_COLUMNS, (row[0], "cycle", *row[1:], 0.5, 0.9, float("nan"))))
        for row in rows
    ]
    return pd.DataFrame(records, columns=UNPAIRED_COLUMNS)


def test_write_unpaired_scores_sorted(tmp_path):
    first, second = tmp_path / "run1.csv", tmp_path / "run2.csv"
    unpaired_frame([("joint", "BtoA", "em", 10), ("joint", "AtoB", "em", 100)]).to_csv(
        first, index=False
    )
    unpaired_frame([("joint", "AtoB", "em", 10), ("cycle", "AtoB", "em", 10)]).to_csv(
        second, index=False
    )
    out = tmp_path / "out" / "unpaired.csv"
    write_unpaired_scores([first, second], out)

    scores = pd.read_csv(out)
    assert list(scores.columns) == UNPAIRED_COLUMNS
    keys = list(scores[["experiment", "direction", "n_steps"]].itertuples(index=False, name=None))
    assert keys == [
        ("cycle", "AtoB", 10),
        ("joint", "AtoB", 10),
        ("joint", "AtoB", 100),
        ("joint", "BtoA", 10),
    ]
    assert [path.name for path in out.parent.iterdir()] == ["unpaired.csv"]


def test_write_unpaired_scores_missing_column(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    unpaired_frame([("joint", "AtoB", "em", 10)]).to_csv(good, index=False)
    unpaired_frame([("joint", "BtoA", "em", 10)]).drop(columns="mask_iou").to_csv(bad, index=False)
    with pytest.raises(ValueError, match="mask_iou") as error:
        write_unpaired_scores([good, bad], tmp_path / "unpaired.csv")
    assert str(bad) in str(error.value)
    assert not (tmp_path / "unpaired.csv").exists()


def test_write_unpaired_scores_duplicates(tmp_path):
    first, second = tmp_path / "run1.csv", tmp_path / "run2.csv"
    for path in (first, second):
        unpaired_frame([("joint", "AtoB", "em", 10)]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="twice") as error:
        write_unpaired_scores([first, second], tmp_path / "unpaired.csv")
    assert str(second) in str(error.value)


def test_write_unpaired_scores_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        write_unpaired_scores([tmp_path / "absent.csv"], tmp_path / "unpaired.csv")


def test_write_unpaired_scores_empty_list(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        write_unpaired_scores([], tmp_path / "unpaired.csv")
