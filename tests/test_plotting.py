import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from sdetranslate import plotting
from sdetranslate.evaluation import SCORE_COLUMNS, summarize
from sdetranslate.plotting import (
    MISSING_TARGET_TEXT,
    NOT_RUN_TEXT,
    plot_paired_translations,
    plot_sample_grid,
    plot_sample_grids,
    plot_sampler_comparison,
    plot_ssim_vs_nfe,
    plot_ssim_vs_steps,
    plot_training_loss,
    plot_unpaired_comparison,
    plot_unpaired_tradeoff,
    plot_unpaired_translations,
    setting_label,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIZE = 16


def random_images(count: int, generator: torch.Generator) -> torch.Tensor:
    shape = (count, 3, SIZE, SIZE)
    return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)


def make_paired_split(count: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {
        "a": random_images(count, generator),
        "b": random_images(count, generator),
        "names": [f"test_{index:03d}" for index in range(count)],
        "domains": ["satellite", "map"],
        "image_size": SIZE,
        "split": "test",
    }


def make_unpaired_split(count_a: int, count_b: int, seed: int, counterparts: bool) -> dict:
    generator = torch.Generator().manual_seed(seed)
    data = {
        "a": random_images(count_a, generator),
        "b": random_images(count_b, generator),
        "names_a": [f"testA_{index}" for index in range(count_a)],
        "names_b": [f"testB_{index}" for index in range(count_b)],
        "domains": ["horse", "zebra"],
        "image_size": SIZE,
        "split": "testA+testB",
    }
    if counterparts:
        data["a_counterpart"] = random_images(count_a, generator)
        data["b_counterpart"] = random_images(count_b, generator)
    return data


def make_samples(images: torch.Tensor, image_ids: list[str], direction: str = "AtoB") -> dict:
    return {
        "images": images,
        "image_ids": image_ids,
        "experiment": "joint",
        "direction": direction,
        "sampler": "em",
        "n_steps": 100,
    }


def save(tmp_path, name: str, data: dict):
    path = tmp_path / name
    torch.save(data, path)
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


def assert_png_written(path):
    assert path.read_bytes()[: len(PNG_MAGIC)] == PNG_MAGIC
    leftovers = [entry.name for entry in path.parent.iterdir() if entry.name.endswith(".tmp")]
    assert leftovers == []


@pytest.fixture
def figures(monkeypatch):
    """Collect the figures that plotting functions would save, instead of writing PNGs."""
    collected = []
    monkeypatch.setattr(plotting, "_save_figure", lambda figure, out_path: collected.append(figure))
    yield collected
    for figure in collected:
        plt.close(figure)


def column_titles(figure) -> list[str]:
    """Return the titles of a figure's axes that have one, in drawing order."""
    return [axis.get_title() for axis in figure.axes if axis.get_title()]


def grid_shape(figure) -> tuple[int, int]:
    """Return (rows, columns) of a figure made with plt.subplots."""
    return figure.axes[0].get_subplotspec().get_gridspec().get_geometry()


def texts_of(figure) -> list[str]:
    return [text.get_text() for axis in figure.axes for text in axis.texts]


@pytest.fixture
def paired_path(tmp_path):
    return save(tmp_path, "paired.pt", make_paired_split(4, seed=1))


@pytest.fixture
def paired_samples_path(tmp_path):
    images = random_images(2, torch.Generator().manual_seed(2))
    return save(tmp_path, "samples.pt", make_samples(images, ["test_002", "test_000"]))


@pytest.fixture
def unpaired_path(tmp_path):
    return save(tmp_path, "unpaired.pt", make_unpaired_split(3, 4, seed=3, counterparts=True))


@pytest.fixture
def bare_path(tmp_path):
    return save(tmp_path, "bare.pt", make_unpaired_split(3, 4, seed=3, counterparts=False))


@pytest.fixture
def atob_path(tmp_path):
    images = random_images(2, torch.Generator().manual_seed(4))
    return save(tmp_path, "atob.pt", make_samples(images, ["testA_2", "testA_0"]))


@pytest.fixture
def reconstruction_path(tmp_path):
    # The BtoA model's translations of the AtoB samples back into domain A.
    images = random_images(2, torch.Generator().manual_seed(5))
    return save(tmp_path, "atob_back.pt", make_samples(images, ["testA_2", "testA_0"], "BtoA"))


def test_paired_translations_png(tmp_path, paired_samples_path, paired_path):
    out = tmp_path / "figures" / "paired.png"
    labelled = {"label": "satellite → map (N=100)"}
    entries = [
        {**labelled, "samples_path": paired_samples_path, "data_path": paired_path},
        {"samples_path": paired_samples_path, "data_path": paired_path},
    ]
    plot_paired_translations(entries, out, n_images=3)
    assert_png_written(out)


def test_paired_translations_missing_key(tmp_path, paired_samples_path):
    with pytest.raises(ValueError, match="data_path"):
        plot_paired_translations([{"samples_path": paired_samples_path}], tmp_path / "paired.png")


def test_paired_translations_columns(figures, tmp_path, paired_samples_path, paired_path):
    entry = {"samples_path": paired_samples_path, "data_path": paired_path}
    plot_paired_translations([entry], tmp_path / "paired.png", n_images=3)
    (figure,) = figures
    assert column_titles(figure) == ["input (condition)", "translation", "ground truth"]
    assert grid_shape(figure) == (2, 3)


def test_paired_translations_unpaired_split(figures, tmp_path, atob_path, bare_path):
    entry = {"samples_path": atob_path, "data_path": bare_path}
    plot_paired_translations([entry], tmp_path / "paired.png")
    (figure,) = figures
    assert column_titles(figure) == ["input (condition)", "translation"]
    assert grid_shape(figure) == (2, 2)


def test_paired_translations_mixed_ground_truth(
    figures, tmp_path, atob_path, bare_path, unpaired_path
):
    entries = [
        {"samples_path": atob_path, "data_path": unpaired_path},
        {"samples_path": atob_path, "data_path": bare_path},
    ]
    plot_paired_translations(entries, tmp_path / "paired.png")
    (figure,) = figures
    assert grid_shape(figure) == (4, 3)
    assert texts_of(figure) == [MISSING_TARGET_TEXT, MISSING_TARGET_TEXT]


def test_unpaired_translations_png(tmp_path, atob_path, reconstruction_path, unpaired_path):
    out = tmp_path / "figures" / "unpaired.png"
    entry = {
        "label": "horse → zebra",
        "samples_path": atob_path,
        "reconstruction_path": reconstruction_path,
        "data_path": unpaired_path,
    }
    plot_unpaired_translations([entry], out, n_images=3)
    assert_png_written(out)


def test_unpaired_translations_counterparts(
    figures, tmp_path, atob_path, reconstruction_path, unpaired_path
):
    entry = {
        "samples_path": atob_path,
        "reconstruction_path": reconstruction_path,
        "data_path": unpaired_path,
    }
    plot_unpaired_translations([entry, entry], tmp_path / "unpaired.png", n_images=1)
    (figure,) = figures
    assert column_titles(figure) == [
        "input",
        "translation",
        "reconstruction",
        "counterpart (ground truth)",
    ]
    assert grid_shape(figure) == (2, 4)


def test_unpaired_translations_no_counterparts(
    figures, tmp_path, atob_path, reconstruction_path, bare_path
):
    entry = {
        "samples_path": atob_path,
        "reconstruction_path": reconstruction_path,
        "data_path": bare_path,
    }
    plot_unpaired_translations([entry], tmp_path / "unpaired.png")
    (figure,) = figures
    assert column_titles(figure) == ["input", "translation", "reconstruction"]
    assert grid_shape(figure) == (2, 3)


def test_unpaired_translations_some_counterparts(
    figures, tmp_path, atob_path, reconstruction_path, bare_path, unpaired_path
):
    # The counterpart column needs counterparts for every entry.
    entries = [
        {
            "samples_path": atob_path,
            "reconstruction_path": reconstruction_path,
            "data_path": data_path,
        }
        for data_path in (unpaired_path, bare_path)
    ]
    plot_unpaired_translations(entries, tmp_path / "unpaired.png")
    (figure,) = figures
    assert grid_shape(figure) == (4, 3)
    assert texts_of(figure) == []


def test_unpaired_translations_images(
    figures, tmp_path, atob_path, reconstruction_path, unpaired_path
):
    entry = {
        "samples_path": atob_path,
        "reconstruction_path": reconstruction_path,
        "data_path": unpaired_path,
    }
    plot_unpaired_translations([entry], tmp_path / "unpaired.png", n_images=1)
    (figure,) = figures
    shown = [axis.images[0].get_array() for axis in figure.axes]
    split = torch.load(unpaired_path)
    samples = torch.load(atob_path)
    reconstruction = torch.load(reconstruction_path)
    expected = [
        split["a"][2],
        samples["images"][0],
        reconstruction["images"][0],
        split["a_counterpart"][2],
    ]
    for image, tensor in zip(shown, expected, strict=True):
        assert (image == tensor.permute(1, 2, 0).numpy()).all()


def test_unpaired_translations_row_label(
    figures, tmp_path, atob_path, reconstruction_path, unpaired_path
):
    entry = {
        "samples_path": atob_path,
        "reconstruction_path": reconstruction_path,
        "data_path": unpaired_path,
    }
    plot_unpaired_translations([entry], tmp_path / "unpaired.png", n_images=1)
    (figure,) = figures
    assert figure.axes[0].get_ylabel() == "horse → zebra (N=100)\nimage testA_2"


def test_unpaired_translations_other_ids(tmp_path, atob_path, unpaired_path):
    images = random_images(2, torch.Generator().manual_seed(6))
    back = save(tmp_path, "back.pt", make_samples(images, ["testA_0", "testA_2"], "BtoA"))
    entry = {"samples_path": atob_path, "reconstruction_path": back, "data_path": unpaired_path}
    with pytest.raises(ValueError, match="image ids") as error:
        plot_unpaired_translations([entry], tmp_path / "unpaired.png")
    assert str(back) in str(error.value)


def test_unpaired_translations_same_direction(tmp_path, atob_path, unpaired_path):
    entry = {
        "samples_path": atob_path,
        "reconstruction_path": atob_path,
        "data_path": unpaired_path,
    }
    with pytest.raises(ValueError, match="opposite model"):
        plot_unpaired_translations([entry], tmp_path / "unpaired.png")


def test_unpaired_translations_size_mismatch(tmp_path, atob_path, unpaired_path):
    images = torch.zeros((2, 3, SIZE * 2, SIZE * 2), dtype=torch.uint8)
    back = save(tmp_path, "back.pt", make_samples(images, ["testA_2", "testA_0"], "BtoA"))
    entry = {"samples_path": atob_path, "reconstruction_path": back, "data_path": unpaired_path}
    with pytest.raises(ValueError, match="size"):
        plot_unpaired_translations([entry], tmp_path / "unpaired.png")


def test_unpaired_translations_missing_key(tmp_path, atob_path, unpaired_path):
    entry = {"samples_path": atob_path, "data_path": unpaired_path}
    with pytest.raises(ValueError, match="reconstruction_path"):
        plot_unpaired_translations([entry], tmp_path / "unpaired.png")


def test_unpaired_translations_no_entries(tmp_path):
    with pytest.raises(ValueError, match="at least one entry"):
        plot_unpaired_translations([], tmp_path / "unpaired.png")


def test_unpaired_translations_bad_count(tmp_path, atob_path, reconstruction_path, bare_path):
    entry = {
        "samples_path": atob_path,
        "reconstruction_path": reconstruction_path,
        "data_path": bare_path,
    }
    with pytest.raises(ValueError, match="n_images"):
        plot_unpaired_translations([entry], tmp_path / "unpaired.png", n_images=0)


def test_ssim_vs_steps_png(tmp_path):
    rows = []
    for direction in ("AtoB", "BtoA"):
        for n_steps in (10, 100, 1000):
            rows.append(("joint", direction, "em", n_steps, "x", 0.1 * math.log10(n_steps), 20.0))
            rows.append(("joint", direction, "em", n_steps, "y", 0.05 * math.log10(n_steps), 20.0))
        rows.append(("joint", direction, "identity", 0, "x", 0.05, 12.0))
        rows.append(("joint", direction, "mean", 0, "x", 0.15, 15.0))
    summary_csv = tmp_path / "summary.csv"
    summarize(score_frame(rows)).to_csv(summary_csv, index=False)
    out = tmp_path / "figures" / "ssim_vs_steps.png"
    plot_ssim_vs_steps(summary_csv, out, direction_labels={"AtoB": "satellite → map"})
    assert_png_written(out)


def test_ssim_vs_steps_only_baselines(tmp_path):
    summary_csv = tmp_path / "summary.csv"
    rows = [("joint", "AtoB", "identity", 0, "x", 0.05, 12.0)]
    summarize(score_frame(rows)).to_csv(summary_csv, index=False)
    with pytest.raises(ValueError, match="no rows for a sampler"):
        plot_ssim_vs_steps(summary_csv, tmp_path / "ssim_vs_steps.png")


def test_ssim_vs_nfe_png(tmp_path):
    rows = [
        ("joint", "AtoB", "em", n_steps, "x", 0.1 * n_steps / 100, 20.0) for n_steps in (10, 100)
    ]
    rows += [("joint", "AtoB", "ode_heun", n_steps, "x", 0.2, 20.0) for n_steps in (10, 50)]
    rows.append(("joint", "AtoB", "identity", 0, "x", 0.05, 12.0))
    frame = score_frame(rows)
    # ode_heun spends one evaluation less than an even budget.
    frame.loc[frame["sampler"] == "ode_heun", "nfe"] -= 1
    summary_csv = tmp_path / "summary.csv"
    summarize(frame).to_csv(summary_csv, index=False)
    out = tmp_path / "figures" / "ssim_vs_nfe.png"
    plot_ssim_vs_nfe(summary_csv, out)
    assert_png_written(out)


def test_ssim_vs_nfe_uses_nfe_axis(figures, tmp_path):
    rows = [("joint", "AtoB", "ode_heun", n_steps, "x", 0.2, 20.0) for n_steps in (10, 50)]
    frame = score_frame(rows)
    frame["nfe"] = frame["n_steps"] - 1
    summary_csv = tmp_path / "summary.csv"
    summarize(frame).to_csv(summary_csv, index=False)
    plot_ssim_vs_nfe(summary_csv, tmp_path / "ssim_vs_nfe.png")
    (figure,) = figures
    (axis,) = figure.axes
    assert list(axis.lines[0].get_xdata()) == [9, 49]
    assert "NFE" in axis.get_xlabel()


def test_training_loss_png(tmp_path):
    steps = list(range(0, 2000, 10))
    loss_csvs = {}
    for name, scale in (("joint", 1.0), ("separate", 2.0)):
        frame = pd.DataFrame(
            {
                "step": steps,
                "loss": [scale / (1 + step / 100) for step in steps],
                "loss_AtoB": [scale * 1.1 / (1 + step / 100) for step in steps],
                "loss_BtoA": [scale * 0.9 / (1 + step / 100) for step in steps],
                "lr": [2e-4] * len(steps),
            }
        )
        loss_csvs[name] = tmp_path / f"{name}_loss.csv"
        frame.to_csv(loss_csvs[name], index=False)
    out = tmp_path / "figures" / "loss.png"
    plot_training_loss(loss_csvs, out)
    assert_png_written(out)


def test_training_loss_missing_column(tmp_path):
    path = tmp_path / "loss.csv"
    pd.DataFrame({"step": [0], "loss_AtoB": [1.0]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing the columns \\['loss'\\]") as error:
        plot_training_loss({"joint": path}, tmp_path / "loss.png")
    assert str(path) in str(error.value)


def test_sample_grid_png(tmp_path, paired_samples_path, paired_path):
    out = tmp_path / "figures" / "grid.png"
    plot_sample_grid(paired_samples_path, paired_path, out, n_images=8)
    assert_png_written(out)


def test_sample_grids_fill_one_folder(tmp_path, paired_samples_path, paired_path):
    out = tmp_path / "figures" / "samples" / "joint"
    plot_sample_grids([(paired_samples_path, "em_AtoB_n5.png")], paired_path, out, n_images=2)
    assert sorted(path.name for path in out.iterdir()) == ["em_AtoB_n5.pdf", "em_AtoB_n5.png"]


def test_sample_grids_need_a_run(tmp_path, paired_path):
    with pytest.raises(ValueError, match="at least one sample file"):
        plot_sample_grids([], paired_path, tmp_path / "grids")
    assert not (tmp_path / "grids").exists()


def test_sample_grid_paired_rows(figures, tmp_path, paired_samples_path, paired_path):
    plot_sample_grid(paired_samples_path, paired_path, tmp_path / "grid.png")
    (figure,) = figures
    assert grid_shape(figure) == (3, 2)
    assert [axis.get_ylabel() for axis in figure.axes[::2]] == [
        "condition\n(satellite)",
        "translation",
        "ground truth\n(map)",
    ]


def test_sample_grid_counterparts(figures, tmp_path, atob_path, unpaired_path):
    plot_sample_grid(atob_path, unpaired_path, tmp_path / "grid.png")
    (figure,) = figures
    assert grid_shape(figure) == (3, 2)
    assert figure.axes[4].get_ylabel() == "ground truth\n(zebra)"


def test_sample_grid_no_ground_truth(figures, tmp_path, atob_path, bare_path):
    plot_sample_grid(atob_path, bare_path, tmp_path / "grid.png")
    (figure,) = figures
    assert grid_shape(figure) == (2, 2)
    assert [axis.get_ylabel() for axis in figure.axes[::2]] == ["condition\n(horse)", "translation"]


def test_label_figure_entries_uses_direction_labels():
    from sdetranslate.plotting import label_figure_entries

    entries = [{"experiment": "exp", "direction": "AtoB", "n_steps": 5, "samples_path": "s.pt"}]
    labelled = label_figure_entries(entries, {"exp/AtoB": "satellite → map"})
    assert labelled[0]["label"] == "exp\nsatellite → map\nN = 5"
    assert labelled[0]["samples_path"] == "s.pt"


@pytest.fixture
def gan_samples_path(tmp_path):
    # A GAN's translations of all four images, in another order than the score model's.
    images = random_images(4, torch.Generator().manual_seed(6))
    samples = make_samples(images, ["test_003", "test_002", "test_001", "test_000"])
    samples.update(sampler="gan", n_steps=1, experiment="p2p")
    return save(tmp_path, "gan.pt", samples)


def test_paired_translations_gan_column(
    figures, tmp_path, paired_samples_path, paired_path, gan_samples_path
):
    entry = {
        "samples_path": paired_samples_path,
        "data_path": paired_path,
        "baselines": [{"label": "pix2pix", "samples_path": gan_samples_path}],
    }
    plot_paired_translations([entry], tmp_path / "paired.png", n_images=1)
    (figure,) = figures
    assert column_titles(figure) == ["input (condition)", "pix2pix", "ours", "ground truth"]
    shown = [axis.images[0].get_array() for axis in figure.axes]
    gan_images = torch.load(gan_samples_path)["images"]
    # The first row shows image test_002, the GAN's second image.
    assert (shown[1] == gan_images[1].permute(1, 2, 0).numpy()).all()


def test_paired_translations_entry_without_gan(
    figures, tmp_path, paired_samples_path, paired_path, gan_samples_path
):
    with_gan = {
        "samples_path": paired_samples_path,
        "data_path": paired_path,
        "baselines": [{"label": "pix2pix", "samples_path": gan_samples_path}],
    }
    without_gan = {"samples_path": paired_samples_path, "data_path": paired_path}
    plot_paired_translations([with_gan, without_gan], tmp_path / "paired.png", n_images=1)
    (figure,) = figures
    assert grid_shape(figure) == (2, 4)
    assert texts_of(figure) == ["no pix2pix run"]


def test_unpaired_translations_gan_column(
    figures, tmp_path, atob_path, reconstruction_path, unpaired_path
):
    images = random_images(3, torch.Generator().manual_seed(7))
    gan = make_samples(images, ["testA_0", "testA_1", "testA_2"])
    gan_path = save(tmp_path, "cyclegan.pt", {**gan, "sampler": "gan", "n_steps": 1})
    entry = {
        "samples_path": atob_path,
        "reconstruction_path": reconstruction_path,
        "data_path": unpaired_path,
        "baselines": [{"label": "CycleGAN", "samples_path": gan_path}],
    }
    plot_unpaired_translations([entry], tmp_path / "unpaired.png", n_images=1)
    (figure,) = figures
    assert column_titles(figure) == [
        "input",
        "CycleGAN",
        "ours",
        "reconstruction",
        "counterpart (ground truth)",
    ]
    shown = figure.axes[1].images[0].get_array()
    assert (shown == images[2].permute(1, 2, 0).numpy()).all()


def test_paired_translations_gan_missing_image(
    tmp_path, paired_samples_path, paired_path
):
    images = random_images(1, torch.Generator().manual_seed(8))
    gan_path = save(tmp_path, "gan.pt", make_samples(images, ["test_000"]))
    entry = {
        "samples_path": paired_samples_path,
        "data_path": paired_path,
        "baselines": [{"label": "pix2pix", "samples_path": gan_path}],
    }
    with pytest.raises(ValueError, match="lacks the images \\['test_002'\\]"):
        plot_paired_translations([entry], tmp_path / "paired.png")


def test_ssim_vs_steps_gan_flat_line(figures, tmp_path):
    rows = [("joint", "AtoB", "em", n, "x", 0.1 * math.log10(n), 20.0) for n in (10, 100)]
    rows.append(("p2p", "AtoB", "gan", 1, "x", 0.42, 20.0))
    summary_csv = tmp_path / "summary.csv"
    summarize(score_frame(rows)).to_csv(summary_csv, index=False)

    plot_ssim_vs_steps(summary_csv, tmp_path / "ssim_vs_steps.png")

    (figure,) = figures
    axis = figure.axes[0]
    flat = [line for line in axis.get_lines() if "GAN" in line.get_label()]
    assert len(flat) == 1
    assert list(flat[0].get_ydata()) == [0.42, 0.42]
    assert flat[0].get_label() == "p2p, AtoB (GAN, 1 evaluation)"


def test_ssim_vs_steps_only_gan(figures, tmp_path):
    rows = [("p2p", "AtoB", "gan", 1, "x", 0.42, 20.0)]
    summary_csv = tmp_path / "summary.csv"
    summarize(score_frame(rows)).to_csv(summary_csv, index=False)

    plot_ssim_vs_steps(summary_csv, tmp_path / "ssim_vs_steps.png")

    (figure,) = figures
    assert any("GAN" in line.get_label() for line in figure.axes[0].get_lines())


def test_training_loss_domain_models(figures, tmp_path):
    path = tmp_path / "loss.csv"
    frame = pd.DataFrame(
        {"step": [1, 2], "loss": [2.0, 1.5], "loss_A": [1.0, 0.7], "loss_B": [1.0, 0.8], "lr": [1e-3] * 2}
    )
    frame.to_csv(path, index=False)

    plot_training_loss({"bridge": path}, tmp_path / "loss.png")

    labels = [line.get_label() for line in figures[0].axes[0].get_lines()]
    assert "domain A" in labels
    assert "domain B" in labels


COMPARISON_TITLES = ["cycle-consistent", "bridge (DDIB)", "SDEdit t0 = 0.5"]


def test_unpaired_comparison_columns(figures, tmp_path, atob_path, unpaired_path):
    group = {"label": "h2z\nhorse → zebra", "data_path": unpaired_path, "samples_paths": [atob_path, None, atob_path]}

    plot_unpaired_comparison([group], COMPARISON_TITLES, tmp_path / "comparison.png", n_images=2)

    figure = figures[0]
    assert column_titles(figure) == ["input", *COMPARISON_TITLES, "counterpart\n(ground truth)"]
    assert grid_shape(figure) == (2, 5)
    assert texts_of(figure).count(NOT_RUN_TEXT) == 2


def test_unpaired_comparison_png(tmp_path, atob_path, bare_path):
    out = tmp_path / "figures" / "comparison.png"
    group = {"label": "h2z", "data_path": bare_path, "samples_paths": [atob_path] * 3}

    plot_unpaired_comparison([group], COMPARISON_TITLES, out)

    assert_png_written(out)


def test_unpaired_comparison_other_images(tmp_path, atob_path, unpaired_path):
    images = random_images(2, torch.Generator().manual_seed(6))
    other_path = save(tmp_path, "other.pt", make_samples(images, ["testA_1", "testA_0"]))
    group = {
        "label": "h2z",
        "data_path": unpaired_path,
        "samples_paths": [atob_path, other_path, None],
    }
    with pytest.raises(ValueError, match="other images or another direction"):
        plot_unpaired_comparison([group], COMPARISON_TITLES, tmp_path / "comparison.png")


def test_unpaired_comparison_title_count(tmp_path, atob_path, unpaired_path):
    group = {"label": "h2z", "data_path": unpaired_path, "samples_paths": [atob_path]}
    with pytest.raises(ValueError, match="1 sample files for 3 column titles"):
        plot_unpaired_comparison([group], COMPARISON_TITLES, tmp_path / "comparison.png")


def test_setting_label():
    assert setting_label("sdedit_t050", 100) == "t0 = 0.5"
    assert setting_label("bridge", 200) == "NFE = 200"
    assert setting_label("em", 1500) == "em N = 1500"
    assert setting_label("identity", 0) == "input"


def test_unpaired_tradeoff_png(figures, tmp_path):
    rows = []
    for direction in ("AtoB", "BtoA"):
        rows += [
            ("cycle", "cycle", direction, "em", 10, 0.4, 0.3, float("nan")),
            ("bridge", "bridge", direction, "bridge", 200, 0.6, 0.8, 0.05),
            ("sdedit", "sdedit", direction, "sdedit_t050", 100, 0.7, 0.85, float("nan")),
            ("cycle", "cycle", direction, "identity", 0, 0.0, 1.0, float("nan")),
            ("bridge", "bridge", direction, "identity", 0, 0.0, 1.0, float("nan")),
        ]
    columns = ["experiment", "method", "direction", "sampler", "n_steps", "stripe_score", "mask_iou", "cycle_error"]
    path = tmp_path / "unpaired_scores.csv"
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)

    plot_unpaired_tradeoff(path, tmp_path / "tradeoff.png", {"AtoB": "horse → zebra"})

    figure = figures[0]
    assert column_titles(figure) == ["horse → zebra", "BtoA"]
    assert "t0 = 0.5" in texts_of(figure)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels[:4] == ["cycle (cycle)", "bridge (bridge)", "sdedit (sdedit)", "input (identity)"]
    # Identical identity rows of two experiments make one cross.
    assert len(figure.axes[0].get_lines()[3].get_xdata()) == 1


def test_unpaired_tradeoff_missing_column(tmp_path):
    path = tmp_path / "unpaired_scores.csv"
    pd.DataFrame({"experiment": ["x"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing the columns"):
        plot_unpaired_tradeoff(path, tmp_path / "tradeoff.png")


@pytest.fixture
def comparison_paths(tmp_path):
    """Return an em run and a dpm_solver run of the same two images, listed in opposite orders."""
    em_images = random_images(2, torch.Generator().manual_seed(6))
    dpm_images = random_images(2, torch.Generator().manual_seed(7))
    em_path = save(tmp_path, "em.pt", make_samples(em_images, ["test_002", "test_000"]))
    dpm_samples = make_samples(dpm_images, ["test_000", "test_002"])
    dpm_samples.update(sampler="dpm_solver", n_steps=10, nfe=10)
    return em_path, save(tmp_path, "dpm.pt", dpm_samples), dpm_images


def test_sampler_comparison_png(tmp_path, comparison_paths, paired_path):
    em_path, dpm_path, _ = comparison_paths
    entry = {"label": "joint", "data_path": paired_path, "samples_paths": [em_path, dpm_path]}
    out = tmp_path / "figures" / "sampler_comparison.png"
    plot_sampler_comparison([entry, entry], out)
    assert_png_written(out)


def test_sampler_comparison_columns(figures, tmp_path, comparison_paths, paired_path):
    em_path, dpm_path, dpm_images = comparison_paths
    entry = {"label": "joint", "data_path": paired_path, "samples_paths": [em_path, dpm_path]}
    plot_sampler_comparison([entry], tmp_path / "comparison.png", n_images=3)
    (figure,) = figures
    titles = ["input (condition)", "em, NFE 100", "dpm_solver, NFE 10", "ground truth"]
    assert column_titles(figure) == titles
    assert grid_shape(figure) == (2, 4)
    # Row 0 is test_002, the first image of the first run, which dpm.pt lists second.
    dpm_cell = figure.axes[2].images[0].get_array()
    assert torch.equal(torch.from_numpy(dpm_cell.data).permute(2, 0, 1), dpm_images[1])


def test_sampler_comparison_different_runs(tmp_path, comparison_paths, paired_path):
    em_path, dpm_path, _ = comparison_paths
    entries = [
        {"label": "first", "data_path": paired_path, "samples_paths": [em_path, dpm_path]},
        {"label": "second", "data_path": paired_path, "samples_paths": [dpm_path, em_path]},
    ]
    with pytest.raises(ValueError, match="list the same samplers and budgets"):
        plot_sampler_comparison(entries, tmp_path / "comparison.png")


def test_sampler_comparison_missing_image(tmp_path, comparison_paths, paired_path):
    em_path, _, _ = comparison_paths
    images = random_images(1, torch.Generator().manual_seed(8))
    other_path = save(tmp_path, "other.pt", make_samples(images, ["test_003"]))
    entry = {"label": "joint", "data_path": paired_path, "samples_paths": [em_path, other_path]}
    with pytest.raises(ValueError, match="has no translations of the images"):
        plot_sampler_comparison([entry], tmp_path / "comparison.png")
