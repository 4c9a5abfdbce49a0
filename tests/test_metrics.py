import math

import numpy as np
import pytest
import torch

from sdetranslate.metrics import PSNR_CAP_DB, psnr, ssim, to_unit_hwc


def random_image(seed: int, size: int = 32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (3, size, size), generator=generator, dtype=torch.uint8)


def test_ssim_identical_is_one():
    image = random_image(0)
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-6)


def test_ssim_negated_random_texture_is_low():
    # A uniform-noise image and its negation are almost perfectly anti-correlated, so the
    # structure term drives SSIM close to -1 (about -0.97 for this seed).
    image = random_image(0)
    assert ssim(image, 255 - image) < -0.9


def test_ssim_uint8_and_float_agree():
    pred, target = random_image(1), random_image(2)
    expected = ssim(pred, target)
    pred_float = pred.float() / 255
    target_float = target.float() / 255
    assert ssim(pred_float, target_float) == pytest.approx(expected, abs=1e-6)
    assert ssim(pred_float.numpy(), target_float.numpy()) == pytest.approx(expected, abs=1e-6)


def test_ssim_channels_last_agrees():
    pred, target = random_image(1), random_image(2)
    expected = ssim(pred, target)
    pred_hwc = pred.permute(1, 2, 0).numpy()
    target_hwc = target.permute(1, 2, 0).numpy()
    assert ssim(pred_hwc, target_hwc) == pytest.approx(expected, abs=1e-9)
    assert ssim(pred_hwc, target_hwc, layout="hwc") == pytest.approx(expected, abs=1e-9)


def test_ssim_shape_mismatch_raises():
    with pytest.raises(ValueError, match="differ in size"):
        ssim(random_image(0, size=32), random_image(0, size=16))


def test_psnr_shape_mismatch_raises():
    with pytest.raises(ValueError, match="differ in size"):
        psnr(random_image(0, size=32), random_image(0, size=16))


def test_ssim_too_small_raises():
    with pytest.raises(ValueError, match="at least 7 x 7"):
        ssim(random_image(0, size=5), random_image(1, size=5))


def test_layout_ambiguous_shape_raises():
    image = np.zeros((3, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="layout='chw'"):
        to_unit_hwc(image)


def test_layout_explicit_resolves_ambiguity():
    image = np.zeros((3, 8, 3), dtype=np.uint8)
    assert to_unit_hwc(image, layout="chw").shape == (8, 3, 3)
    assert to_unit_hwc(image, layout="hwc").shape == (3, 8, 3)


def test_layout_wrong_channel_count_raises():
    with pytest.raises(ValueError, match="RGB image"):
        to_unit_hwc(np.zeros((4, 8, 8), dtype=np.uint8))


def test_layout_unknown_name_raises():
    with pytest.raises(ValueError, match="invalid layout"):
        to_unit_hwc(random_image(0), layout="nchw")


def test_to_unit_hwc_clamps_floats():
    image = np.full((3, 8, 8), 1.5, dtype=np.float32)
    image[0] = -0.5
    converted = to_unit_hwc(image)
    assert converted.max() == 1.0
    assert converted.min() == 0.0


def test_to_unit_hwc_integer_dtype_raises():
    with pytest.raises(ValueError, match="unsupported image dtype"):
        to_unit_hwc(np.zeros((3, 8, 8), dtype=np.int64))


def test_psnr_identical_is_cap():
    image = random_image(0)
    assert psnr(image, image) == PSNR_CAP_DB


def test_psnr_one_level_below_cap():
    image = random_image(0)
    changed = image.clone()
    changed[0, 0, 0] ^= 1
    value = psnr(image, changed)
    expected = 10 * math.log10(255**2 * image.numel())
    assert value == pytest.approx(expected, rel=1e-9)
    assert value < PSNR_CAP_DB


def test_psnr_uint8_and_float_agree():
    pred, target = random_image(1), random_image(2)
    expected = psnr(pred, target)
    assert psnr(pred.double() / 255, target.double() / 255) == pytest.approx(expected, rel=1e-9)
