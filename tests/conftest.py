import pytest
import torch


@pytest.fixture(autouse=True)
def _limit_threads():
    # CI machines have 2 cores; one torch thread per test keeps timings stable.
    torch.set_num_threads(1)
