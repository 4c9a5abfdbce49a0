"""Tests for the synthetic unpaired dataset, its preparation and the unpaired metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sdetranslate.data.extract import extract_archive
from sdetranslate.data.prepare_unpaired import load_unpaired_split, prepare_unpaired_split
from sdetranslate.data.synthetic_unpaired import generate_synthetic_horse2zebra
from sdetranslate.io import save_torch
from sdetranslate.unpaired_metrics import mask_iou, object_mask, stripe_energy, stripe_score

SAMPLE_ARCHIVE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "horse2zebra_sample.zip"
)
needs_sample = pytest.mark.skipif(
    not SAMPLE_ARCHIVE.is_file(), reason="horse2zebra sample archive absent"
)

FOLDERS = ("trainA", "trainB", "testA", "testB", "groundtruth/testA", "groundtruth/testB")
COUNTERPARTS = {"counterpart_a": "groundtruth/testA", "counterpart_b": "groundtruth/testB"}


def read_tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.jpg"))}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """16 train and 8 test scenes per domain at 64x64."""
    out_dir = tmp_path_factory.mktemp("synthetic")
    return generate_synthetic_horse2zebra(out_dir, n_train=16, n_test=8, seed=0, image_size=64)


@pytest.fixture(scope="module")
def splits(dataset, tmp_path_factory) -> dict:
    """Train and test splits of `dataset` prepared at 64 and 32 pixels."""
    out_dir = tmp_path_factory.mktemp("prepared")
    prepared = {}
    for size in (64, 32):
        prepared["train", size] = prepare_unpaired_split(
            dataset, "trainA", "trainB", size, None, out_dir / f"train{size}.pt"
        )
        prepared["test", size] = prepare_unpaired_split(
            dataset, "testA", "testB", size, None, out_dir / f"test{size}.pt", **COUNTERPARTS
        )
    return prepared


# --- generator --------------------------------------------------------------------------------


def test_generator_deterministic(tmp_path):
    first = generate_synthetic_horse2zebra(tmp_path / "one", 3, 2, seed=5, image_size=64)
    second = generate_synthetic_horse2zebra(tmp_path / "two", 3, 2, seed=5, image_size=64)
    assert read_tree(first) == read_tree(second)


def test_generator_seed_changes_images(tmp_path):
    first = generate_synthetic_horse2zebra(tmp_path / "one", 2, 0, seed=1, image_size=64)
    second = generate_synthetic_horse2zebra(tmp_path / "two", 2, 0, seed=2, image_size=64)
    assert read_tree(first) != read_tree(second)


def test_generator_layout(dataset):
    assert dataset.name == "horse2zebra"
    expected = {"trainA": 16, "trainB": 16, "testA": 8, "testB": 8}
    expected.update({"groundtruth/testA": 8, "groundtruth/testB": 8})
    for folder, count in expected.items():
        names = sorted(path.name for path in (dataset / folder).iterdir())
        assert names == sorted(f"{k}.jpg" for k in range(1, count + 1)), folder


def test_generator_image_format(dataset):
    for folder in FOLDERS:
        with Image.open(dataset / folder / "1.jpg") as image:
            assert image.format == "JPEG", folder
            assert image.mode == "RGB", folder
            assert image.size == (64, 64), folder


def test_generator_no_temporary_files(dataset):
    assert not [path.name for path in dataset.parent.iterdir() if path.name.startswith(".")]


def test_train_domains_are_different_scenes(dataset):
    train_a = np.asarray(Image.open(dataset / "trainA" / "1.jpg"), dtype=np.float32)
    train_b = np.asarray(Image.open(dataset / "trainB" / "1.jpg"), dtype=np.float32)
    background_gap = np.abs(train_a - train_b).mean(axis=2)
    # Different scenes differ in sky and grass colour almost everywhere.
    assert np.median(background_gap) > 5


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_generator_rejects_bad_count(tmp_path, value):
    with pytest.raises(ValueError, match="n_train"):
        generate_synthetic_horse2zebra(tmp_path, value, 1, seed=0, image_size=64)


def test_generator_rejects_small_size(tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        generate_synthetic_horse2zebra(tmp_path, 1, 1, seed=0, image_size=8)


# --- counterparts and metrics on generated images ------------------------------------------------


@pytest.mark.parametrize("size", [64, 32])
def test_counterparts_share_mask(splits, size):
    test = splits["test", size]
    ious = [mask_iou(x, y) for x, y in zip(test["a"], test["a_counterpart"])]
    ious += [mask_iou(x, y) for x, y in zip(test["b"], test["b_counterpart"])]
    assert np.mean(ious) > 0.7
    assert min(ious) > 0.5


@pytest.mark.parametrize("size", [64, 32])
def test_counterparts_differ_in_stripes(splits, size):
    test = splits["test", size]
    for plain, striped in zip(test["a"], test["a_counterpart"]):
        assert stripe_energy(striped) > stripe_energy(plain)
    for striped, plain in zip(test["b"], test["b_counterpart"]):
        assert stripe_energy(striped) > stripe_energy(plain)


@pytest.mark.parametrize("size", [64, 32])
def test_stripe_score_separates_domains(splits, size):
    train, test = splits["train", size], splits["test", size]
    assert stripe_score(test["a"], train["a"], train["b"]) < 0.3
    assert stripe_score(test["b"], train["a"], train["b"]) > 0.7


def test_stripe_score_of_ground_truth(splits):
    train, test = splits["train", 64], splits["test", 64]
    assert stripe_score(test["a_counterpart"], train["a"], train["b"]) > 0.7
    assert stripe_score(test["b_counterpart"], train["a"], train["b"]) < 0.3


def test_object_mask_covers_animal(splits):
    image = splits["test", 64]["a"][0]
    mask = object_mask(image)
    assert mask.shape == (64, 64)
    assert mask.dtype == bool
    assert 0.02 < mask.mean() < 0.6
    # The side strips sample the background, and the animals stay clear of them.
    assert not mask[:, :2].any()
    assert not mask[:, -2:].any()


# --- metrics on constructed images ---------------------------------------------------------------


def striped_square(size: int, period: float) -> torch.Tensor:
    """Return a grey uint8 image [3, size, size] with vertical stripes of `period` pixels."""
    xs = np.arange(size)
    row = np.where(np.sin(2 * np.pi * xs / period) > 0, 230, 30).astype(np.uint8)
    return torch.from_numpy(np.broadcast_to(row, (3, size, size)).copy())


def test_stripe_energy_of_flat_image():
    assert stripe_energy(torch.full((3, 32, 32), 128, dtype=torch.uint8)) == 0.0


def test_stripe_energy_of_stripes():
    assert stripe_energy(striped_square(64, 5.0)) > 0.9


def test_stripe_energy_of_smooth_gradient():
    ramp = np.linspace(0, 255, 64).astype(np.uint8)
    image = torch.from_numpy(np.broadcast_to(ramp[:, None], (3, 64, 64)).copy())
    assert stripe_energy(image) < 0.05


def test_stripe_energy_float_matches_uint8():
    image = striped_square(32, 4.0)
    as_float = image.float() / 255.0
    assert stripe_energy(as_float) == pytest.approx(stripe_energy(image))


def test_stripe_energy_rejects_channel_last():
    with pytest.raises(ValueError, match=r"\[3, H, W\]"):
        stripe_energy(np.zeros((32, 32, 3), dtype=np.uint8))


def test_stripe_score_rejects_equal_references():
    flat = torch.full((2, 3, 32, 32), 100, dtype=torch.uint8)
    with pytest.raises(ValueError, match="nearly equal"):
        stripe_score(flat, flat, flat)


def test_stripe_score_scale():
    plain = torch.full((1, 3, 32, 32), 100, dtype=torch.uint8)
    striped = striped_square(32, 4.0)[None]
    assert stripe_score(striped, plain, striped) == pytest.approx(1.0)
    assert stripe_score(plain, plain, striped) == pytest.approx(0.0)


def test_mask_iou_of_empty_masks():
    sky = torch.full((3, 32, 32), 180, dtype=torch.uint8)
    assert mask_iou(sky, sky) == 1.0


def test_object_mask_of_square():
    image = torch.full((3, 32, 32), 120, dtype=torch.uint8)
    image[:, 10:20, 8:24] = torch.tensor([200, 40, 40], dtype=torch.uint8)[:, None, None]
    expected = np.zeros((32, 32), dtype=bool)
    expected[10:20, 8:24] = True
    assert np.array_equal(object_mask(image), expected)


# --- preparation ---------------------------------------------------------------------------------


def test_prepare_shapes_and_dtypes(splits):
    data = splits["test", 32]
    for key in ("a", "b", "a_counterpart", "b_counterpart"):
        assert data[key].dtype == torch.uint8, key
        assert tuple(data[key].shape) == (8, 3, 32, 32), key


def test_prepare_metadata(splits):
    data = splits["test", 32]
    assert data["names_a"] == [str(k) for k in range(1, 9)]
    assert data["names_b"] == [str(k) for k in range(1, 9)]
    assert data["domains"] == ["horse", "zebra"]
    assert data["image_size"] == 32
    assert data["split"] == "testA+testB"


def test_prepare_without_counterparts(splits):
    assert "a_counterpart" not in splits["train", 64]
    assert "b_counterpart" not in splits["train", 64]


def copy_folders(source: Path, target: Path, folders: tuple[str, ...]) -> None:
    for folder in folders:
        (target / folder).mkdir(parents=True)
        for path in (source / folder).iterdir():
            (target / folder / path.name).write_bytes(path.read_bytes())


def test_prepare_counterparts_matched_by_stem(dataset, tmp_path):
    # Without testA/1.jpg, the chosen files are 2..4 while the counterpart folder starts at 1,
    # so matching by position would pair every image with the wrong counterpart.
    root = tmp_path / "root"
    copy_folders(dataset, root, ("testA", "testB", "groundtruth/testA"))
    (root / "testA" / "1.jpg").unlink()
    data = prepare_unpaired_split(
        root, "testA", "testB", 64, 3, tmp_path / "out.pt", counterpart_a="groundtruth/testA"
    )
    assert data["names_a"] == ["2", "3", "4"]
    for index, name in enumerate(data["names_a"]):
        expected = np.asarray(Image.open(dataset / "groundtruth" / "testA" / f"{name}.jpg"))
        actual = data["a_counterpart"][index].permute(1, 2, 0).numpy()
        assert np.array_equal(actual, expected), name


def test_prepare_unequal_counts(tmp_path):
    root = tmp_path / "root"
    for folder, count in (("A", 3), ("B", 5)):
        (root / folder).mkdir(parents=True)
        for k in range(count):
            Image.new("RGB", (40, 40), (k * 40, 90, 20)).save(root / folder / f"{k}.png")
    data = prepare_unpaired_split(root, "A", "B", 16, None, tmp_path / "out.pt")
    assert data["a"].shape[0] == 3
    assert data["b"].shape[0] == 5


def test_prepare_saved_file_loads(splits, dataset, tmp_path):
    out_path = tmp_path / "test.pt"
    prepare_unpaired_split(dataset, "testA", "testB", 32, 4, out_path, **COUNTERPARTS)
    loaded = load_unpaired_split(out_path)
    assert torch.equal(loaded["a_counterpart"], splits["test", 32]["a_counterpart"][:4])
    assert loaded["names_b"] == ["1", "2", "3", "4"]


def test_prepare_center_crops_non_square(tmp_path):
    root = tmp_path / "root"
    for folder in ("A", "B"):
        (root / folder).mkdir(parents=True)
    wide = np.zeros((20, 60, 3), dtype=np.uint8)
    wide[:, 20:40] = 255
    Image.fromarray(wide).save(root / "A" / "1.png")
    Image.fromarray(wide).save(root / "B" / "1.png")
    data = prepare_unpaired_split(root, "A", "B", 10, None, tmp_path / "out.pt")
    assert int(data["a"].min()) > 200


def test_prepare_missing_counterpart(dataset, tmp_path):
    root = tmp_path / "root"
    copy_folders(dataset, root, ("testA", "testB", "groundtruth/testA"))
    (root / "groundtruth" / "testA" / "2.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"2\.jpg"):
        prepare_unpaired_split(
            root, "testA", "testB", 32, None, tmp_path / "out.pt", counterpart_a="groundtruth/testA"
        )
    assert not (tmp_path / "out.pt").exists()


def test_prepare_limit_too_large(dataset, tmp_path):
    with pytest.raises(ValueError, match=r"limit 9 .* 8 usable images"):
        prepare_unpaired_split(dataset, "testA", "testB", 32, 9, tmp_path / "out.pt")


def test_prepare_missing_split(dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match="validA"):
        prepare_unpaired_split(dataset, "validA", "testB", 32, None, tmp_path / "out.pt")


def test_load_rejects_wrong_shape(tmp_path, splits):
    data = dict(splits["test", 32])
    data["b_counterpart"] = data["b_counterpart"][:3]
    save_torch(data, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="b_counterpart"):
        load_unpaired_split(tmp_path / "bad.pt")


def test_load_rejects_missing_key(tmp_path, splits):
    data = dict(splits["test", 32])
    del data["names_a"]
    save_torch(data, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="names_a"):
        load_unpaired_split(tmp_path / "bad.pt")


@needs_sample
def test_prepare_real_sample(tmp_path):
    root = extract_archive(
        SAMPLE_ARCHIVE,
        tmp_path / "extracted",
        required_splits=["trainA", "trainB", "testA", "testB"],
    )
    data = prepare_unpaired_split(root, "trainA", "trainB", 32, 8, tmp_path / "train.pt")
    assert tuple(data["a"].shape) == (8, 3, 32, 32)
    assert tuple(data["b"].shape) == (8, 3, 32, 32)
    assert len(data["names_a"]) == 8
    assert load_unpaired_split(tmp_path / "train.pt")["split"] == "trainA+trainB"
